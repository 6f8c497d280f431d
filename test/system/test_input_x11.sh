#!/usr/bin/env bash
# Remote input on X11 (Xvfb), end to end: servers, an agent with the xdo
# backend, rdctl's scriptable verbs. Ground truth comes from the display
# itself: what `cat` in an xterm wrote, xdotool getmouselocation, xev's log of
# key and button events, xclip on the agent's display.
source "$(dirname "$0")/../lib.sh"
source "$RD_TOP/test/lab/ctl_env.sh"
for t in xterm xev xdotool xclip; do
	command -v $t >/dev/null || { not_ok "$t is not installed (make deps)"; t_done; }
done

check "servers start" ctl_servers || t_done
check "Xvfb for the agent" t_xvfb 1280x720x24 || t_done
AD=$T_DISPLAY
DISPLAY=$AD xsetroot -solid '#203040'
ID=inputx11
check "agent enrolled" ctl_agent_enroll $ID "$AD" x11
check "agent registered" ctl_agent_start $ID || { tail -20 "$T_TMP/agent-$ID/agent.log"; t_done; }
AGENT1_PID=$CTL_AGENT_PID

# wait_until SECS CMD...: poll CMD every 0.1 s
wait_until() { t_wait_until "$@"; }
# rdctl returns once its events are sent; the agent injects them a moment later.
pointer_at() { [ "$(DISPLAY=$AD xdotool getmouselocation | awk '{print $1, $2}')" = "$1" ]; }

# ---- pointer ----
rdctl_run move $ID 321 234; check_eq "move: exit 0" 0 $CTL_RC || note "$CTL_OUT"
wait_until 5 pointer_at "x:321 y:234"
check_eq "move: pointer where rdctl put it" "x:321 y:234" "$(DISPLAY=$AD xdotool getmouselocation | awk '{print $1, $2}')"
rdctl_run move $ID 1279 719
wait_until 5 pointer_at "x:1279 y:719"
check_eq "move to the far corner" "x:1279 y:719" "$(DISPLAY=$AD xdotool getmouselocation | awk '{print $1, $2}')"

# xev logs key and button events of its own window (top left, 400x300).
XEV_LOG=$T_TMP/xev.log
DISPLAY=$AD t_bg stdbuf -oL xev -geometry 400x300+0+0 -event keyboard -event button >"$XEV_LOG" 2>&1
XEV_PID=$T_LAST_PID
wait_until 5 grep -aq 'MapNotify\|Expose\|FocusIn' "$XEV_LOG" ; sleep 0.5

rdctl_run click $ID 150 120 --button right; check_eq "click right: exit 0" 0 $CTL_RC || note "$CTL_OUT"
check "click right: ButtonPress button 3 at 150,120 in xev" wait_until 5 \
	bash -c "grep -a -A3 '^ButtonPress' '$XEV_LOG' | grep -q 'root:(150,120)' && grep -a -A4 '^ButtonPress' '$XEV_LOG' | grep -q 'button 3'"
check_eq "click: pointer at 150,120" "x:150 y:120" "$(DISPLAY=$AD xdotool getmouselocation | awk '{print $1, $2}')"
: >"$XEV_LOG"
rdctl_run click $ID 200 100 --double; check_eq "double click: exit 0" 0 $CTL_RC
check "double click: two presses and releases of button 1" wait_until 5 \
	bash -c "[ \$(grep -a -A4 '^ButtonRelease' '$XEV_LOG' | grep -c 'button 1,') -eq 2 ]"

# ---- keys with modifiers (pointer inside xev: focus follows it) ----
: >"$XEV_LOG"
rdctl_run key $ID ctrl+a shift+Tab alt+F2 Return; check_eq "key: exit 0" 0 $CTL_RC || note "$CTL_OUT"
# all four are in once the last one, Return, was released
wait_until 5 bash -c "grep -a -A2 '^KeyRelease' '$XEV_LOG' | grep -q '(keysym 0xff0d, Return)'"
check "ctrl+a: KeyPress a with Control (state 0x4)" wait_until 5 \
	bash -c "grep -a -A2 '^KeyPress' '$XEV_LOG' | grep -q 'state 0x4, keycode [0-9]* (keysym 0x61, a)'"
