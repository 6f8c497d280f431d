#!/usr/bin/env bash
# DRM/KMS capture on a real KMS device: a qemu VM (test/lab/vm.sh: Debian's
# kernel, bochs-drm, this machine's root over 9p) in which
#  A. text and colour cells are written to the console (/dev/tty1) and the drm
#     backend's capture (capture-dump) must equal what fbdev shows (/dev/fb0),
#  B. a program (drm-pattern) sets 1024x768, switches the output off, sets
#     800x600, then gives the console back: captures must equal the pictures
#     it drew, a dark output is reported and waited for, and one capture
#     running throughout must follow every change (REINIT, no crash),
#  C. the freshly built rd-agent (capture backend auto), split in two as
#     installed (rd-agent-helper as root opens the card and answers GETFB2 on
#     the agent's own descriptor; the agent runs as uid 65534, no
#     capabilities, under its seccomp filter), registers with rd-rendezvous
#     on this machine (10.0.2.2 from the guest) and rdctl screenshot --relay,
#     through rd-relay here, must show the console text and colours, and then
#     the 1024x768 picture after a mode change.
# This machine never connects to the guest: the relay address is
# 127.0.0.1:PORT on both sides, forwarded inside the guest by socat.
source "$(dirname "$0")/../lib.sh"
t_require_root
for tool in qemu-system-x86_64 socat convert compare identify; do
	command -v $tool >/dev/null || { not_ok "$tool is missing (run make deps)"; t_done; }
done
for p in test/tools/capture-dump test/tools/drm-pattern; do
	[ -x "$RD_BUILD/$p" ] || { not_ok "$p is not built in $RD_BUILD"; t_done; }
done
source "$(dirname "$0")/ctl_env.sh"
source "$(dirname "$0")/vm_session.sh"
CTL_WRAP=(timeout 120)

vm_session_start drmvm
# Sanitizer settings of an ASan run reach the programs in the guest too.
for v in ASAN_OPTIONS UBSAN_OPTIONS; do
	[ -n "${!v:-}" ] && printf 'export %s=%q\n' "$v" "${!v}" >>"$O/params"
done

# ---- the guest's part ----
cat >"$T_TMP/guest.sh" <<'EOF'
set -u
O=$(dirname "$0")
source "$O/params"
source "$O/guest_lib.sh"
dump=$B/test/tools/capture-dump
pattern=$B/test/tools/drm-pattern
console() {
	printf '\033[?25l\033[2J\033[H\033[0mRDESK DRM CONSOLE TEST 0123456789\n' >/dev/tty1
	printf '\033[41m%10s\033[42m%10s\033[44m%10s\033[0m\n' '' '' '' >/dev/tty1
}
echo "guest: A, console"
console
sleep 1
cat /sys/class/graphics/fb0/virtual_size >"$O/fb0.size"
cat /sys/class/graphics/fb0/stride >"$O/fb0.stride"
"$dump" --backend drm --frames 1 --ppm "$O/console.ppm" >"$O/console.log" 2>&1
cat /dev/fb0 >"$O/fb0.raw"
# Without CAP_SYS_ADMIN the kernel withholds the handle: a clear refusal.
setpriv --bounding-set -sys_admin --inh-caps -sys_admin \
	"$dump" --backend drm --frames 1 >"$O/nocap.log" 2>&1
echo "exit $?" >>"$O/nocap.log"
# As the unit runs it: root without root's powers (noroot), two ambient capabilities.
setpriv --inh-caps -all,+sys_admin,+dac_read_search --ambient-caps -all,+sys_admin,+dac_read_search \
	--bounding-set -all,+sys_admin,+dac_read_search --securebits +noroot,+noroot_locked \
	"$dump" --backend drm --frames 1 --ppm "$O/unitcaps.ppm" >"$O/unitcaps.log" 2>&1
echo "exit $?" >>"$O/unitcaps.log"

