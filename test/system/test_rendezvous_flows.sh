#!/usr/bin/env bash
# rd-rendezvous: every signaling flow against the real binary on loopback,
# driven by rv-peer (wire protocol through common/ and proto/). Requesters
# speak from 127.0.0.1; a target on 127.0.0.2 has another "public" address
# (punch path), one on 127.0.0.1 shares it (same-LAN path).
source "$(dirname "$0")/../lib.sh"

RV=$RD_BUILD/rd-rendezvous
PEER=$RD_BUILD/test/tools/rv-peer
[ -x "$RV" ] && [ -x "$PEER" ] || { not_ok "build first: $RV, $PEER"; t_done; }

# start_rv NAME ARGS...: a server in its own data dir; sets P, K, LOG, RVPID.
start_rv() {
	local name=$1; shift
	P=$(t_free_port 2) || return 1
	mkdir -p "$T_TMP/$name"
	LOG=$T_TMP/$name.log
	t_bg "$RV" -p "$P" -b 127.0.0.1 --data-dir "$T_TMP/$name" --config "$T_TMP/none.ini" "$@" >"$LOG" 2>&1
	RVPID=$T_LAST_PID
	t_wait_file "$LOG" 'ready port=' 10 || { cat "$LOG"; return 1; }
	K=$("$RV" --print-key --data-dir "$T_TMP/$name" 2>/dev/null)
}
: >"$T_TMP/none.ini"
peer() { "$PEER" -s "127.0.0.1:$P" -k "$K" "$@"; }
peer2() { "$PEER" -s "127.0.0.1:$P" -k "$K" -l 127.0.0.2 "$@"; }
val() { sed -n "s/^$1=//p" | head -1; }
# target_bg FILE ARGS...: a registered target answering pushes; waits until registered.
target_bg() {
	local out=$1; shift
	t_bg "$@" >"$out" 2>&1
	t_wait_file "$out" '^registered=1' 10
}

