#!/usr/bin/env bash
# A session is inert until its login succeeds. A raw controller
# (test/tools/session-peer) connects to the real rd-agent's direct listener on
# an Xvfb screen, does the secure handshake and then, before any login and
# again after a wrong password, sends what would start video, input and the
# clipboard: Misc.option with supported_decoding, Misc.refresh_video, a
# Clipboard, a KeyEvent (Caps Lock) and a MouseEvent. It must get nothing
# but login traffic; the X clipboard, the pointer and Caps Lock must not
# change; the agent must not start capturing, and must count the dropped
# messages and log them once. Then the right password on the same connection
# must get video, the host's clipboard, and working input (so the checks
# above cannot pass for want of a working agent). More connections show that
# the frame limit and the send queue stay small before login whatever the
# controller sends.
source "$(dirname "$0")/../lib.sh"
source "$RD_TOP/test/lab/ctl_env.sh"
for t in xclip xdotool xset xsetroot; do
	command -v $t >/dev/null || { not_ok "$t is not installed (make deps)"; t_done; }
done
SP=$RD_BUILD/test/tools/session-peer
[ -x "$SP" ] || { not_ok "session-peer is not built in $RD_BUILD"; t_done; }

check "servers start" ctl_servers || t_done
check "Xvfb for the agent" t_xvfb 640x480x24 || t_done
AD=$T_DISPLAY
DISPLAY=$AD xsetroot -solid '#305070'
ID=prelogin01 DPORT=$(t_free_port)
check "agent enrolled" ctl_agent_enroll $ID "$AD" x11
A=$T_TMP/agent-$ID AG=$T_TMP/agent-$ID/agent.log
cat >>"$A/agent.ini" <<EOI
[agent]
direct-port = $DPORT
direct-bind = 127.0.0.1
control-socket = $T_TMP/control.sock
EOI
check "agent registered" ctl_agent_start $ID || { tail -20 "$AG"; t_done; }
check "direct listener up" t_wait_tcp "$DPORT" 10
PK=$(cat "$A/data/id_ed25519.pub")
status() { "$RD_BUILD/rd-agent" status --config "$A/agent.ini" --json 2>/dev/null; }
# jget JSON NAME: first scalar NAME in JSON
jget() { grep -oE "\"$2\":(\"[^\"]*\"|[^,}]*)" <<<"$1" | head -n1 | sed -E 's/^[^:]*://; s/^"//; s/"$//'; }

# ---- the host's state the controller must not reach before login ----
SECRET="host-secret-$RANDOM$RANDOM"
printf '%s' "$SECRET" | DISPLAY=$AD t_bg xclip -quiet -i -selection clipboard >/dev/null 2>&1
host_clip() { DISPLAY=$AD timeout 5 xclip -o -selection clipboard 2>/dev/null; }
clip_is() { [ "$(host_clip)" = "$1" ]; }
check "host clipboard holds the secret" t_wait_until 5 clip_is "$SECRET"
DISPLAY=$AD xdotool mousemove 10 10
pointer() { DISPLAY=$AD xdotool getmouselocation | awk '{print $1, $2}'; }
pointer_at() { [ "$(pointer)" = "$1" ]; }
caps() { DISPLAY=$AD xset q | sed -n 's/.*Caps Lock: *\([a-z]*\).*/\1/p'; }
caps_is() { [ "$(caps)" = "$1" ]; }
check_eq "pointer at 10,10" "x:10 y:10" "$(pointer)"
check_eq "Caps Lock off" off "$(caps)"
LOG0=$(wc -l <"$AG")

# ---- the attack, then the right password on the same connection ----
ATTACK=(option refresh clip attacker-text key mouse 300 200)
OUT=$T_TMP/peer.out GO=$T_TMP/checked
"$SP" 127.0.0.1:$DPORT $ID "$PK" "${ATTACK[@]}" wait 1 login wrong-password "${ATTACK[@]}" wait 1 \
	until "$GO" 15 login "$CTL_PW" video 1 20 refresh video 2 10 mouse 320 240 clip after-login-text key \
	wait 2 >"$OUT" 2>"$T_TMP/peer.err" &
SP_PID=$!
T_PIDS+=("$SP_PID")
if t_wait_file "$OUT" "^step until" 20; then ok "controller played the attack"; else
	not_ok "controller played the attack"; cat "$OUT" "$T_TMP/peer.err" | sed 's/^/# /'; fi
sleep 0.5
agent_log() { tail -n +$((LOG0 + 1)) "$AG"; }

