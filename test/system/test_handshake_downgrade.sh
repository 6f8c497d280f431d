#!/usr/bin/env bash
# Someone on the path (here a proxy in front of rd-relay, which rd-rendezvous
# hands out as its relay) cannot push an rdesk session down to one shared key:
# removing the agent's feature offer breaks its signature, and removing or
# changing the controller's answer gives the two sides different keys. Each
# attack must end rdctl with exit 6 before any login, and the same session
# without rewriting must work. A stock RustDesk controller (emulated by
# test/tools/stock-controller.py on the direct listener) still logs in, with
# RustDesk's one key both ways.
source "$(dirname "$0")/../lib.sh"
B=$RD_BUILD
for b in rd-rendezvous rd-relay rd-agent rdctl; do
	[ -x "$B/$b" ] || { not_ok "$b is not built in $B"; t_done; }
done
command -v python3 >/dev/null || { not_ok "python3 missing (make deps)"; t_done; }
TOOLS=$RD_TOP/test/tools
PW=downgrade-pw ID=downgrade01 HOMED=$T_TMP/home
mkdir -p "$HOMED" "$T_TMP/rv"
PORT=$(t_free_port 2); RPORT=$(t_free_port); PPORT=$(t_free_port); DPORT=$(t_free_port)
KEY=$("$B/rd-rendezvous" --data-dir "$T_TMP/rv" --print-key 2>/dev/null)
t_bg "$B/rd-relay" -p "$RPORT" -b 127.0.0.1 -k "$KEY" --config /dev/null >"$T_TMP/relay.log" 2>&1
check "relay up" t_wait_tcp "$RPORT" 10

proxy() { echo "$1" >"$T_TMP/proxy.mode"; }
proxy pass
t_bg python3 "$TOOLS/handshake-proxy.py" "$PPORT" "$RPORT" "$T_TMP/proxy.mode" "$T_TMP/proxy.log"
if t_wait_file "$T_TMP/proxy.log" "proxy up" 30; then ok "rewriting proxy up"; else not_ok "rewriting proxy up"; t_done; fi
# Started after the proxy listens: rd-rendezvous offers no relay until its
# health check has reached it.
t_bg "$B/rd-rendezvous" -p "$PORT" -b 127.0.0.1 -k - --data-dir "$T_TMP/rv" -r "127.0.0.1:$PPORT" \
	--config /dev/null >"$T_TMP/rendezvous.log" 2>&1
check "rendezvous server up" t_wait_tcp "$PORT" 10

CFG=$T_TMP/agent.ini
"$B/rd-agent" enroll --config "$CFG" --server "127.0.0.1:$PORT" --key "$KEY" --relay "127.0.0.1:$PPORT" \
	--id $ID --data-dir "$T_TMP/data" >/dev/null 2>&1
printf '[agent]\ndirect-port = %s\ndirect-bind = 127.0.0.1\n[capture]\nbackend = testsrc\n' "$DPORT" >>"$CFG"
printf '%s\n' "$PW" | "$B/rd-agent" password set --config "$CFG" 2>/dev/null
AG=$T_TMP/agent.log
t_bg "$B/rd-agent" run --config "$CFG" >"$AG" 2>&1
if t_wait_file "$AG" "registered with" 10; then ok "agent registered"; else not_ok "agent registered"; t_done; fi

rdctl() { HOME=$HOMED RDESK_PASSWORD=$PW timeout 40 "$B/rdctl" --server "127.0.0.1:$PORT" --key "$KEY" \
	--json --relay "$@" 2>"$T_TMP/rdctl.err"; }
jget() { grep -oE "\"$2\":(\"[^\"]*\"|[^,}]*)" <<<"$1" | head -n1 | sed -E 's/^[^:]*://; s/^"//; s/"$//'; }
# check_rc DESC WANT GOT: on a mismatch, show rdctl's output and the logs.
check_rc() {
	if [ "$2" = "$3" ]; then ok "$1"; return 0; fi
	not_ok "$1 (want '$2', got '$3')"
	note "rdctl json: $OUT"
	local f
	for f in rdctl.err agent.log relay.log proxy.log; do
		note "--- $f"
		tail -n 12 "$T_TMP/$f" 2>/dev/null | sed 's/^/# /'
	done
	return 1
}
count() { grep -c "$1" "$2" 2>/dev/null; }

