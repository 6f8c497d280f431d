#!/usr/bin/env bash
# rd-relay under load on loopback: 1,000 concurrent pairs moving data, a peer
# that stops reading (the relay's memory stays flat), 10,000 pair/close cycles
# (the relay's open descriptors come back to where they were), and the
# bandwidth limits (bytes over a measured interval, generous tolerance).
source "$(dirname "$0")/../lib.sh"

RELAY=$RD_BUILD/rd-relay
PEER=$RD_BUILD/test/tools/relay-peer
for f in "$RELAY" "$PEER" "$RD_BUILD/rd-rendezvous"; do
	[ -x "$f" ] || { not_ok "missing $f (make test-programs)"; t_done; }
done
: >"$T_TMP/empty.ini"
# The relay holds the server's public key; relay-peer signs relay tokens.
KEY=$("$RD_BUILD/rd-rendezvous" --print-key --data-dir "$T_TMP/data" 2>/dev/null)
SK=$(cat "$T_TMP/data/id_ed25519")

# 1,000 pairs: 2,000 sockets here, 2,000 sockets and 4,000 pipe ends in the relay.
want_fds=16384
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt $want_fds ]; then
	ulimit -Hn $want_fds 2>/dev/null
fi
ulimit -n $want_fds 2>/dev/null || ulimit -n "$(ulimit -Hn)"
note "open files limit $(ulimit -n)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 8192 ]; then
	not_ok "1,000 pairs need at least 8192 open files (ulimit -Hn is $(ulimit -Hn)); run as root or raise it"
	t_done
fi

