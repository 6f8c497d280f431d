# Shared helpers for shell tests (source it). Output is TAP; finish with t_done.
# Processes started with t_bg are ended by PID at exit; temp dirs removed.
set -u
RD_TOP=${RD_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
RD_BUILD=${RD_BUILD:-build}
case $RD_BUILD in /*) ;; *) RD_BUILD=$RD_TOP/$RD_BUILD ;; esac
export RD_TOP RD_BUILD
T_N=0 T_FAILED=0
T_PIDS=()
T_CLEANUPS=()
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/rdesk-test.XXXXXX")

ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $*"; }
# check DESC CMD...: ok when CMD succeeds.
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
# check_eq DESC WANT GOT
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (want '$2', got '$3')"; fi; }
note() { echo "# $*"; }
# check_no_sanitizer DESC LOG: ok when LOG has no ASan/UBSan report; else
# not ok with the report's first lines as comments.
check_no_sanitizer() {
	if grep -q 'Sanitizer\|runtime error' "$2"; then
		not_ok "$1"
		grep -A25 'Sanitizer\|runtime error' "$2" | head -40 | sed 's/^/# /'
	else
		ok "$1"
	fi
}

# Run a command in the background; its PID is remembered and ended at exit.
# Sets T_LAST_PID.
t_bg() { "$@" & T_LAST_PID=$!; T_PIDS+=("$T_LAST_PID"); }
t_on_exit() { T_CLEANUPS+=("$*"); }
t_stop() { # t_stop PID: TERM, wait up to 5 s, then KILL
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}
t_cleanup() {
	local i pid
	for ((i = ${#T_CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${T_CLEANUPS[$i]}" >/dev/null 2>&1; done
	for pid in "${T_PIDS[@]}"; do t_stop "$pid"; done
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

t_done() {
	# A call the agent's seccomp filter refused (and logged) is a gap in its
	# allowlist: it fails whichever test met it (unless the test caused it).
	local denied
	# (Only the test's own *.log files: a test may mount things under T_TMP.)
	denied=$(find "$T_TMP" -xdev -type f -name '*.log' -print0 2>/dev/null |
		xargs -0r grep -hso 'sandbox: denied system call [a-z0-9_?]* ([0-9]*)' 2>/dev/null | sort -u)
	[ -n "$denied" ] && [ -z "${T_SANDBOX_DENIALS_EXPECTED:-}" ] && not_ok "the agent's sandbox refused no system call:$(echo $denied | sed 's/sandbox: denied system call/ /g')"
	echo "$((T_N - T_FAILED)) passed, $T_FAILED failed"
	[ "$T_FAILED" -eq 0 ]
	exit $?
}

# A TCP and UDP port free on loopback (both protocols, and port-1 too when
# asked with t_free_port 2). Ports come from below the kernel's ephemeral
# range, so no outgoing connection on this machine can take one between the
# pick and the bind; and none is handed out twice in one test (the caller
# usually binds it later, after picking more).
t_free_port() {
	local span=${1:-1} p i used lo hi
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
	hi=$((lo - 1)); [ "$hi" -gt 32767 ] && hi=32767
	lo=10000; [ "$hi" -lt 12000 ] && { lo=40000; hi=60000; }
	# Tests run side by side (test/run.sh RD_JOBS) each take their slot's share.
	local slots=${RD_JOB_SLOTS:-1} slot=${RD_JOB_SLOT:-0} width
	width=$(((hi - lo) / slots)); lo=$((lo + slot * width)); hi=$((lo + width))
	used=$(ss -Htuan 2>/dev/null | awk '{print $5}' | sed 's/.*://' | sort -u
		cat "$T_TMP/.ports" 2>/dev/null)
	for i in $(seq 200); do
		p=$((lo + span + RANDOM % (hi - lo - span)))
		local clash=0 k
		for ((k = 0; k < span; k++)); do
			grep -qx "$((p - k))" <<<"$used" && clash=1
		done
		if [ $clash = 0 ]; then
			for ((k = 0; k < span; k++)); do echo "$((p - k))" >>"$T_TMP/.ports"; done
			echo "$p"
			return 0
		fi
	done
	return 1
}
# Poll CMD every 0.1 s until it succeeds, for at most SECS (t_wait_until SECS CMD...).
t_wait_until() {
	local end=$((${EPOCHREALTIME//[.,]/} + $1 * 1000000)); shift
	while :; do
		"$@" && return 0
		[ "${EPOCHREALTIME//[.,]/}" -ge $end ] && return 1
		sleep 0.1
	done
}
# Wait until a TCP port listens on loopback (t_wait_tcp PORT [SECS]).
t_wait_tcp() {
	local port=$1 secs=${2:-10} i
	for i in $(seq $((secs * 20))); do
		ss -Htln "sport = :$port" 2>/dev/null | grep -q . && return 0
		sleep 0.05
	done
	return 1
}
# Wait for a pattern in a file (t_wait_file FILE REGEX [SECS]).
t_wait_file() {
	local f=$1 re=$2 secs=${3:-10} i
	for i in $(seq $((secs * 20))); do
		grep -qE "$re" "$f" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
t_require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		not_ok "$(basename "$0"): needs root (network namespaces, qemu); run as root"
		t_done
	fi
}
# Start Xvfb on a free display (t_xvfb WxHxD); sets T_DISPLAY. T_XVFB_ARGS
# (an array) adds options, e.g. (-auth FILE).
t_xvfb() {
	local geom=${1:-1280x720x24} n width
	# Side by side tests (test/run.sh RD_JOBS) each take their slot's displays.
	width=$((110 / ${RD_JOB_SLOTS:-1}))
	for n in $(seq $((90 + ${RD_JOB_SLOT:-0} * width)) $((89 + (${RD_JOB_SLOT:-0} + 1) * width))); do
		[ -e /tmp/.X11-unix/X$n ] || [ -e /tmp/.X$n-lock ] && continue
		t_bg Xvfb ":$n" -screen 0 "$geom" -nolisten tcp -noreset ${T_XVFB_ARGS[@]+"${T_XVFB_ARGS[@]}"}
		# Ours once the lock names our Xvfb: another test may have taken the
		# same number a moment before (then ours exits, and its socket is not
		# ours to use).
		local i
		for i in $(seq 400); do
			[ -e /tmp/.X11-unix/X$n ] && [ "$(tr -dc 0-9 </tmp/.X$n-lock 2>/dev/null)" = "$T_LAST_PID" ] &&
				{ T_DISPLAY=:$n; export T_DISPLAY; return 0; }
			kill -0 "$T_LAST_PID" 2>/dev/null || break
			sleep 0.05
		done
		t_stop "$T_LAST_PID"
	done
	return 1
}
# Xvfb (t_xvfb) showing a moving test pattern full screen at 30 fps (ffplay's
# testsrc2), for video that must change every frame (t_moving_display WxH).
# Sets T_DISPLAY; fails when either does not come up.
t_moving_display() {
	local size=${1:-640x480}
	t_xvfb "${size}x24" || return 1
	DISPLAY=$T_DISPLAY t_bg ffplay -loglevel quiet -noborder -left 0 -top 0 -f lavfi \
		-i "testsrc2=s=$size:r=30" >/dev/null 2>&1
	sleep 1
	kill -0 "$T_LAST_PID" 2>/dev/null
}