# ---- without rewriting: per-direction keys through the proxy ----
OUT=$(rdctl screenshot $ID -o "$T_TMP/clean.png"); rc=$?
check_rc "a session through the proxy works" 0 $rc
check "it used the relay (and so the proxy)" grep -q '"path":"relay"' <<<"$OUT"
check "agent: per-direction keys" grep -q "secure channel up (per-direction keys)" "$AG"
check "the proxy rewrote nothing" bash -c "! grep -q rewrote '$T_TMP/proxy.log'"

# attack MODE: one relayed screenshot with the proxy in MODE. Sets OUT, rc and
# the number of new agent lines for shared keys and logins.
attack() {
	local shared0 login0
	shared0=$(count "compatible shared" "$AG"); login0=$(count "login ok" "$AG")
	proxy "$1"
	OUT=$(rdctl screenshot $ID -o "$T_TMP/$1.png"); rc=$?
	proxy pass
	sleep 0.5
	shared=$(( $(count "compatible shared" "$AG") - shared0 ))
	logins=$(( $(count "login ok" "$AG") - login0 ))
}

# ---- the agent's offer removed (from SignedId and from the signed IdPk) ----
attack strip-offer
check "proxy removed the agent's feature offer" grep -q "rewrote: .*removed .*rdesk_features" "$T_TMP/proxy.log"
check_rc "offer removed: rdctl exits 6" 6 $rc
check_eq "offer removed: error peer_key_mismatch" peer_key_mismatch "$(jget "$OUT" error)"
check "offer removed: no PNG" test ! -e "$T_TMP/strip-offer.png"
check_eq "offer removed: the agent never went to shared keys" 0 "$shared"
check_eq "offer removed: no login" 0 "$logins"

# ---- the controller's answer removed ----
attack strip-reply
check "proxy removed the controller's answer" grep -q "rewrote: removed PublicKey.rdesk_features=1" "$T_TMP/proxy.log"
check_rc "answer removed: rdctl exits 6" 6 $rc
check_eq "answer removed: error handshake_altered" handshake_altered "$(jget "$OUT" error)"
check "answer removed: rdctl says the handshake was altered" grep -q "altered on the way" <<<"$OUT"
check_eq "answer removed: no login" 0 "$logins"

# ---- the controller's answer changed (an extra bit) ----
attack alter-reply
check "proxy changed the controller's answer" grep -q "rewrote: changed PublicKey.rdesk_features 1 -> 257" "$T_TMP/proxy.log"
check_rc "answer changed: rdctl exits 6" 6 $rc
check_eq "answer changed: error handshake_altered" handshake_altered "$(jget "$OUT" error)"
check_eq "answer changed: no login" 0 "$logins"

# ---- and a clean session works again ----
OUT=$(rdctl screenshot $ID -o "$T_TMP/clean2.png"); rc=$?
check_rc "a clean session works again afterwards" 0 $rc

# ---- a stock RustDesk controller: it skips the signed offer, gets one key ----
shared0=$(count "compatible shared" "$AG")
SOUT=$(timeout 40 python3 "$TOOLS/stock-controller.py" "$DPORT" "$ID" "$(cat "$T_TMP/data/id_ed25519.pub")" \
	"$PW" 2>&1); rc=$?
check_rc "stock controller: handshake, login and video" 0 $rc || note "$SOUT"
check "stock controller: the signed IdPk carries the offer (field 4000 = 1)" grep -qx "idpk-unknown 4000=1" <<<"$SOUT"
check "stock controller: logged in" grep -qx "login-ok" <<<"$SOUT"
t_wait_file "$AG" "compatible shared" 5
check "agent: compatible shared keys for the stock controller" \
	test "$(count "compatible shared" "$AG")" -gt "$shared0"
t_done
