#!/usr/bin/env bash
# Benchmark: rd-rendezvous against coturn (STUN Binding) in the same run, on
# loopback, with the same load generator (rv-load: many UDP sockets, a window
# of requests in flight on each, bounded count and time).
#   1. RegisterPeer rate, p50/p99 latency and server CPU (utime + stime from
#      /proc/PID/stat); coturn's Binding rate, latency and CPU the same way;
#      then latency at light load (one request in flight per socket).
#      Both servers run pinned to CPU 0 ("one core"), the generator to the
#      other CPU when there is one. The rates per CPU-second of the server
#      show capacity on one core even when the generator cannot fill it.
#   2. One million registered IDs: RSS, then SIGTERM and restart: seconds
#      until the server answers on UDP with every binding loaded.
# Targets (issue 3): >= 1.5x coturn's rate on one core; 1M IDs in <= 256 MB
# RSS; restart with 1M IDs ready in < 5 s.
#   BENCH_RUNS (default 3), BENCH_SECS per load run (default 5),
#   BENCH_COUNT requests per load run at most (default 3000000),
#   BENCH_IDS for part 2 (default 1000000).
source "$(dirname "$0")/../lib.sh"
RV=$RD_BUILD/rd-rendezvous
LOAD=$RD_BUILD/test/bench/rv-load
RUNS=${BENCH_RUNS:-3}
SECS=${BENCH_SECS:-5}
COUNT=${BENCH_COUNT:-3000000}
NIDS=${BENCH_IDS:-1000000}
HZ=$(getconf CLK_TCK)

command -v turnserver >/dev/null || { not_ok "needs turnserver (coturn; make deps)"; t_done; }
if [ ! -x "$LOAD" ]; then
	make -C "$RD_TOP" --no-print-directory -s BUILD="$RD_BUILD" "$LOAD" >/dev/null 2>&1
fi
for f in "$RV" "$LOAD"; do
	[ -x "$f" ] || { not_ok "needs $f (make all test-programs)"; t_done; }
done
SRV_CPU=0
GEN_CPU=$(($(nproc) > 1 ? 1 : 0))
note "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $RUNS runs of ${SECS}s;" \
	"$(turnserver --version 2>/dev/null | head -n1)"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# load PID ARGS...: one generator run against the server PID; appends
