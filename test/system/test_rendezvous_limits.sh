#!/usr/bin/env bash
# rd-rendezvous: every limit, each hit from its own loopback source address
# (limits are per source IP), logged in the fail2ban form; then a flood of
# malformed datagrams and frames, after which a well-formed client is served.
source "$(dirname "$0")/../lib.sh"

RV=$RD_BUILD/rd-rendezvous
PEER=$RD_BUILD/test/tools/rv-peer
[ -x "$RV" ] && [ -x "$PEER" ] || { not_ok "build first: $RV, $PEER"; t_done; }
mkdir -p "$T_TMP/data"
: >"$T_TMP/none.ini"
P=$(t_free_port 2)
MP=$(t_free_port)
LOG=$T_TMP/rv.log
RDESK_REG_RATE=0.5 RDESK_REG_BURST=8 RDESK_PUNCH_RATE=0.02 RDESK_PUNCH_BURST=4 \
RDESK_IDS_PER_SOURCE=3 RDESK_PENDING_MAX=2 RDESK_PENDING_TIMEOUT=5 \
RDESK_FIRST_MESSAGE_TIMEOUT=1 RDESK_IDLE_TIMEOUT=1.5 RDESK_MAX_CONNECTIONS=20 \
	t_bg "$RV" -p "$P" -b 127.0.0.1 --data-dir "$T_TMP/data" --config "$T_TMP/none.ini" \
	--metrics "127.0.0.1:$MP" >"$LOG" 2>&1
RVPID=$T_LAST_PID
t_wait_file "$LOG" 'ready port=' 10 || { not_ok "server starts"; cat "$LOG"; t_done; }
K=$("$RV" --print-key --data-dir "$T_TMP/data")
peer() { local ip=$1; shift; "$PEER" -s "127.0.0.1:$P" -k "$K" -l "$ip" "$@"; }
val() { sed -n "s/^$1=//p" | head -1; }
# What the shipped fail2ban filter matches (packaging/fail2ban), with <HOST> = ip.
banned() { grep -cE "rendezvous: (limit|refused|malformed) [^ ]+ src=${1//./\\.} port=[0-9]+" "$LOG"; }
metric() { curl -s --max-time 3 "http://127.0.0.1:$MP/metrics" | sed -n "s/^$1 //p"; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }

# ---- registration rate per source ----
out=$(peer 127.0.0.3 burst-register regrate1 20)
check_eq "registration burst per source: 8 of 20 answered" 8 "$(val answered <<<"$out")"
check "rate limit hit logged, as udp" grep -qE 'rendezvous: udp limit rate src=127\.0\.0\.3 port=' "$LOG"
check "... which no ban may count (a datagram's source can be forged)" test "$(banned 127.0.0.3)" -eq 0
out=$(peer 127.0.0.13 register regrate2 uuid-r seed-r)
check_eq "another source is not affected" OK "$(val result <<<"$out")"

# ---- IDs per source ----
out=$(peer 127.0.0.4 many-ids capid 5)
check_eq "IDs per source: 3 bound, then TOO_FREQUENT" "ok=3 too_frequent=2" "$out"
check "ID cap logged (udp)" grep -qE 'udp limit id_cap src=127\.0\.0\.4 port=[0-9]+ id="capid0000[34]"' "$LOG"

# ---- punch request rate per source ----
n=0
for i in 1 2 3 4 5 6; do
	peer 127.0.0.5 punch nosuchid1 | grep -q '^other_failure=Too many requests' && n=$((n + 1))
done
check_eq "punch requests per source: burst of 4, then refused" 2 "$n"
check "punch limit logged for fail2ban" grep -qE 'rendezvous: limit punch-rate src=127\.0\.0\.5 port=[0-9]+ id="nosuchid1"' "$LOG"

# ---- pending cap and deadline: a registered target that never answers ----
out=$(peer 127.0.0.6 register mute0001 uuid-m seed-m)
check_eq "mute target registered" OK "$(val result <<<"$out")"
t_bg peer 127.0.0.7 punch mute0001 >"$T_TMP/w1.out"
t_bg peer 127.0.0.8 punch mute0001 >"$T_TMP/w2.out"
# Both must be waiting before the third comes (the deadline, 5 s, leaves
# room for a slow start of the two).
check "two requests wait for the mute target" t_wait_until 10 metric_is rdesk_rendezvous_pending_requests 2
out=$(peer 127.0.0.9 punch mute0001)
check "pending cap: a third waiting request is refused" grep -q '^other_failure=Server busy' <<<"$out"
check "pending cap logged" grep -qE 'limit pending src=127\.0\.0\.9 port=[0-9]+ id="mute0001"' "$LOG"
check "pending deadline: waiting requesters are closed" t_wait_file "$T_TMP/w1.out" '^closed=1' 15
t_wait_file "$T_TMP/w2.out" '^(closed|reply)=' 15
check "pending timeout logged as an outcome" t_wait_file "$LOG" 'punch result=timeout src=127\.0\.0\.[78] port=[0-9]+ id="mute0001"' 5
check_eq "metrics: timeouts counted" 2 "$(metric 'rdesk_rendezvous_punch_requests_total{outcome="timeout"}')"
check_eq "metrics: busy counted" 1 "$(metric 'rdesk_rendezvous_punch_requests_total{outcome="busy"}')"

