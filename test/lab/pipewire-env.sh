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
