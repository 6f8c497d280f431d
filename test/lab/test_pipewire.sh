#!/usr/bin/env bash
# PipeWire capture: a private PipeWire daemon, a GStreamer producer
# publishing SMPTE colour bars as a Video/Source node, and the agent's
# pipewire backend (through capture-dump) capturing it. The bars are checked
# by colour at their centres and pixel for pixel against a frame GStreamer
# renders on its own; a producer of our own changes its size and the capture
# must follow. Then the agent split in two, as installed: uid 65534 cannot
# reach the daemon's socket, rd-agent-helper (root) connects for it and hands
# the connection over; capture-dump and rd-agent itself (under its seccomp
# filter) capture through it. Recipe: test/lab/pipewire-env.sh.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pipewire-env.sh"
source "$(dirname "$0")/ctl_env.sh"
t_require_root
dump=$RD_BUILD/test/tools/capture-dump
for tool in pipewire gst-launch-1.0 dbus-daemon pw-cli convert compare setpriv; do
	command -v $tool >/dev/null || { not_ok "$tool is missing (run make deps)"; t_done; }
done
[ -x "$dump" ] || { not_ok "capture-dump not built ($dump)"; t_done; }
[ -x "$RD_BUILD/rd-agent-helper" ] || { not_ok "rd-agent-helper not built"; t_done; }
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

# 6. Split in two, as installed. The daemon's runtime folder is root's
# (0700): uid 65534 cannot reach pipewire-0 itself; rd-agent-helper, as root,
# connects for it and hands the connection over (zero copy after that: the
# buffers are the producer's memfds, mapped by the consumer).
chmod 0711 "$T_TMP"
HS=$T_TMP/helper/helper.sock
mkdir -m 0755 "$T_TMP/helper"
mkdir -m 0700 "$T_TMP/nobody" && chown 65534:65534 "$T_TMP/nobody"
# (Sanitizer builds: full stacks for malloc, so that the suppression of a
# libpipewire leak in test/data/lsan.supp can match.)
NOBODY_ENV=()
[ "${RD_ASAN:-0}" = 1 ] && NOBODY_ENV=(env "ASAN_OPTIONS=${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0")
nobody() { timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups ${NOBODY_ENV[@]+"${NOBODY_ENV[@]}"} "$@"; }
note "pipewire-0: $(stat -c '%A %U' "$XDG_RUNTIME_DIR/pipewire-0"), its folder $(stat -c '%A %U' "$XDG_RUNTIME_DIR")"
out=$T_TMP/nobody/direct
nobody "$dump" --backend pipewire --display rd-bars-split --frames 1 >"$out.log" 2>&1
rc=$?
check "uid 65534 without the helper: no capture (exit $rc)" test $rc -ne 0 -a $rc -ne 124
check "and the reason is given: no PipeWire daemon" grep -q "no PipeWire daemon" "$out.log"
helper_start() { # helper_start SOCKET [PREFIX...]: rd-agent-helper for uid 65534
	local sock=$1; shift
	t_bg "$@" "$RD_BUILD/rd-agent-helper" --listen "$sock" --agent-user 65534 \
		--runtime-dir "$XDG_RUNTIME_DIR" -l debug >>"$T_TMP/helper.log" 2>&1
	HELPER_PID=$T_LAST_PID
	t_wait_until 10 test -S "$sock"
}
check "rd-agent-helper started (root, --runtime-dir the daemon's)" helper_start "$HS"
check "producer node rd-bars-split published" pw_producer rd-bars-split BGRx ${W}x$H
out=$T_TMP/nobody/split
nobody "$dump" --backend pipewire --display rd-bars-split --frames 5 --fps 10 \
	--helper "$HS" --ppm "$out.ppm" >"$out.log" 2>&1
check_eq "capture-dump as uid 65534 through the helper exits 0" 0 $?
check "it uses the helper" grep -q "privileged helper at $HS" "$out.log"
check_eq "5 frames captured through the helper's connection" 5 "$(grep -c '^frame' "$out.log")"
check "SMPTE bars recognised (split)" bars_ok "$out.ppm"
check "bars equal the reference pixel for pixel (split)" same_top "$out.ppm"
check "the helper connected to PipeWire for uid 65534" grep -q "uid=65534 pipewire 0: done" \
	"$T_TMP/helper.log"
pw_producer_stop

# 7. rd-agent itself as uid 65534, under its seccomp filter, with the helper:
# a screenshot through the rendezvous server shows the bars.
check "servers start" ctl_servers
ID=pwsplit$RANDOM
D=$T_TMP/agent-$ID
check "producer node rd-bars-agent published" pw_producer rd-bars-agent BGRx ${W}x$H
check "agent enrolled (capture pipewire, node rd-bars-agent)" ctl_agent_enroll $ID rd-bars-agent pipewire
chown -R 65534:65534 "$D"
CTL_AGENT_WRAP=(setpriv --reuid=65534 --regid=65534 --clear-groups env -u XDG_RUNTIME_DIR
	-u DBUS_SESSION_BUS_ADDRESS)
