#!/usr/bin/env bash
# The agent looks its rendezvous server's name up off its loop, against
# rd-rendezvous and rd-agent on loopback: with a getaddrinfo that takes 4 s
# for the server's name (preloaded), the agent answers status meanwhile, and
# registers once the name is found.
source "$(dirname "$0")/../lib.sh"
B=$RD_BUILD
for b in rd-rendezvous rd-agent test/tools/slow-resolve.so; do
	[ -e "$B/$b" ] || { not_ok "$b is not built in $B (make all test-programs)"; t_done; }
done
PW=resolve-pw ID=resolve01 D=$T_TMP/agent
# The preloaded library is not sanitized; a sanitized program must not mind.
SLOW_ENV=(LD_PRELOAD="$B/test/tools/slow-resolve.so" RD_SLOW_RESOLVE_SECS=4
	RD_SLOW_RESOLVE_LOG="$T_TMP/slow.log"
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")

PORT=$(t_free_port 2)
KEY=$("$B/rd-rendezvous" --data-dir "$T_TMP/rv" --print-key 2>/dev/null)
t_bg "$B/rd-rendezvous" -p "$PORT" -b 127.0.0.1 -k - --data-dir "$T_TMP/rv" \
	--config /dev/null >"$T_TMP/rendezvous.log" 2>&1
check "rendezvous server up" t_wait_tcp "$PORT" 10

mkdir -p "$D"
check "agent enrolled with server rv.slow.rdesk.test:$PORT" \
	"$B/rd-agent" enroll --config "$D/agent.ini" --server "rv.slow.rdesk.test:$PORT" --key "$KEY" \
	--id "$ID" --data-dir "$D/data" >"$D/enroll.log" 2>&1
cat >>"$D/agent.ini" <<EOI
[server]
register-interval = 2
[agent]
control-socket = $D/control.sock
[capture]
backend = testsrc
EOI
printf '%s\n' "$PW" | "$B/rd-agent" password set --config "$D/agent.ini" >/dev/null 2>&1
: >"$T_TMP/slow.log"
t_bg env "${SLOW_ENV[@]}" "$B/rd-agent" run --config "$D/agent.ini" >"$D/agent.log" 2>&1

if t_wait_file "$T_TMP/slow.log" "rv\.slow\.rdesk\.test start" 15; then
	ok "the agent looks the server's name up (slowly)"
	t_wait_file "$D/agent.log" "rd-agent .*: ID $ID" 5
	t0=${EPOCHREALTIME/[.,]/}
	st=$(timeout 10 "$B/rd-agent" status --config "$D/agent.ini" --json 2>/dev/null)
	ms=$(( (${EPOCHREALTIME/[.,]/} - t0) / 1000 ))
	note "status answered in $ms ms while the 4 s lookup ran"
	check "the agent answers status while the lookup runs (${ms} ms < 1000 ms)" \
		test -n "$st" -a "$ms" -lt 1000
	check "... and the lookup was still running then" bash -c "! grep -q ' done' '$T_TMP/slow.log'"
else
	not_ok "the agent looks the server's name up (slowly)"
fi
check "the agent registers once the name is found" \
	t_wait_file "$D/agent.log" "registered with \"rv.slow.rdesk.test:$PORT\" as $ID" 15 ||
	note "$(tail -5 "$D/agent.log")"
t_done
