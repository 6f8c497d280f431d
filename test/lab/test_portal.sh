#!/usr/bin/env bash
# ScreenCast portal capture: the agent's pipewire backend with display =
# portal asks xdg-desktop-portal (the real frontend, on a private session bus)
# for a monitor, gets the node and a PipeWire remote restricted to it, and
# captures it; WirePlumber links the stream as on a desktop.
#
# The frontend's backend here is test/tools/portal-screencast: it grants the
# node of a GStreamer producer (a solid #12ab34 picture) without a dialog.
# (Debian 12's xdg-desktop-portal-wlr 0.7 cannot serve here: with no
# /dev/dri, wlroots renders with pixman, its screencopy v3 offers no dma-buf
# format, and xdpw then refuses every Start: "unable to receive a valid
# format from wlr_screencopy". In the lab VM with vgem, sway's GLES renderer
# comes up on vgem's render node through Mesa, but Mesa's gbm allocates dumb
# buffers, which the kernel refuses on a render node, so no output buffer
# can be made; a GPU render node would unblock it.)
#
# Checked: the picture, the portal's request/response flow (types=monitor,
# cursor embedded, persist), the restore token kept in a file and offered on
# the next run (the frontend hands the backend its restore data again), the
# session closed on exit, auto picking the portal, and clear errors when no
# portal or no session bus is there.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pipewire-env.sh"
t_require_root
dump=$RD_BUILD/test/tools/capture-dump
backend=$RD_BUILD/test/tools/portal-screencast
xdp=/usr/libexec/xdg-desktop-portal
for tool in pipewire wireplumber gst-launch-1.0 dbus-daemon pw-cli busctl convert "$xdp" \
	/usr/libexec/xdg-permission-store; do
	command -v "$tool" >/dev/null || { not_ok "$tool is missing (run make deps)"; t_done; }
done
for p in "$dump" "$backend"; do
	[ -x "$p" ] || { not_ok "$p not built"; t_done; }
done
W=640 H=360 COLOUR="18 171 52"

pw_portal_prepare

# 0. No session bus: the reason is logged, nothing hangs.
out=$T_TMP/nobus
env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR="$T_TMP/none" timeout 30 "$dump" \
	--backend pipewire --display portal --frames 1 >"$out.log" 2>&1
rc=$?
check "without a session bus, portal capture fails" test $rc -ne 0 -a $rc -ne 124
check "and says there is no session bus" grep -q "no session bus for the ScreenCast portal" "$out.log"
env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR="$T_TMP/none" DISPLAY= timeout 30 "$dump" \
	--backend auto --frames 1 >"$out-auto.log" 2>&1
check "auto says why the portal was passed over" \
	grep -q "backend pipewire skipped: .*no session bus" "$out-auto.log"

check "pipewire and a session bus started" pw_env_start
trap 'pw_portal_stop_activated; t_cleanup' EXIT
check "wireplumber started" pw_env_wireplumber

# 1. A bus without the portal: a clear error.
out=$T_TMP/noportal
timeout 30 "$dump" --backend pipewire --display portal --frames 1 >"$out.log" 2>&1
rc=$?
check "without a portal, capture fails (not a timeout)" test $rc -ne 0 -a $rc -ne 124
check "and names the missing ScreenCast portal" grep -q "no ScreenCast portal on the session bus" "$out.log"

# fresh_producer: a new producer for each capture (a pipewiresink that has
# served one consumer may not serve the next); the backend reads its node id
# from a file.
fresh_producer() {
	pw_producer_stop
	PW_PATTERN="pattern=solid-color foreground-color=0xff12ab34" \
		pw_producer rd-screen BGRx ${W}x$H || return 1
	node=$(pw_node_id rd-screen)
	[ -n "$node" ] && echo "$node" >"$T_TMP/node"
}
check "producer node rd-screen published" fresh_producer
t_bg "$backend" org.freedesktop.impl.portal.desktop.rdtest "@$T_TMP/node" ${W}x$H 300 \
	>"$T_TMP/backend.log" 2>&1
check "portal backend on the bus" t_wait_file "$T_TMP/backend.log" '^ready' 10
t_bg "$xdp" -v >"$T_TMP/xdp.log" 2>&1
check "xdg-desktop-portal on the bus" pw_bus_has org.freedesktop.portal.Desktop

