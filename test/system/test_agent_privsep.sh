#!/usr/bin/env bash
# The agent split in two on X11: rd-agent runs as uid 65534 and cannot read
# the display's Xauthority (root's, mode 0600); rd-agent-helper, as root,
# reads it and hands over only the cookie. Without the helper the agent has
# no screen; with it, screenshots, typing and the clipboard work. A helper
# that is down or refuses gives a clear error, the agent stays up and takes
# the screen once the helper is back. (test_agent_helper.sh checks the
# helper's requests one by one; lab/test_drm.sh and lab/test_input_console.sh
# the DRM and uinput requests in the VM.)
source "$(dirname "$0")/../lib.sh"
source "$RD_TOP/test/lab/ctl_env.sh"
t_require_root
B=$RD_BUILD
for tool in setpriv Xvfb xauth xdotool convert; do
	command -v $tool >/dev/null || { not_ok "needs $tool (make deps)"; t_done; }
done
[ -x "$B/rd-agent-helper" ] || { not_ok "rd-agent-helper is not built in $B"; t_done; }
chmod 0711 "$T_TMP"

# Xvfb that wants a cookie, kept in a file only root can read. The server
# takes every cookie of the file at start; the entry for its display number
# (the one clients look up) is added once the number is known.
XA=$T_TMP/xauth
cookie=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
xauth -f "$XA" add :0 MIT-MAGIC-COOKIE-1 "$cookie" 2>/dev/null
chmod 0600 "$XA"
T_XVFB_ARGS=(-auth "$XA")
check "Xvfb with authorization" t_xvfb 640x480x24 || t_done
n=${T_DISPLAY#:}
xauth -f "$XA" add ":$n" MIT-MAGIC-COOKIE-1 "$cookie"
export XAUTHORITY=$XA
check "root reaches the display with the cookie" bash -c "xdpyinfo -display :$n >/dev/null"
DISPLAY=:$n xsetroot -solid '#c03030'
check "uid 65534 does not reach it without the cookie" bash -c \
	"! setpriv --reuid=65534 --regid=65534 --clear-groups env XAUTHORITY=/nonexistent xdpyinfo -display :$n >/dev/null 2>&1"

check "servers start" ctl_servers || t_done
ID=privsep01
D=$T_TMP/agent-$ID
check "agent enrolled" ctl_agent_enroll $ID ":$n" x11
printf '[input]\nbackend = xdo\n' >>"$D/agent.ini"
chown -R 65534:65534 "$D"
HS=$T_TMP/helper/helper.sock
mkdir -p "$T_TMP/helper" && chmod 0755 "$T_TMP/helper"
helper_start() {
	t_bg "$B/rd-agent-helper" --listen "$HS" --agent-user 65534 --xauthority "$XA" \
		>>"$T_TMP/helper.log" 2>&1
	HELPER_PID=$T_LAST_PID
	t_wait_until 10 test -S "$HS"
}
CTL_AGENT_WRAP=(setpriv --reuid=65534 --regid=65534 --clear-groups env -u XAUTHORITY)
red() { # red FILE: the screenshot is the red screen
	convert "$1" -resize 1x1\! -format '%[fx:int(255*r)] %[fx:int(255*g)]' info: |
		awk '{exit !($1 > 150 && $2 < 90)}'
}

# ---- no helper: no screen, said clearly ----
check "agent (no helper) registered" ctl_agent_start $ID --helper none
rdctl_run screenshot $ID -o "$T_TMP/none.png"
check "no helper: screenshot fails (exit $CTL_RC)" [ "$CTL_RC" -ne 0 ]
check "no helper: the log says it opens devices itself" grep -q "no privileged helper" "$D/agent.log"
check "no helper: no screen capture, said" grep -q "no screen capture" "$D/agent.log"
t_stop "$CTL_AGENT_PID"

# ---- the helper is down when the agent starts, and comes up later ----
check "agent (helper down) registered" ctl_agent_start $ID --helper "$HS"
rdctl_run screenshot $ID -o "$T_TMP/down.png"
check "helper down: screenshot fails (exit $CTL_RC)" [ "$CTL_RC" -ne 0 ]
check "helper down: the agent is still running" kill -0 "$CTL_AGENT_PID"
check "helper started" helper_start
ok_shot=0
for i in $(seq 30); do	# capture is tried again at most every 10 s
	rdctl_run screenshot $ID -o "$T_TMP/up.png" && { ok_shot=1; break; }
	sleep 1
done
check "helper up: the agent takes the screen" [ $ok_shot = 1 ]
check "helper up: the screenshot is the red screen" red "$T_TMP/up.png"
check "status names the helper" bash -c \
	"RDESK_DATA_DIR='$D/data' '$B/rd-agent' status --config '$D/agent.ini' --json | grep -q '\"helper\":\"$HS\"'"
rdctl_run type $ID "ok"
check_eq "typing through xdo with the cookie: exit 0" 0 "$CTL_RC"
check "the cookie never reached a file of the agent" bash -c "! grep -rqa '$cookie' '$D'"

# ---- the helper dies: the session already open keeps its display ----
t_stop "$HELPER_PID"
rdctl_run screenshot $ID -o "$T_TMP/dead.png"
check_eq "helper gone: the open capture still serves (exit $CTL_RC)" 0 "$CTL_RC"
check "helper gone: the agent is still running" kill -0 "$CTL_AGENT_PID"
t_stop "$CTL_AGENT_PID"

# ---- a peer the helper does not know is refused ----
# (The socket's mode keeps other users out already; opened to all here, the
# helper's own check of its peer's uid must refuse it.)
check "helper started again" helper_start
chmod 0666 "$HS"
chown -R 1234:1234 "$D"
CTL_AGENT_WRAP=(setpriv --reuid=1234 --regid=1234 --clear-groups env -u XAUTHORITY)
check "agent as uid 1234 registered" ctl_agent_start $ID --helper "$HS"
rdctl_run screenshot $ID -o "$T_TMP/stranger.png"
check "uid 1234: refused by the helper, no screen (exit $CTL_RC)" [ "$CTL_RC" -ne 0 ]
check "the helper logged the refusal" grep -q "uid=1234 refused" "$T_TMP/helper.log"
check "uid 1234: the agent is still running" kill -0 "$CTL_AGENT_PID"
t_stop "$CTL_AGENT_PID"
check_no_sanitizer "helper: no sanitizer report" "$T_TMP/helper.log"
t_done
