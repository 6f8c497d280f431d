#!/usr/bin/env bash
# PipeWire capture: a private PipeWire daemon, a GStreamer producer
# publishing SMPTE colour bars as a Video/Source node, and the agent's
# pipewire backend (through capture-dump) capturing it. The bars are checked
# by colour at their centres and pixel for pixel against a frame GStreamer
# renders on its own; a producer of our own changes its size and the capture
# must follow. Recipe: test/lab/pipewire-env.sh.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pipewire-env.sh"
t_require_root
dump=$RD_BUILD/test/tools/capture-dump
for tool in pipewire gst-launch-1.0 dbus-daemon pw-cli convert compare; do
	command -v $tool >/dev/null || { not_ok "$tool is missing (run make deps)"; t_done; }
done
[ -x "$dump" ] || { not_ok "capture-dump not built ($dump)"; t_done; }
W=640 H=360

# rgb_at FILE X Y: "R G B" of one pixel.
rgb_at() {
	convert "$1" -format "%[fx:int(255*p{$2,$3}.r+.5)] %[fx:int(255*p{$2,$3}.g+.5)] %[fx:int(255*p{$2,$3}.b+.5)]" info:
}
# bars_ok FILE: the seven SMPTE bars, left to right, at mid-height of the top part.
bars_ok() {
	local want=(111 110 011 010 101 100 001) i x got r g b bits
	for i in 0 1 2 3 4 5 6; do
		x=$(((2 * i + 1) * W / 14))
		read -r r g b < <(rgb_at "$1" $x $((H / 6)))
		bits=$((r > 150))$((g > 150))$((b > 150))
		if [ "$bits" != "${want[$i]}" ] || { [ $r -gt 60 ] && [ $r -lt 150 ]; } ||
			{ [ $g -gt 60 ] && [ $g -lt 150 ]; } || { [ $b -gt 60 ] && [ $b -lt 150 ]; }; then
			note "bar $i at x=$x: got rgb $r $g $b, want bits ${want[$i]}"
			return 1
		fi
	done
}
# same_top FILE: the top two thirds (the bars; below them lies noise) equal
# GStreamer's own rendering.
same_top() {
	local ae
	convert "$1" -crop ${W}x240+0+0 +repage "$T_TMP/top-a.ppm"
	convert "$T_TMP/truth.ppm" -crop ${W}x240+0+0 +repage "$T_TMP/top-b.ppm"
	ae=$(compare -metric AE "$T_TMP/top-a.ppm" "$T_TMP/top-b.ppm" null: 2>&1)
	[ "$ae" = 0 ] || { note "pixels differing from the reference: $ae"; return 1; }
}

[ -x "$RD_BUILD/test/tools/pipewire-pattern" ] || { not_ok "pipewire-pattern not built"; t_done; }

# Ground truth: one frame of the same pattern, rendered by GStreamer alone.
timeout 30 gst-launch-1.0 -q videotestsrc pattern=smpte num-buffers=1 ! \
	"video/x-raw,format=RGB,width=$W,height=$H" ! filesink location="$T_TMP/truth.rgb"
{ printf 'P6\n%d %d\n255\n' $W $H; cat "$T_TMP/truth.rgb"; } >"$T_TMP/truth.ppm"
check "reference frame rendered by GStreamer" test -s "$T_TMP/truth.rgb"

check "pipewire daemon started with a private runtime dir" pw_env_start
check "producer node rd-bars-bgrx published (BGRx)" pw_producer rd-bars-bgrx BGRx ${W}x$H

# 1. BGRx, node named explicitly.
out=$T_TMP/bgrx
timeout 30 "$dump" --backend pipewire --display rd-bars-bgrx --frames 5 --fps 10 \
	--ppm "$out.ppm" >"$out.log" 2>&1
rc=$?
check_eq "capture-dump (pipewire, BGRx) exits 0" 0 $rc
check "backend pipewire opened at ${W}x$H" grep -q "backend pipewire: ${W}x$H" "$out.log"
check_eq "5 frames captured" 5 "$(grep -c '^frame' "$out.log")"
check "SMPTE bars recognised (BGRx)" bars_ok "$out.ppm"
check "bars equal the reference pixel for pixel (BGRx)" same_top "$out.ppm"
# After the first frame only the noise field (bottom right) changes.
bad=$(awk '$1 == "frame" && $2 > 0 { split($9, b, ","); if (b[2] < 240) print }' "$out.log")
check "damage after the first frame stays in the moving part" test -z "$bad"
pw_producer_stop

