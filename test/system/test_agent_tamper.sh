#!/usr/bin/env bash
# Tampered frames end the session. rd-rendezvous hands out a relay address
# that is a small proxy in front of rd-relay; the proxy flips one bit inside
# one encrypted frame, toward the agent in the first run and toward the
# controller in the second. The agent must end the session on a bad MAC (and
# say so), the controller must fail, and a run without tampering must work.
source "$(dirname "$0")/../lib.sh"
B=$RD_BUILD
for b in rd-rendezvous rd-relay rd-agent rdctl; do
	[ -x "$B/$b" ] || { not_ok "$b is not built in $B"; t_done; }
done
command -v python3 >/dev/null || { not_ok "python3 missing (make deps)"; t_done; }
PW=tamper-pw ID=tampertest1 HOMED=$T_TMP/home
mkdir -p "$HOMED" "$T_TMP/rv"
PORT=$(t_free_port 2); RPORT=$(t_free_port); PPORT=$(t_free_port)
KEY=$("$B/rd-rendezvous" --data-dir "$T_TMP/rv" --print-key 2>/dev/null)
t_bg "$B/rd-relay" -p "$RPORT" -b 127.0.0.1 -k "$KEY" --config /dev/null >"$T_TMP/relay.log" 2>&1
check "relay up" t_wait_tcp "$RPORT" 10

# The proxy: frame-aware in the relay -> endpoint direction. The mode file
# says "agent N" (corrupt frame N sent to the agent, whose RequestRelay has no
# peer ID), "ctl N" (frame N sent to the controller) or "none 0"; it is read
# for every new connection.
cat >"$T_TMP/proxy.py" <<'PY'
import asyncio, sys
listen, upstream, peer_id, modefile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4]
log = open(sys.argv[5], "a", buffering=1)
def hdr(buf):
    if not buf: return None
    n = (buf[0] & 3) + 1
    if len(buf) < n: return None
    ln = int.from_bytes(buf[:n], "little") >> 2
    return (n, ln) if len(buf) >= n + ln else None