check "shift+Tab: Tab with Shift (state 0x1)" \
	bash -c "grep -a -A2 '^KeyPress' '$XEV_LOG' | grep -Eq 'state 0x1, keycode [0-9]* \\(keysym 0x(ff09|fe20), (Tab|ISO_Left_Tab)\\)'"
check "alt+F2: F2 with Mod1 (state 0x8)" \
	bash -c "grep -a -A2 '^KeyPress' '$XEV_LOG' | grep -q 'state 0x8, keycode [0-9]* (keysym 0xffbf, F2)'"
check "Return without modifiers" \
	bash -c "grep -a -A2 '^KeyPress' '$XEV_LOG' | grep -q 'state 0x0, keycode [0-9]* (keysym 0xff0d, Return)'"
check "every key pressed was released" wait_until 3 bash -c \
	"[ \$(grep -ac '^KeyPress' '$XEV_LOG') -eq \$(grep -ac '^KeyRelease' '$XEV_LOG') ]"
rdctl_run key $ID ctrl+nosuchkey; check_eq "bad combination: exit 2" 2 $CTL_RC
t_stop $XEV_PID

# ---- typing into an xterm running cat ----
OUT=$T_TMP/typed.txt
: >"$OUT"
DISPLAY=$AD LC_ALL=C.UTF-8 t_bg xterm -u8 -geometry 80x10+0+0 -e sh -c "stty -echo; exec cat >'$OUT'"
XT_PID=$T_LAST_PID
# typing starts once the xterm is on screen (its shell is then running)
wait_until 20 bash -c "DISPLAY=$AD xdotool search --onlyvisible --pid $XT_PID >/dev/null 2>&1"
sleep 0.5
rdctl_run move $ID 100 60
wait_until 5 pointer_at "x:100 y:60"
ascii='hello world 0123456789'
shifted='Hello, World! ~!@#$%^&*()_+{}|:"<>? ABC'
other='héllo €uro ñandú ß ÅÆØ 日本語 ✓'
rdctl_run type $ID "$ascii"$'\n'; check_eq "type ASCII: exit 0" 0 $CTL_RC || note "$CTL_OUT"
rdctl_run type $ID "$shifted"$'\n'; check_eq "type shifted: exit 0" 0 $CTL_RC
rdctl_run type $ID "$other"$'\n'; check_eq "type non-ASCII: exit 0" 0 $CTL_RC
# ctrl+u (kill line) must erase "junk" before cat sees it; ctrl+d ends cat.
rdctl_run type $ID "junk"
rdctl_run key $ID ctrl+u
rdctl_run type $ID "last"$'\n'
rdctl_run key $ID ctrl+d
check "ctrl+d ended cat (xterm exited)" wait_until 10 bash -c "! kill -0 $XT_PID 2>/dev/null"
printf '%s\n%s\n%s\nlast\n' "$ascii" "$shifted" "$other" >"$T_TMP/want.txt"
if cmp -s "$OUT" "$T_TMP/want.txt"; then ok "cat wrote exactly the text typed (ASCII, shifted, non-ASCII, ctrl+u)"
else not_ok "cat wrote exactly the text typed"; diff <(od -c "$T_TMP/want.txt") <(od -c "$OUT") | head -10 | sed 's/^/# /'; fi

# ---- clipboard both ways ----
rdctl_run clipboard $ID set "from controller ✓ $$"; check_eq "clipboard set: exit 0" 0 $CTL_RC || note "$CTL_OUT"
host_clip() { got=$(DISPLAY=$AD timeout 5 xclip -o -selection clipboard 2>/dev/null); [ "$got" = "$1" ]; }
wait_until 5 host_clip "from controller ✓ $$"
check_eq "clipboard set: xclip on the host reads it" "from controller ✓ $$" "$got"
printf 'from host\nline 2 é' | DISPLAY=$AD t_bg xclip -quiet -i -selection clipboard
XC_PID=$T_LAST_PID
wait_until 10 host_clip "from host"$'\n'"line 2 é"
got=$(HOME=$CTL_HOME RDESK_PASSWORD=$CTL_PW "$RD_BUILD/rdctl" --server "$CTL_SERVER_HOST:$CTL_PORT" \
	--key "$CTL_KEY" clipboard $ID get 2>>"$T_TMP/rdctl.err"); rc=$?
