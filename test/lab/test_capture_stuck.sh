#!/usr/bin/env bash
# The agent's loop never waits for a capture open. While opening capture is
# stuck, a second controller's lookup and login and the agent's registration
# keep the timing they have without it; a controller that logged in during
# the open gets its first frame once it opens, or is told there is no screen
# when it fails.
#
# Stuck opens, with the real PipeWire, xdg-desktop-portal and the portal lab's
# backend (recipe: pipewire-env.sh):
#  1. a PipeWire node that is never linked: the portal grants it, but no
#     session manager runs to link the agent's stream, so no format comes
#     (the open gives up after 5 s);
#  2. a portal that never answers: xdg-desktop-portal owns its bus name but
#     is stopped (SIGSTOP), so the agent's calls get no reply; it is let go
#     6 s after controller A logged in, and the open then completes.
# Figures: lookup and login of controller B (rdctl's phases), the longest
# time the rendezvous server saw no registration from the agent (its
# metrics, with a 1 s registration interval), and how long the agent took to
# register after its start; first without any stuck open (an agent with the
# testsrc backend), then during each stuck open.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pipewire-env.sh"
source "$(dirname "$0")/ctl_env.sh"
t_require_root
backend=$RD_BUILD/test/tools/portal-screencast
xdp=/usr/libexec/xdg-desktop-portal
for tool in pipewire wireplumber gst-launch-1.0 dbus-daemon pw-cli busctl curl "$xdp" \
	/usr/libexec/xdg-permission-store; do
	command -v "$tool" >/dev/null || { not_ok "$tool is missing (run make deps)"; t_done; }
done
[ -x "$backend" ] || { not_ok "$backend not built"; t_done; }

# Bounds: generous next to the baseline (tens of milliseconds), far below
# the time a stuck open lasts (5 s, 25 s for the portal).
# (The agent registers on its 1 s tick, so gaps of 2 s are normal.)
LOOKUP_MAX=2000 LOGIN_MAX=2000 CONNECT_MAX=3000 REG_GAP_MAX=3500 REG_START_MAX=3000

MPORT=$(t_free_port)
CTL_RV_ARGS=(--metrics "127.0.0.1:$MPORT")
pw_portal_prepare
check "pipewire and a session bus started" pw_env_start || t_done
trap 'for p in ${XDP_PID:-}; do kill -CONT $p 2>/dev/null; done; pw_portal_stop_activated; t_cleanup' EXIT
check "servers start" ctl_servers || t_done

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Registrations the server counted, all agents together.
reg_count() {
	curl -s --max-time 1 "http://127.0.0.1:$MPORT/metrics" |
		awk '/^rdesk_rendezvous_registrations_total/ { n += $NF } END { print n + 0 }'
}

# reg_watch SECS OUT: the longest time in ms (polled every 0.1 s) without a
# new registration, written to OUT after SECS.
reg_watch() {
	local end=$(($(now_ms) + $1 * 1000)) last= last_t t n max=0
	last_t=$(now_ms)
	while [ "$(now_ms)" -lt $end ]; do
		n=$(reg_count)
		t=$(now_ms)
		if [ "$n" != "$last" ]; then
			[ -n "$last" ] && [ $((t - last_t)) -gt $max ] && max=$((t - last_t))
			last=$n last_t=$t
		fi
		sleep 0.1
	done
	t=$(now_ms)
	[ $((t - last_t)) -gt $max ] && max=$((t - last_t))
	echo $max >"$2"
}