if check "agent as uid 65534 with --helper registered" ctl_agent_start $ID --helper "$HS"; then
	st=$(cat "/proc/$CTL_AGENT_PID/status")
	check_eq "agent: uid 65534, Seccomp 2, NoNewPrivs 1, CapEff 0" \
		"65534 2 1 0000000000000000" \
		"$(awk '$1 == "Uid:" { u = $3 } $1 == "Seccomp:" { s = $2 } $1 == "NoNewPrivs:" { n = $2 }
			$1 == "CapEff:" { c = $2 } END { print u, s, n, c }' <<<"$st")"
	rdctl_run screenshot $ID -o "$T_TMP/agent-shot.png"
	check_eq "rdctl screenshot of the agent's PipeWire capture: exit 0" 0 "$CTL_RC" || note "$CTL_OUT"
	if [ -s "$T_TMP/agent-shot.png" ]; then
		check_eq "screenshot size" ${W}x$H "$(identify -format %wx%h "$T_TMP/agent-shot.png")"
		check "SMPTE bars in the agent's screenshot" bars_ok "$T_TMP/agent-shot.png"
	else
		not_ok "screenshot written"
	fi
	t_stop "$CTL_AGENT_PID"
fi
check "agent: privileged helper named in its log" grep -q "privileged helper at $HS" "$D/agent.log"
check "agent: seccomp filter installed" grep -q "seccomp filter installed" "$D/agent.log"
check "agent: backend pipewire at ${W}x$H" grep -q "pipewire.*${W}x$H" "$D/agent.log"
check "the helper refused nothing" bash -c "! grep -qE 'refused|malformed' '$T_TMP/helper.log'"
pw_producer_stop
t_stop "$HELPER_PID"

# 8. The helper with only what its unit gives it (root without root's
# powers: CAP_SYS_ADMIN and CAP_DAC_READ_SEARCH; CAP_CHOWN here only because
# --listen gives its socket to the agent's group, the unit gets its socket
# from systemd). It passes through a 0700 folder; connecting needs write
# permission on the socket. pipewire started by hand (umask 022) makes it
# 0755: fine while it is root's own, refused when it is a desktop user's (as
# under /run/user/UID); a 0666 socket (systemd's pipewire.socket) is reachable.
caps=-all,+sys_admin,+dac_read_search,+chown
unitcaps=(setpriv --inh-caps $caps --ambient-caps $caps --bounding-set $caps
	--securebits +noroot,+noroot_locked)
HS2=$T_TMP/helper/unit.sock
PWS=$XDG_RUNTIME_DIR/pipewire-0
check "helper with the unit's capabilities started" helper_start "$HS2" "${unitcaps[@]}"
unit_capture() { # unit_capture NAME: 3 frames through the unit's helper; bars in NAME.ppm
	local out=$T_TMP/nobody/$1 rc
	pw_producer "rd-bars-$1" BGRx ${W}x$H || return 1
	nobody "$dump" --backend pipewire --display "rd-bars-$1" --frames 3 --fps 10 \
		--helper "$HS2" --ppm "$out.ppm" >"$out.log" 2>&1
	rc=$?
	pw_producer_stop
	[ $rc = 0 ] && bars_ok "$out.ppm"
}
fails() { ! "$@"; }
check_eq "pipewire-0 as started here: root's, 0755" "root 755" "$(stat -c '%U %a' "$PWS")"
check "root's 0755 socket: the unit's helper connects, bars captured" unit_capture root755
chown 4242:4242 "$XDG_RUNTIME_DIR" "$PWS"
check "a desktop user's 0755 socket: the unit's helper cannot connect" fails unit_capture user755
check "the helper answers permission denied" \
	grep -q "uid=65534 pipewire 0: Permission denied" "$T_TMP/helper.log"
check "the capture logs the helper's refusal" \
	grep -q "helper refused pipewire 0: Permission denied" "$T_TMP/nobody/user755.log"
check "and the capture ends with that answer, without connecting by itself" \
	grep -q "no PipeWire connection from the privileged helper: Permission denied" "$T_TMP/nobody/user755.log"
chmod 0666 "$PWS"
check "a desktop user's 0666 socket: the unit's helper connects, bars captured" \
	unit_capture user666
chown 0:0 "$XDG_RUNTIME_DIR" "$PWS"
t_stop "$HELPER_PID"

[ "$T_FAILED" -gt 0 ] && tail -n 15 "$T_TMP/helper.log" 2>/dev/null | sed 's/^/# helper: /'
for f in "$T_TMP"/*.log "$T_TMP"/nobody/*.log; do
	grep -qE 'ERROR|Assertion|Segmentation' "$f" && note "$(basename "$f"): $(grep -m3 -E 'ERROR|Assertion' "$f")"
done
t_done
