#!/usr/bin/env bash
# Wrong passwords slow guessing down without locking anyone out, against the
# real rd-agent (its direct port, from several loopback source addresses):
# - one source that keeps guessing gets blocked, and once it stops, a right
#   password from that same address gets in within LOGIN_SRC_DECAY (20 s) of
#   the stop: a helpdesk behind the same NAT as an attacker;
# - while five sources guess as fast as the agent lets them, a right password
#   from another address (127.0.0.2) gets in: slower maybe, never refused.
# The rules are in agent/login.h.
source "$(dirname "$0")/../lib.sh"
B=$RD_BUILD
for b in rd-rendezvous rd-agent test/tools/session-peer; do
	[ -x "$B/$b" ] || { not_ok "$b is not built in $B"; t_done; }
done
PW=guard-pw-7 ID=guardtest1
mkdir -p "$T_TMP/rv"
PORT=$(t_free_port 2); DPORT=$(t_free_port)
KEY=$("$B/rd-rendezvous" --data-dir "$T_TMP/rv" --print-key 2>/dev/null)
t_bg "$B/rd-rendezvous" -p "$PORT" -b 127.0.0.1 -k - --data-dir "$T_TMP/rv" --config /dev/null \
	>"$T_TMP/rendezvous.log" 2>&1
check "rendezvous server up" t_wait_tcp "$PORT" 10
CFG=$T_TMP/agent.ini D=$T_TMP/data
"$B/rd-agent" enroll --config "$CFG" --server "127.0.0.1:$PORT" --key "$KEY" --id $ID \
	--data-dir "$D" >/dev/null 2>&1
printf '[capture]\nbackend = testsrc\n[agent]\ndirect-port = %s\ndirect-bind = 127.0.0.1\n' "$DPORT" >>"$CFG"
printf '%s\n' "$PW" | "$B/rd-agent" password set --config "$CFG" 2>/dev/null
AG=$T_TMP/agent.log
t_bg "$B/rd-agent" run --config "$CFG" >"$AG" 2>&1
AGENT_PID=$T_LAST_PID
check "agent up" t_wait_tcp "$DPORT" 10
# apeer SRC [OPTION...] STEP...: session-peer from SRC (its options, then the steps).
apeer() {
	local src=$1 o=(); shift
	while [ "${1:0:1}" = - ]; do o+=("$1" "$2"); shift 2; done
	"$B/test/tools/session-peer" -l "$src" "${o[@]}" "127.0.0.1:$DPORT" $ID "$(cat "$D/id_ed25519.pub")" "$@"
}
val() { sed -n "s/^$1=//p" | head -1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }
# spam SRC SECS OUT: two connections from SRC guessing for SECS, in the background.
spam() {
	local k
	for k in 1 2; do
		t_bg apeer "$1" -t 45 spam "wrong-$k" "$2" >"$3.$k"
		SPAMMERS+=("$T_LAST_PID")
	done
}

# ---- one source guesses until it is blocked, then stops ----
# (Started so that it stops early in a calendar minute: a guard that counted
# per minute would keep the address out to the end of that minute.)
sec=$(date +%-S)
[ "$sec" -lt 29 ] && sleep $((29 - sec))
[ "$sec" -gt 54 ] && sleep $((89 - sec))
SPAMMERS=()
spam 127.0.0.21 36 "$T_TMP/one"
t0=$(now)
for pid in "${SPAMMERS[@]}"; do wait "$pid"; done
stopped=$(now)
note "127.0.0.21 guessed for $(since "$t0") s: $(cat "$T_TMP/one.1" "$T_TMP/one.2" | paste -sd' ')"
fails=$(grep -cE 'session: login failed src=127\.0\.0\.21 port=' "$AG")
check "its failures are logged with its address ($fails)" test "$fails" -ge 8
out=$(apeer 127.0.0.21 login "$PW")
check_eq "right after, the same address is refused, even with the right password" \
	"Please try 1 minute later" "$(val error <<<"$out")"
# A helpdesk behind the same NAT retries every half second until it gets in.
res= waited=
while lt "$(since "$stopped")" 40; do
	out=$(apeer 127.0.0.21 -t 30 login "$PW")
	res=$(val result <<<"$out")
	[ "$res" = ok ] && { waited=$(since "$stopped"); break; }
	sleep 0.5
done
note "the same address got in $waited s after the guessing stopped"
check_eq "the same address gets in once the guessing stopped" ok "$res"
check "... within the block's decay, 20 s (+2 s) ($waited s)" lt "${waited:-99}" 22

# ---- five sources guess; another address logs in meanwhile ----
sec=$(date +%-S); [ "$sec" -gt 45 ] && sleep $((61 - sec))
SPAMMERS=()
for i in 11 12 13 14 15; do spam 127.0.0.$i 30 "$T_TMP/many$i"; done
sleep 5
busy=$(grep -c 'session: login failed src=127\.0\.0\.1[1-5] ' "$AG")
t1=$(now)
out=$(apeer 127.0.0.2 -t 45 login "$PW")
took=$(since "$t1")
running=0
for pid in "${SPAMMERS[@]}"; do kill -0 "$pid" 2>/dev/null && running=$((running + 1)); done
note "127.0.0.2 logged in after $took s, while $running guessers ran ($busy failures before it)"
check "the guessers were at it ($busy wrong passwords in 5 s)" test "$busy" -ge 10
check_eq "another address gets in while they go on (not refused)" ok "$(val result <<<"$out")"
check "... within two of the ID's gaps, 2 s each (+2 s) ($took s)" lt "$took" 6
[ "$(val result <<<"$out")" = ok ] || note "$out"
check_eq "... while all ten guessers still ran" 10 "$running"
check "the agent logged that logins were held, not refused" grep -q 'login held src=127\.0\.0\.1[1-5] ' "$AG"
check "127.0.0.2 was never refused" bash -c "! grep -q 'login refused src=127\\.0\\.0\\.2 ' '$AG'"
for pid in "${SPAMMERS[@]}"; do wait "$pid"; done
cat "$T_TMP"/many1[1-5].[12] | awk -F= '{ s[$1] += $2 } END { printf "# guessers: %d answered, %d refused\n", s["answered"], s["refused"] }'
check "agent still running" kill -0 "$AGENT_PID"
t_done
