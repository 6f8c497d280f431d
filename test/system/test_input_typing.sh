#!/usr/bin/env bash
# Typing characters the keymap lacks never holds up the agent's loop. Each
# such character is bound to a spare keycode, and clients need a moment to
# see that before the key comes; that moment must be a timer, not a sleep on
# the loop. Several controllers type such characters (rdctl key, 60 a call,
# each call its own characters) into an xterm running cat, while the agent's
# status socket is asked every 50 ms how it is: its answers must keep coming
# (the longest wait is printed), and every character must arrive, each
# controller's in the order it typed them.
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
pids=()
t0=$(now_ms)
for ((k = 0; k < CALLERS; k++)); do
	# shellcheck disable=SC2046 # one argument per character
	HOME=$CTL_HOME RDESK_PASSWORD=$CTL_PW "$RD_BUILD/rdctl" --server "$CTL_SERVER_HOST:$CTL_PORT" \
		--key "$CTL_KEY" --json key $ID $(chars $k) >"$T_TMP/key-$k.json" 2>>"$T_TMP/rdctl.err" &
	pids+=($!)
	T_PIDS+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
note "$CALLERS callers sent $((CALLERS * PER_CALL)) characters in $(($(now_ms) - t0)) ms"
check_eq "every rdctl key call ended well" 0 $fails
[ $fails -gt 0 ] && note "$(head -c 600 "$T_TMP/key-0.json") $(tail -n 3 "$T_TMP/rdctl.err")"
wait $watch_pid
read -r busy_max busy_n <"$T_TMP/status-typing"
note "typing: longest status answer $busy_max ms ($busy_n answers)"
check "the status socket kept answering while they typed (longest $busy_max ms < $STATUS_MAX)" \
	test "$busy_max" -lt $STATUS_MAX

# Everything arrives (cat writes what the xterm got once a line ends).
rdctl_run key $ID Return
all_in() { [ "$(tr -d '\n' <"$OUT" | wc -m)" -ge $((CALLERS * PER_CALL)) ]; }
check "all $((CALLERS * PER_CALL)) characters arrived" t_wait_until 30 all_in
got=$(tr -d '\n' <"$OUT")
for ((k = 0; k < CALLERS; k++)); do
	want=$(chars $k | tr -d ' ')
	lo=$((0x4E00 + k * PER_CALL))
	mine=$(perl -CSD -ne 'print grep { ord($_) >= '$lo' && ord($_) < '$((lo + PER_CALL))' } split //' \
		<<<"$got")
	check_eq "caller $k's characters arrived once each, in its order" "$want" "$mine"
done
check "the agent is still running" kill -0 "$AGENT_PID"
t_stop "$XT_PID"
check_no_sanitizer "agent log has no sanitizer report" "$T_TMP/agent-$ID/agent.log"
t_done