# "rate p50_us p99_us cpu_util" to $T_TMP/$NAME.
load() {
	local pid=$1 name=$2; shift 2
	local c0 c1 out
	c0=$(cpu_ticks "$pid")
	out=$(taskset -c "$GEN_CPU" "$LOAD" "$@")
	c1=$(cpu_ticks "$pid")
	awk -v c=$((c1 - c0)) -v hz="$HZ" '
		/^rate=/ { r = substr($0, 6) } /^p50_us=/ { p50 = substr($0, 8) }
		/^p99_us=/ { p99 = substr($0, 8) } /^secs=/ { s = substr($0, 6) }
		/^lost=/ { lost = substr($0, 6) }
		END { u = (c / hz) / s; printf "%d %d %d %.3f %d\n", r, p50, p99, u, lost }' \
		<<<"$out" >>"$T_TMP/$name"
}
median() { sort -n -k"$2" "$1" | awk -v k="$2" '{ v[NR] = $k } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
percore() { awk -v r="$1" -v u="$2" 'BEGIN { if (u > 0) printf "%d", r / (u < 1 ? u : 1); else print 0 }'; }

# ---- servers ----
P=$(t_free_port 2)
mkdir -p "$T_TMP/rv"
RDESK_REG_RATE=1e9 RDESK_REG_BURST=1e9 RDESK_IDS_PER_SOURCE=1000000000 RDESK_LOG_LEVEL=warn \
	t_bg taskset -c "$SRV_CPU" "$RV" -p "$P" -b 127.0.0.1 --data-dir "$T_TMP/rv" \
	--config /dev/null >"$T_TMP/rv.log" 2>&1
RVPID=$T_LAST_PID
CP=$(t_free_port)
cat >"$T_TMP/turnserver.conf" <<EOF
listening-ip=127.0.0.1
relay-ip=127.0.0.1
listening-port=$CP
stun-only
no-tls
no-dtls
no-cli
no-software-attribute
log-file=$T_TMP/turn.log
simple-log
pidfile=$T_TMP/turn.pid
EOF
t_bg taskset -c "$SRV_CPU" turnserver -c "$T_TMP/turnserver.conf"
TURNPID=$T_LAST_PID
t_wait_tcp "$CP" 10 || { not_ok "coturn did not start"; cat "$T_TMP/turn.log"; t_done; }
for i in $(seq 100); do grep -q 'ready port=' "$T_TMP/rv.log" && break; sleep 0.05; done
"$LOAD" probe "127.0.0.1:$P" load 5 >/dev/null || { not_ok "rd-rendezvous did not start"; t_done; }

# The IDs RegisterPeer refers to (RegisterPk once each).
fill=$(taskset -c "$GEN_CPU" "$LOAD" fill "127.0.0.1:$P" 100000 load)
note "bound 100000 IDs with RegisterPk: $(sed -n 's/^rate=//p' <<<"$fill")/s"

for run in $(seq "$RUNS"); do
	load "$RVPID" res-rv reg "127.0.0.1:$P" 100000 "$COUNT" "$SECS"
	load "$TURNPID" res-turn stun "127.0.0.1:$CP" "$COUNT" "$SECS"
done
printf '# %-14s %12s %9s %9s %9s %16s\n' server "req/s" "p50 us" "p99 us" "CPU" "req/s per core"
for s in res-rv res-turn; do
	r=$(median "$T_TMP/$s" 1) u=$(median "$T_TMP/$s" 4)
	printf '# %-14s %12s %9s %9s %9s %16s\n' "$([ $s = res-rv ] && echo rd-rendezvous || echo coturn)" \
		"$r" "$(median "$T_TMP/$s" 2)" "$(median "$T_TMP/$s" 3)" "$u" "$(percore "$r" "$u")"
done
RV_R=$(median "$T_TMP/res-rv" 1) TU_R=$(median "$T_TMP/res-turn" 1)
RV_C=$(percore "$RV_R" "$(median "$T_TMP/res-rv" 4)") TU_C=$(percore "$TU_R" "$(median "$T_TMP/res-turn" 4)")
note "ratio rd-rendezvous/coturn: $(ratio "$RV_R" "$TU_R") measured, $(ratio "$RV_C" "$TU_C") per core"
note "lost requests: rd-rendezvous $(awk '{ s += $5 } END { print s }' "$T_TMP/res-rv")," \
	"coturn $(awk '{ s += $5 } END { print s }' "$T_TMP/res-turn")"
check "RegisterPeer rate per core >= 1.5x coturn's Binding rate per core" \
	awk -v a="$RV_C" -v b="$TU_C" 'BEGIN { exit !(a >= 1.5 * b) }'
# Latency without queueing: one request in flight per socket.
RV_LOAD_WINDOW=1 load "$RVPID" light-rv reg "127.0.0.1:$P" 100000 20000 3
RV_LOAD_WINDOW=1 load "$TURNPID" light-turn stun "127.0.0.1:$CP" 20000 3
note "light load (32 requests in flight): rd-rendezvous p50 $(median "$T_TMP/light-rv" 2) us," \
	"p99 $(median "$T_TMP/light-rv" 3) us; coturn p50 $(median "$T_TMP/light-turn" 2) us," \
	"p99 $(median "$T_TMP/light-turn" 3) us"
t_stop "$TURNPID"
t_stop "$RVPID"

# ---- one million IDs ----
rm -rf "$T_TMP/rv"
mkdir -p "$T_TMP/rv"
start_rv() {
	RDESK_REG_RATE=1e9 RDESK_REG_BURST=1e9 RDESK_IDS_PER_SOURCE=1000000000 RDESK_LOG_LEVEL=notice \
		t_bg taskset -c "$SRV_CPU" "$RV" -p "$P" -b 127.0.0.1 --data-dir "$T_TMP/rv" \
		--config /dev/null >>"$T_TMP/rv-big.log" 2>&1
	RVPID=$T_LAST_PID
}
start_rv
"$LOAD" probe "127.0.0.1:$P" big 5 >/dev/null || { not_ok "rd-rendezvous did not start"; t_done; }
t0=$(date +%s.%N)
fill=$(taskset -c "$GEN_CPU" "$LOAD" fill "127.0.0.1:$P" "$NIDS" big)
t1=$(date +%s.%N)
bound=$(sed -n 's/^answered=//p' <<<"$fill")
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$RVPID/status")
note "bound $bound IDs in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s" \
	"($(sed -n 's/^rate=//p' <<<"$fill")/s, each a new SQLite row); RSS $((rss / 1024)) MB"
[ "$bound" = "$NIDS" ] || note "$((NIDS - bound)) replies came after the generator's 1 s timeout (the reload below counts the bindings)"
check "$NIDS IDs held in <= 256 MB RSS ($((rss / 1024)) MB)" test "$rss" -le $((256 * 1024))
kill -TERM "$RVPID"
ts=$(date +%s.%N)
for i in $(seq 600); do kill -0 "$RVPID" 2>/dev/null || break; sleep 0.05; done
wait "$RVPID" 2>/dev/null
rc=$?
note "stop took $(awk -v a="$ts" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s, exit $rc"
dbsize=$(du -m "$T_TMP/rv/rendezvous.db" | cut -f1)
ts=$(date +%s.%N)
start_rv
"$LOAD" probe "127.0.0.1:$P" big 60 >/dev/null
ready=$(awk -v a="$ts" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
cpu=$(awk -v hz="$HZ" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$RVPID/stat")
loaded=$(sed -n 's/.*loaded \([0-9]*\) bindings in \([0-9.]*\) s.*/\1 \2/p' "$T_TMP/rv-big.log" | tail -1)
rss2=$(awk '/^VmRSS/ { print $2 }' "/proc/$RVPID/status")
note "restart: ${loaded%% *} bindings loaded in ${loaded##* } s, answering after $ready s" \
	"using $cpu s of CPU (load average $(cut -d' ' -f1 /proc/loadavg));" \
	"database $dbsize MB; RSS after restart $((rss2 / 1024)) MB (answering = from the exec to the first UDP reply)"
check_eq "every one of the $NIDS IDs was bound and reloaded" "$NIDS" "${loaded%% *}"
check "restart with $NIDS IDs ready in < 5 s ($ready s)" awk -v t="$ready" 'BEGIN { exit !(t + 0 > 0 && t < 5) }'
t_stop "$RVPID"
t_done
