#!/usr/bin/env bash
# rd-agent keeps its ID. Against the real rd-rendezvous on loopback: the agent
# signs its registration and the server pins its ID; a stranger on 127.0.0.2
# who read the agent's uuid and public key cannot move the ID or change its
# key, and the agent stays reachable under it. A second machine claiming the
# same ID is refused: it keeps the ID, logs what an operator can do and
# retries with back-off, and gets the ID once the operator releases it
# (rd-rendezvous --forget). A RegisterPkResponse that comes when no
# RegisterPk is outstanding (a fake server answering late) changes nothing.
source "$(dirname "$0")/../lib.sh"
B=$RD_BUILD
for b in rd-rendezvous rd-agent test/tools/rv-peer; do
	[ -x "$B/$b" ] || { not_ok "$b is not built in $B"; t_done; }
done
ID=keepid01
PORT=$(t_free_port 2)
RV_DATA=$T_TMP/rv
mkdir -p "$RV_DATA"
KEY=$("$B/rd-rendezvous" --data-dir "$RV_DATA" --print-key 2>/dev/null)
RVLOG=$T_TMP/rendezvous.log
start_rv() {
	t_bg "$B/rd-rendezvous" -p "$PORT" -b 127.0.0.1 --data-dir "$RV_DATA" --config /dev/null >>"$RVLOG" 2>&1
	RV_PID=$T_LAST_PID
	t_wait_tcp "$PORT" 10
}
check "rendezvous up" start_rv
peer() { local ip=$1; shift; "$B/test/tools/rv-peer" -s "127.0.0.1:$PORT" -k "$KEY" -l "$ip" "$@"; }
val() { sed -n "s/^$1=//p" | head -1; }
enroll() { # enroll NAME ID [SERVER]
	"$B/rd-agent" enroll --config "$T_TMP/$1.ini" --server "${3:-127.0.0.1:$PORT}" --key "$KEY" --id "$2" \
		--data-dir "$T_TMP/$1" >/dev/null 2>&1 &&
	printf '[server]\nregister-interval = 2\n[capture]\nbackend = testsrc\n' >>"$T_TMP/$1.ini"
}
run_agent() { # run_agent NAME: sets AGENT_PID
	t_bg "$B/rd-agent" run --config "$T_TMP/$1.ini" >"$T_TMP/$1.log" 2>&1
	AGENT_PID=$T_LAST_PID
}

# ---- the owner registers, signed, and is pinned ----
check "agent one enrolled" enroll one "$ID"
run_agent one
ONE=$AGENT_PID
check "agent one registers" t_wait_file "$T_TMP/one.log" "registered with .* as $ID" 10
check "its registration was signed: the server pinned the ID" \
	grep -qE "register new pinned src=127\.0\.0\.1 port=[0-9]+ id=\"$ID\"" "$RVLOG"

# ---- a stranger who knows the uuid and the key ----
UUID=$(tr -d '\n' <"$T_TMP/one/uuid")
PK=$(cat "$T_TMP/one/id_ed25519.pub")
out=$(peer 127.0.0.2 regpk "$ID" "hex:$UUID" "pk:$PK")
check_eq "hijacker from 127.0.0.2 with the agent's uuid and key, unsigned: refused" \
	"UUID_MISMATCH 1" "$(val result <<<"$out") $(val refusal <<<"$out")"
out=$(peer 127.0.0.2 regpk "$ID" "hex:$UUID" seed-evil)
check_eq "hijacker's own key with the agent's uuid: refused" UUID_MISMATCH "$(val result <<<"$out")"
out=$(peer 127.0.0.2 regpk "$ID" "hex:$UUID" seed-evil sign)
check_eq "hijacker's own key, signed: refused" UUID_MISMATCH "$(val result <<<"$out")"
sleep 5 # two registration intervals of the agent
out=$(peer 127.0.0.3 punch "$ID")
check_eq "a controller still reaches the agent at its own address" 127.0.0.1 \
	"$(val socket_addr <<<"$out" | cut -d: -f1)"
check_eq "under the agent's key" "$(base64 -d <<<"$PK" | od -An -tx1 | tr -d ' \n')" "$(val peer_pk <<<"$out")"
check_eq "the agent keeps its ID" "$ID" "$(cat "$T_TMP/one/id")"
check "and was never refused" bash -c "! grep -q 'refused ID' '$T_TMP/one.log'"

# ---- a second machine claims the ID ----
check "agent two enrolled with the same ID" enroll two "$ID"
run_agent two
TWO=$AGENT_PID
check "refused: an error an operator can act on" t_wait_file "$T_TMP/two.log" \
	"ERROR rendezvous: server .* refused ID $ID \\(UUID_MISMATCH, refusal 1\\): .*rd-rendezvous --forget $ID.*Keeping the ID; retry 1 in 2 s" 10
check "it retries, less often" t_wait_file "$T_TMP/two.log" "Keeping the ID; retry 2 in 4 s" 10
check_eq "agent two keeps its ID" "$ID" "$(cat "$T_TMP/two/id")"
check_eq "rd-agent id shows it" "$ID" "$(RDESK_DATA_DIR=$T_TMP/two "$B/rd-agent" id --config "$T_TMP/two.ini")"
check "agent one is not disturbed" bash -c "! grep -q 'refused ID' '$T_TMP/one.log'"

# ---- the operator gives the ID to machine two ----
t_stop "$ONE"
t_stop "$RV_PID"
out=$("$B/rd-rendezvous" --forget "$ID" --data-dir "$RV_DATA" --config /dev/null 2>&1)
check_eq "rd-rendezvous --forget on the stopped server" 0 $?
check "rendezvous up again" start_rv
check "agent two gets the ID on its next try" t_wait_file "$T_TMP/two.log" "registered with .* as $ID" 20
check_eq "still the same ID" "$ID" "$(cat "$T_TMP/two/id")"
t_stop "$TWO"

# ---- a late or forged RegisterPkResponse ----
FPORT=$(t_free_port 2)
t_bg "$B/test/tools/rv-peer" fake-server "$FPORT" 9 >"$T_TMP/fake.out"
FAKE=$T_LAST_PID
check "agent three enrolled against a fake server" enroll three late0001 "127.0.0.1:$FPORT"
run_agent three
THREE=$AGENT_PID
check "the fake server sent UUID_MISMATCH out of turn" t_wait_file "$T_TMP/fake.out" '^sent=stray' 10
check "the agent ignored it" t_wait_file "$T_TMP/three.log" 'RegisterPkResponse with no RegisterPk outstanding ignored' 10
wait "$FAKE" 2>/dev/null
check "and signed every RegisterPk" grep -qE '^register_pk=([1-9][0-9]*) signed=\1$' "$T_TMP/fake.out"
check_eq "agent three keeps its ID" late0001 "$(cat "$T_TMP/three/id")"
check "and never logged a refusal" bash -c "! grep -q 'refused ID' '$T_TMP/three.log'"
t_stop "$THREE"
t_stop "$RV_PID"
cat "$RVLOG" "$T_TMP"/one.log "$T_TMP"/two.log "$T_TMP"/three.log >"$T_TMP/all.log"
check_no_sanitizer "server and agent logs have no sanitizer report" "$T_TMP/all.log"
t_done