async def pump(r, w, tamper, nth):
    buf, count = b"", 0
    try:
        while True:
            d = await r.read(65536)
            if not d: break
            if not tamper:
                w.write(d); await w.drain(); continue
            buf += d
            while (h := hdr(buf)) is not None:
                n, ln = h
                f = bytearray(buf[:n + ln]); buf = buf[n + ln:]
                count += 1
                if count == nth and ln > 17:
                    f[n + ln // 2] ^= 0x04
                    log.write("tampered frame %d (%d bytes)\n" % (count, ln))
                w.write(bytes(f))
            await w.drain()
    except Exception:
        pass
    w.close()
async def handle(cr, cw):
    ur, uw = await asyncio.open_connection("127.0.0.1", upstream)
    first = b""                           # until the RequestRelay frame is whole
    while hdr(first) is None:
        d = await cr.read(4096)
        if not d: break                   # EOF: the rendezvous server's health check
        first += d
    uw.write(first); await uw.drain()
    h = hdr(first)                        # only the first frame: the agent's SignedId
    is_ctl = h is not None and peer_id in first[:h[0] + h[1]]   # may follow in the same reads
    mode, nth = open(modefile).read().split()
    tamper = (mode == "agent" and not is_ctl) or (mode == "ctl" and is_ctl)
    await asyncio.gather(pump(cr, uw, False, 0), pump(ur, cw, tamper, int(nth)))
async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", listen)
    log.write("proxy up\n")
    async with srv: await srv.serve_forever()
asyncio.run(main())
PY
echo "none 0" >"$T_TMP/proxy.mode"
t_bg python3 "$T_TMP/proxy.py" "$PPORT" "$RPORT" "$ID" "$T_TMP/proxy.mode" "$T_TMP/proxy.log"
if t_wait_file "$T_TMP/proxy.log" "proxy up" 30; then ok "tampering proxy up"; else not_ok "tampering proxy up"; t_done; fi
# rd-rendezvous checks its relay (here the proxy) at start and every 3 s and
# offers no relay while the check fails, so it starts once the proxy listens;
# started before it, the first session would go to the default relay port
# (server port + 1), where nothing listens.
t_bg "$B/rd-rendezvous" -p "$PORT" -b 127.0.0.1 -k - --data-dir "$T_TMP/rv" -r "127.0.0.1:$PPORT" \
	--config /dev/null >"$T_TMP/rendezvous.log" 2>&1
check "rendezvous server up" t_wait_tcp "$PORT" 10
proxy() { echo "$1 $2" >"$T_TMP/proxy.mode"; }

CFG=$T_TMP/agent.ini
"$B/rd-agent" enroll --config "$CFG" --server "127.0.0.1:$PORT" --key "$KEY" --id $ID \
	--data-dir "$T_TMP/data" >/dev/null 2>&1
printf '[capture]\nbackend = testsrc\n' >>"$CFG"
printf '%s\n' "$PW" | "$B/rd-agent" password set --config "$CFG" 2>/dev/null
AG=$T_TMP/agent.log
t_bg "$B/rd-agent" run --config "$CFG" >"$AG" 2>&1
AGENT_PID=$T_LAST_PID
if t_wait_file "$AG" "registered with" 10; then ok "agent registered"; else not_ok "agent registered"; t_done; fi
check "rendezvous server sees the relay up" bash -c "! grep 'relay down' '$T_TMP/rendezvous.log'"

rdctl() { HOME=$HOMED RDESK_PASSWORD=$PW timeout 40 "$B/rdctl" --server "127.0.0.1:$PORT" --key "$KEY" \
	--json --relay "$@" 2>"$T_TMP/rdctl.err"; }
# check_rc DESC WANT GOT: check_eq that, on a mismatch, shows what rdctl
# printed (its JSON and stderr) and the servers' and agent's last lines.
check_rc() {
	if [ "$2" = "$3" ]; then ok "$1"; return 0; fi
	not_ok "$1 (want '$2', got '$3')"
	note "rdctl json: $OUT"
	local f
	for f in rdctl.err agent.log rendezvous.log relay.log proxy.log; do
		note "--- $f"
		tail -n 15 "$T_TMP/$f" 2>/dev/null | sed 's/^/# /'
	done
	return 1
}

proxy none 0
OUT=$(rdctl screenshot $ID -o "$T_TMP/ok.png"); rc=$?
check_rc "untampered relay session works" 0 $rc

# Frames toward the agent: 1 PublicKey, 2 LoginRequest, 3 and on: TestDelay echoes.
proxy agent 3
n0=$(grep -c "decryption failed" "$AG")
OUT=$(rdctl connect $ID --viewer none --duration 8); rc=$?
check "proxy flipped a bit toward the agent" grep -q "tampered frame 3" "$T_TMP/proxy.log"
t_wait_file "$AG" "session over .*decryption failed" 10
check "agent ended the session on the bad frame" test "$(grep -c "decryption failed" "$AG")" -gt "$n0"
check "controller did not finish cleanly (exit $rc)" test "$rc" -ne 0

# Frames toward the controller: 1 SignedId, 2 Hash, 3 LoginResponse, 4+ video and TestDelay.
proxy ctl 5
OUT=$(rdctl record $ID --duration 6 -o "$T_TMP/rec.mkv"); rc=$?
check "proxy flipped a bit toward the controller" grep -q "tampered frame 5" "$T_TMP/proxy.log"
check "controller refused the tampered stream (exit $rc)" test "$rc" -ne 0
sessions_gone() {
	n=$("$B/rd-agent" status --config "$CFG" --json 2>/dev/null | grep -oE '"session_count":[0-9]+' | cut -d: -f2)
	[ "$n" = 0 ]
}
t_wait_until 10 sessions_gone
check_eq "agent's side of that session is gone too" 0 "$n"
check "agent still registered and serving" kill -0 "$AGENT_PID"
proxy none 0
OUT=$(rdctl screenshot $ID -o "$T_TMP/ok2.png"); rc=$?
check_rc "a clean session works again afterwards" 0 $rc
t_done
