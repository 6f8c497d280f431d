# Helpers for rdctl's system, lab and bench scripts (source after test/lib.sh).
# Start the real servers and an agent, and run rdctl with a private HOME.
#   ctl_servers [BIND]            rd-rendezvous + rd-relay on free ports; sets CTL_PORT, CTL_RELAY_PORT, CTL_KEY
#                                 (CTL_RV_ARGS: more options for rd-rendezvous, e.g. --metrics)
#   ctl_agent_enroll ID DISPLAY [BACKEND] [CODEC]   writes $T_TMP/agent-ID/agent.ini, password "$CTL_PW"
#   ctl_agent_start ID [extra flags]   starts it (sets CTL_AGENT_PID) and waits until the server lists it
#   ctl_agent_rekey ID            a new key for the agent, and the ID released at the server
#   rdctl_run ARGS...             rdctl with HOME=$CTL_HOME, --server/--key set; json in $CTL_OUT, exit in $CTL_RC
CTL_PW=${CTL_PW:-s3cret-pw}
CTL_WRAP=()        # command prefix for rdctl (e.g. ip netns exec NS)
CTL_AGENT_WRAP=()  # and for the agent
CTL_RV_ARGS=()     # more options for rd-rendezvous
CTL_HOME=$T_TMP/home
mkdir -p "$CTL_HOME"
for b in rd-rendezvous rd-relay rd-agent rdctl; do
	[ -x "$RD_BUILD/$b" ] || { not_ok "$b is not built in $RD_BUILD"; t_done; }
done

ctl_servers() {
	local bind=${1:-127.0.0.1}
	CTL_SERVER_HOST=$bind
	CTL_PORT=$(t_free_port 2) && CTL_RELAY_PORT=$(t_free_port) || return 1
	mkdir -p "$T_TMP/rv"
	CTL_KEY=$("$RD_BUILD/rd-rendezvous" --data-dir "$T_TMP/rv" --print-key 2>/dev/null) || return 1
	# The relay first: rd-rendezvous checks its relays at start (then every
	# 3 s) and hands out none that failed the check.
	t_bg "$RD_BUILD/rd-relay" -p "$CTL_RELAY_PORT" -b "$bind" -k "$CTL_KEY" --config /dev/null \
		>"$T_TMP/relay.log" 2>&1
	CTL_RELAY_PID=$T_LAST_PID
	t_wait_tcp "$CTL_RELAY_PORT" 10 || return 1
	ctl_rendezvous_start
}

ctl_rendezvous_start() {
	t_bg "$RD_BUILD/rd-rendezvous" -p "$CTL_PORT" -b "$CTL_SERVER_HOST" -k - --data-dir "$T_TMP/rv" \
		-r "$CTL_SERVER_HOST:$CTL_RELAY_PORT" --config /dev/null "${CTL_RV_ARGS[@]}" \
		>>"$T_TMP/rendezvous.log" 2>&1
	CTL_RV_PID=$T_LAST_PID
	t_wait_tcp "$CTL_PORT" 10
}

ctl_agent_enroll() {
	local id=$1 display=$2 backend=${3:-x11} codec=${4:-auto} d=$T_TMP/agent-$1
	mkdir -p "$d/data"
	"$RD_BUILD/rd-agent" enroll --config "$d/agent.ini" --server "$CTL_SERVER_HOST:$CTL_PORT" \
		--key "$CTL_KEY" --relay "$CTL_SERVER_HOST:$CTL_RELAY_PORT" --id "$id" \
		--data-dir "$d/data" >"$d/enroll.log" 2>&1 || return 1
	cat >>"$d/agent.ini" <<EOI
[agent]
data-dir = $d/data
[capture]
backend = $backend
display = $display
[video]
codec = $codec
EOI
	printf '%s\n' "$CTL_PW" | "$RD_BUILD/rd-agent" password set --config "$d/agent.ini" \
		>>"$d/enroll.log" 2>&1
}

# A new long-term key for the agent (same ID and uuid), as a reinstall would
# make; the server has the ID pinned to the old key, so the operator releases
# it there (stop, --forget, start), as after a real reinstall.
ctl_agent_rekey() {
	local id=$1 d=$T_TMP/agent-$1
	rm -f "$d/data/id_ed25519" "$d/data/id_ed25519.pub"
	"$RD_BUILD/rd-agent" enroll --config "$d/agent.ini" --server "$CTL_SERVER_HOST:$CTL_PORT" \
		--key "$CTL_KEY" --relay "$CTL_SERVER_HOST:$CTL_RELAY_PORT" --id "$id" \
		--data-dir "$d/data" >>"$d/enroll.log" 2>&1 && test -s "$d/data/id_ed25519" || return 1
	t_stop "$CTL_RV_PID"
	"$RD_BUILD/rd-rendezvous" --forget "$id" --data-dir "$T_TMP/rv" --config /dev/null \
		>>"$d/enroll.log" 2>&1 || return 1
	ctl_rendezvous_start
}

ctl_agent_start() {
	local id=$1; shift
	local d=$T_TMP/agent-$id i
	t_bg "${CTL_AGENT_WRAP[@]}" "$RD_BUILD/rd-agent" run --config "$d/agent.ini" "$@" >>"$d/agent.log" 2>&1
	CTL_AGENT_PID=$T_LAST_PID
	for i in $(seq 100); do
		rdctl_run lookup "$id" && return 0
		kill -0 "$CTL_AGENT_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

rdctl_run() {
	CTL_OUT=$(HOME=$CTL_HOME RDESK_PASSWORD=${RDESK_PASSWORD-$CTL_PW} "${CTL_WRAP[@]}" "$RD_BUILD/rdctl" \
		--server "$CTL_SERVER_HOST:$CTL_PORT" --key "$CTL_KEY" --json "$@" 2>>"$T_TMP/rdctl.err")
	CTL_RC=$?
	echo "$CTL_OUT" >>"$T_TMP/rdctl.out"
	return $CTL_RC
}

# jfield NAME: a top-level scalar from $CTL_OUT (strings unquoted).
jfield() {
	local v re
	re='"'$1'":("[^"]*"|[^,}]*)'
	v=$(printf '%s' "$CTL_OUT" | grep -oE "$re" | head -n1)
	v=${v#*:}
	v=${v#'"'}
	v=${v%'"'}
	printf '%s\n' "$v"
}

# Mean absolute error of two images, normalized 0..1 (ImageMagick compare, after a slight blur).
img_mae() {
	convert "$1" -alpha off -blur 0x1 "$T_TMP/mae-a.png" && convert "$2" -alpha off -blur 0x1 "$T_TMP/mae-b.png" &&
		compare -metric MAE "$T_TMP/mae-a.png" "$T_TMP/mae-b.png" null: 2>&1 | sed -n 's/.*(\(.*\)).*/\1/p'
}
# float_lt A B
float_lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }
