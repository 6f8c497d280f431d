#!/usr/bin/env bash
# rd-agent's own sandbox, as an unprivileged user (uid 65534, set with
# setpriv as a supervisor would) on Xvfb: /proc shows no uid 0, no capability,
# no_new_privs and the seccomp filter on every thread; the agent still serves
# screenshots; and a thread that was running before the filter went in (a
# preloaded test library, standing in for code an intruder got into the
# process) is killed for execve, ptrace and unshare, and refused a process
# or a netlink socket. With --no-sandbox there is no filter.
source "$(dirname "$0")/../lib.sh"
source "$RD_TOP/test/lab/ctl_env.sh"
t_require_root
B=$RD_BUILD
for tool in setpriv Xvfb convert; do
	command -v $tool >/dev/null || { not_ok "needs $tool (make deps)"; t_done; }
done
[ -f "$B/test/tools/sandbox-trigger.so" ] || { not_ok "needs sandbox-trigger.so (make test-programs)"; t_done; }
SAN=${RD_ASAN:-0}
# The agent's user must reach its files in the test's folder.
chmod 0711 "$T_TMP"

check "servers start" ctl_servers || t_done
check "Xvfb for the agent" t_xvfb 640x480x24 || t_done
DISPLAY=$T_DISPLAY xsetroot -solid '#20a040'
ID=sandbox01
D=$T_TMP/agent-$ID
check "agent enrolled" ctl_agent_enroll $ID "$T_DISPLAY" x11
chown -R 65534:65534 "$D"
FIFO=$D/trigger
mkfifo -m 0600 "$FIFO" && chown 65534:65534 "$FIFO"
CTL_AGENT_WRAP=(setpriv --reuid=65534 --regid=65534 --clear-groups
	env LD_PRELOAD="$B/test/tools/sandbox-trigger.so" RD_SANDBOX_TRIGGER="$FIFO"
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")

start() { # start [flags]: the agent as uid 65534, registered
	ctl_agent_start $ID "$@"
}
# pull WORD: make the preloaded thread call WORD
pull() { timeout 5 bash -c "echo $1 >'$FIFO'"; }
# killed_by_sigsys WORD: the call kills the agent with SIGSYS
killed_by_sigsys() {
	local w=$1 i rc
	pull "$w" || return 1
	for i in $(seq 50); do kill -0 "$CTL_AGENT_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$CTL_AGENT_PID"; rc=$?
	note "$w: the agent ended with status $rc"
	[ "$rc" -eq $((128 + 31)) ]
}
status_field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

check "agent registered as uid 65534" start || { tail -20 "$D/agent.log" | sed 's/^/# /'; t_done; }
P=$CTL_AGENT_PID
check "the log says the filter is installed" t_wait_file "$D/agent.log" "seccomp filter installed" 5
check_eq "uid: real, effective, saved and fs are 65534" "65534 65534 65534 65534" "$(status_field $P Uid | tr -s '\t ' ' ')"
check_eq "no effective capability" 0000000000000000 "$(status_field $P CapEff)"
check_eq "no permitted capability" 0000000000000000 "$(status_field $P CapPrm)"
check_eq "no_new_privs" 1 "$(status_field $P NoNewPrivs)"
check_eq "seccomp filter mode" 2 "$(status_field $P Seccomp)"
tasks=$(ls /proc/$P/task | wc -l)
unfiltered=$(for t in /proc/$P/task/*; do awk '$1 == "Seccomp:" && $2 != 2' "$t/status"; done | wc -l)
check "every thread is filtered ($tasks threads, $unfiltered without)" \
	[ "$tasks" -ge 2 ] && [ "$unfiltered" -eq 0 ]
out=$(RDESK_DATA_DIR=$D/data "$B/rd-agent" status --config "$D/agent.ini" --json 2>&1)
check "status says sandbox true" grep -q '"sandbox":true' <<<"$out"

rdctl_run screenshot $ID -o "$T_TMP/shot.png"
check_eq "screenshot under the sandbox: exit 0" 0 $CTL_RC
check "screenshot is the green screen" bash -c \
	"convert '$T_TMP/shot.png' -resize 1x1\! -format '%[fx:int(255*g)]' info: | awk '{exit !(\$1 > 140)}'"

pull open; t_wait_file "$FIFO.out" "^open" 5
check "an allowed call works (open)" grep -q "^open ok" "$FIFO.out"
if [ "$SAN" = 1 ]; then
	note "sanitizer build: the filter refuses only the forbidden calls (fork, netlink, ptrace not checked)"
else
	# Refused calls are logged by the agent; this test wants them.
	T_SANDBOX_DENIALS_EXPECTED=1
	pull fork; t_wait_file "$FIFO.out" "^fork" 5
	check "a process (clone without CLONE_THREAD) is refused with EPERM" grep -q "^fork EPERM" "$FIFO.out"
	pull netlink; t_wait_file "$FIFO.out" "^netlink" 5
	check "a netlink socket is refused with EAFNOSUPPORT" grep -q "^netlink EAFNOSUPPORT" "$FIFO.out"
	check "the refusal is logged by name" t_wait_file "$D/agent.log" "sandbox: denied system call clone" 5
fi
check "the agent still serves after the refusals" kill -0 $P
rdctl_run screenshot $ID -o "$T_TMP/shot2.png"
check_eq "screenshot after the refusals: exit 0" 0 $CTL_RC

check "execve kills the agent (SIGSYS)" killed_by_sigsys execve
check "and the program never ran" test ! -e "$FIFO.escaped"
check "agent started again" start
check "unshare kills the agent (SIGSYS)" killed_by_sigsys unshare
if [ "$SAN" != 1 ]; then
	check "agent started again" start
	check "ptrace kills the agent (SIGSYS)" killed_by_sigsys ptrace
fi

# --no-sandbox: no filter, and the log says so.
check "agent started with --no-sandbox" start --no-sandbox
check_eq "no seccomp filter" 0 "$(status_field $CTL_AGENT_PID Seccomp)"
check "the log says the sandbox is off" grep -q "sandbox off" "$D/agent.log"
t_stop "$CTL_AGENT_PID"
t_done
