#!/usr/bin/env bash
# Per-source connection limits, with the servers' default settings: one
# loopback source, 127.0.0.1, opens and holds 10,000 slow connections to each
# listener (rd-rendezvous PORT and PORT-1: heartbeats only; rd-relay: silent
# connections, and RequestRelays whose peer never comes), reopening what the
# servers close. Meanwhile a second source, 127.0.0.2, is served: a punch
# request answered, a NAT test answered, a relay pair made. The rejections
# are counted in the metrics and logged at most once per source and
# interval; heartbeats alone do not pass the first-message deadline; when
# the flood stops, 127.0.0.1 is served again (its count was released).
source "$(dirname "$0")/../lib.sh"

RV=$RD_BUILD/rd-rendezvous
RELAY=$RD_BUILD/rd-relay
PEER=$RD_BUILD/test/tools/rv-peer
RPEER=$RD_BUILD/test/tools/relay-peer
HOLD=$RD_BUILD/test/tools/conn-hold
for f in "$RV" "$RELAY" "$PEER" "$RPEER" "$HOLD"; do
	[ -x "$f" ] || { not_ok "missing $f (make all test-programs)"; t_done; }
done
N=10000

# Every holder needs N descriptors, and so may the servers (both inherit this).
want=$((N + 4096))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt $want ]; then
	ulimit -Hn $want 2>/dev/null
fi
ulimit -n $want 2>/dev/null || ulimit -n "$(ulimit -Hn)"
note "open files limit $(ulimit -n)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((N + 256)) ]; then
	not_ok "$N connections need more than $N open files (ulimit -Hn is $(ulimit -Hn)); run as root or raise it"
	t_done
fi

mkdir -p "$T_TMP/data"
: >"$T_TMP/none.ini"
P=$(t_free_port 2) RP=$(t_free_port) MP=$(t_free_port) RMP=$(t_free_port)
RVLOG=$T_TMP/rv.log RLOG=$T_TMP/relay.log
t_bg "$RV" -p "$P" -b 127.0.0.1 --data-dir "$T_TMP/data" --config "$T_TMP/none.ini" \
	-r "127.0.0.1:$RP" --metrics "127.0.0.1:$MP" >"$RVLOG" 2>&1
RVPID=$T_LAST_PID
t_bg "$RELAY" --config "$T_TMP/none.ini" -p "$RP" -b 127.0.0.1 --open \
	--metrics "127.0.0.1:$RMP" >"$RLOG" 2>&1
RELAYPID=$T_LAST_PID
t_wait_file "$RVLOG" 'ready port=' 10 || { not_ok "rd-rendezvous starts"; cat "$RVLOG"; t_done; }
t_wait_tcp "$RP" 10 || { not_ok "rd-relay starts"; cat "$RLOG"; t_done; }
K=$("$RV" --print-key --data-dir "$T_TMP/data")
peer() { local ip=$1; shift; "$PEER" -s "127.0.0.1:$P" -k "$K" -l "$ip" "$@"; }
val() { sed -n "s/^$1=//p" | head -1; }
metric() { curl -s --max-time 3 "http://127.0.0.1:$1/metrics" | sed -n "s/^$2 //p"; }
nfds() { ls "/proc/$1/fd" | wc -l; }
ms() { echo $(( (${EPOCHREALTIME/[.,]/} - $1) / 1000 )); }
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }
rv_fd0=$(nfds "$RVPID") relay_fd0=$(nfds "$RELAYPID")

# A target for the punch requests, on a third address.
t_bg peer 127.0.0.3 target hold0001 uuid-h seed-h 120 >"$T_TMP/target.out"
check "a target registers" t_wait_file "$T_TMP/target.out" '^registered=1' 10

hold() { # hold NAME SECS ADDR MODE
	t_bg "$HOLD" -l 127.0.0.1 -n "$N" -t "$2" -r 1000 -m "$4" "$3" >"$T_TMP/hold-$1.out" 2>&1
	printf -v "HOLD_$1" %s "$T_LAST_PID"
}
held() { # held NAME...: wait until each holder has opened its first N
	local h t=$(now_us)
	for h in "$@"; do
		t_wait_file "$T_TMP/hold-$h.out" '^round1 ' 60
		note "holder $h: $(grep '^round1 ' "$T_TMP/hold-$h.out")"
	done
	note "first $N connections of each holder opened in $(ms "$t") ms"
	sleep 1 # let the servers take in what the kernel queued
}
still_holding() { local v h; for h in "$@"; do v=HOLD_$h; kill -0 "${!v}" || return 1; done; }
done_holding() {
	local v h
	for h in "$@"; do
		v=HOLD_$h
		wait "${!v}" 2>/dev/null
		note "holder $h at its end: $(tail -n1 "$T_TMP/hold-$h.out")"
	done
}
relay_pair() { "$RPEER" -a "127.0.0.1:$RP" -l "$1" -t 10 pairs 1 100000 2>&1; }

# ---- phase 1: 127.0.0.1 holds 10,000 slow connections to each listener ----
# heartbeats only to the rendezvous server's two ports; nothing at all to the
# relay.
t1=$(now_us)
hold main 25 "127.0.0.1:$P" hb
hold nat 25 "127.0.0.1:$((P - 1))" hb
hold relay 25 "127.0.0.1:$RP" silent
held main nat relay
t=$(now_us)
out=$(peer 127.0.0.2 punch hold0001)
punch_ms=$(ms "$t")
check_eq "under the flood, 127.0.0.2's punch request is answered ($punch_ms ms)" 127.0.0.3 \
	"$(val socket_addr <<<"$out" | cut -d: -f1)"