# start_agent ID DISPLAY BACKEND: enrolled, started with a 1 s registration
# interval; sets AGENT_PID and REG_MS (ms until the server lists it, or
# "none" after 40 s).
start_agent() {
	local id=$1 t0 i
	REG_MS=none
	ctl_agent_enroll "$id" "$2" "$3" || return 1
	t0=$(now_ms)
	t_bg "$RD_BUILD/rd-agent" run --config "$T_TMP/agent-$id/agent.ini" --register-interval 1 \
		>>"$T_TMP/agent-$id/agent.log" 2>&1
	AGENT_PID=$T_LAST_PID
	for i in $(seq 400); do
		if rdctl_run lookup "$id"; then
			REG_MS=$(($(now_ms) - t0))
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# rdctl_bg NAME ID: `rdctl screenshot ID` in the background, its JSON in
# $T_TMP/NAME.json; sets BG_PID.
rdctl_bg() {
	HOME=$CTL_HOME RDESK_PASSWORD=$CTL_PW "$RD_BUILD/rdctl" --server "$CTL_SERVER_HOST:$CTL_PORT" \
		--key "$CTL_KEY" --json screenshot "$2" -o "$T_TMP/$1.png" >"$T_TMP/$1.json" \
		2>>"$T_TMP/rdctl.err" &
	BG_PID=$!
	T_PIDS+=("$BG_PID")
}

# phase NAME PHASE: rdctl's figure in ms (whole), or "none" when it never
# got that far.
phase() {
	local v
	v=$(grep -o "\"$2\":[0-9.]*" "$T_TMP/$1.json" 2>/dev/null | head -n1 | cut -d: -f2)
	[ -n "$v" ] && printf '%.0f\n' "$v" || echo none
}
under() { [ "$1" != none ] && [ "$1" -lt "$2" ]; }

# bg_wait PID: until it ends (40 s at most); its exit status.
bg_wait() {
	t_wait_until 40 bash -c "! kill -0 $1 2>/dev/null"
	wait "$1" 2>/dev/null
}

# check_b LABEL NAME: controller B's lookup and login, once it ended (its
# screenshot may end either way).
check_b() {
	local lookup login connect
	lookup=$(phase "$2" lookup) login=$(phase "$2" login) connect=$(phase "$2" connect_ms)
	note "$1: controller B lookup ${lookup} ms, login ${login} ms, logged in ${connect} ms after its start"
	check "$1: B's lookup under $LOOKUP_MAX ms (got $lookup)" under "$lookup" $LOOKUP_MAX
	check "$1: B's login under $LOGIN_MAX ms (got $login)" under "$login" $LOGIN_MAX
	check "$1: B logged in within $CONNECT_MAX ms of its start (got $connect)" under "$connect" \
		$CONNECT_MAX
}

# ---- 0. Baseline: nothing is stuck (testsrc opens at once) ----
check "baseline agent registered" start_agent baseline 640x360 testsrc
note "baseline: registered ${REG_MS} ms after start"
reg_watch 4 "$T_TMP/gap-base" &
watch_pid=$!
rdctl_bg b-base baseline
bg_wait $BG_PID
check_b "baseline" b-base
wait $watch_pid
note "baseline: longest time without a registration $(cat "$T_TMP/gap-base") ms"
check "baseline: B's screenshot taken" test -s "$T_TMP/b-base.png"
t_stop "$AGENT_PID"
sleep 1.5

# The portal grants the node of a GStreamer producer; xdg-desktop-portal
# serves the agent, the lab's backend answers it.
check "producer node rd-screen published" pw_producer rd-screen BGRx 640x360
pw_node_id rd-screen >"$T_TMP/node"
t_bg "$backend" org.freedesktop.impl.portal.desktop.rdtest "@$T_TMP/node" 640x360 300 \
	>"$T_TMP/backend.log" 2>&1
check "portal backend on the bus" t_wait_file "$T_TMP/backend.log" '^ready' 10
t_bg "$xdp" -v >"$T_TMP/xdp.log" 2>&1
XDP_PID=$T_LAST_PID
check "xdg-desktop-portal on the bus" pw_bus_has org.freedesktop.portal.Desktop

# stuck_start NAME ID: controller A logs in, B a second later (A_PID,
# B_PID); the registrations are watched for 5 s from A's start.
stuck_start() {
	rdctl_bg "$1-a" "$2"
	A_PID=$BG_PID
	reg_watch 5 "$T_TMP/gap-$1" &
	watch_pid=$!
	sleep 1
	rdctl_bg "$1-b" "$2"
	B_PID=$BG_PID
}

# ---- 1. A PipeWire node that is never linked (no session manager) ----
check "agent on the portal's node registered" start_agent neverlinked portal pipewire
note "never linked: registered ${REG_MS} ms after start"
check "never linked: registered within $REG_START_MAX ms of its start" under "$REG_MS" $REG_START_MAX
# Past the agent's 10 s between two opens: A's login opens capture again,
# whether or not the agent tried at its start.
sleep 11
stuck_start pw neverlinked
bg_wait $B_PID
bg_wait $A_PID
check_b "never linked" pw-b
wait $watch_pid
gap=$(cat "$T_TMP/gap-pw")
note "never linked: longest time without a registration $gap ms"
check "never linked: registration kept its pace (gap $gap ms < $REG_GAP_MAX)" under "$gap" $REG_GAP_MAX
check "never linked: the agent saw the stream never linked" \
	grep -q "was not linked, or negotiated no video format, within 5 s" "$T_TMP/agent-neverlinked/agent.log"
check "never linked: A, logged in meanwhile, was told there is no screen" \
	grep -q '"message":"[^"]*No screen to capture on the host' "$T_TMP/pw-a.json"
check "never linked: the agent is still running" kill -0 "$AGENT_PID"
t_stop "$AGENT_PID"

# ---- 2. A portal that does not answer, then answers ----
check "wireplumber started (it links the portal's stream)" pw_env_wireplumber
kill -STOP "$XDP_PID"
check "agent on a silent portal registered" start_agent silentportal portal pipewire
note "silent portal: registered ${REG_MS} ms after start"
check "silent portal: registered within $REG_START_MAX ms of its start" under "$REG_MS" $REG_START_MAX
stuck_start mute silentportal
sleep 5
kill -CONT "$XDP_PID"
bg_wait $A_PID
check_eq "silent portal: A's screenshot ends well once the portal answers" 0 $?
bg_wait $B_PID
check_b "silent portal" mute-b
check "silent portal: A got its first frame" test -s "$T_TMP/mute-a.png"
check "silent portal: B got its first frame too" test -s "$T_TMP/mute-b.png"
wait $watch_pid
gap=$(cat "$T_TMP/gap-mute")
note "silent portal: longest time without a registration $gap ms"
check "silent portal: registration kept its pace (gap $gap ms < $REG_GAP_MAX)" under "$gap" $REG_GAP_MAX
check "silent portal: capture opened afterwards" grep -q "capture: pipewire, 640x360" \
	"$T_TMP/agent-silentportal/agent.log"
check "silent portal: the agent is still running" kill -0 "$AGENT_PID"
t_stop "$AGENT_PID"

if [ "$T_FAILED" -gt 0 ]; then
	for f in "$T_TMP"/agent-*/agent.log "$T_TMP"/*.json "$T_TMP/rdctl.err"; do
		note "--- $f"
		tail -n 12 "$f" | sed 's/^/#   /'
	done
fi
for id in baseline neverlinked silentportal; do
	check_no_sanitizer "no sanitizer report from agent $id" "$T_TMP/agent-$id/agent.log"
done
t_done
