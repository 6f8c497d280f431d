#!/usr/bin/env bash
# NAT traversal in network namespaces: the servers on the "internet", the agent
# and rdctl each behind their own home-router NAT (masquerade + stateful
# firewall). Same LAN -> lan; both cone -> direct; rdctl behind a symmetric
# NAT -> relay; --relay -> relay; 5 % loss on a WAN link still connects.
# With PipeWire at hand, the host's sound (a 1 kHz tone in a null sink)
# comes through the punched path too.
# The path rdctl reports in --json is checked against the real one (the
# connection the servers and the NAT routers saw).
source "$(dirname "$0")/../lib.sh"
t_require_root
source "$RD_TOP/test/lab/netns.sh"
t_on_exit ns_cleanup
for tool in ip iptables; do
	command -v $tool >/dev/null || { not_ok "$tool is missing (make deps)"; t_done; }
done
source "$RD_TOP/test/lab/ctl_env.sh"

check "lab namespaces and NATs" ns_lab || t_done
SRV=198.51.100.1
CTL_SERVER_HOST=$SRV CTL_PORT=21116 CTL_RELAY_PORT=21117
mkdir -p "$T_TMP/rv"
CTL_KEY=$("$RD_BUILD/rd-rendezvous" --data-dir "$T_TMP/rv" --print-key 2>/dev/null)
rs_listens() { nsx rs ss -Htln "sport = :$1" | grep -q .; }
# The relay first: rd-rendezvous checks its relay at start (then every 3 s)
# and hands out none that failed the check.
t_bg ip netns exec "$(ns rs)" "$RD_BUILD/rd-relay" -p $CTL_RELAY_PORT -b 0.0.0.0 -k "$CTL_KEY" --config /dev/null \
	>"$T_TMP/relay.log" 2>&1
t_wait_until 10 rs_listens $CTL_RELAY_PORT
t_bg ip netns exec "$(ns rs)" "$RD_BUILD/rd-rendezvous" -p $CTL_PORT -b 0.0.0.0 -k - --data-dir "$T_TMP/rv" \
	-r $SRV:$CTL_RELAY_PORT --config /dev/null >"$T_TMP/rendezvous.log" 2>&1
t_wait_until 10 rs_listens $CTL_PORT
check "servers listen in the internet namespace" eval 'rs_listens $CTL_PORT && rs_listens $CTL_RELAY_PORT'

ID=natagent01
CTL_AGENT_WRAP=(ip netns exec "$(ns h1)")
CTL_WRAP=(ip netns exec "$(ns h2)")
# Sound for the punched path: a private PipeWire daemon whose socket the
# agent reaches from its namespace (a file, not the network).
HAVE_PW=0
if command -v pipewire >/dev/null && command -v wireplumber >/dev/null && command -v pw-play >/dev/null &&
	command -v ffmpeg >/dev/null; then
	source "$RD_TOP/test/lab/pipewire-env.sh"
	if pw_env_start && pw_env_wireplumber; then
		timeout 5 pw-cli create-node adapter '{ factory.name=support.null-audio-sink
			node.name=rd-null media.class=Audio/Sink object.linger=true audio.position=[FL FR] }' \
			>/dev/null 2>&1
		python3 - "$T_TMP/tone.wav" <<'PY'
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(2); w.setsampwidth(2); w.setframerate(48000)
one = b"".join(struct.pack("<hh", v, v) for v in
               (int(16384 * math.sin(2 * math.pi * 1000 * i / 48000)) for i in range(48000)))
for _ in range(120):
    w.writeframes(one)
w.close()
PY
		sleep 0.5
		t_bg pw-play --target rd-null "$T_TMP/tone.wav"
		HAVE_PW=1
	fi
fi
check "agent enrolled (testsrc capture)" ctl_agent_enroll $ID "" testsrc
check "agent behind nat1 registered" ctl_agent_start $ID ||
	{ tail -20 "$T_TMP/agent-$ID/agent.log"; t_done; }
# the agent's own NAT test, before the sessions
t_wait_file "$T_TMP/agent-$ID/agent.log" "NAT type:" 15