echo "guest: B, modes"
"$dump" --backend drm --seconds 150 --fps 10 --ppm "$O/cont.ppm" >"$O/cont.log" 2>&1 &
cont=$!
wait_for "$O/cont.log" '^frame 0 ' 30
"$pattern" --timeout 60 --truth "$O/truth" --ready "$O/ready" 1024x768 off 800x600 \
	>"$O/pattern.log" 2>&1 &
pat=$!
wait_for "$O/ready" '^0 ' 20 && sleep 0.5
"$dump" --backend drm --frames 1 --ppm "$O/mode0.ppm" >"$O/mode0.log" 2>&1
kill -USR1 $pat
wait_for "$O/ready" '^1 ' 20 && sleep 0.5
# No active output: named explicitly, drm says so and sends black; auto passes it over.
"$dump" --backend drm --frames 1 --ppm "$O/dark.ppm" >"$O/dark.log" 2>&1
echo "exit $?" >>"$O/dark.log"
"$dump" --backend auto --frames 1 >"$O/dark-auto.log" 2>&1
kill -USR1 $pat
wait_for "$O/ready" '^2 ' 20 && sleep 0.5
"$dump" --backend drm --frames 1 --ppm "$O/mode1.ppm" >"$O/mode1.log" 2>&1
kill -USR1 $pat
wait $pat
echo "pattern exit $?" >>"$O/pattern.log"
sleep 0.5
console		# the console's buffer is on screen again, but fbcon redraws only on output
sleep 1
"$dump" --backend drm --frames 1 --ppm "$O/back.ppm" >"$O/back.log" 2>&1
cat /dev/fb0 >"$O/fb0-back.raw"
# The capture running throughout has caught up when its last frame is the
# console as back.ppm shows it; then it is stopped (the screen is idle: no
# frame is being written).
for i in $(seq 100); do cmp -s "$O/cont.ppm" "$O/back.ppm" && break; sleep 0.2; done
sleep 1
kill -0 $cont 2>/dev/null && echo "capture alive" >>"$O/cont.log"
kill $cont
wait $cont

echo "guest: C, agent"
guest_agent_enroll
console
guest_agent_split
touch "$O/agent-started"
if wait_for "$O/host" '^pattern' 240; then
	"$pattern" --timeout 120 --truth "$O/e2e" --ready "$O/ready-e2e" 1024x768 \
		>"$O/pattern-e2e.log" 2>&1 &
	pat=$!
	wait_for "$O/ready-e2e" '^0 ' 20 && touch "$O/pattern-shown"
	wait_for "$O/host" '^finish' 240
	kill $pat
	wait $pat
fi
guest_agent_stop
echo "guest: done"
EOF

vm_session_boot 480

# ---- C, from this side while the VM runs ----
if check "the agent in the VM registered with the rendezvous server here" vm_agent_registered; then
	rdctl_run --relay screenshot "$ID" -o "$T_TMP/shot-console.png"
	check_eq "rdctl --relay screenshot of the VM console: exit 0" 0 "$CTL_RC" || note "$CTL_OUT"
	check_eq "the session went through the relay" relay "$(jfield path)"
	host_says pattern
	for i in $(seq 100); do [ -e "$O/pattern-shown" ] && break; sleep 0.3; done
	check "the VM shows the 1024x768 picture" test -e "$O/pattern-shown"
	sleep 1
	rdctl_run --relay screenshot "$ID" -o "$T_TMP/shot-mode.png"
	check_eq "rdctl --relay screenshot after the mode change: exit 0" 0 "$CTL_RC" || note "$CTL_OUT"
fi
vm_session_end
sed 's/^/# guest: /' "$O/cmd.log" | grep -v '^# guest: guest:' | head -20

