#!/usr/bin/env bash
# rd-agent against the real rd-rendezvous and rd-relay on loopback, an Xvfb
# screen and rdctl as the controller: registration (and again after a server
# restart), status, screenshots over the LAN path and the relay that match
# `import -window root`, the direct listener's handshake, several controllers
# at once, bytes per second of an idle screen, SIGTERM, and wrong passwords
# that slow the source down.
source "$(dirname "$0")/../lib.sh"
B=$RD_BUILD
for b in rd-rendezvous rd-relay rd-agent rdctl; do
	[ -x "$B/$b" ] || { not_ok "$b is not built in $B"; t_done; }
done
PW=agent-pw-42
ID=agenttest01
HOMED=$T_TMP/home; mkdir -p "$HOMED"

# ---- servers ----
PORT=$(t_free_port 2); RPORT=$(t_free_port); DPORT=$(t_free_port)
mkdir -p "$T_TMP/rv"
KEY=$("$B/rd-rendezvous" --data-dir "$T_TMP/rv" --print-key 2>/dev/null)
start_rv() {
	t_bg "$B/rd-rendezvous" -p "$PORT" -b 127.0.0.1 -k - --data-dir "$T_TMP/rv" -r "127.0.0.1:$RPORT" \
		--config /dev/null >>"$T_TMP/rendezvous.log" 2>&1
	RV_PID=$T_LAST_PID
	t_wait_tcp "$PORT" 10
}
# The relay first: rd-rendezvous offers no relay until its health check
# (at start, then every 3 s) has reached it.
t_bg "$B/rd-relay" -p "$RPORT" -b 127.0.0.1 -k "$KEY" --config /dev/null >"$T_TMP/relay.log" 2>&1
check "relay up" t_wait_tcp "$RPORT" 10
check "rendezvous server up" start_rv

# ---- a screen with known content ----
if t_xvfb 640x480x24; then ok "Xvfb"; else not_ok "Xvfb"; t_done; fi
convert -size 640x480 gradient:'#203060-#e0d040' -fill white -draw 'rectangle 40,40 280,200' \
	-fill '#b02020' -draw 'circle 470,320 470,410' -fill black -draw 'rectangle 330,50 610,110' \
	"$T_TMP/pattern.png"
DISPLAY=$T_DISPLAY display -window root "$T_TMP/pattern.png" >/dev/null 2>&1 &

# ---- agent ----
CFG=$T_TMP/agent.ini D=$T_TMP/data
"$B/rd-agent" enroll --config "$CFG" --server "127.0.0.1:$PORT" --key "$KEY" --relay "127.0.0.1:$RPORT" \
	--id $ID --data-dir "$D" >/dev/null 2>"$T_TMP/enroll.err"
check_eq "enroll" 0 $?
cat >>"$CFG" <<EOI
[server]
register-interval = 2
[agent]
direct-port = $DPORT
direct-bind = 127.0.0.1
control-socket = $T_TMP/control.sock
[capture]
backend = x11
display = $T_DISPLAY
EOI
printf '%s\n' "$PW" | "$B/rd-agent" password set --config "$CFG" 2>/dev/null
AG=$T_TMP/agent.log
start_agent() {
	t_bg "$B/rd-agent" run --config "$CFG" >>"$AG" 2>&1
	AGENT_PID=$T_LAST_PID
	t_wait_file "$AG" "registered with .* as $ID" 10
}
if start_agent; then ok "agent registers"; else not_ok "agent registers"; tail -20 "$AG"; t_done; fi
status() { "$B/rd-agent" status --config "$CFG" --json 2>/dev/null; }
# jget JSON NAME: first scalar NAME in JSON
jget() { grep -oE "\"$2\":(\"[^\"]*\"|[^,}]*)" <<<"$1" | head -n1 | sed -E 's/^[^:]*://; s/^"//; s/"$//'; }
S=$(status)
check_eq "status: registered" true "$(jget "$S" registered)"
check_eq "status: server" "127.0.0.1:$PORT" "$(jget "$S" server)"
check_eq "status: no sessions" 0 "$(jget "$S" session_count)"
check_eq "control socket mode 0600" 600 "$(stat -c %a "$T_TMP/control.sock")"
check "human status names the server" bash -c "'$B/rd-agent' status --config '$CFG' | grep -q 'server: 127.0.0.1:$PORT'"
t_wait_file "$AG" "NAT type: asymmetric" 10
check "NAT test: asymmetric on loopback" grep -q "NAT type: asymmetric" "$AG"

