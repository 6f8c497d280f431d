#!/usr/bin/env bash
# Peers cannot forge log lines that fail2ban would act on. Against the real
# rd-agent and rd-rendezvous, peers send IDs and close reasons built to look
# like a failure of another address (" from 10.9.8.7 port 1 ", a newline,
# "src=10.9.8.7 port=1: wrong password"), next to real failures; then the
# shipped filters (packaging/fail2ban) run over the logs with fail2ban-regex:
# every address they match must be one that really failed, as its socket
# showed it, and events from UDP datagrams (whose source anyone can forge)
# must match nothing.
source "$(dirname "$0")/../lib.sh"
B=$RD_BUILD
for b in rd-rendezvous rd-relay rd-agent rdctl test/tools/session-peer test/tools/rv-peer; do
	[ -x "$B/$b" ] || { not_ok "$b is not built in $B"; t_done; }
done
command -v fail2ban-regex >/dev/null || { not_ok "fail2ban-regex missing (make deps)"; t_done; }
PW=forge-pw-1 ID=forgetest1 FAKE=10.9.8.7
HOMED=$T_TMP/home; mkdir -p "$HOMED" "$T_TMP/rv"

# ---- the filters: as shipped, next to fail2ban's common.conf ----
F=$T_TMP/fail2ban/filter.d
mkdir -p "$F"
cp /etc/fail2ban/filter.d/common.conf "$F/"
for p in rd-agent rd-rendezvous; do
	if [ -f "$RD_TOP/packaging/fail2ban/filter.d/$p.conf" ]; then
		cp "$RD_TOP/packaging/fail2ban/filter.d/$p.conf" "$F/"
	else
		# Before the filters were shipped they were documented in the units'
		# comments; test those, so that this test tells what they let through.
		note "no shipped filter for $p: using the failregex of systemd/$p.service"
		{ printf '[INCLUDES]\nbefore = common.conf\n[Definition]\n'
			sed -n 's/^#[[:space:]]*\(failregex = \)/\1/p; /failregex/,/^#$/{s/^#[[:space:]]\{10,\}\(^\)/\t\1/p}' \
				"$RD_TOP/systemd/$p.service"; } >"$F/$p.conf"
	fi
done
# ips LOG FILTER: the addresses the filter matches in LOG, one per line.
ips() { fail2ban-regex -o ip "$1" "$F/$2.conf" 2>"$T_TMP/f2b.err" | grep -E '^[0-9a-f.:]+$' | sort; }

# ---- servers and the agent (test picture, direct port) ----
PORT=$(t_free_port 2); RPORT=$(t_free_port); DPORT=$(t_free_port)
KEY=$("$B/rd-rendezvous" --data-dir "$T_TMP/rv" --print-key 2>/dev/null)
t_bg "$B/rd-relay" -p "$RPORT" -b 127.0.0.1 -k "$KEY" --config /dev/null >"$T_TMP/relay.log" 2>&1
t_wait_tcp "$RPORT" 10
RVLOG=$T_TMP/rendezvous.log
RDESK_PUNCH_RATE=0.02 RDESK_PUNCH_BURST=4 \
	t_bg "$B/rd-rendezvous" -p "$PORT" -b 127.0.0.1 -k - --data-dir "$T_TMP/rv" -r "127.0.0.1:$RPORT" \
	--config /dev/null >"$RVLOG" 2>&1
check "servers up" t_wait_tcp "$PORT" 10
CFG=$T_TMP/agent.ini D=$T_TMP/data
"$B/rd-agent" enroll --config "$CFG" --server "127.0.0.1:$PORT" --key "$KEY" --relay "127.0.0.1:$RPORT" \
	--id $ID --data-dir "$D" >/dev/null 2>&1
printf '[capture]\nbackend = testsrc\n[agent]\ndirect-port = %s\ndirect-bind = 127.0.0.1\n' "$DPORT" >>"$CFG"
printf '%s\n' "$PW" | "$B/rd-agent" password set --config "$CFG" 2>/dev/null
AG=$T_TMP/agent.log
t_bg "$B/rd-agent" run --config "$CFG" >"$AG" 2>&1
check "agent registered" t_wait_file "$AG" "registered with .* as $ID" 10
t_wait_tcp "$DPORT" 10
# apeer SRC [OPTION...] STEP...: session-peer from SRC (its options, then the steps).
apeer() {
	local src=$1 o=(); shift
	while [ "${1:0:1}" = - ]; do o+=("$1" "$2"); shift 2; done
	"$B/test/tools/session-peer" -l "$src" "${o[@]}" "127.0.0.1:$DPORT" $ID "$(cat "$D/id_ed25519.pub")" "$@"
}

# ---- the agent: forged IDs and close reasons, and one real failure ----
NL=$'\n'
forged_ids=(
	"x session: login failed from $FAKE port 1 "
	"x from $FAKE port 1 id=y: wrong password"
	"x${NL}session: login failed src=$FAKE port=1: wrong password; controller id=\"y\""
	"x\" src=$FAKE port=1: wrong password; controller id=\"y"
	"x session: login failed src=$FAKE port=1: wrong password; controller id=y"
)
n=0
for m in "${forged_ids[@]}"; do
	out=$(apeer 127.0.0.5 -m "$m" login wrong-password-$n)
	grep -q '^error=Wrong Password' <<<"$out" && n=$((n + 1))
