#!/usr/bin/env bash
# rd-rendezvous: who may hold an ID. Played against the real server over
# loopback with rv-peer: a stranger from 127.0.0.2 who knows a signed ID's
# uuid and key cannot move it or change its key; an old signed RegisterPk
# cannot be replayed; a key rotation signed by the pinned key goes through,
# anything else is refused; unsigned IDs keep RustDesk's rules until their
# first signed registration, and never fall back; target replies count only
# from the target's registered address; new IDs are capped per source and in
# total, and IDs already known do not count after a restart; --forget
# releases an ID from a stopped server's database.
source "$(dirname "$0")/../lib.sh"

RV=$RD_BUILD/rd-rendezvous
PEER=$RD_BUILD/test/tools/rv-peer
[ -x "$RV" ] && [ -x "$PEER" ] || { not_ok "build first: $RV, $PEER"; t_done; }
: >"$T_TMP/none.ini"
N=0
# start_rv DIR: the server on port P with data dir DIR (env passes through);
# sets RVPID, LOG.
start_rv() {
	N=$((N + 1))
	LOG=$T_TMP/rv$N.log
	mkdir -p "$1"
	t_bg "$RV" -p "$P" -b 127.0.0.1 --data-dir "$1" --config "$T_TMP/none.ini" >"$LOG" 2>&1
	RVPID=$T_LAST_PID
	t_wait_file "$LOG" 'ready port=' 10 || { cat "$LOG"; return 1; }
	K=$("$RV" --print-key --data-dir "$1" 2>/dev/null)
}
stop_rv() { t_stop "$RVPID"; }
peer() { local ip=$1; shift; "$PEER" -s "127.0.0.1:$P" -k "$K" -l "$ip" "$@"; }
val() { sed -n "s/^$1=//p" | head -1; }
res() { local o; o=$("$@"); echo "$(val result <<<"$o") $(val refusal <<<"$o")"; }
now_ms() { echo $((${EPOCHREALTIME/[.,]/} / 1000)); }

P=$(t_free_port 2)
D1=$T_TMP/d1
RDESK_PENDING_TIMEOUT=3 start_rv "$D1" || { not_ok "server starts"; t_done; }
ok "server ready"

# ---- a stranger who knows the uuid cannot move a signed ID or change its key ----
VPK=$("$PEER" pubkey seed-victim)
t_bg peer 127.0.0.1 target victim01 uuid-victim seed-victim 60 sign >"$T_TMP/victim.out"
VICTIM=$T_LAST_PID
check "victim registers with a signature" t_wait_file "$T_TMP/victim.out" '^registered=1' 10
check "and the server pins it" grep -qE 'register new pinned src=127\.0\.0\.1 port=[0-9]+ id="victim01"' "$LOG"
check_eq "hijacker: the victim's uuid and key, unsigned, from 127.0.0.2: refused (pinned key)" \
	"UUID_MISMATCH 1" "$(res peer 127.0.0.2 regpk victim01 uuid-victim "pk:$VPK")"
check_eq "hijacker: its own key, signed, from 127.0.0.2: refused" \
	"UUID_MISMATCH 1" "$(res peer 127.0.0.2 regpk victim01 uuid-victim seed-evil sign)"
check_eq "hijacker: its own key, unsigned, same uuid: refused" \
	"UUID_MISMATCH 1" "$(res peer 127.0.0.2 regpk victim01 uuid-victim seed-evil)"
out=$(peer 127.0.0.2 register-peer victim01)
check_eq "hijacker: RegisterPeer from 127.0.0.2 must prove itself" 1 "$(val request_pk <<<"$out")"
out=$(peer 127.0.0.1 register-peer victim01)
check_eq "even from the victim's IP, another port must prove itself with a signature" 1 \
	"$(val request_pk <<<"$out")"
check "refusals logged" grep -qE 'refused (pinned-key|unsigned-pinned) src=127\.0\.0\.2 port=[0-9]+ id="victim01"' "$LOG"
out=$(peer 127.0.0.3 punch victim01)
check_eq "a controller still reaches the victim at its own address" 127.0.0.1 \
	"$(val socket_addr <<<"$out" | cut -d: -f1)"
check_eq "with the victim's key in the signed IdPk" \
	"$(base64 -d <<<"$VPK" | od -An -tx1 | tr -d ' \n')" "$(val peer_pk <<<"$out")"
check "the victim was never refused" bash -c "! grep -q '^register_pk=UUID_MISMATCH' '$T_TMP/victim.out'"

# ---- replay of an old signed RegisterPk ----
check_eq "signed registration (saved)" "OK 0" \
	"$(res peer 127.0.0.1 regpk replay01 uuid-r seed-r sign save="$T_TMP/old.bin")"