# Which path did the session really take? Count the relay's pairs, and the
# sessions the agent logged with the address it saw the controller at.
relay_pairs() { grep -c 'paired' "$T_TMP/relay.log"; }
agent_saw() { grep -cE "$1:[0-9]+: session via $2" "$T_TMP/agent-$ID/agent.log"; }

shot() { # shot NAME ARGS...: a screenshot whose JSON lands in CTL_OUT
	local name=$1; shift
	rdctl_run --timeout 20 "$@" screenshot $ID -o "$T_TMP/$name.png"
	note "$name: $CTL_OUT"
}

# 1. same LAN: rdctl on h1b, next to the agent
CTL_WRAP=(ip netns exec "$(ns h1b)")
p0=$(relay_pairs) a0=$(agent_saw 192.0.2.11 lan)
shot lan
check_eq "same LAN: exit 0" 0 $CTL_RC
check_eq "same LAN: path lan" lan "$(jfield path)"
check_eq "same LAN: the relay was not used" "$p0" "$(relay_pairs)"
check "same LAN: the agent saw 192.0.2.11 on the LAN" test "$(agent_saw 192.0.2.11 lan)" -gt "$a0"
check "same LAN: picture written" test -s "$T_TMP/lan.png"

# 2. both behind cone NATs: a TCP hole punch
CTL_WRAP=(ip netns exec "$(ns h2)")
p0=$(relay_pairs) a0=$(agent_saw 203.0.113.2 punch)
shot direct
check_eq "both cone: exit 0" 0 $CTL_RC
check_eq "both cone: path direct" direct "$(jfield path)"
check_eq "both cone: the relay was not used" "$p0" "$(relay_pairs)"
check "both cone: the agent took a punched connection from nat2's address" \
	test "$(agent_saw 203.0.113.2 punch)" -gt "$a0"
if [ "$HAVE_PW" = 1 ]; then
	rdctl_run --timeout 20 listen $ID -o "$T_TMP/punched.opus" --duration 2
	check_eq "sound through the punched path: exit 0" 0 $CTL_RC
	check_eq "sound through the punched path: path direct" direct "$(jfield path)"
	ffmpeg -v error -y -i "$T_TMP/punched.opus" -c:a pcm_s16le "$T_TMP/punched.wav"
	got=$(python3 "$RD_TOP/test/tools/tone-analyse.py" "$T_TMP/punched.wav" 0.5)
	note "punched: $got"
	check "sound through the punched path: the tone ($got)" \
		awk -v f="$(awk '{ print $2 }' <<<"$got")" 'BEGIN { exit !(f > 980 && f < 1020) }'
fi

# 3. --relay forces the relay
p0=$(relay_pairs)
shot forced --relay
check_eq "--relay: exit 0" 0 $CTL_RC
check_eq "--relay: path relay" relay "$(jfield path)"
check "--relay: the relay paired a session" test "$(relay_pairs)" -gt "$p0"

# 4. rdctl behind a symmetric NAT: punching fails, the relay carries it
ns_nat nat2 wan2 symmetric
p0=$(relay_pairs)
shot symmetric
check_eq "symmetric NAT: exit 0" 0 $CTL_RC
check_eq "symmetric NAT: path relay" relay "$(jfield path)"
check "symmetric NAT: the relay paired a session" test "$(relay_pairs)" -gt "$p0"
ns_nat nat2 wan2 cone

# 5. 5 % loss both ways on rdctl's WAN link (in the internet router)
ns_loss rs rs2 0.05
ok_count=0
for i in 1 2 3; do
	shot loss$i
	[ "$CTL_RC" = 0 ] && ok_count=$((ok_count + 1))
	note "loss try $i: exit $CTL_RC path $(jfield path)"
done
check "5% loss: connects ($ok_count of 3)" test $ok_count -eq 3
ns_loss rs rs2 0

# 6. doctor explains the paths
rdctl_run doctor $ID
check_eq "doctor behind NATs: exit 0" 0 $CTL_RC
check "doctor: direct attempt ok" grep -q '"try":"direct","ok":true' <<<"$CTL_OUT"
note "doctor: $CTL_OUT"

[ -n "${NAT_KEEP_LOGS:-}" ] && cp -r "$T_TMP" "$NAT_KEEP_LOGS"
t_done
