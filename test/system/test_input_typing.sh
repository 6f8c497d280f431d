#!/usr/bin/env bash
# Typing characters the keymap lacks never holds up the agent's loop. Each
# such character is bound to a spare keycode, and clients need a moment to
# see that before the key comes; that moment must be a timer, not a sleep on
# the loop. Controllers type such characters one after the other (rdctl
# key, 60 a call, each call its own characters) into an xterm running cat,
# while the agent's status socket is asked every 50 ms how it is: its answers
# must keep coming (the longest wait is printed), and every character must
# arrive, in the order typed.
#
# rdctl's input verbs can quit before their last frames have left (the
# connection is then reset under them; the agent logs the session as "closed
# by peer" instead of "closed"). That is rdctl's to fix, not what this test
# is about: characters are checked for the callers whose every frame reached
# the agent, which its log says, and at least 3 of the 5 must be such.
source "$(dirname "$0")/../lib.sh"
source "$RD_TOP/test/lab/ctl_env.sh"
for t in xterm xdotool; do
	command -v $t >/dev/null || { not_ok "$t is not installed (make deps)"; t_done; }
done
export LC_ALL=C.UTF-8
CALLERS=5 PER_CALL=60
# A sleep per character freezes the loop for about PER_CALL x 20 ms at a
# time; the status socket answers within milliseconds otherwise.
STATUS_MAX=500

check "servers start" ctl_servers || t_done
check "Xvfb for the agent" t_xvfb 1024x600x24 || t_done
AD=$T_DISPLAY
ID=typingx11
check "agent enrolled" ctl_agent_enroll $ID "$AD" x11
check "agent registered" ctl_agent_start $ID || t_done
AGENT_PID=$CTL_AGENT_PID
CONF=$T_TMP/agent-$ID/agent.ini

OUT=$T_TMP/typed.txt
: >"$OUT"
DISPLAY=$AD t_bg xterm -u8 -geometry 80x24+0+0 -e sh -c "stty -echo; exec cat >'$OUT'"
XT_PID=$T_LAST_PID
t_wait_until 20 bash -c "DISPLAY=$AD xdotool search --onlyvisible --pid $XT_PID >/dev/null 2>&1"
sleep 0.5
pointer_at() { [ "$(DISPLAY=$AD xdotool getmouselocation | awk '{print $1, $2}')" = "$1" ]; }
rdctl_run move $ID 100 60
check "pointer over the xterm" t_wait_until 5 pointer_at "x:100 y:60"

# Caller k types PER_CALL ideographs from U+4E00 + k * PER_CALL on, in order.
chars() {
	local k=$1 i
	for ((i = 0; i < PER_CALL; i++)); do
		printf "\\U$(printf %08x $((0x4E00 + k * PER_CALL + i)))"
		[ $i -lt $((PER_CALL - 1)) ] && printf ' '
	done
}
# status_watch SECS OUT: the longest answer of `rd-agent status` (ms), asked
# every 50 ms.
now_ms() { echo $(($(date +%s%N) / 1000000)); }
status_watch() {
	local end=$(($(now_ms) + $1 * 1000)) t0 dt max=0 n=0
	while [ "$(now_ms)" -lt $end ]; do
		t0=$(now_ms)
		timeout 20 "$RD_BUILD/rd-agent" status --config "$CONF" --json >/dev/null 2>&1 && n=$((n + 1))
		dt=$(($(now_ms) - t0))
		[ $dt -gt $max ] && max=$dt
		sleep 0.05
	done
	echo "$max $n" >"$2"
}

status_watch 2 "$T_TMP/status-idle"
read -r idle_max idle_n <"$T_TMP/status-idle"
note "idle: longest status answer $idle_max ms ($idle_n answers)"

status_watch 8 "$T_TMP/status-typing" &
watch_pid=$!
t0=$(now_ms)
fails=0 clean=()
ALOG=$T_TMP/agent-$ID/agent.log
ended() { [ "$(grep -c 'session over' "$ALOG")" -gt "$1" ]; }
for ((k = 0; k < CALLERS; k++)); do
	n0=$(grep -c 'session over' "$ALOG")
	# shellcheck disable=SC2046 # one argument per character
	HOME=$CTL_HOME RDESK_PASSWORD=$CTL_PW timeout 60 "$RD_BUILD/rdctl" \
		--server "$CTL_SERVER_HOST:$CTL_PORT" --key "$CTL_KEY" --json key $ID $(chars $k) \
		>"$T_TMP/key-$k.json" 2>>"$T_TMP/rdctl.err" || fails=$((fails + 1))
	# Every frame arrived when the agent got rdctl's close message, the last.
	if t_wait_until 5 ended "$n0" && grep 'session over' "$ALOG" | tail -n 1 | grep -q ', closed)'; then
		clean+=($k)
	else
		note "caller $k: the agent did not get all of rdctl's frames (left out)"
	fi
done
note "$CALLERS callers sent $((CALLERS * PER_CALL)) characters in $(($(now_ms) - t0)) ms"
check_eq "every rdctl key call ended well" 0 $fails
[ $fails -gt 0 ] && note "$(head -c 600 "$T_TMP/key-0.json") $(tail -n 3 "$T_TMP/rdctl.err")"
wait $watch_pid
read -r busy_max busy_n <"$T_TMP/status-typing"
note "typing: longest status answer $busy_max ms ($busy_n answers)"
check "the status socket kept answering while they typed (longest $busy_max ms < $STATUS_MAX)" \
	test "$busy_max" -lt $STATUS_MAX

check "at least 3 of the $CALLERS callers reached the agent whole (${#clean[@]})" \
	test ${#clean[@]} -ge 3
# Everything arrives (cat writes what the xterm got once a line ends; Return
# is sent again should one be lost on the way, see above).
all_in() {
	rdctl_run key $ID Return
	sleep 0.5
	[ "$(tr -d '\n' <"$OUT" | wc -m)" -ge $((${#clean[@]} * PER_CALL)) ]
}
check "all $((${#clean[@]} * PER_CALL)) characters of those callers arrived" t_wait_until 30 all_in
got=$(tr -d '\n' <"$OUT")
for k in "${clean[@]}"; do
	want=$(chars $k | tr -d ' ')
	lo=$((0x4E00 + k * PER_CALL))
	mine=$(perl -CSD -ne 'print grep { ord($_) >= '$lo' && ord($_) < '$((lo + PER_CALL))' } split //' \
		<<<"$got")
	check_eq "caller $k's characters arrived once each, in its order" "$want" "$mine"
done
if [ "$T_FAILED" -gt 0 ]; then
	for f in "$T_TMP/agent-$ID/agent.log" "$T_TMP"/key-*.json "$T_TMP/rdctl.err"; do
		note "--- $f"
		tail -n 25 "$f" | sed "s/^/#   /"
	done
fi
check "the agent is still running" kill -0 "$AGENT_PID"
t_stop "$XT_PID"
check_no_sanitizer "agent log has no sanitizer report" "$T_TMP/agent-$ID/agent.log"
t_done