solid() { # solid FILE: every pixel is the producer's colour
	local got
	got=$(convert "$1" -format '%k %[fx:int(255*p{10,10}.r+.5)] %[fx:int(255*p{10,10}.g+.5)] %[fx:int(255*p{10,10}.b+.5)]' info:)
	[ "$got" = "1 $COLOUR" ] || { note "colours, first pixel: $got"; return 1; }
}

# 2. First capture through the portal; the restore token goes to a file.
token=$T_TMP/state/portal-restore-token
mkdir -p "$T_TMP/state"
out=$T_TMP/first
timeout 60 "$dump" --backend pipewire --display "portal:$token" --frames 1 --fps 10 \
	--ppm "$out.ppm" >"$out.log" 2>&1
check_eq "capture through the portal exits 0" 0 $?
check "portal version 4 seen" grep -q "ScreenCast portal version 4" "$out.log"
check "screen cast started on node $node" grep -q "screen cast started: node $node, ${W}x$H" "$out.log"
check "backend pipewire opened at ${W}x$H" grep -q "backend pipewire: ${W}x$H" "$out.log"
check "the node was linked from the portal" grep -q "linked (from the ScreenCast portal)" "$out.log"
check_eq "a frame captured" 1 "$(grep -c '^frame 0 640x360 rects 1 area 230400' "$out.log")"
check "the picture is the producer's #12ab34" solid "$out.ppm"
check "backend asked for a monitor, embedded cursor, persistent" \
	grep -q "^select_sources types=1 cursor_mode=2 persist_mode=2 restore=no" "$T_TMP/backend.log"
check "a restore token was kept in the file" test -s "$token"
check "the token file is private (0600)" test "$(stat -c %a "$token")" = 600
check "the portal session was closed on exit" t_wait_file "$T_TMP/backend.log" '^session_closed' 5

# 3. Again: the kept token is offered and the frontend restores the session.
check "a fresh producer" fresh_producer
out=$T_TMP/second
timeout 60 "$dump" --backend pipewire --display "portal:$token" --frames 1 --fps 10 \
	--ppm "$out.ppm" >"$out.log" 2>&1
check_eq "second capture exits 0" 0 $?
check "the restore token was offered" grep -q "offering a restore token" "$out.log"
check "the backend got its restore data back" \
	grep -q "^select_sources .*restore=yes" "$T_TMP/backend.log"
check "the picture again" solid "$out.ppm"

# 4. auto with no display set: drm skipped, the portal picked.
check "a fresh producer" fresh_producer
out=$T_TMP/auto
DISPLAY= STATE_DIRECTORY= timeout 60 "$dump" --backend auto --frames 1 --fps 10 \
	--state-dir "$T_TMP/state" --ppm "$out.ppm" >"$out.log" 2>&1
check_eq "auto capture exits 0" 0 $?
check "auto picked pipewire through the portal" grep -q "backend pipewire (auto): ${W}x$H" "$out.log"
check "auto used the token in the agent's data folder" grep -q "offering a restore token" "$out.log"
check "the picture through auto" solid "$out.ppm"

# 5. The screen cast's node goes away during a capture: the capture ends
# (the agent then asks the portal again) instead of showing a stale picture.
check "a fresh producer" fresh_producer
out=$T_TMP/gone
timeout 60 "$dump" --backend pipewire --display "portal:$token" --seconds 20 --fps 10 \
	>"$out.log" 2>&1 &
dpid=$!
t_wait_file "$out.log" 'backend pipewire: ' 20 && sleep 1 && pw_producer_stop
wait $dpid
rc=$?
check "the capture ends when the node goes (not a timeout)" test $rc -ne 0 -a $rc -ne 124
check "and says the screen cast's node is gone" grep -q "node $node of the screen cast is gone" "$out.log"

pw_producer_stop
if [ "$T_FAILED" -gt 0 ]; then
	for f in "$T_TMP"/*.log; do
		note "--- $(basename "$f")"
		tail -n 15 "$f" | sed 's/^/#   /'
	done
fi
for f in nobus nobus-auto noportal first second auto gone; do
	check_no_sanitizer "no sanitizer report from capture-dump ($f)" "$T_TMP/$f.log"
done
check_no_sanitizer "no sanitizer report from the portal backend" "$T_TMP/backend.log"
t_done
