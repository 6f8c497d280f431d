# Guest side of the VM lab tests (copied next to the guest script by
# vm_session_start; source after $O/params).
#   wait_for FILE REGEX SECS   waits until FILE has a line matching REGEX
#   guest_agent_enroll [INI]   forwards the relay port to this machine (sets fwd),
#                              enrolls $B/rd-agent as $ID in $a=$O/agent with the
#                              password $PW, capture backend auto, INI appended
#   guest_agent_split [ARGS]   runs the agent split in two, in the background (sets
#                              agent, helper): rd-agent-helper as root on $HS (log
#                              $a/helper.log, one line per request), then
#                              "$rd_agent run --config $a/agent.ini --helper $HS ARGS"
#                              as uid 65534 (setpriv, no groups; $a chowned to it),
#                              its control socket in /run/rd-agent-test (log
#                              $a/agent.log); once its filter is in place, the
#                              agent's /proc/PID/status is copied to $O/agent-status
#   guest_agent_stop [PID...]  stops the agent, the helper, the forwarder and PIDs;
#                              logs the exits
wait_for() {
	local i
	for i in $(seq $(($3 * 5))); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.2; done
	echo "guest: timed out waiting for /$2/ in $1"
	return 1
}

guest_agent_enroll() {
	socat TCP-LISTEN:$RPORT,bind=127.0.0.1,fork,reuseaddr TCP:10.0.2.2:$RPORT &
	fwd=$!
	a=$O/agent
	mkdir -p "$a/data"
	rd_agent=$B/rd-agent
	"$rd_agent" enroll --config "$a/agent.ini" --server 10.0.2.2:$PORT --key "$KEY" \
		--relay 127.0.0.1:$RPORT --id "$ID" --data-dir "$a/data" >"$a/enroll.log" 2>&1
	printf '[agent]\ndata-dir = %s\n[capture]\nbackend = auto\n%s' "$a/data" "${1:-}" \
		>>"$a/agent.ini"
	printf '%s\n' "$PW" | "$rd_agent" password set --config "$a/agent.ini" >>"$a/enroll.log" 2>&1
}

HS=/run/rd-agent-helper/helper.sock
helper=''
guest_agent_split() {
	mkdir -p -m 0755 "${HS%/*}"
	"$B/rd-agent-helper" --listen "$HS" --agent-user 65534 -l debug >"$a/helper.log" 2>&1 &
	helper=$!
	local i
	for i in $(seq 100); do [ -S "$HS" ] && break; sleep 0.1; done
	# The agent's files on the writable share (9p passes chown through);
	# a socket cannot live there, so the control socket goes to /run.
	chown -R 65534:65534 "$a"
	mkdir -p -m 0700 /run/rd-agent-test && chown 65534:65534 /run/rd-agent-test
	RDESK_CONTROL_SOCKET=/run/rd-agent-test/control.sock \
		setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$rd_agent" run --config "$a/agent.ini" --helper "$HS" "$@" >"$a/agent.log" 2>&1 &
	agent=$!
	wait_for "$a/agent.log" 'seccomp filter installed' 60 &&
		cat "/proc/$agent/status" >"$O/agent-status"
}

guest_agent_stop() {
	kill $agent $fwd "$@" 2>/dev/null
	wait $agent
	echo "agent exit $?" >>"$a/agent.log"
	if [ -n "$helper" ]; then
		kill $helper
		wait $helper
		echo "helper exit $?" >>"$a/helper.log"
	fi
}
