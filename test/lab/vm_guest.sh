# Guest side of the VM lab tests (copied next to the guest script by
# vm_session_start; source after $O/params).
#   wait_for FILE REGEX SECS   waits until FILE has a line matching REGEX
#   guest_agent_enroll [INI]   forwards the relay port to this machine (sets fwd),
#                              enrolls $B/rd-agent as $ID in $a=$O/agent with the
#                              password $PW, capture backend auto, INI appended
#   guest_agent_stop [PID...]  stops the agent, the forwarder and PIDs; logs the exit
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

guest_agent_stop() {
	kill $agent $fwd "$@" 2>/dev/null
	wait $agent
	echo "agent exit $?" >>"$a/agent.log"
}
