#!/usr/bin/env bash
# Input from the mpv viewer: rdctl connect shows the agent's display (Xvfb A)
# in mpv on a second Xvfb (V); xdotool types, clicks and moves in the mpv
# window on V, and the events must arrive on A the way rdctl's own verbs do
# (xev's log, cat in an xterm, xdotool getmouselocation), also after the
# window was resized.
source "$(dirname "$0")/../lib.sh"
source "$RD_TOP/test/lab/ctl_env.sh"
for t in xterm xev xdotool mpv; do
	command -v $t >/dev/null || { not_ok "$t is not installed (make deps)"; t_done; }
done
wait_until() { t_wait_until "$@"; }
near() { # near "x:A y:B" X Y: within 2 pixels
	local x=${1#x:} y
	y=${x#* y:}; x=${x%% *}
	[ $((x - $2)) -le 2 ] && [ $(($2 - x)) -le 2 ] && [ $((y - $3)) -le 2 ] && [ $(($3 - y)) -le 2 ]
}
mouse_on() { DISPLAY=$1 xdotool getmouselocation | awk '{print $1, $2}'; }
# point_at VX VY AX AY: move the pointer to VX,VY in the mpv window until it
# shows up near AX,AY on A (mpv may still be laying out a moved or resized
# window when the first motion comes; each try is a fresh motion).
pointer_near() { near "$(mouse_on $AD)" "$1" "$2"; }
point_at() {
	local i
	for i in $(seq 10); do
		DISPLAY=$VD xdotool mousemove $((X + $1 + 1)) $((Y + $2))
		DISPLAY=$VD xdotool mousemove $((X + $1)) $((Y + $2))
		wait_until 1 pointer_near "$3" "$4" && return 0
	done
	return 1
}

check "servers start" ctl_servers || t_done
check "Xvfb A for the agent" t_xvfb 800x600x24 || t_done
AD=$T_DISPLAY
check "Xvfb V for the viewer" t_xvfb 1024x768x24 || t_done
VD=$T_DISPLAY
DISPLAY=$AD xsetroot -solid '#203040'
ID=inputmpv
check "agent enrolled" ctl_agent_enroll $ID "$AD" x11
check "agent registered" ctl_agent_start $ID || { tail -20 "$T_TMP/agent-$ID/agent.log"; t_done; }

# On A: xev top left (0,0 380x280), an xterm running cat top right.
XEV_LOG=$T_TMP/xev.log
DISPLAY=$AD t_bg stdbuf -oL xev -geometry 380x280+0+0 -event keyboard -event button >"$XEV_LOG" 2>&1
OUT=$T_TMP/typed.txt
: >"$OUT"
DISPLAY=$AD LC_ALL=C.UTF-8 t_bg xterm -u8 -geometry 40x10+420+0 -e sh -c "stty -echo; exec cat >'$OUT'"
XT_PID=$T_LAST_PID
wait_until 20 grep -aq 'MapNotify\|Expose\|FocusIn' "$XEV_LOG"
wait_until 20 bash -c "DISPLAY=$AD xdotool search --onlyvisible --pid $XT_PID >/dev/null 2>&1"
sleep 0.5

# The viewer on V.
( DISPLAY=$VD HOME=$CTL_HOME RDESK_PASSWORD=$CTL_PW exec "$RD_BUILD/rdctl" --json -v \
	--server "127.0.0.1:$CTL_PORT" --key "$CTL_KEY" connect $ID --viewer mpv --duration 90 \
	>"$T_TMP/connect.json" 2>"$T_TMP/connect.err" ) &
VPID=$!
T_PIDS+=("$VPID")
wid=
for i in $(seq 300); do
	wid=$(DISPLAY=$VD xdotool search --name "rdctl $ID" 2>/dev/null | head -n1)
	[ -n "$wid" ] && break
	sleep 0.1
done
check "mpv window appeared" test -n "$wid" || { cat "$T_TMP/connect.err"; t_done; }
check "rdctl connected to mpv's input socket" wait_until 10 grep -q "connected to mpv's input socket" "$T_TMP/connect.err"
check "the input script is loaded" wait_until 10 grep -q 'mpv input script ready' "$T_TMP/connect.err"
DISPLAY=$VD timeout 10 xdotool windowmove --sync "$wid" 0 0
sleep 1
eval "$(DISPLAY=$VD xdotool getwindowgeometry --shell "$wid")"
note "mpv window ${WIDTH}x${HEIGHT} at $X,$Y"

# ---- pointer: window coordinates map to the remote screen ----
check "pointer in mpv at 100,100 -> remote 100,100" point_at 100 100 100 100
check "pointer in mpv at 700,500 -> remote 700,500" point_at 700 500 700 500

# ---- keys with modifiers into xev on A ----
point_at 150 120 150 120
: >"$XEV_LOG"
DISPLAY=$VD xdotool key ctrl+a shift+Tab alt+F2 Return
check "ctrl+a from mpv: a with Control" wait_until 5 \
	bash -c "grep -a -A2 '^KeyPress' '$XEV_LOG' | grep -q 'state 0x4, keycode [0-9]* (keysym 0x61, a)'"
check "shift+Tab from mpv: Tab with Shift" \
	bash -c "grep -a -A2 '^KeyPress' '$XEV_LOG' | grep -Eq 'state 0x1, keycode [0-9]* \\(keysym 0x(ff09|fe20)'"
check "alt+F2 from mpv: F2 with Mod1" \
	bash -c "grep -a -A2 '^KeyPress' '$XEV_LOG' | grep -q 'state 0x8, keycode [0-9]* (keysym 0xffbf, F2)'"
check "Return from mpv" bash -c "grep -a -A2 '^KeyPress' '$XEV_LOG' | grep -q 'state 0x0, keycode [0-9]* (keysym 0xff0d, Return)'"
check "every key pressed on A was released" wait_until 3 bash -c \
	"[ \$(grep -ac '^KeyPress' '$XEV_LOG') -eq \$(grep -ac '^KeyRelease' '$XEV_LOG') ]"

# ---- clicks ----
: >"$XEV_LOG"
DISPLAY=$VD xdotool click 3
check "right click in mpv: ButtonPress 3 at 150,120 on A" wait_until 5 \
	bash -c "grep -a -A4 '^ButtonPress' '$XEV_LOG' | grep -q 'root:(150,120)' && grep -a -A4 '^ButtonPress' '$XEV_LOG' | grep -q 'button 3'"
DISPLAY=$VD xdotool click 1
check "left click in mpv: ButtonRelease 1 on A" wait_until 5 \
	bash -c "grep -a -A4 '^ButtonRelease' '$XEV_LOG' | grep -q 'button 1,'"
DISPLAY=$VD xdotool click 4
check "wheel up in mpv: button 4 on A" wait_until 5 \
	bash -c "grep -a -A4 '^ButtonPress' '$XEV_LOG' | grep -q 'button 4,'"

# ---- typing into the remote xterm ----
point_at 560 60 560 60
text='Hello, World! ~@#$%^&*()_+{}|:"<>? héllo'
DISPLAY=$VD xdotool type --delay 30 "$text"
DISPLAY=$VD xdotool key Return ctrl+d
check "ctrl+d from mpv ended cat" wait_until 10 bash -c "! kill -0 $XT_PID 2>/dev/null"
printf '%s\n' "$text" >"$T_TMP/want.txt"
if cmp -s "$OUT" "$T_TMP/want.txt"; then ok "text typed into mpv arrived exactly"
else not_ok "text typed into mpv arrived exactly"; od -c "$OUT" | head -5 | sed 's/^/# /'; fi

# ---- after a resize the mapping follows ----
DISPLAY=$VD timeout 10 xdotool windowsize --sync "$wid" 400 300
sleep 1
eval "$(DISPLAY=$VD xdotool getwindowgeometry --shell "$wid")"
note "resized to ${WIDTH}x${HEIGHT}"
check "resized 400x300: window 50,50 -> remote 100,100" point_at 50 50 100 100
check "resized 400x300: window 300,200 -> remote 600,400" point_at 300 200 600 400

# ---- a key held when the session ends is released on A ----
DISPLAY=$AD xset r off; DISPLAY=$VD xset r off
point_at 75 60 150 120
: >"$XEV_LOG"
DISPLAY=$VD xdotool keydown b
check "a key held in mpv is down on A" wait_until 5 \
	bash -c "grep -a -A2 '^KeyPress' '$XEV_LOG' | grep -q '(keysym 0x62, b)'"
check "and not released yet" bash -c "! grep -a -A2 '^KeyRelease' '$XEV_LOG' | grep -q '(keysym 0x62, b)'"

# ---- closing the window ends the session ----
DISPLAY=$VD xdotool windowclose "$wid" 2>/dev/null || DISPLAY=$VD xdotool windowkill "$wid"
check "closing the window ends rdctl" wait_until 10 bash -c "! kill -0 $VPID 2>/dev/null"
wait $VPID
check "the agent released the held key when the session ended" wait_until 5 \
	bash -c "grep -a -A2 '^KeyRelease' '$XEV_LOG' | grep -q '(keysym 0x62, b)'"
check "the agent logged the release" wait_until 5 grep -q 'released 1 held keys and buttons' "$T_TMP/agent-$ID/agent.log"
DISPLAY=$VD xdotool keyup b
# the agent stops cleanly (under ASan: no report, no leak)
t_stop $CTL_AGENT_PID
check_no_sanitizer "agent log has no sanitizer report" "$T_TMP/agent-$ID/agent.log"
t_done