check_eq "with the target's signed key" verified "$(val pk <<<"$out")"
t=$(now_us)
out=$(peer 127.0.0.2 test-nat nat)
nat_ms=$(ms "$t")
check "under the flood, 127.0.0.2's NAT test on PORT-1 is answered ($nat_ms ms)" \
	test -n "$(val port <<<"$out")" -a "$(val port <<<"$out")" != 0
t=$(now_us)
out=$(relay_pair 127.0.0.2)
pair_ms=$(ms "$t")
check "under the flood of silent connections, 127.0.0.2 is paired by the relay ($pair_ms ms)" \
	grep -q "pairs 1 ok 1 failed 0" <<<"$out"
check "the holders were still at it" still_holding main nat relay
rv_fds=$(nfds "$RVPID") relay_fds=$(nfds "$RELAYPID")
note "descriptors under the flood: rd-rendezvous $rv_fds (idle $rv_fd0), rd-relay $relay_fds (idle $relay_fd0)"
check "rd-rendezvous holds at most 256 of 127.0.0.1's connections ($rv_fds descriptors)" \
	test "$rv_fds" -le $((rv_fd0 + 256 + 16))
check "rd-relay holds at most 1000 of 127.0.0.1's connections ($relay_fds descriptors)" \
	test "$relay_fds" -le $((relay_fd0 + 1000 + 16))
# Heartbeats do not count as a first message: the deadline (10 s) closes them.
check "heartbeat-only connections meet the first-message deadline" \
	t_wait_file "$RVLOG" 'limit deadline src=127\.0\.0\.1 port=[0-9]+' 20
done_holding main nat relay
# The flood is over: 127.0.0.1's counts came back.
rv_back() { [ "$(nfds "$RVPID")" -le $((rv_fd0 + 2)) ]; }
relay_back() { [ "$(nfds "$RELAYPID")" -le $((relay_fd0 + 2)) ]; }
check "rd-rendezvous closed every connection of the flood" t_wait_until 15 rv_back
check "rd-relay closed every connection of the flood" t_wait_until 15 relay_back
out=$(peer 127.0.0.1 punch hold0001)
check_eq "after the flood, 127.0.0.1 is served again" 127.0.0.3 "$(val socket_addr <<<"$out" | cut -d: -f1)"
out=$("$RPEER" -a "127.0.0.1:$RP" -l 127.0.0.1 -t 10 pairs 1 1000 2>&1)
check "after the flood, 127.0.0.1 is paired again" grep -q "pairs 1 ok 1 failed 0" <<<"$out"

# ---- phase 2: 10,000 RequestRelays from 127.0.0.1 whose peer never comes ----
hold pend 15 "127.0.0.1:$RP" relay
held pend
t=$(now_us)
out=$(relay_pair 127.0.0.2)
pair_ms=$(ms "$t")
check "under the flood of waiting connections, 127.0.0.2 is paired by the relay ($pair_ms ms)" \
	grep -q "pairs 1 ok 1 failed 0" <<<"$out"
waiting=$(metric "$RMP" rd_relay_pairs_pending)
check "rd-relay keeps at most 250 of 127.0.0.1's connections waiting ($waiting)" \
	test "${waiting:-99999}" -le 250
check "the holder was still at it" still_holding pend
done_holding pend
secs=$(( ($(now_us) - t1) / 1000000 + 1 ))

# ---- counted, and logged without a flood ----
rv_src=$(metric "$MP" 'rdesk_rendezvous_drops_total{reason="source_connections"}')
relay_src=$(metric "$RMP" 'rd_relay_refusals_total{reason="source_connections"}')
relay_pend=$(metric "$RMP" 'rd_relay_refusals_total{reason="source_pending"}')
note "rejections in $secs s: rd-rendezvous source_connections=$rv_src; rd-relay source_connections=$relay_src source_pending=$relay_pend"
check "rd-rendezvous counts connections over the per-source limit" test "${rv_src:-0}" -ge "$N"
check "rd-relay counts connections over the per-source limit" test "${relay_src:-0}" -ge "$N"
check "rd-relay counts waiting connections over the per-source limit" test "${relay_pend:-0}" -ge 1
rv_lines=$(grep -cE 'tcp: limit connections src=127\.0\.0\.1 port=[0-9]+ id=- scope=source' "$RVLOG")
relay_lines=$(grep -cE 'refused 127\.0\.0\.1:[0-9]+: source_(connections|pending)' "$RLOG")
check "rd-rendezvous logs the source at most once per 10 s ($rv_lines lines)" \
	test "$rv_lines" -ge 1 -a "$rv_lines" -le $((secs / 10 + 2))
check "rd-relay logs the source at most once per 10 s and reason ($relay_lines lines)" \
	test "$relay_lines" -ge 2 -a "$relay_lines" -le $((2 * (secs / 10 + 2)))

check "both servers still run" kill -0 "$RVPID" "$RELAYPID"
t_stop "$RVPID"
t_stop "$RELAYPID"
check_no_sanitizer "rd-rendezvous: no sanitizer report" "$RVLOG"
check_no_sanitizer "rd-relay: no sanitizer report" "$RLOG"
t_done
