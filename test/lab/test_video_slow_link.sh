#!/usr/bin/env bash
# A slow controller link: the agent must notice it (TestDelay round trip over
# 150 ms, send queue) and step its video down, keep few frames in flight for
# a controller that acknowledges them, and step back up once the link is
# fast again. Everything runs in a network namespace made here, whose
# loopback is throttled with a token bucket (tc tbf; the kernel has no netem)
# so queueing delay builds up as on a thin uplink. Needs root.
source "$(dirname "$0")/../lib.sh"
t_require_root
if [ -z "${RDQ_IN_NS:-}" ]; then
	command -v tc >/dev/null || { not_ok "tc is missing (iproute2)"; t_done; }
	NS=rdq$$
	ip netns add "$NS" || { not_ok "network namespace $NS"; t_done; }
	ip -n "$NS" link set lo up
	RDQ_IN_NS=$NS ip netns exec "$NS" bash "$0"
	rc=$?
	ip netns del "$NS"
	exit $rc
fi
source "$RD_TOP/test/lab/ctl_env.sh"
B=$RD_BUILD
for t in ffplay Xvfb; do
	command -v $t >/dev/null || { not_ok "$t is missing (make deps)"; t_done; }
done
t_on_exit "tc qdisc del dev lo root"
note "in network namespace $RDQ_IN_NS"

check "servers start" ctl_servers || t_done
check "Xvfb with a moving picture" t_moving_display 640x480 || t_done
ID=slowlink01
check "agent enrolled" ctl_agent_enroll $ID "$T_DISPLAY" x11 h264
CFG=$T_TMP/agent-$ID/agent.ini
printf '[video]\nfps = 30\nquality = 60\n[agent]\ncontrol-socket = %s\n' "$T_TMP/ctl.sock" >>"$CFG"
check "agent registered" ctl_agent_start $ID || { tail -20 "$T_TMP/agent-$ID/agent.log"; t_done; }
AG=$T_TMP/agent-$ID/agent.log
status() { "$B/rd-agent" status --config "$CFG" --json 2>/dev/null | grep -oE '\{"peer":[^}]*\}' | head -n1; }
field() { grep -oE "\"$2\":[0-9]+" <<<"$1" | cut -d: -f2; }

HOME=$CTL_HOME RDESK_PASSWORD=$CTL_PW RDCTL_DEBUG=1 t_bg "$B/rdctl" --server "127.0.0.1:$CTL_PORT" --key "$CTL_KEY" \
	--json connect $ID --viewer none --duration 90 --quality best >"$T_TMP/connect.json" 2>"$T_TMP/connect.err"
CTL=$T_LAST_PID
for i in $(seq 100); do S=$(status); [ "$(field "$S" frames_sent)" -gt 30 ] 2>/dev/null && break; sleep 0.1; done
check "session active with frame acks" grep -q '"frame_acks":true' <<<"$S"
sleep 2
S=$(status)
fps0=$(field "$S" fps) q0=$(field "$S" quality)
note "healthy link: $S"
check_eq "healthy link: full rate (qos level 0)" 0 "$(field "$S" qos_level)"
check_eq "healthy link: 30 fps" 30 "$fps0"

# ---- throttle: 200 kbit/s, up to a second of queue ----
n0=$(wc -l <"$AG")
tc qdisc add dev lo root tbf rate 200kbit burst 16kb latency 1s
check "link throttled (tc tbf on the namespace's lo)" test $? -eq 0
inflight_max=0 level_max=0 rtt_max=0 slow=
for i in $(seq 250); do	# up to 25 s
	S=$(status)
	f=$(field "$S" frames_in_flight); l=$(field "$S" qos_level); r=$(field "$S" rtt_ms)
	[ "${f:-0}" -gt $inflight_max ] && inflight_max=$f
	[ "${l:-0}" -gt $level_max ] && level_max=$l
	[ "${r:-0}" -gt $rtt_max ] && rtt_max=$r
	if [ -z "$slow" ] && tail -n +$((n0 + 1)) "$AG" | grep -q 'link slow'; then slow=$i; fi
	[ -n "$slow" ] && [ $i -ge $((slow + 60)) ] && break
	sleep 0.1
done
S=$(status)
note "throttled: $S"
note "throttled: rtt up to $rtt_max ms, qos level up to $level_max, at most $inflight_max frames in flight"
tail -n +$((n0 + 1)) "$AG" | grep -E 'link slow|capture rate|quality now' | head -6 | sed 's/^/# agent: /'
check "the agent saw the slow link and stepped down (log names the controller)" \
	bash -c "tail -n +$((n0 + 1)) '$AG' | grep 'link slow' | grep -q 'id=\"rdctl\": link slow (rtt [0-9]* ms.*), video down to'"
check "throttled: round trip measured over 150 ms ($rtt_max ms)" test "$rtt_max" -gt 150
check "throttled: rate lowered (qos level $level_max >= 2, capture below 30 fps)" \
	bash -c "test $level_max -ge 2 && tail -n +$((n0 + 1)) '$AG' | grep -q 'capture rate now [0-9]* fps (was'"
check "throttled: quality lowered before the frame rate" \
	bash -c "tail -n +$((n0 + 1)) '$AG' | grep 'link slow' | head -n1 | grep -q 'down to 30 fps'"
check "acks keep the frames in flight to the window ($inflight_max <= 5)" test "$inflight_max" -le 5
# rdctl's debug log shows each TestDelay's target_bitrate: lower than before.
kb() { grep -oE 'target [0-9]+ kbit/s' "$T_TMP/connect.err" | sed -n "$1" | grep -oE '[0-9]+'; }
tb0=$(kb 1p); tb1=$(kb '$p')
note "TestDelay target_bitrate: $tb0 kbit/s at the start, $tb1 kbit/s now"
check "TestDelay carries the target bitrate, lowered ($tb1 < $tb0)" \
	bash -c "test '${tb0:-0}' -gt 0 && test '${tb1:-0}' -gt 0 && test '${tb1:-0}' -lt '${tb0:-0}'"

# ---- the link recovers ----
n1=$(wc -l <"$AG")
# The level may have gone on rising since it was sampled: the last sample
# before the throttle goes counts too.
l=$(field "$(status)" qos_level); [ "${l:-0}" -gt $level_max ] && level_max=$l
tc qdisc del dev lo root
check "throttle removed" test $? -eq 0
up=
for i in $(seq 300); do	# up to 30 s
	tail -n +$((n1 + 1)) "$AG" | grep -q 'link healthy' && { up=1; break; }
	sleep 0.1
done
check "the agent steps back up once the link is healthy" test -n "$up"
sleep 3
S=$(status)
note "recovering: $S"
check "recovering: level below its lowest ($(field "$S" qos_level) < $level_max)" \
	test "$(field "$S" qos_level)" -lt "$level_max"
check "the session survived" kill -0 "$CTL"
t_stop "$CTL"
check "agent still running" kill -0 "$CTL_AGENT_PID"
t_stop "$CTL_AGENT_PID"
check_no_sanitizer "no sanitizer report from the agent" "$AG"
check_no_sanitizer "no sanitizer report from rdctl" "$T_TMP/connect.err"
t_done
