#!/usr/bin/env bash
# rd-agent and systemd: READY=1 once registered (and only once), watchdog
# pings, STOPPING=1 on SIGTERM, through a notify socket of our own; and a
# second agent claiming a taken ID gets UUID_MISMATCH, says so loudly, keeps
# its ID and never sends READY=1 (test_agent_ids.sh has the rest).
source "$(dirname "$0")/../lib.sh"
B=$RD_BUILD
for b in rd-rendezvous rd-agent test/tools/rv-peer; do
	[ -x "$B/$b" ] || { not_ok "$b is not built in $B"; t_done; }
done
PORT=$(t_free_port 2)
mkdir -p "$T_TMP/rv"
KEY=$("$B/rd-rendezvous" --data-dir "$T_TMP/rv" --print-key 2>/dev/null)
t_bg "$B/rd-rendezvous" -p "$PORT" -b 127.0.0.1 -k - --data-dir "$T_TMP/rv" --config /dev/null \
	>"$T_TMP/rendezvous.log" 2>&1
check "rendezvous up" t_wait_tcp "$PORT" 10

NS=$T_TMP/notify.sock
# Each notification with the time it arrived.
t_bg "$B/test/tools/rv-peer" notify-listen "$NS" 300 >"$T_TMP/notify.log"
check "notify socket" t_wait_until 10 test -S "$NS"

enroll() { # enroll NAME ID
	"$B/rd-agent" enroll --config "$T_TMP/$1.ini" --server "127.0.0.1:$PORT" --key "$KEY" --id "$2" \
		--data-dir "$T_TMP/$1" >/dev/null 2>&1 &&
	printf '[server]\nregister-interval = 2\n[capture]\nbackend = testsrc\n' >>"$T_TMP/$1.ini"
}
check "agent one enrolled" enroll one sdtest01
NOTIFY_SOCKET=$NS WATCHDOG_USEC=1000000 t_bg "$B/rd-agent" run --config "$T_TMP/one.ini" >"$T_TMP/one.log" 2>&1
P1=$T_LAST_PID
t_wait_file "$T_TMP/one.log" "registered with" 10
check "READY=1 sent once registered" t_wait_file "$T_TMP/notify.log" "READY=1" 5
check "STATUS names the ID" grep -q "STATUS=registered as sdtest01" "$T_TMP/notify.log"
# Pings at half of WatchdogSec (1 s): the median gap between the first six
# (a loaded machine may delay one now and then).
t_wait_until 15 eval '[ "$(grep -c "WATCHDOG=1" "$T_TMP/notify.log")" -ge 6 ]'
gap=$(awk '$2 == "WATCHDOG=1" { if (n++ < 6 && n > 1) print $1 - last; last = $1 }' "$T_TMP/notify.log" |
	sort -n | awk '{ g[NR] = $1 } END { if (NR) printf "%.2f", g[int((NR + 1) / 2)] }')
check "watchdog pings at half the interval (median gap ${gap:-none} s)" \
	awk -v g="${gap:-0}" 'BEGIN { exit !(g >= 0.3 && g <= 0.75) }'
check_eq "READY=1 only once" 1 "$(grep -o "READY=1" "$T_TMP/notify.log" | wc -l)"

# A second machine claims the same ID: the server says UUID_MISMATCH.
check "agent two enrolled with the same ID" enroll two sdtest01
NS2=$T_TMP/notify2.sock
t_bg "$B/test/tools/rv-peer" notify-listen "$NS2" 300 >"$T_TMP/notify2.log"
t_wait_until 10 test -S "$NS2"
NOTIFY_SOCKET=$NS2 t_bg "$B/rd-agent" run --config "$T_TMP/two.ini" >"$T_TMP/two.log" 2>&1
P2=$T_LAST_PID
check "UUID_MISMATCH logged loudly" t_wait_file "$T_TMP/two.log" "ERROR rendezvous: server .* refused ID sdtest01 \\(UUID_MISMATCH" 15
check_eq "the ID is kept" sdtest01 "$(cat "$T_TMP/two/id")"
check_eq "rd-agent id shows it" sdtest01 "$(RDESK_DATA_DIR=$T_TMP/two "$B/rd-agent" id --config "$T_TMP/two.ini")"
check "no READY=1 without a registration" bash -c "! grep -q READY=1 '$T_TMP/notify2.log'"
check "the first agent keeps its ID" bash -c "! grep -q UUID_MISMATCH '$T_TMP/one.log'"

kill -TERM "$P1"
for i in $(seq 60); do kill -0 "$P1" 2>/dev/null || break; sleep 0.1; done
check "STOPPING=1 on SIGTERM" t_wait_file "$T_TMP/notify.log" "STOPPING=1" 5
wait "$P1"; check_eq "clean exit" 0 $?
t_stop "$P2"
t_done