rdctl() { HOME=$HOMED RDESK_PASSWORD=${RDESK_PASSWORD-$PW} "$B/rdctl" --server "127.0.0.1:$PORT" \
	--key "$KEY" --json "$@" 2>>"$T_TMP/rdctl.err"; }
img_mae() {
	convert "$1" -alpha off -blur 0x1 "$T_TMP/ma.png" && convert "$2" -alpha off -blur 0x1 "$T_TMP/mb.png" &&
		compare -metric MAE "$T_TMP/ma.png" "$T_TMP/mb.png" null: 2>&1 | sed -n 's/.*(\(.*\)).*/\1/p'
}
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }
# The truth is the screen once the pattern is on it (display works in the
# background; a busy machine is slow).
pattern_shown() {
	import -window root -display "$T_DISPLAY" "$T_TMP/truth.png" &&
		lt "$(img_mae "$T_TMP/truth.png" "$T_TMP/pattern.png")" 0.01
}
check "the pattern is on the screen" t_wait_until 20 pattern_shown

# ---- screenshots: LAN path (H.264) and relay (VP9) ----
OUT=$(rdctl screenshot $ID --codec h264 -o "$T_TMP/lan.png"); rc=$?
check_eq "screenshot over the LAN path: exit 0" 0 $rc || note "$OUT"
check_eq "LAN path used" lan "$(jget "$OUT" path)"
mae=$(img_mae "$T_TMP/lan.png" "$T_TMP/truth.png")
check "LAN H.264 frame matches the screen (MAE $mae < 0.03)" lt "${mae:-1}" 0.03
OUT=$(rdctl --relay screenshot $ID --codec vp9 -o "$T_TMP/relay.png"); rc=$?
check_eq "screenshot over the relay: exit 0" 0 $rc || note "$OUT"
check_eq "relay path used" relay "$(jget "$OUT" path)"
mae=$(img_mae "$T_TMP/relay.png" "$T_TMP/truth.png")
check "relayed VP9 frame matches the screen (MAE $mae < 0.03)" lt "${mae:-1}" 0.03
convert "$T_TMP/truth.png" -roll +160+0 "$T_TMP/shifted.png"
mae=$(img_mae "$T_TMP/lan.png" "$T_TMP/shifted.png")
check "the comparison can fail: a shifted screen is far off (MAE $mae)" lt 0.05 "${mae:-0}"
check "agent logged per-direction keys" grep -q "secure channel up (per-direction keys)" "$AG"
check "relay session logged" grep -q "session via relay" "$AG"
# Nothing may knock on the relay after that session: no rejoin of its uuid,
# and rd-rendezvous's health checks (a bare connect every 3 s) are no refusals.
sleep 3.5
if grep -q 'refused' "$T_TMP/relay.log"; then
	not_ok "relay log has no refusals after the relayed screenshot"
	note "$(grep refused "$T_TMP/relay.log" | tail -3)"
else
	ok "relay log has no refusals after the relayed screenshot"
fi

# ---- direct listener: the full handshake, never plaintext ----
cat >"$T_TMP/direct.py" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
def frame():
    b = s.recv(1)
    n = (b[0] & 3) + 1
    h = b + (s.recv(n - 1) if n > 1 else b"")
    ln = int.from_bytes(h, "little") >> 2
    d = b""
    while len(d) < ln:
        c = s.recv(ln - len(d))
        if not c: break
        d += c
    return d
first = frame()
# Message field 3 (signed_id), length-delimited; the signed IdPk holds our ID.
print("signed_id" if first[:1] == b"\x1a" and sys.argv[2].encode() in first else "other")
s.sendall(b"\x00")   # an empty Message: "I have no key, go on in plaintext"
try:
    second = frame()
    print("close_reason" if b"Unencrypted" in second else "more")
    print("eof" if s.recv(1) == b"" else "open")