done
check_eq "five logins with forged controller IDs answered Wrong Password" 5 "$n"
for r in "${NL}session: login failed src=$FAKE port=1: wrong password; controller id=\"x\"" \
	" session: login failed from $FAKE port 1 : wrong password" \
	"x session: login refused src=$FAKE port=1: too many; controller id=y"; do
	apeer 127.0.0.6 close "$r" >/dev/null
done
check "forged close reasons logged" t_wait_file "$AG" 'controller closed: ' 5
out=$(apeer 127.0.0.6 -m "$NL" login "$PW" close "session: login failed src=$FAKE port=1: wrong password; controller id=\"x\"")
check "a right password still gets in" grep -qx 'result=ok' <<<"$out"
closed() { [ "$(grep -c 'controller closed: ' "$AG")" -ge 4 ]; }
check "and its forged close reason is logged" t_wait_until 5 closed
# A relayed failure names no socket address of the controller's: no match.
( RDESK_PASSWORD=wrong-relayed HOME=$HOMED "$B/rdctl" --server "127.0.0.1:$PORT" --key "$KEY" --relay \
	screenshot $ID -o "$T_TMP/x.png" >/dev/null 2>&1 )
check "a relayed failure is logged" t_wait_file "$AG" 'login failed through the relay' 5
note "agent lines with forged strings:"
grep -E 'login|closed' "$AG" | grep -F "$FAKE" | head -8 | sed 's/^/#   /'
AGIPS=$(ips "$AG" rd-agent)
got=$(uniq -c <<<"$AGIPS" | awk '{ print $2 "x" $1 }' | paste -sd' ')
note "rd-agent filter matched: ${got:-nothing}"
check "rd-agent filter: the forged address is never matched" test -z "$(grep -xF "$FAKE" <<<"$AGIPS")"
check_eq "rd-agent filter: exactly the five real failures of 127.0.0.5" "127.0.0.5x5" "$got"
grep -F 'login failed through the relay' "$AG" | head -1 >"$T_TMP/relayed.log"
check "rd-agent filter: the relayed failure matches nothing" \
	test -s "$T_TMP/relayed.log" -a -z "$(ips "$T_TMP/relayed.log" rd-agent)"

# ---- rd-rendezvous: datagrams (spoofable) and TCP with forged IDs ----
rvp() { local src=$1; shift; "$B/test/tools/rv-peer" -s "127.0.0.1:$PORT" -k "$KEY" -l "$src" "$@"; }
# UDP: malformed datagrams, a registration burst over the rate, a key change
# with another uuid, forged IDs: all logged, none may count for a ban.
rvp 127.0.0.7 garbage-udp 5 >/dev/null
rvp 127.0.0.7 burst-register udpburst1 20 >/dev/null
rvp 127.0.0.7 register-pk udpowner1 uuid-a seed-a >/dev/null
rvp 127.0.0.7 register-pk udpowner1 uuid-b seed-b >/dev/null
rvp 127.0.0.7 register-peer "x rendezvous: limit rate src=$FAKE port=1 id=y" >/dev/null
check "datagram events are logged" t_wait_file "$RVLOG" 'rendezvous: (udp )?refused uuid-mismatch src=127\.0\.0\.7' 5
# TCP: punch requests for forged IDs, then past the rate limit (a burst of 4
# from one source), and malformed frames: these are the source's own doing,
# its address proven by its handshake.
for i in 1 2 3; do
	rvp 127.0.0.8 punch "a rendezvous: limit rate src=$FAKE port=1 id=$i" >/dev/null
done
for i in 1 2 3 4 5 6; do rvp 127.0.0.9 punch nosuchid9 >/dev/null; done
rvp 127.0.0.8 garbage-tcp 2 >/dev/null
check "TCP limit logged" t_wait_file "$RVLOG" 'limit punch-rate src=127\.0\.0\.9' 5
sleep 0.5
note "rendezvous lines with forged strings:"
grep -F "$FAKE" "$RVLOG" | head -4 | sed 's/^/#   /'
RVIPS=$(ips "$RVLOG" rd-rendezvous)
got=$(uniq -c <<<"$RVIPS" | awk '{ print $2 "x" $1 }' | paste -sd' ')
note "rd-rendezvous filter matched: ${got:-nothing}"
check "rd-rendezvous filter: the forged address is never matched" test -z "$(grep -xF "$FAKE" <<<"$RVIPS")"
check "rd-rendezvous filter: datagram events (127.0.0.7) match nothing" \
	test -z "$(grep -xF 127.0.0.7 <<<"$RVIPS")"
check "rd-rendezvous filter: the TCP offenders (127.0.0.8, 127.0.0.9) are matched" \
	bash -c "grep -qxF 127.0.0.8 <<<'$RVIPS' && grep -qxF 127.0.0.9 <<<'$RVIPS'"
check "rd-rendezvous filter: nothing else" test -z "$(grep -vxE '127\.0\.0\.[89]' <<<"$RVIPS")"
t_done
