#!/usr/bin/env bash
# Benchmark: capture cost of the drm backend (in the qemu VM of
# test/lab/vm.sh, on bochs-drm at 1920x1080) and of the pipewire backend
# (a private PipeWire daemon on this machine), as CPU time of capture-dump
# (user + system) per captured frame, each next to the testsrc backend
# measured in the same place (the VM's own figure in the same boot; TCG
# emulation makes the VM's absolute numbers slow, so read the ratios).
#   1. drm, full change: drm-pattern flips between two different pictures
#      30 times a second; every frame is compared and copied whole. Measured
#      direct (capture-dump as root opens the card) and split as installed
#      (rd-agent-helper as root opens it and answers GETFB2 on capture-dump's
#      own descriptor; capture-dump runs as uid 65534 with --helper), two
#      rounds of each, alternated, in the same boot. The split's CPU counts
#      the helper's too; the split pays one round trip to the helper (GETFB2
#      on the capture's descriptor) per new framebuffer on screen, so per
#      flip here, the worst case. Target: split <= 1.05 x direct per frame.
#   2. drm, idle console (static text): CPU per minute at 30 ticks a second
#   3. testsrc 1920x1080 in the VM (reference), moving and still (the cost
#      of the 30 Hz loop itself, to set against the idle console)
#   4. pipewire, SMPTE bars 1920x1080 at 10 fps from GStreamer; testsrc here
# Target: an idle console costs at most a quarter of a full-change frame per
# tick (only one row in eight is read). Frame rates are printed, not judged:
# under TCG, and with this machine busy, they measure the machine.
#   BENCH_SECS (default 10) per measurement.
source "$(dirname "$0")/../lib.sh"
t_require_root
SECS=${BENCH_SECS:-10}
DUMP=$RD_BUILD/test/tools/capture-dump
for p in test/tools/capture-dump test/tools/drm-pattern; do
	[ -x "$RD_BUILD/$p" ] || { not_ok "$p is not built in $RD_BUILD"; t_done; }
done
O=$T_TMP/vm
mkdir -p "$O"
printf 'B=%s\nSECS=%s\n' "$RD_BUILD" "$SECS" >"$O/params"
cat >"$T_TMP/guest.sh" <<'EOF'
O=$(dirname "$0")
source "$O/params"
dump=$B/test/tools/capture-dump
cat /sys/class/graphics/fb0/virtual_size >"$O/fb0.size"
printf '\033[?25l\033[2J\033[H' >/dev/tty1
for i in $(seq 40); do echo "rdesk idle console line $i: the quick brown fox" >/dev/tty1; done
sleep 1
"$dump" --backend drm --seconds $((SECS * 2)) --fps 30 >"$O/idle.log" 2>&1
"$dump" --backend testsrc --display 1920x1080 --seconds $SECS --fps 30 >"$O/testsrc.log" 2>&1
"$dump" --backend testsrc --display 1920x1080,still=1 --seconds $((SECS * 2)) --fps 30 \
	>"$O/still.log" 2>&1
HS=/run/rdh/helper.sock
mkdir -m 0755 /run/rdh
# (its log, a line per request, on tmpfs: a write to the 9p share costs a lot)
HL=/run/rdh/helper.log
"$B/rd-agent-helper" --listen $HS --agent-user 65534 -l debug >$HL 2>&1 &
helper=$!
for i in $(seq 100); do [ -S $HS ] && break; sleep 0.1; done
hticks() { awk '{ print $14 + $15 }' /proc/$helper/stat; }
"$B/test/tools/drm-pattern" --timeout $((SECS * 4 + 40)) --ready "$O/ready" --flip 30 1920x1080 \
	>"$O/pattern.log" 2>&1 &
pat=$!
for i in $(seq 100); do [ -s "$O/ready" ] && break; sleep 0.1; done
sleep 1
for r in 1 2; do
	"$dump" --backend drm --seconds $SECS --fps 30 >"$O/flip$r.log" 2>&1
	h0=$(hticks) n0=$(grep -c ' drm-fb ' $HL)
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$dump" --backend drm --seconds $SECS --fps 30 --helper $HS >"$O/split$r.log" 2>&1
	echo "helper_ms $(( ($(hticks) - h0) * 1000 / $(getconf CLK_TCK) ))" \
		"requests $(($(grep -c ' drm-fb ' $HL) - n0))" >>"$O/split$r.log"
done
kill $helper
cp $HL "$O/helper.log"
kill $pat
wait $pat
EOF
note "VM: qemu TCG, 1 vCPU, bochs-drm; $SECS s per measurement"
if ! "$RD_TOP/test/lab/vm.sh" --timeout $((SECS * 10 + 120)) --append "video=1920x1080" \
	--out "$O" "$T_TMP/guest.sh" >"$T_TMP/vm.log" 2>&1; then
	not_ok "VM run"; sed 's/^/# /' "$T_TMP/vm.log" "$O/cmd.log" 2>/dev/null | tail -20; t_done
fi
ok "VM run"
# summary FILE -> "frames seconds cpu_ms"
summary() { awk '$1 == "summary" { print $3, $11, $13 }' "$1"; }
per_frame() { awk -v f="$1" -v c="$2" 'BEGIN { printf "%.2f", (f > 0 ? c / f : 0) }'; }