relay_start() { # relay_start NAME ARGS...: sets PORT_<NAME> PID_<NAME> LOG_<NAME>
	local name=$1 port log; shift
	port=$(t_free_port) || return 1
	log=$T_TMP/relay-$name.log
	t_bg "$RELAY" --config "$T_TMP/empty.ini" -p "$port" -b 127.0.0.1 -k "$KEY" "$@" >"$log" 2>&1
	printf -v "PORT_$name" %s "$port"
	printf -v "PID_$name" %s "$T_LAST_PID"
	printf -v "LOG_$name" %s "$log"
	t_wait_tcp "$port" 10
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
nfds() { ls "/proc/$1/fd" | wc -l; }

# Every pair comes from 127.0.0.1: the per-source caps make room for them.
relay_start main --pair-timeout 10 --idle-timeout 30 --connections-per-source 4096 \
	--pending-per-source 2048
P=("$PEER" -a "127.0.0.1:$PORT_main" -s "$SK")
fd0=$(nfds "$PID_main")

# --- 1,000 concurrent pairs, 256 KiB each way, every byte checked ---
out=$("${P[@]}" -t 120 pairs 1000 262144 2>&1)
note "$out"
check "1,000 concurrent pairs all deliver their bytes both ways" \
	grep -q "pairs 1000 ok 1000 failed 0" <<<"$out"
check "the relay logged 1,000 pairings" \
	[ "$(grep -c 'INFO relay: paired uuid=' "$LOG_main")" -ge 1000 ]

# --- a peer that stops reading: backpressure, flat memory ---
rss0=$(rss_kb "$PID_main")
"${P[@]}" -t 20 stall 6 >"$T_TMP/stall.out" 2>&1 &
stall_pid=$!
sleep 2
rss1=$(rss_kb "$PID_main")
sleep 3
rss2=$(rss_kb "$PID_main")
wait $stall_pid
note "VmRSS before ${rss0} kB, after 2 s ${rss1} kB, after 5 s ${rss2} kB"
note "stalled sender: $(tr '\n' ' ' <"$T_TMP/stall.out")"
check "stalled peer: relay RSS grows by less than 4 MB" [ $((rss2 - rss0)) -lt 4096 ]
check "stalled peer: relay RSS flat between 2 s and 5 s (< 1 MB)" [ $((rss2 - rss1)) -lt 1024 ]
sent_mid=$(sed -n 3p "$T_TMP/stall.out" | awk '{ print $2 }')
sent_end=$(tail -n1 "$T_TMP/stall.out" | awk '{ print $2 }')
check "stalled peer: the sender is held back (< 64 MB accepted)" [ "${sent_end:-0}" -lt 67108864 ]
check "stalled peer: nothing more accepted once buffers are full" \
	[ "${sent_mid:-0}" -gt 0 ] && [ "$sent_end" = "$sent_mid" ]

# --- 10,000 pair/close cycles, 50 at a time ---
out=$("${P[@]}" -t 240 pairs 10000 1024 50 2>&1)
note "$out"
check "10,000 pair/close cycles all succeed" grep -q "pairs 10000 ok 10000 failed 0" <<<"$out"
fd1=$(nfds "$PID_main")
for i in $(seq 100); do [ "$fd1" -le "$fd0" ] && break; sleep 0.1; fd1=$(nfds "$PID_main"); done
check_eq "open descriptors back where they started after 10,000 cycles" "$fd0" "$fd1"
check "the relay is still running" kill -0 "$PID_main"
t_stop "$PID_main"

# --- out of descriptors: accepting pauses, nothing breaks, service resumes ---
port=$(t_free_port)
( ulimit -n 40; exec "$RELAY" --config "$T_TMP/empty.ini" -p "$port" -b 127.0.0.1 -k "$KEY" \
	--pair-timeout 2 ) >"$T_TMP/relay-fd.log" 2>&1 &
fd_pid=$!
T_PIDS+=("$fd_pid")
t_wait_tcp "$port" 10
out=$("$PEER" -a "127.0.0.1:$port" -s "$SK" -t 8 pairs 40 1000 2>&1)
note "40 pairs against 40 descriptors: $(tail -n1 <<<"$out")"
check "EMFILE: the relay says it ran out of descriptors" \
	grep -q "out of file descriptors" "$T_TMP/relay-fd.log"
check "EMFILE: the relay keeps running" kill -0 "$fd_pid"
sleep 2.5
out=$("$PEER" -a "127.0.0.1:$port" -s "$SK" -t 10 pairs 2 100000 2>&1)
check "EMFILE: pairs work again once descriptors are free" grep -q "pairs 2 ok 2 failed 0" <<<"$out"
t_stop "$fd_pid"

# --- bandwidth limits ---
# One pair limited to 40 Mbit/s (5 MB/s, both directions together): 8 MB each
# way must take about 3.2 s; accept 0.5x..1.5x of the limit.
relay_start one --single-bandwidth 40
out=$("$PEER" -a "127.0.0.1:$PORT_one" -s "$SK" -t 60 pairs 1 8000000 2>&1)
note "$out"
rate=$(awk '{ for (i = 1; i < NF; i++) { if ($i == "bytes") b = $(i+1); if ($i == "secs") s = $(i+1) } }
	END { printf "%.0f", b / s }' <<<"$out")
note "single pair: $rate bytes/s against a limit of 5000000"
check "--single-bandwidth: the pair's bytes all arrive" grep -q "ok 1 failed 0" <<<"$out"
check "--single-bandwidth: rate within 0.5x..1.5x of the limit" \
	[ "$rate" -ge 2500000 ] && [ "$rate" -le 7500000 ]
t_stop "$PID_one"

# Four pairs sharing 80 Mbit/s (10 MB/s) in total, 6 MB each way each: about
# 4.8 s; fair sharing means they end close together.
relay_start total --total-bandwidth 80
out=$("$PEER" -a "127.0.0.1:$PORT_total" -s "$SK" -t 60 pairs 4 6000000 2>&1)
note "$out"
rate=$(awk '{ for (i = 1; i < NF; i++) { if ($i == "bytes") b = $(i+1); if ($i == "secs") s = $(i+1) } }
	END { printf "%.0f", b / s }' <<<"$out")
note "four pairs: $rate bytes/s against a total limit of 10000000"
check "--total-bandwidth: every pair's bytes arrive" grep -q "ok 4 failed 0" <<<"$out"
check "--total-bandwidth: total rate within 0.5x..1.5x of the limit" \
	[ "$rate" -ge 5000000 ] && [ "$rate" -le 15000000 ]
durs=$(grep -oE 'bytes, [0-9.]+ s, throttled' "$LOG_total" | awk '{ print $2 }' | sort -n)
note "pair durations: $(tr '\n' ' ' <<<"$durs")"
check "--total-bandwidth: shared fairly (shortest pair >= 0.6x the longest)" \
	awk -v lo="$(head -n1 <<<"$durs")" -v hi="$(tail -n1 <<<"$durs")" \
	'BEGIN { exit !(hi > 0 && lo >= 0.6 * hi) }'
check "--total-bandwidth: throttled time logged" \
	grep -qE 'throttled [1-9][0-9.]* s' "$LOG_total"
t_stop "$PID_total"
t_done