except Exception as e:
    print("error", e)
PY
OUT=$(timeout 10 python3 "$T_TMP/direct.py" "$DPORT" "$ID")
check "direct listener starts with SignedId" grep -qx signed_id <<<"$OUT"
check "direct listener refuses plaintext with a reason" grep -qx close_reason <<<"$OUT"
check "direct listener closes after refusing" grep -qx eof <<<"$OUT"
check "refusal logged" grep -q "unencrypted session refused" "$AG"
# One address cannot hold every slot with handshakes it never finishes.
cat >"$T_TMP/pending.py" <<'PY'
import socket, sys, time
socks = []
for i in range(5):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    socks.append(s)
    time.sleep(0.2)
for i, s in enumerate(socks):
    got = s.recv(4096)
    rest = b""
    s.settimeout(1.0)
    try:
        rest = s.recv(4096)
    except socket.timeout:
        rest = None
    print(i, "signed_id" if got[1:2] == b"\x1a" or got[2:3] == b"\x1a" else "other",
          "closed" if rest == b"" else "open")
PY
OUT=$(timeout 20 python3 "$T_TMP/pending.py" "$DPORT")
check_eq "four pending handshakes from one address are served" 4 "$(grep -c 'signed_id open' <<<"$OUT")"
check "the fifth is closed at once" grep -qE '^4 .* closed$' <<<"$OUT"
check "pending limit logged" grep -q "are not logged in yet; refused" "$AG"

# ---- two controllers at once, an idle screen, status ----
rdctl connect $ID --viewer none --duration 25 >"$T_TMP/c1.json" &
C1=$!; T_PIDS+=("$C1")
rdctl --relay connect $ID --viewer none --duration 25 >"$T_TMP/c2.json" &
C2=$!; T_PIDS+=("$C2")
two_active() { S=$(status); [ "$(grep -o '"state":"active"' <<<"$S" | wc -l)" -eq 2 ]; }
t_wait_until 20 two_active
check_eq "two sessions at once" 2 "$(jget "$S" session_count)"
check "both active" bash -c "[ \$(grep -o '\"state\":\"active\"' <<<'$S' | wc -l) -eq 2 ]"
check "both encrypted" bash -c "[ \$(grep -o '\"encrypted\":true' <<<'$S' | wc -l) -eq 2 ]"
check "one via the relay" grep -q '"path":"relay"' <<<"$S"
# The first keyframes must be out before the idle rate is measured: wait
# until the LAN session's frame count has not moved for 1.5 s.
lanframes() { grep -oE '\{"peer":[^}]*\}' <<<"$1" | grep '"path":"lan"' | grep -oE '"frames_sent":[0-9]+' | cut -d: -f2; }
prev=x still=0
for i in $(seq 60); do
	f=$(lanframes "$(status)")
	if [ "${f:-0}" -gt 0 ] && [ "$f" = "$prev" ]; then still=$((still + 1)); else still=0; fi
	[ $still -ge 3 ] && break
	prev=$f
	sleep 0.5
done
S1=$(status); t1=$(date +%s.%N)
sleep 4
S2=$(status); t2=$(date +%s.%N)
# bytes_out of the LAN session
lanbytes() { grep -oE '\{"peer":[^}]*\}' <<<"$1" | grep '"path":"lan"' | grep -oE '"bytes_out":[0-9]+' | cut -d: -f2; }
b1=$(lanbytes "$S1")
b2=$(lanbytes "$S2")
rate=$(awk -v a="$b1" -v b="$b2" -v t1="$t1" -v t2="$t2" 'BEGIN { printf "%.0f", (b - a) / (t2 - t1) }')
note "idle screen: $rate bytes/s to one controller (TestDelay and nothing else)"
check "idle screen costs under 2 KB/s ($rate B/s)" lt "${rate:-99999}" 2048
check "idle screen still sends TestDelay (> 0 B/s)" lt 0 "${rate:-0}"
# A change on screen reaches the controller again.
DISPLAY=$T_DISPLAY xsetroot -solid '#40a040'
changed() { S3=$(status); b3=$(lanbytes "$S3"); [ $((${b3:-0} - ${b2:-0})) -gt 500 ]; }
t_wait_until 10 changed
check "a screen change sends frames (+$((b3 - b2)) bytes, idle sent $rate per s)" lt 500 $((b3 - b2))
lt 500 $((b3 - b2)) || note "before: $S2 after: $S3"
wait $C1; r1=$?; wait $C2; r2=$?
check_eq "first controller ends cleanly" 0 $r1
check_eq "second controller ends cleanly" 0 $r2
no_sessions() { S=$(status); [ "$(jget "$S" session_count)" = 0 ]; }
t_wait_until 10 no_sessions
check_eq "sessions gone after the controllers left" 0 "$(jget "$S" session_count)"