# ---- command line ----
check "--version prints the version" bash -c "'$RV' --version | grep -q '^rd-rendezvous [0-9]'"
check "-h lists every option of the command line" bash -c "'$RV' -h | grep -q -- '--always-relay' && '$RV' -h | grep -q -- '--print-key' && '$RV' -h | grep -q -- '--metrics ADDR:PORT'"
"$RV" --bogus >/dev/null 2>&1; check_eq "unknown option exits 2" 2 $?
mkdir -p "$T_TMP/keyonly"
k1=$("$RV" --print-key --data-dir "$T_TMP/keyonly" 2>/dev/null)
k2=$("$RV" --print-key --data-dir "$T_TMP/keyonly" 2>/dev/null)
check "--print-key creates the pair once and prints a 44-char key" test ${#k1} = 44 -a "$k1" = "$k2"
check_eq "key files are RustDesk's id_ed25519{,.pub}" "$k1" "$(cat "$T_TMP/keyonly/id_ed25519.pub")"

check_eq "--print-key -k SECRET prints that key's public half" "$k1" \
	"$("$RV" --print-key -k "$(cat "$T_TMP/keyonly/id_ed25519")" --data-dir "$T_TMP/empty" 2>/dev/null)"

# ---- -k with a plain licence string: enforced, nothing signed ----
P=$(t_free_port 2)
mkdir -p "$T_TMP/plain"
t_bg "$RV" -p "$P" -b 127.0.0.1 -k plain-licence --data-dir "$T_TMP/plain" --config "$T_TMP/none.ini" \
	>"$T_TMP/plain.log" 2>&1
PLAINPID=$T_LAST_PID
t_wait_file "$T_TMP/plain.log" 'ready port=' 10 || not_ok "server with a licence string starts"
target_bg "$T_TMP/plain.out" "$PEER" -s "127.0.0.1:$P" -l 127.0.0.2 target plain001 uuid-p seed-p 40 ||
	not_ok "target plain001 registers"
out=$("$PEER" -s "127.0.0.1:$P" punch plain001 wrong)
check_eq "licence string enforced" LICENSE_MISMATCH "$(val failure <<<"$out")"
out=$("$PEER" -s "127.0.0.1:$P" punch plain001 plain-licence)
check_eq "right licence string: answered" 127.0.0.2 "$(val socket_addr <<<"$out" | cut -d: -f1)"
check_eq "without a signing key the IdPk stays empty" empty "$(val pk <<<"$out")"
check "no key pair is created for a licence string" test ! -e "$T_TMP/plain/id_ed25519"
t_stop "$PLAINPID"

# ---- registration ----
MPORT=$(t_free_port)
start_rv main --metrics "127.0.0.1:$MPORT" || { not_ok "server starts"; t_done; }
ok "server ready on UDP/TCP $P and TCP $((P - 1))"

out=$(peer register alpha01 uuid-a seed-a)
check_eq "unknown ID gets request_pk" 1 "$(val request_pk <<<"$out")"
check_eq "RegisterPk binds a new ID" OK "$(val result <<<"$out")"
check "new registration logged with source and ID (a datagram: udp)" grep -qE 'rendezvous: udp register new src=127\.0\.0\.1 port=[0-9]+ id="alpha01"' "$LOG"
out=$(peer register alpha01 uuid-a seed-a)
check_eq "known ID from the same address: no request_pk" 0 "$(val request_pk <<<"$out")"
out=$(peer2 register-peer alpha01)
check_eq "known ID from a new address must prove itself (request_pk)" 1 "$(val request_pk <<<"$out")"
out=$(peer register-pk alpha01 uuid-OTHER seed-a)
check_eq "another uuid for a known ID: UUID_MISMATCH" UUID_MISMATCH "$(val result <<<"$out")"
check "key change refusal logged, as udp (a forged source must not be banned)" \
	grep -qE 'rendezvous: udp refused uuid-mismatch src=127\.0\.0\.1 port=[0-9]+ id="alpha01"' "$LOG"
out=$(peer register-pk alpha01 uuid-a seed-new)
check_eq "same uuid, same address, new key: accepted" OK "$(val result <<<"$out")"
check "key change logged" grep -q 'udp register key-changed src=127.0.0.1 port=[0-9]* id="alpha01"' "$LOG"
out=$(peer2 register-pk alpha01 uuid-a seed-newer)
check_eq "same uuid but new address and new key: UUID_MISMATCH" UUID_MISMATCH "$(val result <<<"$out")"
out=$(peer register-pk abc12 uuid-s seed-s)
check_eq "ID shorter than 6: UUID_MISMATCH (client picks a new ID)" UUID_MISMATCH "$(val result <<<"$out")"
check "a good-faith refusal is logged as ignored, not for fail2ban" \
	bash -c "grep -q 'udp ignored bad_id src=127.0.0.1 port=[0-9]* id=\"abc12\"' '$LOG' && ! grep -qE 'rendezvous: (limit|refused|malformed) .* id=\"abc12\"' '$LOG'"
out=$(peer register-pk 'bad id!' uuid-s seed-s)
check_eq "ID with bad characters: INVALID_ID_FORMAT" INVALID_ID_FORMAT "$(val result <<<"$out")"
out=$(peer register-pk "$(printf 'x%.0s' $(seq 70))" uuid-s seed-s)
check_eq "ID over 64 chars: INVALID_ID_FORMAT" INVALID_ID_FORMAT "$(val result <<<"$out")"
for i in 1 2 3; do peer register-pk alpha01 uuid-a seed-new >/dev/null; done
out=$(peer register-pk alpha01 uuid-a seed-new)
check_eq "4th RegisterPk of one ID within 6 s: TOO_FREQUENT" TOO_FREQUENT "$(val result <<<"$out")"

# ---- punch: unknown, offline, licence, online (punch path and same LAN) ----
out=$(peer punch nosuchid1)
check_eq "punch to an unknown ID: ID_NOT_EXIST" ID_NOT_EXIST "$(val failure <<<"$out")"
check "punch outcome logged" grep -q 'punch result=id_not_exist src=127.0.0.1 port=[0-9]* id="nosuchid1"' "$LOG"
out=$(peer punch alpha01 wrong-licence)
check_eq "wrong licence key: LICENSE_MISMATCH" LICENSE_MISMATCH "$(val failure <<<"$out")"

target_bg "$T_TMP/b1.out" "$PEER" -s "127.0.0.1:$P" -k "$K" -l 127.0.0.2 target bravo01 uuid-b seed-b 40 ||
	not_ok "target bravo01 registers"
out=$(peer punch bravo01)
check_eq "online target, other address: answered with B's address" 127.0.0.2 "$(val socket_addr <<<"$out" | cut -d: -f1)"
check_eq "punch path: not local" 0 "$(val is_local <<<"$out")"
check_eq "the server signs B's key (IdPk verifies with the server key)" verified "$(val pk <<<"$out")"
check "target got PunchHole and sent PunchHoleSent" grep -q '^sent=punch_hole_sent' "$T_TMP/b1.out"
check "PunchHole carried our NAT type (ASYMMETRIC=1)" grep -q '^got=punch_hole nat_type=1' "$T_TMP/b1.out"
check_eq "PunchHoleResponse socket_addr is B's TCP source" \
	"$(sed -n 's/^sent=punch_hole_sent from=//p' "$T_TMP/b1.out" | head -1)" "$(val socket_addr <<<"$out")"

target_bg "$T_TMP/c1.out" "$PEER" -s "127.0.0.1:$P" target charlie1 uuid-c seed-c 40 ||
	not_ok "target charlie1 registers"
out=$(peer punch charlie1)
check_eq "same public address: FetchLocalAddr path, is_local" 1 "$(val is_local <<<"$out")"
check_eq "local path answers with B's local address" \
	"$(sed -n 's/^sent=local_addr local=//p' "$T_TMP/c1.out" | head -1)" "$(val socket_addr <<<"$out")"
check_eq "local path also carries the signed key" verified "$(val pk <<<"$out")"

# ---- relay: requester-initiated ----
out=$(peer relay bravo01 11111111-2222-4333-8444-555555555555)
check_eq "RequestRelay: B's RelayResponse reaches the requester" relay_response "$(val reply <<<"$out")"
check_eq "routing address cleared before delivery" 0 "$(val socket_addr_len <<<"$out")"
check "target got RequestRelay with the requester's address and the uuid" \
	grep -qE '^got=request_relay uuid=11111111-2222-4333-8444-555555555555 .*socket_addr_len=1[0-9]' "$T_TMP/b1.out"
out=$(peer relay nosuchid1 11111111-2222-4333-8444-555555555556)
check "RequestRelay to an unknown ID is refused with a reason" grep -q '^refuse_reason=ID does not exist' <<<"$out"
check_eq "RequestRelay: the requester gets a controller's relay token for its uuid" "verified 1" \
	"$(peer relay bravo01 11111111-2222-4333-8444-555555555557 | val relay_token)"
check "the target gets an agent's relay token for the uuid" \
	grep -qx 'got_relay_token=verified 2' "$T_TMP/b1.out"
# The relay is the server's to name (none here), not the requester's.
out=$(peer relay bravo01 11111111-2222-4333-8444-555555555558 "" 127.0.0.3:9)
check "a relay named by the requester is not passed on" \
	grep -qE '^got=request_relay uuid=11111111-2222-4333-8444-555555555558 relay= ' "$T_TMP/b1.out"
# RequestRelay gets PunchHoleRequest's licence check.
out=$(peer relay bravo01 11111111-2222-4333-8444-555555555559 wrong-licence)
check "RequestRelay with a wrong licence key is refused" grep -q '^refuse_reason=Key mismatch' <<<"$out"
check "... and never reaches the target" bash -c "! grep -q 555555555559 '$T_TMP/b1.out'"
check "... logged for fail2ban" grep -qE 'rendezvous: refused licence-mismatch src=127\.0\.0\.1 port=[0-9]+ id="bravo01"' "$LOG"

# ---- NAT test and online query ----
out=$(peer test-nat)
check_eq "TestNatRequest on PORT returns our source port" "$(val local_port <<<"$out")" "$(val port <<<"$out")"
out=$(peer test-nat nat)
check_eq "TestNatRequest on PORT-1 returns our source port" "$(val local_port <<<"$out")" "$(val port <<<"$out")"
out=$(peer online bravo01 nosuchid1 charlie1 alpha01)
check_eq "OnlineRequest on PORT-1: bitmap MSB first" 1011 "$(val states <<<"$out")"

# ---- metrics ----
m=$(curl -s --max-time 3 "http://127.0.0.1:$MPORT/metrics")
check "metrics: online peers" grep -qE '^rdesk_rendezvous_online_peers 3$' <<<"$m"
check "metrics: registered IDs" grep -qE '^rdesk_rendezvous_registered_ids 3$' <<<"$m"
check "metrics: punch outcomes" grep -qE '^rdesk_rendezvous_punch_requests_total\{outcome="id_not_exist"\} 2$' <<<"$m"
check "metrics: answered punches" grep -qE '^rdesk_rendezvous_punch_requests_total\{outcome="answered"\} 5$' <<<"$m"
check "metrics: licence refusals" grep -qE '^rdesk_rendezvous_punch_requests_total\{outcome="license_mismatch"\} 2$' <<<"$m"
check "metrics: registrations" grep -qE '^rdesk_rendezvous_registrations_total\{kind="register_pk"\} [1-9]' <<<"$m"
check "metrics: drops by reason" grep -qE '^rdesk_rendezvous_drops_total\{reason="bad_id"\} [1-9]' <<<"$m"
check "metrics: relay assignments and uptime" bash -c "grep -q '^rdesk_rendezvous_relay_assignments_total' <<<'$m' && grep -q '^rdesk_rendezvous_uptime_seconds [0-9]' <<<'$m'"
check_eq "/healthz answers ok" ok "$(curl -s --max-time 3 "http://127.0.0.1:$MPORT/healthz")"

t_stop "$RVPID"

# ---- relays: round-robin over the healthy ones; --always-relay ----
DEAD=$(t_free_port)
# Two healthy "relays" are two listening TCP ports: a server's own PORT and PORT-1.
start_rv helper || not_ok "helper server starts"
HP=$P
start_rv relay --always-relay -r "127.0.0.1:$DEAD,127.0.0.1:$HP,127.0.0.1:$((HP - 1))" ||
	not_ok "relay server starts"
t_wait_file "$LOG" "relay down relay=127.0.0.1:$DEAD" 10
check "relay that fails its health check is marked down" grep -q "relay down relay=\"127.0.0.1:$DEAD\"" "$LOG"
target_bg "$T_TMP/d1.out" "$PEER" -s "127.0.0.1:$P" -l 127.0.0.2 target delta01 uuid-d seed-d 40 ||
	not_ok "target delta01 registers"
r1=$(peer punch delta01); r2=$(peer punch delta01); r3=$(peer punch delta01)
check "--always-relay: PunchHole says SYMMETRIC" grep -q '^got=punch_hole nat_type=2' "$T_TMP/d1.out"
check_eq "target-initiated relay: RelayResponse reaches the requester" relay_response "$(val reply <<<"$r1")"
check_eq "target-initiated relay: the signed key replaces the ID" verified "$(val pk <<<"$r1")"
check "target-initiated relay: the uuid is passed on" test -n "$(val uuid <<<"$r1")"
relays="$(val relay_server <<<"$r1") $(val relay_server <<<"$r2") $(val relay_server <<<"$r3")"
check "round-robin skips the dead relay" bash -c "! grep -q ':$DEAD' <<<'$relays'"
check "round-robin alternates the healthy relays" bash -c "grep -q '127.0.0.1:$HP ' <<<'$relays ' && grep -q '127.0.0.1:$((HP - 1)) ' <<<'$relays '"
check "relay assignment logged" grep -qE "relay assigned src=127\.0\.0\.1 port=[0-9]+ id=\"delta01\" relay=\"127\.0\.0\.1:" "$LOG"

# ---- dual stack: the default bind :: serves IPv6 and IPv4 peers together ----
t_stop "$RVPID"
P=$(t_free_port 2)
mkdir -p "$T_TMP/dual"
LOG=$T_TMP/dual.log
t_bg "$RV" -p "$P" --data-dir "$T_TMP/dual" --config "$T_TMP/none.ini" >"$LOG" 2>&1
RVPID=$T_LAST_PID
t_wait_file "$LOG" 'ready port=.* bind="::"' 10 || not_ok "dual-stack server starts"
K=$("$RV" --print-key --data-dir "$T_TMP/dual")
out=$("$PEER" -s "[::1]:$P" -k "$K" register v6peer1 uuid-6 seed-6)
check_eq "IPv6 peer registers over [::1]" OK "$(val result <<<"$out")"
target_bg "$T_TMP/v4.out" "$PEER" -s "127.0.0.1:$P" target v4peer1 uuid-4 seed-4 40 ||
	not_ok "IPv4 target registers on the dual-stack socket"
out=$("$PEER" -s "[::1]:$P" -k "$K" punch v4peer1)
check_eq "IPv6 requester reaches an IPv4 target (PunchHole over the mapped address)" \
	127.0.0.1 "$(val socket_addr <<<"$out" | cut -d: -f1)"
check "IPv4 source logged without the ::ffff: prefix" grep -q 'register new src=127.0.0.1 port=[0-9]* id="v4peer1"' "$LOG"

# ---- configuration: INI file and environment, flag > env > INI ----
t_stop "$RVPID"
printf '[rendezvous]\nalways-relay = no\nport = 3\n[limits]\nreg-burst = 2\nreg-rate = 0.01\n' >"$T_TMP/rv.ini"
P=$(t_free_port 2)
mkdir -p "$T_TMP/cfg"
RDESK_PORT=$P t_bg "$RV" -b 127.0.0.1 --data-dir "$T_TMP/cfg" --config "$T_TMP/rv.ini" >"$T_TMP/cfg.log" 2>&1
check "environment overrides the INI port" t_wait_file "$T_TMP/cfg.log" "ready port=$P " 10
K=$("$RV" --print-key --data-dir "$T_TMP/cfg")
out=$(peer burst-register echo001 6)
check_eq "[limits] from the INI file apply (reg-burst = 2)" 2 "$(val answered <<<"$out")"
t_done