# 2. RGBx through auto: drm and its reason are logged, pipewire is picked.
check "producer node rd-bars-rgbx published (RGBx)" pw_producer rd-bars-rgbx RGBx ${W}x$H
out=$T_TMP/rgbx
timeout 30 "$dump" --backend auto --display pipewire:rd-bars-rgbx --frames 3 --fps 10 \
	--ppm "$out.ppm" >"$out.log" 2>&1
check_eq "capture-dump (auto, RGBx) exits 0" 0 $?
check "auto logs why drm was passed over" grep -q "backend drm skipped: .*names no DRM card" "$out.log"
check "auto picked pipewire" grep -q "backend pipewire (auto): ${W}x$H" "$out.log"
check "SMPTE bars recognised (RGBx, swapped to BGRx)" bars_ok "$out.ppm"
check "bars equal the reference pixel for pixel (RGBx)" same_top "$out.ppm"
pw_producer_stop

# 3. With WirePlumber running as on a desktop: it must not take the stream away.
check "wireplumber started" pw_env_wireplumber
check "producer node rd-bars-wp published" pw_producer rd-bars-wp BGRx ${W}x$H
out=$T_TMP/wp
timeout 30 "$dump" --backend pipewire --display rd-bars-wp --frames 3 --fps 10 \
	--ppm "$out.ppm" >"$out.log" 2>&1
check_eq "capture-dump under wireplumber exits 0" 0 $?
check "SMPTE bars recognised under wireplumber" bars_ok "$out.ppm"
pw_producer_stop

# 4. A format change: pipewire-pattern offers 640x360, then 800x600.
pat=$RD_BUILD/test/tools/pipewire-pattern
out=$T_TMP/resize
t_bg "$pat" rd-resize 640x360 800x600 >"$out-producer.log" 2>&1
ppid=$T_LAST_PID
node_listed() {
	local i
	for i in $(seq 50); do
		timeout 5 pw-cli ls Node 2>/dev/null | grep -q "node.name = \"$1\"" && return 0
		sleep 0.1
	done
	return 1
}
check "producer rd-resize published" node_listed rd-resize
timeout 30 "$dump" --backend pipewire --display rd-resize --seconds 6 --fps 10 \
	--ppm "$out.ppm" >"$out.log" 2>&1 &
dpid=$!
t_wait_file "$out.log" '^frame 0 640x360' 10 && kill -USR1 $ppid
wait $dpid
check_eq "capture across the format change exits 0" 0 $?
check "the capture saw 640x360, then REINIT to 800x600" grep -q '^reinit 800x600' "$out.log"
check "a frame at the new size followed" grep -q '^frame [0-9]* 800x600' "$out.log"
check "the producer renegotiated to 800x600" grep -q '^step 1 800x600' "$out-producer.log"
quarters() { # the four bars of step 1: green, blue, white, red
	local want=("0 255 0" "0 0 255" "255 255 255" "255 0 0") i got
	for i in 0 1 2 3; do
		got=$(rgb_at "$1" $((100 + 200 * i)) 300)
		[ "$got" = "${want[$i]}" ] || { note "bar $i: $got"; return 1; }
	done
}
check_eq "the last frame is 800x600" "800 600" "$(sed -n 2p "$out.ppm")"
check "and shows the new picture, not the old" quarters "$out.ppm"
t_stop $ppid

# 5. A node that is not there: a clear error, no hang.
out=$T_TMP/missing
timeout 30 "$dump" --backend pipewire --display rd-no-such-node --frames 1 >"$out.log" 2>&1
rc=$?
check "a missing node fails" test $rc -ne 0 -a $rc -ne 124
check "the error names the missing node" grep -q 'no PipeWire node "rd-no-such-node"' "$out.log"
for f in "$T_TMP"/*.log; do
	grep -qE 'ERROR|Assertion|Segmentation' "$f" && note "$(basename "$f"): $(grep -m3 -E 'ERROR|Assertion' "$f")"
done
t_done