check_eq "clipboard get: exit 0" 0 $rc
check_eq "clipboard get: the host's text" "from host"$'\n'"line 2 é" "$got"
rdctl_run clipboard $ID get
check_eq "clipboard get --json: text" 'from host\u000aline 2 é' "$(jfield text)"
t_stop $XC_PID
head -c 300000 /dev/zero | tr '\0' x >"$T_TMP/big.txt"
HOME=$CTL_HOME RDESK_PASSWORD=$CTL_PW "$RD_BUILD/rdctl" --server "$CTL_SERVER_HOST:$CTL_PORT" \
	--key "$CTL_KEY" clipboard $ID set <"$T_TMP/big.txt" >/dev/null 2>&1
check "clipboard over the limit is refused on the host" wait_until 5 \
	grep -q 'clipboard text refused: over the size limit' "$T_TMP/agent-$ID/agent.log"

# ---- wait-for-change ----
DISPLAY=$AD xsetroot -solid '#203040'
sleep 0.5
HOME=$CTL_HOME RDESK_PASSWORD=$CTL_PW "$RD_BUILD/rdctl" --server "$CTL_SERVER_HOST:$CTL_PORT" \
	--key "$CTL_KEY" --json wait-for-change $ID --timeout 30 >"$T_TMP/wait.json" 2>>"$T_TMP/rdctl.err" &
WPID=$!
# rdctl compares with the first frame it gets, at a time this side cannot
# see: change the screen every second until it has noticed.
sleep 2
for i in $(seq 30); do
	kill -0 $WPID 2>/dev/null || break
	[ $((i % 2)) = 1 ] && c='#e0c040' || c='#203040'
	DISPLAY=$AD xsetroot -solid "$c"
	sleep 1
done
wait $WPID; rc=$?
check_eq "wait-for-change returns on a change: exit 0" 0 $rc || cat "$T_TMP/wait.json"
check "wait-for-change reports the change" grep -q '"changed":true' "$T_TMP/wait.json"
rdctl_run wait-for-change $ID --timeout 2
check_eq "wait-for-change on a still screen: exit 7" 7 $CTL_RC
check_eq "wait-for-change timeout: error code" timeout "$(jfield error)"
# a change outside the region is not seen (the pointer, drawn into the
# picture, stays out of the region too)
DISPLAY=$AD xdotool mousemove 1000 650
( sleep 2.5; DISPLAY=$AD xterm -geometry 20x5+600+400 -e sleep 4 ) &
XP=$!
rdctl_run wait-for-change $ID --region 0,0,200,100 --timeout 5
check_eq "a change outside --region: exit 7" 7 $CTL_RC
wait $XP
rdctl_run wait-for-change $ID --region 1,2,3 --timeout 1
check_eq "bad --region: exit 2" 2 $CTL_RC

# ---- view-only agent refuses and says so ----
ID2=inputvo
check "view-only agent enrolled" ctl_agent_enroll $ID2 "$AD" x11
printf '[input]\nview-only = yes\n' >>"$T_TMP/agent-$ID2/agent.ini"
check "view-only agent registered" ctl_agent_start $ID2
rdctl_run type $ID2 "nothing"
check_eq "view-only: type refused (exit 1)" 1 $CTL_RC
check_eq "view-only: error input_refused" input_refused "$(jfield error)"
rdctl_run clipboard $ID2 get
check_eq "view-only: no clipboard" no_clipboard "$(jfield error)"
check "view-only: the agent logs it" wait_until 5 grep -q 'view-only' "$T_TMP/agent-$ID2/agent.log"

# ---- held keys are released when the session ends ----
check "agent still running" kill -0 $AGENT1_PID
# the agent stops cleanly (under ASan: no report, no leak)
t_stop $CTL_AGENT_PID
t_stop $AGENT1_PID
check_no_sanitizer "agent log has no sanitizer report" "$T_TMP/agent-$ID/agent.log"
t_done
