#!/usr/bin/env bash
# rd-rendezvous: bindings survive a clean restart and a crash (kill -9);
# live addresses do not (a known ID is offline until it registers again);
# SIGTERM exits 0 with the database consistent; sd_notify READY, WATCHDOG
# and STOPPING reach a NOTIFY_SOCKET; the unit file passes systemd-analyze.
source "$(dirname "$0")/../lib.sh"

RV=$RD_BUILD/rd-rendezvous
PEER=$RD_BUILD/test/tools/rv-peer
[ -x "$RV" ] && [ -x "$PEER" ] || { not_ok "build first: $RV, $PEER"; t_done; }
DATA=$T_TMP/data
mkdir -p "$DATA"
: >"$T_TMP/none.ini"
P=$(t_free_port 2)
N=0
# start_rv: the server on port P with DATA; env passes through; sets RVPID, LOG.
start_rv() {
	N=$((N + 1))
	LOG=$T_TMP/rv$N.log
	t_bg "$RV" -p "$P" -b 127.0.0.1 --data-dir "$DATA" --config "$T_TMP/none.ini" >"$LOG" 2>&1
	RVPID=$T_LAST_PID
	t_wait_file "$LOG" 'ready port=' 10
}
stop_rv() { # stop_rv SIGNAL: sets RC to the exit status (run in this shell: wait needs the child)
	kill -"$1" "$RVPID"
	local i
	for i in $(seq 100); do kill -0 "$RVPID" 2>/dev/null || break; sleep 0.05; done
	wait "$RVPID" 2>/dev/null
	RC=$?
}
peer() { "$PEER" -s "127.0.0.1:$P" -k "$K" "$@"; }
val() { sed -n "s/^$1=//p" | head -1; }

# ---- sd_notify and a clean stop ----
NS=$T_TMP/notify.sock
t_bg "$PEER" notify-listen "$NS" 20 >"$T_TMP/notify.out"
NPID=$T_LAST_PID
t_wait_until 10 test -S "$NS"
NOTIFY_SOCKET=$NS WATCHDOG_USEC=600000 start_rv || { not_ok "server starts"; t_done; }
ok "server ready"
check "READY=1 sent once the sockets are bound" t_wait_file "$T_TMP/notify.out" 'READY=1' 5
check "watchdog pings at half of WatchdogSec" t_wait_file "$T_TMP/notify.out" 'WATCHDOG=1' 3
K=$("$RV" --print-key --data-dir "$DATA")

out=$(peer register alpha01 uuid-a seed-a)
check_eq "alpha01 bound" OK "$(val result <<<"$out")"
out=$(peer register bravo01 uuid-b seed-b)
check_eq "bravo01 bound" OK "$(val result <<<"$out")"
stop_rv TERM
check_eq "SIGTERM: exit status 0" 0 "$RC"
check "STOPPING=1 sent on shutdown" t_wait_file "$T_TMP/notify.out" 'STOPPING=1' 3
check "shutdown logged" grep -q 'stopped' "$LOG"
out=$("$PEER" db-check "$DATA")
check_eq "database consistent after SIGTERM, both bindings stored" "db=ok count=2" "$out"
check "WAL checkpointed and removed on close" test ! -s "$DATA/rendezvous.db-wal"
t_stop "$NPID"

# ---- restart: bindings back, addresses gone ----
start_rv || not_ok "server restarts"
check "restart loads the stored bindings" grep -q 'loaded 2 bindings' "$LOG"
check_eq "the key pair is kept across restarts" "$K" "$("$RV" --print-key --data-dir "$DATA")"
out=$(peer punch alpha01)
check_eq "known ID without a live address after restart: OFFLINE" OFFLINE "$(val failure <<<"$out")"
out=$(peer online alpha01 bravo01)
check_eq "nobody is online right after a restart" 00 "$(val states <<<"$out")"
out=$(peer register-pk alpha01 uuid-evil seed-evil)
check_eq "uuid binding survives the restart: UUID_MISMATCH" UUID_MISMATCH "$(val result <<<"$out")"
out=$(peer register alpha01 uuid-a seed-a)
check_eq "the owner re-registers: request_pk then OK" "1 OK" "$(val request_pk <<<"$out") $(val result <<<"$out")"
out=$(peer online alpha01 bravo01)
check_eq "and is online again" 10 "$(val states <<<"$out")"

# ---- crash: kill -9 right after a new binding ----
out=$(peer register charlie1 uuid-c seed-c)
check_eq "charlie1 bound" OK "$(val result <<<"$out")"
# The server commits before its loop sleeps, which may be just after the
# answer went out: kill it once the binding is committed, not before.
db_count_is() { [ "$("$PEER" db-check "$DATA" 2>/dev/null)" = "db=ok count=$1" ]; }
t_wait_until 10 db_count_is 3
stop_rv KILL
check_eq "kill -9" 137 "$RC"
out=$("$PEER" db-check "$DATA")
check_eq "database consistent after the crash, the new binding kept" "db=ok count=3" "$out"
start_rv || not_ok "server starts after the crash"
check "restart after the crash loads 3 bindings" grep -q 'loaded 3 bindings' "$LOG"
out=$(peer register-pk charlie1 uuid-evil seed-c)
check_eq "charlie1's uuid binding survived the crash" UUID_MISMATCH "$(val result <<<"$out")"
out=$(peer punch charlie1)
check_eq "charlie1 known but offline after the crash" OFFLINE "$(val failure <<<"$out")"
stop_rv TERM
check_eq "SIGTERM again: exit 0" 0 "$RC"

# ---- the systemd unit ----
UNIT=$RD_TOP/systemd/rd-rendezvous.service
for kv in 'Type=notify' 'DynamicUser=yes' 'StateDirectory=rdesk' 'NoNewPrivileges=yes' \
	'ProtectSystem=strict' 'PrivateTmp=yes' 'CapabilityBoundingSet=$' 'LimitNOFILE=' \
	'WatchdogSec=' 'StandardError=journal'; do
	check "unit has $kv" grep -q "^$kv" "$UNIT"
done
if command -v systemd-analyze >/dev/null; then
	# verify needs an executable at ExecStart: point it at the build.
	mkdir -p "$T_TMP/unit"
	sed "s|^ExecStart=[^ ]*|ExecStart=$RV|" "$UNIT" >"$T_TMP/unit/rd-rendezvous.service"
	check "systemd-analyze verify passes" systemd-analyze verify "$T_TMP/unit/rd-rendezvous.service"
else
	not_ok "systemd-analyze missing (install systemd: make deps)"
fi
t_done