check_eq "a later one" "OK 0" "$(res peer 127.0.0.1 regpk replay01 uuid-r seed-r sign save="$T_TMP/last.bin")"
check_eq "the old one replayed from 127.0.0.2: refused (stale time)" "UUID_MISMATCH 2" \
	"$(res peer 127.0.0.2 replay "$T_TMP/old.bin")"
check_eq "the last one replayed: refused too (not newer)" "UUID_MISMATCH 2" \
	"$(res peer 127.0.0.2 replay "$T_TMP/last.bin")"
future=$(($(now_ms) + 3 * 86400000))
check_eq "a time three days ahead of the server's clock: refused" "UUID_MISMATCH 3" \
	"$(res peer 127.0.0.1 regpk ahead001 uuid-f seed-f sign time=$future)"

# ---- key rotation ----
check_eq "rotation: pinned to k1" "OK 0" "$(res peer 127.0.0.1 regpk rotate01 uuid-k seed-k1 sign)"
check_eq "a new key signed only by itself, same IP and uuid: refused" "UUID_MISMATCH 1" \
	"$(res peer 127.0.0.1 regpk rotate01 uuid-k seed-k2 sign)"
check_eq "a new key signed by the pinned one: accepted" "OK 0" \
	"$(res peer 127.0.0.1 regpk rotate01 uuid-k seed-k2 sign old=seed-k1)"
check "rotation logged" grep -qE 'register key-rotated src=127\.0\.0\.1 port=[0-9]+ id="rotate01"' "$LOG"
check_eq "the old key no longer registers" "UUID_MISMATCH 1" \
	"$(res peer 127.0.0.1 regpk rotate01 uuid-k seed-k1 sign)"
check_eq "nor rotates" "UUID_MISMATCH 1" "$(res peer 127.0.0.1 regpk rotate01 uuid-k seed-k3 sign old=seed-k1)"
check_eq "the new key does" "OK 0" "$(res peer 127.0.0.2 regpk rotate01 uuid-k seed-k2 sign)"

# ---- stock (unsigned) IDs keep RustDesk's rules, until signed once ----
check_eq "stock: unsigned registration binds an ID" "OK 0" "$(res peer 127.0.0.1 regpk stock001 uuid-s seed-s1)"
check_eq "stock: a new key from the same IP and uuid" "OK 0" "$(res peer 127.0.0.1 regpk stock001 uuid-s seed-s2)"
check_eq "stock: a new key from another IP: UUID_MISMATCH" "UUID_MISMATCH 0" \
	"$(res peer 127.0.0.2 regpk stock001 uuid-s seed-s3)"
check_eq "its first signed registration pins it" "OK 0" "$(res peer 127.0.0.1 regpk stock001 uuid-s seed-s2 sign)"
check "pin logged" grep -qE 'register pinned src=127\.0\.0\.1 port=[0-9]+ id="stock001"' "$LOG"
check_eq "and it never falls back to unsigned" "UUID_MISMATCH 1" \
	"$(res peer 127.0.0.1 regpk stock001 uuid-s seed-s2)"

# ---- target replies only from the target's registered address ----
out=$(peer 127.0.0.4 register mute0001 uuid-m seed-m)
check_eq "a target that never answers registers from 127.0.0.4" OK "$(val result <<<"$out")"
spoof() { # spoof KIND REQUEST...: the request from 127.0.0.1, the reply from 127.0.0.2
	local kind=$1; shift
	t_bg peer 127.0.0.1 "$@" >"$T_TMP/req.out"
	t_wait_file "$T_TMP/req.out" '^local=' 5
	local addr; addr=$(val local <"$T_TMP/req.out")
	peer 127.0.0.2 spoof-reply "$kind" mute0001 "$addr" >/dev/null
	t_wait_file "$T_TMP/req.out" '^(reply|closed)=' 10
}
spoof punch-sent punch mute0001
check_eq "PunchHoleSent from a stranger: the requester gets nothing from it" none "$(val reply <"$T_TMP/req.out")"
spoof local-addr punch mute0001
check_eq "LocalAddr from a stranger: nothing" none "$(val reply <"$T_TMP/req.out")"
spoof relay-response relay mute0001 "$(cat /proc/sys/kernel/random/uuid)"
check_eq "RelayResponse from a stranger: nothing" none "$(val reply <"$T_TMP/req.out")"
check "spoofed replies logged" grep -qE 'ignored wrong_source src=127\.0\.0\.2 port=[0-9]+' "$LOG"
t_bg peer 127.0.0.5 target answer01 uuid-a seed-a 30 >"$T_TMP/answer.out"
ANSWER=$T_LAST_PID
t_wait_file "$T_TMP/answer.out" '^registered=1' 10
out=$(peer 127.0.0.1 punch answer01)
check_eq "the real target's own reply still goes through" 127.0.0.5 "$(val socket_addr <<<"$out" | cut -d: -f1)"
t_stop "$VICTIM"
t_stop "$ANSWER"
stop_rv