# What the controller received before login: SignedId, Hash, one error.
RX=$(grep '^rx ' "$OUT" | tr '\n' ' ')
check_eq "before login: only login traffic reached the controller" \
	"rx signed_id rx hash rx login_response.error " "$RX"
check "before login: no clipboard text reached the controller" bash -c "! grep -q '^clip_text=' '$OUT'"
check_eq "before login: host clipboard unchanged" "$SECRET" "$(host_clip)"
check_eq "before login: pointer did not move" "x:10 y:10" "$(pointer)"
check_eq "before login: Caps Lock untouched" off "$(caps)"
check "before login: no capture started" bash -c "! grep -qE 'capture [a-z0-9]+ started' <(tail -n +$((LOG0 + 1)) '$AG')"
check_eq "dropped messages logged once" 1 "$(agent_log | grep -c 'before login dropped')"
check "the log line names the first one" bash -c "tail -n +$((LOG0 + 1)) '$AG' | grep -q 'misc.option before login dropped'"
S=$(status | grep -o '"sessions":.*')
check_eq "status: the session waits for its login" login "$(jget "$S" state)"
check_eq "status: session counted 10 dropped messages" 10 "$(jget "$S" prelogin_dropped)"
touch "$GO"

# ---- the right password: video, then input and the clipboard work ----
wait "$SP_PID"; rc=$?
check_eq "controller finished (video arrived)" 0 $rc
grep -q '^rx login_response.peer_info' "$OUT" && ok "login ok on the same connection" ||
	not_ok "login ok on the same connection"
check "video frames after login" grep -qE '^video_frames=[2-9]|^video_frames=[0-9]{2,}' "$OUT"
check "the host's clipboard reaches the controller after login" grep -qx "clip_text=$SECRET" "$OUT"
check "PermissionInfo only after login" bash -c "sed -n '/^rx login_response.peer_info/,\$p' '$OUT' | grep -q '^rx misc.permission_info'"
check "capture started after login" t_wait_file "$AG" "capture [a-z0-9]+ started" 5
L_LOGIN=$(grep -n 'login ok for controller' "$AG" | tail -1 | cut -d: -f1)
L_CAP=$(grep -nE 'capture [a-z0-9]+ started' "$AG" | head -1 | cut -d: -f1)
check "capture started after the login line" test "${L_CAP:-0}" -gt "${L_LOGIN:-999999}"
check "pointer moved after login" t_wait_until 5 pointer_at "x:320 y:240"
check "clipboard set after login" t_wait_until 5 clip_is after-login-text
check "Caps Lock pressed after login" t_wait_until 5 caps_is on
S=$(status)
check_eq "status: agent total of dropped messages" 10 "$(jget "$S" prelogin_dropped)"

# ---- pre-login frame limit: Misc.option does not lift it ----
OUT2=$T_TMP/peer2.out
timeout 20 "$SP" 127.0.0.1:$DPORT $ID "$PK" option refresh big 100000 wait 3 >"$OUT2" 2>"$T_TMP/peer2.err"
check "a 100 kB frame before login ends the session" grep -qx eof "$OUT2"
check "the agent says the frame was too big" t_wait_file "$AG" "session over \(direct, too big\)" 5
check_eq "still only login traffic" "rx signed_id rx hash " "$(grep '^rx ' "$OUT2" | tr '\n' ' ')"
# After login the limit is the session one: the same frame is taken.
OUT3=$T_TMP/peer3.out
timeout 30 "$SP" 127.0.0.1:$DPORT $ID "$PK" login "$CTL_PW" big 100000 wait 2 >"$OUT3" 2>"$T_TMP/peer3.err"
check "after login a 100 kB frame is taken" bash -c "grep -q '^rx login_response.peer_info' '$OUT3' && ! grep -qx eof '$OUT3'"
# ---- pre-login send queue: echoes a controller never reads stay small ----
OUT4=$T_TMP/peer4.out
timeout 60 "$SP" 127.0.0.1:$DPORT $ID "$PK" option flood 400000 wait 3 >"$OUT4" 2>"$T_TMP/peer4.err"
note "$(grep flood_sent "$OUT4")"
check "a controller that never reads its echoes is closed before login" grep -qx eof "$OUT4"
check "the agent says the queue limit was reached" \
	t_wait_file "$AG" "session over \(direct, limit reached\)" 5
check "agent still running" kill -0 "$CTL_AGENT_PID"
check_no_sanitizer "agent: no sanitizer report" "$AG"
t_done
