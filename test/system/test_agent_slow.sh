#!/usr/bin/env bash
# A controller that stops reading must not slow anyone else down: two
# controllers watch an X screen full of moving noise (ffplay on Xvfb, so every
# frame is large); one is frozen (SIGSTOP) for 8 s. The other must keep its
# pace, and the agent must close neither. (Skipping once a queue passes its
# soft limit is checked in test/unit/test_agent_session.c: on loopback the
# kernel's socket buffers take several MB before the agent's queue grows.)
source "$(dirname "$0")/../lib.sh"
B=$RD_BUILD
for b in rd-rendezvous rd-relay rd-agent rdctl; do
	[ -x "$B/$b" ] || { not_ok "$b is not built in $B"; t_done; }
done
PW=slow-pw ID=slowtest01 HOMED=$T_TMP/home
mkdir -p "$HOMED" "$T_TMP/rv"
PORT=$(t_free_port 2); RPORT=$(t_free_port)
KEY=$("$B/rd-rendezvous" --data-dir "$T_TMP/rv" --print-key 2>/dev/null)
# The relay first: rd-rendezvous offers no relay until its health check
# (at start, then every 3 s) has reached it.
t_bg "$B/rd-relay" -p "$RPORT" -b 127.0.0.1 -k "$KEY" --config /dev/null >"$T_TMP/relay.log" 2>&1
t_wait_tcp "$RPORT" 10
t_bg "$B/rd-rendezvous" -p "$PORT" -b 127.0.0.1 -k - --data-dir "$T_TMP/rv" -r "127.0.0.1:$RPORT" \
	--config /dev/null >"$T_TMP/rendezvous.log" 2>&1
t_wait_tcp "$PORT" 10 && t_wait_tcp "$RPORT" 10; check_eq "servers up" 0 $?
if t_xvfb 960x540x24; then ok "Xvfb"; else not_ok "Xvfb"; t_done; fi
DISPLAY=$T_DISPLAY t_bg ffplay -loglevel quiet -noborder -left 0 -top 0 -f lavfi \
	-i "nullsrc=s=960x540:r=15,geq=lum='random(1)*255':cb=128:cr=128" >/dev/null 2>&1
sleep 2
CFG=$T_TMP/agent.ini
"$B/rd-agent" enroll --config "$CFG" --server "127.0.0.1:$PORT" --key "$KEY" --id $ID \
	--data-dir "$T_TMP/data" >/dev/null 2>&1
printf "[capture]\nbackend = x11\ndisplay = $T_DISPLAY\n[video]\ncodec = h264\nfps = 30\nquality = 100\n[agent]\ncontrol-socket = %s\n" \
	"$T_TMP/control.sock" >>"$CFG"
printf '%s\n' "$PW" | "$B/rd-agent" password set --config "$CFG" 2>/dev/null
AG=$T_TMP/agent.log
t_bg "$B/rd-agent" run --config "$CFG" >"$AG" 2>&1
AGENT_PID=$T_LAST_PID
if t_wait_file "$AG" "registered with" 10; then ok "agent registered"; else not_ok "agent registered"; t_done; fi
status() { "$B/rd-agent" status --config "$CFG" --json 2>/dev/null; }
sess() { grep -oE '\{"peer":[^}]*\}' <<<"$1" | grep "\"path\":\"$2\""; }
field() { grep -oE "\"$2\":[0-9]+" <<<"$1" | cut -d: -f2; }
rdctl() { HOME=$HOMED RDESK_PASSWORD=$PW "$B/rdctl" --server "127.0.0.1:$PORT" --key "$KEY" --json "$@" \
	2>>"$T_TMP/rdctl.err"; }

rdctl connect $ID --viewer none --duration 40 >/dev/null &
SLOW=$!; T_PIDS+=("$SLOW")
rdctl --relay connect $ID --viewer none --duration 40 >/dev/null &
FAST=$!; T_PIDS+=("$FAST")
two_active() { S=$(status); [ "$(grep -o '"state":"active"' <<<"$S" | wc -l)" = 2 ]; }
t_wait_until 20 two_active
check "two sessions active" test "$(grep -o '"state":"active"' <<<"$S" | wc -l)" = 2
sleep 2
# Pace of the other controller before and during the freeze.
Sa=$(status); ta=$(date +%s.%N)
sleep 4
kill -STOP $SLOW
S0=$(status); t0=$(date +%s.%N)
sleep 8
S1=$(status); t1=$(date +%s.%N)
rate() { awk -v a="$(field "$(sess "$1" relay)" frames_sent)" -v b="$(field "$(sess "$2" relay)" frames_sent)" \
	-v t1="$3" -v t2="$4" 'BEGIN { printf "%.1f", (b - a) / (t2 - t1) }'; }
before=$(rate "$Sa" "$S0" "$ta" "$t0")
during=$(rate "$S0" "$S1" "$t0" "$t1")
slow1=$(sess "$S1" lan)
note "other controller: $before frames/s before, $during frames/s while one was frozen;" \
	"the frozen one was sent $(field "$slow1" bytes_out) bytes, skipped $(field "$slow1" frames_skipped) frames"
check "the other controller keeps its pace (>= 70 %: $during vs $before frames/s)" \
	awk -v a="$before" -v b="$during" 'BEGIN { exit !(b >= 0.7 * a && b > 2) }'
check "the other controller skipped nothing" test "$(field "$(sess "$S1" relay)" frames_skipped)" -eq 0
check "the frozen session is kept, not closed" test -n "$slow1"
check "no session closed for a full queue" bash -c "! grep 'session over' '$AG' | grep -q limit"
kill -CONT $SLOW
t_stop $SLOW
t_stop $FAST
check "agent still running" kill -0 $AGENT_PID
t_done