# ---- bounded growth: per source and in total; known IDs after a restart ----
D2=$T_TMP/d2
P=$(t_free_port 2)
export RDESK_IDS_PER_SOURCE=3 RDESK_MAX_IDS=8
start_rv "$D2" || { not_ok "server with tight caps starts"; t_done; }
for i in 1 2 3; do peer 127.0.0.4 regpk quota0$i uuid-$i seed-$i >/dev/null; done
check_eq "a 4th new ID from one source: TOO_FREQUENT" "TOO_FREQUENT" \
	"$(res peer 127.0.0.4 regpk quota04 uuid-4 seed-4 | cut -d' ' -f1)"
for i in 5 6; do peer 127.0.0.5 regpk quota0$i uuid-$i seed-$i >/dev/null; done
check_eq "a pinned ID (saved)" "OK 0" "$(res peer 127.0.0.5 regpk quota07 uuid-7 seed-7 sign save="$T_TMP/q7.bin")"
stop_rv
start_rv "$D2" || { not_ok "server restarts"; t_done; }
check "6 bindings back" grep -q 'loaded 6 bindings' "$LOG" || sed 's/^/# /' "$T_TMP"/rv*.log
n=0
for i in 1 2 3 5 6; do
	[ "$(res peer 127.0.0.6 regpk quota0$i uuid-$i seed-$i)" = "OK 0" ] && n=$((n + 1))
done
[ "$(res peer 127.0.0.6 regpk quota07 uuid-7 seed-7 sign)" = "OK 0" ] && n=$((n + 1))
check_eq "after a restart, 6 known IDs re-register from one source over a quota of 3" 6 "$n"
check_eq "and that source may still bind a new ID" "OK 0" "$(res peer 127.0.0.6 regpk quota08 uuid-8 seed-8)"
check_eq "the pin survived the restart: unsigned refused" "UUID_MISMATCH 1" \
	"$(res peer 127.0.0.7 regpk quota07 uuid-7 seed-7)"
check_eq "and so did the last signature time: the saved one is stale" "UUID_MISMATCH 2" \
	"$(res peer 127.0.0.7 replay "$T_TMP/q7.bin")"
check_eq "the 8th ID fills the server (max-ids 8)" "OK 0" "$(res peer 127.0.0.7 regpk quota09 uuid-9 seed-9)"
check_eq "a 9th is refused" "TOO_FREQUENT" "$(res peer 127.0.0.8 regpk quota10 uuid-10 seed-10 | cut -d' ' -f1)"
check "a full registry logged, not for fail2ban" grep -qE 'full id_total src=127\.0\.0\.8 port=[0-9]+ id="quota10"' "$LOG"
check_eq "known IDs still register when full" "OK 0" "$(res peer 127.0.0.8 regpk quota01 uuid-1 seed-1)"
unset RDESK_IDS_PER_SOURCE RDESK_MAX_IDS

# ---- --forget ----
out=$("$RV" --forget quota07 --data-dir "$D2" --config "$T_TMP/none.ini" 2>&1); rc=$?
check_eq "--forget while a server runs on the data dir: refused (exit 1)" 1 "$rc"
check "and it says to stop the server first" grep -q 'a running server uses' <<<"$out"
stop_rv
out=$("$RV" --forget quota07 --data-dir "$D2" --config "$T_TMP/none.ini" 2>&1); rc=$?
check_eq "--forget on a stopped server's database: exit 0" 0 "$rc"
check "it says what it released" grep -q '^released ID quota07' <<<"$out"
"$RV" --forget quota07 --data-dir "$D2" --config "$T_TMP/none.ini" >/dev/null 2>&1
check_eq "--forget of an ID that is not there: exit 1" 1 $?
"$RV" --forget 'bad id' --data-dir "$D2" --config "$T_TMP/none.ini" >/dev/null 2>&1
check_eq "--forget of something that is no ID: exit 2" 2 $?
"$RV" --forget quota07 --data-dir "$T_TMP/nodb" --config "$T_TMP/none.ini" >/dev/null 2>&1
check "--forget without a database creates none" test ! -e "$T_TMP/nodb/rendezvous.db"
out=$("$PEER" db-check "$D2")
check_eq "the database is consistent, one binding fewer" "db=ok count=7" "$out"
start_rv "$D2" || { not_ok "server starts after --forget"; t_done; }
check_eq "a new machine binds the released ID with its own key" "OK 0" \
	"$(res peer 127.0.0.9 regpk quota07 uuid-new seed-new sign)"
check "--help lists --forget and max-ids" bash -c "'$RV' --help | grep -q -- '--forget ID' && '$RV' --help | grep -q 'max-ids'"
stop_rv
cat "$T_TMP"/rv*.log >"$T_TMP/all.log"
check_no_sanitizer "server logs have no sanitizer report" "$T_TMP/all.log"
t_done
