#!/usr/bin/env bash
# The relay is closed for real, and the agent goes only where its server says,
# against rd-rendezvous, rd-relay, rd-agent and rdctl on loopback:
# - a relayed rdctl session works with the relay tokens the server grants;
# - a controller that holds only the server key (what every agent and
#   controller has) cannot pair, nor with a forged token; with
#   --allow-licence-key it can;
# - a controller's RequestRelay naming its own listener (127.0.0.3) does not
#   make the agent connect there;
# - a RequestRelay without the licence key is refused and never reaches the
#   agent;
# - a relay name that resolves slowly (a getaddrinfo that takes 4 s, preloaded)
#   does not freeze the agent: it answers status meanwhile.
source "$(dirname "$0")/../lib.sh"
B=$RD_BUILD
for b in rd-rendezvous rd-relay rd-agent rdctl test/tools/rv-peer test/tools/slow-resolve.so; do
	[ -e "$B/$b" ] || { not_ok "$b is not built in $B (make all test-programs)"; t_done; }
done
PW=relay-token-pw
# The preloaded library is not sanitized; a sanitized program must not mind.
SLOW_ENV=(LD_PRELOAD="$B/test/tools/slow-resolve.so" RD_SLOW_RESOLVE_SECS=4
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")

# ---- servers ----
PORT=$(t_free_port 2); RPORT=$(t_free_port); APORT=$(t_free_port)
KEY=$("$B/rd-rendezvous" --data-dir "$T_TMP/rv" --print-key 2>/dev/null)
start_relay() { # start_relay ARGS...: rd-relay on RPORT; sets RELAY_PID
	t_bg "$B/rd-relay" -p "$RPORT" -b 127.0.0.1 -k "$KEY" --pair-timeout 3 --config /dev/null "$@" \
		>>"$T_TMP/relay.log" 2>&1
	RELAY_PID=$T_LAST_PID
	t_wait_tcp "$RPORT" 10
}
check "relay up (closed: tokens only)" start_relay
t_bg "$B/rd-rendezvous" -p "$PORT" -b 127.0.0.1 -k - --data-dir "$T_TMP/rv" -r "127.0.0.1:$RPORT" \
	--config /dev/null >"$T_TMP/rendezvous.log" 2>&1
check "rendezvous server up" t_wait_tcp "$PORT" 10
# The server hands out no relay until its first health check reached it.
t_wait_file "$T_TMP/rendezvous.log" "ready port=" 10

# ---- agents: one as enrolled; one that always starts the relay itself
# (the target-initiated path) on a relay whose name resolves slowly ----
start_agent() { # start_agent ID RELAY FORCE [ENV...]: enroll, password, run; sets AGENT_PID
	local id=$1 relay=$2 force=$3 d=$T_TMP/agent-$1; shift 3
	mkdir -p "$d"
	"$B/rd-agent" enroll --config "$d/agent.ini" --server "127.0.0.1:$PORT" --key "$KEY" \
		--relay "$relay" --id "$id" --data-dir "$d/data" >"$d/enroll.log" 2>&1 || return 1
	cat >>"$d/agent.ini" <<EOI
[server]
register-interval = 2
force-relay = $force
[agent]
control-socket = $d/control.sock
[capture]
backend = testsrc
EOI
	printf '%s\n' "$PW" | "$B/rd-agent" password set --config "$d/agent.ini" >>"$d/enroll.log" 2>&1
	t_bg env "$@" "$B/rd-agent" run --config "$d/agent.ini" >>"$d/agent.log" 2>&1
	AGENT_PID=$T_LAST_PID
	t_wait_file "$d/agent.log" "registered with .* as $id" 10
}
ID=relaytok01
SLOWID=relaytok02
check "agent $ID registers" start_agent $ID "127.0.0.1:$RPORT" no
AGENT1_PID=$AGENT_PID
AG=$T_TMP/agent-$ID/agent.log
check "agent $SLOWID registers (relay relay.slow.rdesk.test, slow getaddrinfo preloaded)" \
	start_agent $SLOWID "relay.slow.rdesk.test:$RPORT" yes "${SLOW_ENV[@]}" \
	RD_SLOW_RESOLVE_LOG="$T_TMP/slow-agent.log"
SLOW_PID=$AGENT_PID
SAG=$T_TMP/agent-$SLOWID/agent.log

rdctl() { HOME=$T_TMP/home RDESK_PASSWORD=$PW "$B/rdctl" --server "127.0.0.1:$PORT" --key "$KEY" \
	--json "$@" 2>>"$T_TMP/rdctl.err"; }
peer() { "$B/test/tools/rv-peer" -s "127.0.0.1:$PORT" -k "$KEY" "$@"; }
val() { sed -n "s/^$1=//p" | head -1; }
jget() { grep -oE "\"$2\":(\"[^\"]*\"|[^,}]*)" <<<"$1" | head -n1 | sed -E 's/^[^:]*://; s/^"//; s/"$//'; }
mkdir -p "$T_TMP/home"

# ---- a relayed rdctl session, with the tokens the server grants (on
# loopback the punch works, so --relay asks for the relay: the controller-
# initiated path; the target-initiated one comes at the end) ----
OUT=$(rdctl --relay screenshot $ID -o "$T_TMP/relay.png"); rc=$?
check_eq "rdctl --relay screenshot through rd-relay: exit 0" 0 $rc || note "$OUT"
check_eq "... over the relay" relay "$(jget "$OUT" path)"
check "... a PNG came back" bash -c "identify '$T_TMP/relay.png' | grep -q PNG"
check "relay paired the session" grep -q "paired uuid=" "$T_TMP/relay.log"
check "the agent joined with a token" bash -c "grep 'joining relay' '$AG' | grep -vq 'no relay token'"

# ---- a requester-initiated relay: the controller side played by rv-peer ----
out=$(peer relay-session $ID 0a000001-0000-4000-8000-000000000001 token)
check_eq "controller with the server's grant: the agent's SignedId comes through" signed_id \
	"$(val session <<<"$out")" || note "$out"
out=$(peer relay-session $ID 0a000002-0000-4000-8000-000000000002 licence)
check_eq "controller with the server key only (no token): the relay closes it" closed \
	"$(val session <<<"$out")" || note "$out"
out=$(peer relay-session $ID 0a000003-0000-4000-8000-000000000003 forged)
check_eq "controller with a forged token and the server key: the relay closes it" closed \
	"$(val session <<<"$out")" || note "$out"
check "relay logged both refusals" bash -c "grep -q ': no_token$' '$T_TMP/relay.log' &&
	grep -q ': bad_token$' '$T_TMP/relay.log'"

# Stock RustDesk clients hold no token: the operator may let the key do.
t_stop "$RELAY_PID"
check "relay restarted with --allow-licence-key" start_relay --allow-licence-key
sleep 3.5 # the server's health check sees it again
out=$(peer relay-session $ID 0a000004-0000-4000-8000-000000000004 licence)
check_eq "--allow-licence-key: the server key alone pairs" signed_id "$(val session <<<"$out")" ||
	note "$out"
out=$(peer relay-session $ID 0a000005-0000-4000-8000-000000000005 forged)
check_eq "--allow-licence-key: a forged token is still refused" closed "$(val session <<<"$out")" ||
	note "$out"
t_stop "$RELAY_PID"
check "relay back to tokens only" start_relay
sleep 3.5

# ---- a controller names its own relay: the agent must not go there ----
cat >"$T_TMP/listen.py" <<'PY'
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.3", int(sys.argv[1])))
s.listen(16)
s.settimeout(0.2)
end = time.time() + float(sys.argv[2])
with open(sys.argv[3], "a") as log:
    while time.time() < end:
        try:
            c, a = s.accept()
            log.write("connection from %s:%d\n" % a)
            log.flush()
            c.close()
        except socket.timeout:
            pass
PY
: >"$T_TMP/attacker.log"
t_bg python3 "$T_TMP/listen.py" "$APORT" 20 "$T_TMP/attacker.log"
t_wait_until 5 bash -c "ss -Htln 'sport = :$APORT' | grep -q 127.0.0.3"
out=$(peer relay $ID 0b000001-0000-4000-8000-000000000001 "" "127.0.0.3:$APORT")
check_eq "RequestRelay naming 127.0.0.3:$APORT: answered" relay_response "$(val reply <<<"$out")"
check_eq "... the requester is sent to the server's relay" "127.0.0.1:$RPORT" "$(val relay_server <<<"$out")"
check "... the agent joined the server's relay instead" \
	t_wait_file "$AG" "joining relay \"127\.0\.0\.1:$RPORT\" for uuid \"0b000001" 5
sleep 2
check "... and never connected to 127.0.0.3:$APORT" test ! -s "$T_TMP/attacker.log"
[ -s "$T_TMP/attacker.log" ] && note "$(cat "$T_TMP/attacker.log")"

# ---- RequestRelay gets PunchHoleRequest's licence check ----
out=$(peer relay $ID 0c000001-0000-4000-8000-000000000001 not-the-key)
check "RequestRelay with a wrong licence key: refused" grep -q '^refuse_reason=Key mismatch' <<<"$out"
out=$(peer relay $ID 0c000002-0000-4000-8000-000000000002 "$(head -c 32 /dev/urandom | base64)")
check "RequestRelay with another server's key: refused" grep -q '^refuse_reason=Key mismatch' <<<"$out"
sleep 1
check "... neither reached the agent" bash -c "! grep -qE 'uuid 0c00000[12]' '$AG'"
check "... logged for fail2ban" \
	grep -qE "rendezvous: refused licence-mismatch src=127\.0\.0\.1 port=[0-9]+ id=\"$ID\"" "$T_TMP/rendezvous.log"

# ---- a slow relay name does not freeze the agent (target-initiated relay) ----
# rdctl resolves the name too (blocking: it is the only thing rdctl does then).
: >"$T_TMP/slow-agent.log"
( env "${SLOW_ENV[@]}" RD_SLOW_RESOLVE_LOG="$T_TMP/slow-ctl.log" HOME=$T_TMP/home \
	RDESK_PASSWORD=$PW "$B/rdctl" --server "127.0.0.1:$PORT" --key "$KEY" --json --relay \
	screenshot $SLOWID -o "$T_TMP/slow.png" >"$T_TMP/slow.json" 2>>"$T_TMP/rdctl.err" ) &
ctl_pid=$!
if t_wait_file "$T_TMP/slow-agent.log" "relay\.slow\.rdesk\.test start" 15; then
	ok "the agent looks the relay's name up (slowly)"
	t0=${EPOCHREALTIME/[.,]/}
	st=$(timeout 10 "$B/rd-agent" status --config "$T_TMP/agent-$SLOWID/agent.ini" --json 2>/dev/null)
	ms=$(( (${EPOCHREALTIME/[.,]/} - t0) / 1000 ))
	note "status answered in $ms ms while the 4 s lookup ran"
	check "the agent answers status while the lookup runs (${ms} ms < 1000 ms)" \
		test -n "$st" -a "$ms" -lt 1000
	check "... and the lookup was still running then" bash -c "! grep -q ' done' '$T_TMP/slow-agent.log'"
else
	not_ok "the agent looks the relay's name up (slowly)"
fi
wait $ctl_pid; rc=$?
check_eq "the session through the slowly named relay still works: exit 0" 0 $rc ||
	note "$(cat "$T_TMP/slow.json")"
check_eq "... over the relay" relay "$(jget "$(cat "$T_TMP/slow.json")" path)"
check "the agent logged the lookup" grep -q 'looking up relay "relay.slow.rdesk.test:' "$SAG"
check "the agent started the relay and joined with the token the server granted" \
	bash -c "grep 'joining relay \"relay.slow.rdesk.test:' '$SAG' | grep -vq 'no relay token'"
check "agents still running" bash -c "kill -0 $AGENT1_PID && kill -0 $SLOW_PID"
for p in $AGENT1_PID $SLOW_PID $RELAY_PID; do t_stop "$p"; done
check_no_sanitizer "no sanitizer report from the agents" <(cat "$AG" "$SAG")
check_no_sanitizer "no sanitizer report from the relay" "$T_TMP/relay.log"
check_no_sanitizer "no sanitizer report from rdctl" "$T_TMP/rdctl.err"
t_done
