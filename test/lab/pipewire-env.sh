# pipewire-env.sh: a private PipeWire daemon for tests (source it after
# test/lib.sh). Recipe, as tried on Debian 12 (PipeWire 0.3.65, WirePlumber
# 0.4.13, GStreamer 1.22):
#
#  - pipewire runs as root with its own XDG_RUNTIME_DIR (mode 0700); its stock
#    configuration brings the link factory and the Dummy-Driver.
#  - A producer: gst-launch-1.0 videotestsrc is-live=true ! video/x-raw,...
#    ! pipewiresink mode=provide stream-properties="props,media.class=
#    Video/Source,node.name=NAME". In provide mode the producer drives the
#    graph itself.
#  - No session manager is needed for capture: the agent's pipewire backend
#    finds the node by name in the registry, connects its stream with
#    node.autoconnect=false and creates the link itself with the link factory.
#    (A consumer that waits for a policy to link it, like pipewiresrc
#    target-object=NAME, sits in PAUSED when no session manager links it.)
#    With WirePlumber running (it needs a session bus) the same works: it
#    leaves a stream that does not ask to be autoconnected alone.
#  - Seen here: a pipewiresink producer that has served one consumer does not
#    always send buffers to the next one; each capture gets a fresh producer.
#
# pw_env_start        start dbus-daemon and pipewire; exports XDG_RUNTIME_DIR,
#                     DBUS_SESSION_BUS_ADDRESS; every process is ended by PID
#                     at exit. PW_DBUS_CONFIG names a bus configuration to use
#                     instead of the stock session one.
# pw_env_wireplumber  start WirePlumber too
# pw_producer NAME FORMAT WxH [FPS]   publish videotestsrc SMPTE bars (10 fps
#                     unless FPS) as node NAME (PW_PATTERN="pattern=..." for
#                     another picture);
#                     sets PW_PRODUCER_PID; waits until the node is listed
# pw_node_id NAME     print the id of node NAME
# pw_producer_stop    end the producer
#
# For the ScreenCast portal (the real xdg-desktop-portal, with the test's
# backend test/tools/portal-screencast):
# pw_portal_prepare   before pw_env_start: a private home, a portal
#                     configuration naming the backend, and a bus
#                     configuration that starts nothing but the permission
#                     store on demand (sets PW_DBUS_CONFIG)
# pw_bus_has NAME     wait until NAME is owned on the session bus
# pw_bus_pid NAME     print the PID of NAME's owner
# pw_portal_stop_activated   end what the bus started on demand (by PID)

pw_env_start() {
	local dir=$T_TMP/pw-runtime i
	mkdir -m 0700 -p "$dir"
	export XDG_RUNTIME_DIR=$dir
	local out
	local conf=--session
	[ -n "${PW_DBUS_CONFIG:-}" ] && conf=--config-file=$PW_DBUS_CONFIG
	out=$(timeout 10 dbus-daemon "$conf" --fork --print-address=1 --print-pid=1) || return 1
	export DBUS_SESSION_BUS_ADDRESS=${out%%$'\n'*}
	T_PIDS+=("${out##*$'\n'}")
	t_bg pipewire >"$T_TMP/pipewire.log" 2>&1
	PW_PID=$T_LAST_PID
	for i in $(seq 100); do
		[ -S "$dir/pipewire-0" ] && return 0
		sleep 0.05
	done
	return 1
}

pw_env_wireplumber() {
	t_bg wireplumber >"$T_TMP/wireplumber.log" 2>&1
	local i
	for i in $(seq 100); do
		timeout 5 pw-cli ls Client 2>/dev/null | grep -qi wireplumber && return 0
		sleep 0.1
	done
	return 1
}

pw_producer() {
	local name=$1 fmt=$2 size=$3 fps=${4:-10} i
	# shellcheck disable=SC2086 # PW_PATTERN holds several properties
	t_bg gst-launch-1.0 -q videotestsrc is-live=true ${PW_PATTERN:-pattern=smpte} ! \
		"video/x-raw,format=$fmt,width=${size%x*},height=${size#*x},framerate=$fps/1" ! \
		pipewiresink mode=provide \
		stream-properties="props,media.class=Video/Source,node.name=$name" \
		>"$T_TMP/producer-$name.log" 2>&1
	PW_PRODUCER_PID=$T_LAST_PID
	for i in $(seq 100); do
		timeout 5 pw-cli ls Node 2>/dev/null | grep -q "node.name = \"$name\"" && return 0
		sleep 0.1
	done
	return 1
}

pw_producer_stop() {
	[ -n "${PW_PRODUCER_PID:-}" ] && t_stop "$PW_PRODUCER_PID"
	PW_PRODUCER_PID=
}

pw_node_id() {
	timeout 5 pw-cli ls Node 2>/dev/null | awk -v want="node.name = \"$1\"" '
		$1 == "id" { id = $2; sub(",", "", id) }
		index($0, want) { print id; exit }'
}

pw_portal_prepare() {
	# Everything the session bus starts on demand (the permission store keeps
	# restore tokens) keeps its files in the test's folder.
	export HOME=$T_TMP/home XDG_DATA_HOME=$T_TMP/data XDG_CONFIG_HOME=$T_TMP/config
	export XDG_CURRENT_DESKTOP=rdtest XDG_DESKTOP_PORTAL_DIR=$T_TMP/portals
	mkdir -p "$HOME" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_DESKTOP_PORTAL_DIR"
	cat >"$XDG_DESKTOP_PORTAL_DIR/rdtest.portal" <<EOF
[portal]
DBusName=org.freedesktop.impl.portal.desktop.rdtest
Interfaces=org.freedesktop.impl.portal.ScreenCast;
UseIn=rdtest
EOF
	# The session bus starts nothing but the permission store on demand (a
	# stock session bus would start the system's xdg-desktop-portal by itself).
	mkdir -p "$T_TMP/services"
	cat >"$T_TMP/services/org.freedesktop.impl.portal.PermissionStore.service" <<EOF
[D-BUS Service]
Name=org.freedesktop.impl.portal.PermissionStore
Exec=/usr/libexec/xdg-permission-store
EOF
	export PW_DBUS_CONFIG=$T_TMP/bus.conf
	cat >"$PW_DBUS_CONFIG" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$T_TMP</listen>
  <auth>EXTERNAL</auth>
  <servicedir>$T_TMP/services</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
}

pw_bus_pid() {
	timeout 5 busctl --user status "$1" 2>/dev/null | sed -n 's/^PID=//p'
}

pw_bus_has() {
	local i
	for i in $(seq 100); do
		timeout 5 busctl --user list 2>/dev/null | grep -q "^$1 " && return 0
		sleep 0.1
	done
	return 1
}

pw_portal_stop_activated() {
	local n p
	for n in org.freedesktop.impl.portal.PermissionStore; do
		p=$(pw_bus_pid $n)
		[ -n "$p" ] && t_stop "$p"
	done
}