# ---- A: the console ----
read -r fbw fbh < <(tr ',' ' ' <"$O/fb0.size")
fbstride=$(cat "$O/fb0.stride")
check_eq "fbdev geometry (console) is 1280x800, 32 bpp" "1280 800 5120" "$fbw $fbh $fbstride"
convert -size ${fbw}x$fbh -depth 8 "bgra:$O/fb0.raw" -alpha off "$T_TMP/fb0.ppm"
convert -size ${fbw}x$fbh -depth 8 "bgra:$O/fb0-back.raw" -alpha off "$T_TMP/fb0-back.ppm"
check "drm capture of the console opened card0 without master" \
	grep -q "card0: CRTC [0-9]* shows framebuffer [0-9]*, 1280x800 XR24, dumb mapped" "$O/console.log"
exact() { # exact A B: no pixel differs
	local ae
	ae=$(compare -metric AE "$1" "$2" null: 2>&1)
	[ "$ae" = 0 ] || { note "$(basename "$1") vs $(basename "$2"): $ae pixels differ"; return 1; }
}
check "console capture equals /dev/fb0 pixel for pixel" exact "$O/console.ppm" "$T_TMP/fb0.ppm"
rgb_at() {
	convert "$1" -format "%[fx:int(255*p{$2,$3}.r+.5)] %[fx:int(255*p{$2,$3}.g+.5)] %[fx:int(255*p{$2,$3}.b+.5)]" info:
}
near() { # near "R G B" "R G B" TOL
	local a=($1) b=($2) i
	for i in 0 1 2; do
		local d=$((a[i] - b[i]))
		[ ${d#-} -le $3 ] || return 1
	done
}
colour_cells() { # FILE TOL: red, green, blue cells on text row 1; text on row 0
	local f=$1 tol=$2 got
	got=$(rgb_at "$f" 40 24); near "$got" "170 0 0" $tol || { note "red cell: $got"; return 1; }
	got=$(rgb_at "$f" 120 24); near "$got" "0 170 0" $tol || { note "green cell: $got"; return 1; }
	got=$(rgb_at "$f" 200 24); near "$got" "0 0 170" $tol || { note "blue cell: $got"; return 1; }
	got=$(rgb_at "$f" 400 24); near "$got" "0 0 0" $tol || { note "black after the cells: $got"; return 1; }
	# The text line: some light grey glyph pixels in row 0, none in row 5.
	local lit
	lit=$(convert "$f" -crop 272x16+0+0 +repage -threshold 50% -format '%[fx:int(mean*w*h+.5)]' info:)
	[ "$lit" -gt 300 ] || { note "text row: $lit lit pixels"; return 1; }
	lit=$(convert "$f" -crop 272x16+0+80 +repage -threshold 50% -format '%[fx:int(mean*w*h+.5)]' info:)
	[ "$lit" -eq 0 ] || { note "empty row: $lit lit pixels"; return 1; }
}
check "console capture shows the text and the red, green, blue cells" colour_cells "$O/console.ppm" 0
check_eq "without CAP_SYS_ADMIN the drm backend refuses" "exit 1" "$(tail -n1 "$O/nocap.log")"
check "and says that CAP_SYS_ADMIN is needed" grep -q "needs CAP_SYS_ADMIN" "$O/nocap.log"
check_eq "with the unit's capabilities (noroot, ambient CAP_SYS_ADMIN) it captures" "exit 0" \
	"$(tail -n1 "$O/unitcaps.log")"
check "and the picture is the console" exact "$O/unitcaps.ppm" "$T_TMP/fb0.ppm"

# ---- B: mode changes ----
check_eq "drm-pattern showed both modes and restored the console" "pattern exit 0" \
	"$(tail -n1 "$O/pattern.log")"
check "1024x768 capture equals the picture drawn" exact "$O/mode0.ppm" "$O/truth-0.ppm"
check "800x600 capture equals the picture drawn" exact "$O/mode1.ppm" "$O/truth-2.ppm"
check "no active output: drm says so and sends black" \
	grep -q "no active output (no CRTC shows a framebuffer); sending black 640x480" "$O/dark.log"
check_eq "no active output: the capture does not fail" "exit 0" "$(tail -n1 "$O/dark.log")"
check_eq "no active output: the frame is black 640x480" "640x480 0" \
	"$(identify -format '%wx%h %[fx:int(maxima*255)]' "$O/dark.ppm")"
check "no active output: auto passes drm over and says why" \
	grep -q "backend drm skipped: /dev/dri/card0: no active output" "$O/dark-auto.log"
check "the running capture waited while the output was off" \
	grep -q "no active output any more; waiting for one" "$O/cont.log"
check "and went on when it came back" grep -q "shows framebuffer [0-9]* again" "$O/cont.log"
check "after the program, the console is captured again" exact "$O/back.ppm" "$T_TMP/fb0-back.ppm"
check "the console shows the text again" colour_cells "$O/back.ppm" 0
check_eq "one capture followed every change: reinit lines" \
	"reinit 1024x768,reinit 800x600,reinit 1280x800," \
	"$(grep '^reinit' "$O/cont.log" | tr '\n' ',')"
check_eq "the capture running throughout was still alive" "capture alive" "$(tail -n1 "$O/cont.log")"
check "its last frame is the console, not a stale picture" exact "$O/cont.ppm" "$T_TMP/fb0-back.ppm"

# ---- C: what rdctl saw ----
a=$O/agent
check "agent: auto picked drm" grep -q "backend drm (auto): 1280x800" "$a/agent.log"
if [ -s "$T_TMP/shot-console.png" ]; then
	check_eq "console screenshot size" 1280x800 "$(identify -format %wx%h "$T_TMP/shot-console.png")"
	mae=$(img_mae "$T_TMP/shot-console.png" "$T_TMP/fb0.ppm")
	note "console screenshot vs /dev/fb0: MAE $mae"
	check "console screenshot matches /dev/fb0 (MAE < 0.02)" float_lt "${mae:-1}" 0.02
	check "console screenshot shows the text and colour cells" colour_cells "$T_TMP/shot-console.png" 40
else
	not_ok "console screenshot written"
fi
if [ -s "$T_TMP/shot-mode.png" ]; then
	check_eq "screenshot after the mode change is 1024x768" 1024x768 \
		"$(identify -format %wx%h "$T_TMP/shot-mode.png")"
	mae=$(img_mae "$T_TMP/shot-mode.png" "$O/e2e-0.ppm")
	note "1024x768 screenshot vs the picture drawn: MAE $mae"
	check "screenshot after the mode change matches the picture (MAE < 0.03)" float_lt "${mae:-1}" 0.03
else
	not_ok "screenshot after the mode change written"
fi
check "agent followed the mode change" grep -q "display is now 1024x768" "$a/agent.log"
check_eq "agent stopped cleanly on SIGTERM" "agent exit 0" "$(tail -n1 "$a/agent.log")"
vm_split_checks
check "split: the helper opened the card for the agent" grep -q "uid=65534 drm-open 0: done" \
	"$a/helper.log"
check "split: and answered GETFB2 on the agent's descriptor" \
	grep -qE "uid=65534 drm-fb [0-9]+: done" "$a/helper.log"
check "split: the agent maps the framebuffer itself with that handle (no copy)" \
	grep -qE "CRTC [0-9]+ shows framebuffer [0-9]+, 1280x800 XR24, dumb mapped" "$a/agent.log"
if [ $T_FAILED -gt 0 ]; then
	keep=$RD_BUILD/lab/test_drm.failed
	rm -rf "$keep" && mkdir -p "$keep" && cp -r "$O"/. "$T_TMP"/*.png "$T_TMP"/*.log "$keep"/ 2>/dev/null
	note "files of this run kept in $keep"
	for f in "$a/agent.log" "$a/helper.log" "$T_TMP/rendezvous.log" "$T_TMP/relay.log" "$T_TMP/rdctl.err" "$O/serial.log"; do
		[ -f "$f" ] && { note "--- $f"; tail -n 15 "$f" | sed 's/^/# /'; }
	done
fi
t_done