note "console mode: $(cat "$O/fb0.size")"
read -r f s c < <(summary "$O/testsrc.log")
ts_pf=$(per_frame "$f" "$c")
note "testsrc 1920x1080 (VM): $f frames in $s s, $ts_pf ms CPU per frame"
# rounds PREFIX -> "frames seconds cpu_ms helper_ms" summed over PREFIX1, PREFIX2
rounds() {
	cat "$O/${1}1.log" "$O/${1}2.log" 2>/dev/null | awk '$1 == "summary" { f += $3; s += $11; c += $13 }
		$1 == "helper_ms" { h += $2; q += $4 } END { print f + 0, s + 0, c + 0, h + 0, q + 0 }'
}
read -r f s c _ < <(rounds flip)
flip_f=$f
flip_pf=$(per_frame "$f" "$c")
flip_fps=$(awk -v f="$f" -v s="$s" 'BEGIN { printf "%.1f", (s > 0 ? f / s : 0) }')
note "drm full change 1920x1080 (VM, direct, as root): $f frames in $s s ($flip_fps fps)," \
	"$flip_pf ms CPU per frame," \
	"$(awk -v a="$flip_pf" -v b="$ts_pf" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')x testsrc"
read -r f s c h q < <(rounds split)
split_f=$f
split_pf=$(awk -v f="$f" -v c="$c" -v h="$h" 'BEGIN { printf "%.2f", (f > 0 ? (c + h) / f : 0) }')
split_fps=$(awk -v f="$f" -v s="$s" 'BEGIN { printf "%.1f", (s > 0 ? f / s : 0) }')
note "drm full change 1920x1080 (VM, split, uid 65534 + helper): $f frames in $s s" \
	"($split_fps fps), $split_pf ms CPU per frame ($(per_frame "$f" "$c") capture, helper $h ms" \
	"in all for $q GETFB2 requests: one per new framebuffer on screen, i.e. per flip)"
ratio=$(awk -v a="$split_pf" -v b="$flip_pf" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
note "drm full change, split / direct CPU per frame: $ratio (target <= 1.05)"
check "drm split costs at most 5 % more CPU per frame than direct ($ratio)" \
	awk -v r="$ratio" 'BEGIN { exit !(r > 0 && r <= 1.05) }'
check "split: capture-dump as uid 65534 used the helper" \
	grep -q "privileged helper at /run/rdh/helper.sock" "$O/split1.log"
check "split: the framebuffer is mapped on its own descriptor with the helper's handle (no copy)" \
	grep -q "1920x1080 XR24, dumb mapped" "$O/split1.log"
check "split: the helper refused nothing" bash -c "! grep -qE 'refused|malformed' '$O/helper.log'"
check "drm followed the 30 Hz page flips as uid 65534 too" test "${split_f:-0}" -gt 1
read -r f s c < <(summary "$O/idle.log")
idle_min=$(awk -v c="$c" -v s="$s" 'BEGIN { printf "%.0f", (s > 0 ? c * 60 / s : 0) }')
idle_tick=$(awk -v c="$c" -v s="$s" 'BEGIN { printf "%.2f", (s > 0 ? c / (s * 30) : 0) }')
note "drm idle console (VM): $f frames in $s s, ${idle_min} ms CPU per minute" \
	"($(awk -v m="$idle_min" 'BEGIN { printf "%.2f", m / 600 }')% of a CPU), $idle_tick ms per tick"
read -r f s c < <(summary "$O/still.log")
base_min=$(awk -v c="$c" -v s="$s" 'BEGIN { printf "%.0f", (s > 0 ? c * 60 / s : 0) }')
note "the same 30 Hz loop on a still testsrc (VM): ${base_min} ms CPU per minute;" \
	"the drm idle scan adds $((idle_min - base_min)) ms per minute"
check "idle console per tick <= 1/4 of a full-change frame ($idle_tick vs $flip_pf ms)" \
	awk -v a="$idle_tick" -v b="$flip_pf" 'BEGIN { exit !(b > 0 && a <= b / 4) }'
check "drm followed the 30 Hz page flips (frames captured)" test "${flip_f:-0}" -gt 1

# ---- pipewire, on this machine ----
source "$(dirname "$0")/../lab/pipewire-env.sh"
# Two runs of different length, each with a fresh producer (10 fps, which
# this machine sustains at 1920x1080 while busy); the difference between them
# is the cost per frame without the cost of connecting.
pw_env_start || { not_ok "PipeWire daemon"; t_done; }
for secs in 4 $((SECS + 4)); do
	pw_producer rd-bench$secs BGRx 1920x1080 10 || { not_ok "PipeWire producer"; t_done; }
	"$DUMP" --backend pipewire --display rd-bench$secs --seconds $secs --fps 30 \
		>"$T_TMP/pw$secs.log" 2>&1
	pw_producer_stop
done
"$DUMP" --backend testsrc --display 1920x1080 --seconds $SECS --fps 30 >"$T_TMP/ts-host.log" 2>&1
read -r f s c < <(summary "$T_TMP/ts-host.log")
hts_pf=$(per_frame "$f" "$c")
note "testsrc 1920x1080 (here): $f frames, $hts_pf ms CPU per frame"
read -r f1 s1 c1 < <(summary "$T_TMP/pw4.log")
read -r f s c < <(summary "$T_TMP/pw$((SECS + 4)).log")
pw_pf=$(awk -v f="$f" -v c="$c" -v f1="$f1" -v c1="$c1" \
	'BEGIN { printf "%.2f", (f > f1 ? (c - c1) / (f - f1) : 0) }')
pw_fps=$(awk -v f="$f" -v s="$s" 'BEGIN { printf "%.1f", (s > 0 ? f / s : 0) }')
note "pipewire 1920x1080 (here): $f frames in $s s ($pw_fps fps), connecting ${c1} ms CPU" \
	"for $f1 frames, $pw_pf ms CPU per further frame," \
	"$(awk -v a="$pw_pf" -v b="$hts_pf" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')x testsrc"
# The producer's own rate depends on how busy this machine is: no target on it.
check "pipewire captured frames at 1920x1080" test "${f:-0}" -gt 0
t_done