# ---- TCP deadlines and sizes ----
# (upper bounds leave a loaded machine several seconds of slack: they only
# tell a deadline from none)
out=$(peer 127.0.0.10 silent-tcp 10)
t=$(sed 's/.*closed_after=//' <<<"$out")
check "first-message deadline closes a silent connection (1 s, took $t s)" \
	awk -v t="$t" 'BEGIN { exit !(t >= 0.8 && t < 6) }'
check "deadline drop logged" t_wait_file "$LOG" 'limit deadline src=127\.0\.0\.10 port=[0-9]+' 5
out=$(peer 127.0.0.10 silent-tcp 10 nat)
t=$(sed 's/.*closed_after=//' <<<"$out")
check "first-message deadline on PORT-1 too (took $t s)" awk -v t="$t" 'BEGIN { exit !(t >= 0.8 && t < 6) }'
out=$(peer 127.0.0.10 silent-tcp 10 main hb)
t=$(sed 's/.*closed_after=//' <<<"$out")
check "heartbeats are no first message: the deadline closes them (1 s, took $t s)" \
	awk -v t="$t" 'BEGIN { exit !(t >= 0.8 && t < 6) }'
check "heartbeats: closed by the server" grep -q '^closed=1' <<<"$out"
out=$(peer 127.0.0.11 big-tcp)
check "a frame over 64 KiB closes that connection" grep -q '^closed=1 reply=0' <<<"$out"
check "oversized frame logged" grep -qE 'limit too_big src=127\.0\.0\.11 port=[0-9]+' "$LOG"
# (held for less than the first-message deadline: heartbeats do not pass it)
out=$(peer 127.0.0.12 conns 30 0.8)
r=$(sed 's/.*refused=//' <<<"$out")
check "connection cap: at most 20 open, the rest refused ($r of 30)" test "$r" -ge 10
check "connection cap logged for fail2ban" grep -qE 'tcp: limit connections src=127\.0\.0\.12 port=[0-9]+' "$LOG"
# (conns closed its connections on exit; the server drops them on EOF)
sleep 1.2

# ---- malformed flood, then a well-formed client ----
out=$(peer 127.0.0.14 garbage-udp 20000)
check_eq "20000 malformed datagrams sent" 20000 "$(val sent <<<"$out")"
out=$(peer 127.0.0.14 garbage-tcp 15)
check_eq "every malformed frame closes only its own connection" 15 "$(val closed <<<"$out")"
# Datagrams the kernel dropped because the server's socket buffer was full
# (a loaded machine may hold the server off the CPU during the flood) never
# reached it; what did reach it must be counted, once the server caught up.
kdrops() { awk -v a="$(printf '0100007F:%04X' "$P")" '$2 == a { print $NF }' /proc/net/udp; }
flood_counted() {
	mal=$(metric 'rdesk_rendezvous_drops_total{reason="malformed"}') kdrop=$(kdrops)
	[ "${mal:-0}" -ge 1000 ] && [ $((${mal:-0} + ${kdrop:-0})) -ge 15000 ]
}
t_wait_until 10 flood_counted
check "server still running after the flood" kill -0 "$RVPID"
check "malformed input counted ($mal, and ${kdrop:-0} dropped by the kernel)" flood_counted
lines=$(grep -c 'malformed malformed src=127.0.0.14' "$LOG")
check "malformed input logged rate-limited ($lines lines)" test "$lines" -ge 1 -a "$lines" -le 60
t_bg peer 127.0.0.15 target golf0001 uuid-g seed-g 20 >"$T_TMP/g.out"
check "a well-formed target registers after the flood" t_wait_file "$T_TMP/g.out" '^registered=1' 10
out=$(peer 127.0.0.16 punch golf0001)
check_eq "and a well-formed requester is served" 127.0.0.15 "$(val socket_addr <<<"$out" | cut -d: -f1)"
check_eq "with the signed key" verified "$(val pk <<<"$out")"
t_done
