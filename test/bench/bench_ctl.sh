#!/usr/bin/env bash
# Benchmark: `rdctl screenshot` from process start to PNG written, over the
# LAN/direct path and over the relay, on loopback with the real servers and an
# agent capturing an Xvfb display (median of BENCH_RUNS, default 20), with the
# share of each phase rdctl reports in --json (lookup, punch, handshake, login,
# first keyframe, decode, PNG write). Reference measured in the same run:
# ffmpeg grabbing the same display locally into a PNG (x11grab, one frame).
# Targets (issue 6): median under 300 ms direct, under 500 ms relay.
source "$(dirname "$0")/../lib.sh"
source "$RD_TOP/test/lab/ctl_env.sh"
RUNS=${BENCH_RUNS:-20}
command -v ffmpeg >/dev/null || { not_ok "needs ffmpeg (make deps)"; t_done; }
note "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $RUNS runs per path"

# One source asks for dozens of sessions in a few seconds: lift the server's
# per-source request limit (2/s, burst 20), which would otherwise refuse some.
export RDESK_PUNCH_RATE=100 RDESK_PUNCH_BURST=400
ctl_servers || { not_ok "servers did not start"; t_done; }
t_xvfb 1280x720x24 || { not_ok "no Xvfb"; t_done; }
convert -size 1280x720 plasma:fractal -seed 7 "$T_TMP/bg.png" 2>/dev/null ||
	convert -size 1280x720 gradient:'#1040a0-#f0c020' "$T_TMP/bg.png"
DISPLAY=$T_DISPLAY display -window root "$T_TMP/bg.png" >/dev/null 2>&1 &
ID=ctlbench01
ctl_agent_enroll $ID "$T_DISPLAY" x11 && ctl_agent_start $ID ||
	{ not_ok "agent did not start"; t_done; }

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_ms() { date +%s%N | awk '{ printf "%.3f", $1 / 1e6 }'; }

PHASES="lookup punch handshake login keyframe decode write"
bench_path() { # bench_path NAME [rdctl flags...]: sets MED_<NAME>
	local name=$1; shift
	local i t0 t1 ph fails=0
	: >"$T_TMP/$name.wall"
	: >"$T_TMP/$name.outside"
	for ph in $PHASES; do : >"$T_TMP/$name.$ph"; done
	for i in $(seq "$RUNS"); do
		rm -f "$T_TMP/b.png"
		t0=$(now_ms)
		rdctl_run "$@" screenshot $ID -o "$T_TMP/b.png"
		t1=$(now_ms)
		if [ "$CTL_RC" != 0 ] || [ ! -s "$T_TMP/b.png" ]; then fails=$((fails + 1)); continue; fi
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >>"$T_TMP/$name.wall"
		for ph in $PHASES; do jfield "$ph" >>"$T_TMP/$name.$ph"; done
		# outside main(): exec, the dynamic loader (libav* and their ~140 libraries), exit
		awk -v a="$t0" -v b="$t1" -v m="$(jfield total_ms)" 'BEGIN { printf "%.3f\n", b - a - m }' \
			>>"$T_TMP/$name.outside"
	done
	local med; med=$(median <"$T_TMP/$name.wall")
	eval "MED_$name=$med"
	local line="" sum=0
	for ph in $PHASES; do
		local m; m=$(median <"$T_TMP/$name.$ph")
		line+=" $ph $(awk -v m="$m" -v t="$med" 'BEGIN { printf "%.1f ms (%.0f%%)", m, (t > 0 ? 100 * m / t : 0) }'),"
	done
	note "$name: median $med ms from start to PNG over $((RUNS - fails)) runs, path $(jfield path); failures $fails"
	local o; o=$(median <"$T_TMP/$name.outside")
	line+=" outside main (exec, loader, exit) $(awk -v m="$o" -v t="$med" 'BEGIN { printf "%.1f ms (%.0f%%)", m, (t > 0 ? 100 * m / t : 0) }'),"
	note "  phases (medians, share of the total):${line%,}"
	check "$name: all $RUNS screenshots written" test "$fails" -eq 0
}

# Reference: a local one-frame grab of the same display into a PNG.
: >"$T_TMP/ref.wall"
for i in $(seq "$RUNS"); do
	t0=$(now_ms)
	ffmpeg -v error -y -f x11grab -video_size 1280x720 -i "$T_DISPLAY" -frames:v 1 "$T_TMP/ref.png" </dev/null
	t1=$(now_ms)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >>"$T_TMP/ref.wall"
done
MED_ref=$(median <"$T_TMP/ref.wall")
note "reference: ffmpeg x11grab one frame to PNG, locally: median $MED_ref ms"

rdctl_run screenshot $ID -o "$T_TMP/warm.png"	# pins the key, warms caches
bench_path direct
bench_path relay --relay
note "ratios to the local ffmpeg grab: direct $(awk -v a="$MED_direct" -v b="$MED_ref" 'BEGIN { printf "%.2f", a / b }')x," \
	"relay $(awk -v a="$MED_relay" -v b="$MED_ref" 'BEGIN { printf "%.2f", a / b }')x"
check "direct: median $MED_direct ms under the 300 ms target" float_lt "$MED_direct" 300
check "relay: median $MED_relay ms under the 500 ms target" float_lt "$MED_relay" 500
t_done