# ---- the rendezvous server restarts ----
t_stop "$RV_PID"
t_wait_file "$AG" "does not answer" 15
check "agent notices the server is gone" grep -q "does not answer" "$AG"
S=$(status)
check_eq "status: not registered while it is away" false "$(jget "$S" registered)"
n0=$(grep -c "registered with" "$AG")
start_rv
t0=$(date +%s.%N)
for i in $(seq 150); do [ "$(grep -c "registered with" "$AG")" -gt "$n0" ] && break; sleep 0.1; done
t1=$(date +%s.%N)
back=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
note "registered again $back s after the server came back (interval 2 s)"
# Two intervals and the agent's 1 s tick, plus 2 s for a loaded machine (an
# unbounded backoff would be 8 s and more by now).
check "registered again within two intervals (+3 s) ($back s)" lt "$back" 7
check_eq "status: registered again" true "$(jget "$(status)" registered)"
OUT=$(rdctl screenshot $ID -o "$T_TMP/after.png"); rc=$?
check_eq "reachable after the server restart" 0 $rc || note "$OUT"

# ---- SIGTERM closes sessions cleanly ----
rdctl connect $ID --viewer none --duration 30 >"$T_TMP/c3.json" 2>/dev/null &
C3=$!; T_PIDS+=("$C3")
one_active() { grep -q '"state":"active"' <<<"$(status)"; }
t_wait_until 20 one_active
kill -TERM "$AGENT_PID"
for i in $(seq 80); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
check "agent exits within 8 s of SIGTERM" bash -c "! kill -0 $AGENT_PID 2>/dev/null"
wait "$AGENT_PID"; rc=$?
check_eq "agent exit status 0 after SIGTERM" 0 $rc
[ $rc = 0 ] || grep -A25 -E "Sanitizer|runtime error" "$AG" | sed 's/^/# /'

check "agent said goodbye to its session" grep -q "SIGTERM: closing 1 session" "$AG"
t_wait_until 10 eval '! kill -0 "$C3" 2>/dev/null'
check "the controller's session ended too" bash -c "! kill -0 $C3 2>/dev/null"
check "control socket removed" test ! -e "$T_TMP/control.sock"

# ---- wrong passwords slow the source down ----
check "agent restarts" start_agent
# Three are answered at once, then each waits 1, 2, 4 s after the last failure.
for i in 1 2 3 4 5 6; do
	OUT=$(RDESK_PASSWORD=wrong-$i rdctl screenshot $ID -o "$T_TMP/w.png"); rc=$?
	[ $i = 1 ] && check_eq "wrong password: exit 4" 4 $rc
done
failures() { grep -cE 'session: login failed src=127\.0\.0\.1 port=[0-9]+: wrong password; controller id="[^ ]*"$' "$AG"; }
t_wait_until 5 eval '[ "$(failures)" -ge 6 ]'
check_eq "six failures logged with the source" 6 "$(failures)"
check "the fourth to sixth were held back" grep -q 'login held src=127\.0\.0\.1 port=[0-9]*: answer held' "$AG"
# The right password now waits 8 s after the sixth failure, and gets in.
t0=$(date +%s.%N)
OUT=$(rdctl -t 30 screenshot $ID -o "$T_TMP/late.png"); rc=$?
t1=$(date +%s.%N)
held=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
check_eq "right password after six failures: in, not refused (exit 0)" 0 $rc
check "... after a delay ($held s)" lt 3 "$held"
check "a PNG after the delay" test -s "$T_TMP/late.png"
t_stop "$AGENT_PID"
t_done
