#!/usr/bin/env bash
# Remote input on a bare console: a qemu VM (test/lab/vm.sh: Debian's kernel,
# bochs-drm, /dev/uinput, this machine's root over 9p) runs the freshly built
# rd-agent (capture auto -> drm, input auto -> uinput) and a shell on tty1.
# From this side, rdctl type --relay (through rd-relay here) types a command
# into that shell; the shell runs it and its output lands in a file on the
# VM's writable share, which this side reads back. The clipboard verb must
# say clearly that a console has none.
# This machine never connects to the guest: the relay address is
# 127.0.0.1:PORT on both sides, forwarded inside the guest by socat.
source "$(dirname "$0")/../lib.sh"
t_require_root
for tool in qemu-system-x86_64 socat; do
	command -v $tool >/dev/null || { not_ok "$tool is missing (run make deps)"; t_done; }
done
source "$(dirname "$0")/ctl_env.sh"

if ! "$RD_TOP/test/lab/vm.sh" --prepare >"$T_TMP/prepare.log" 2>&1; then
	not_ok "VM kernel and initramfs prepared"; sed 's/^/# /' "$T_TMP/prepare.log"; t_done
fi
ok "VM kernel and initramfs prepared (cached in \$RD_BUILD/lab/vm)"
check "rendezvous and relay servers on loopback" ctl_servers 127.0.0.1

O=$T_TMP/vm
ID=inputvm$RANDOM
mkdir -p "$O"
cat >"$O/params" <<EOF
B=$RD_BUILD
ID=$ID
KEY=$CTL_KEY
PORT=$CTL_PORT
RPORT=$CTL_RELAY_PORT
PW=$CTL_PW
EOF

# ---- the guest's part ----
cat >"$T_TMP/guest.sh" <<'EOF'
set -u
O=$(dirname "$0")
source "$O/params"
wait_for() { # FILE REGEX SECS
	local i
	for i in $(seq $(($3 * 5))); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.2; done
	echo "guest: timed out waiting for /$2/ in $1"
	return 1
}
ls -l /dev/uinput /dev/dri/card0 >"$O/devices.txt" 2>&1
# A shell on tty1 (the console shown on the DRM framebuffer) reading the keyboard.
printf '\033[2J\033[H' >/dev/tty1
setsid bash -c 'exec bash --norc --noprofile -i </dev/tty1 >/dev/tty1 2>&1' &
shell=$!
socat TCP-LISTEN:$RPORT,bind=127.0.0.1,fork,reuseaddr TCP:10.0.2.2:$RPORT &
fwd=$!
a=$O/agent
mkdir -p "$a/data"
rd_agent=$B/rd-agent
"$rd_agent" enroll --config "$a/agent.ini" --server 10.0.2.2:$PORT --key "$KEY" \
	--relay 127.0.0.1:$RPORT --id "$ID" --data-dir "$a/data" >"$a/enroll.log" 2>&1
printf '[agent]\ndata-dir = %s\n[capture]\nbackend = auto\n[input]\nbackend = auto\n' "$a/data" \
	>>"$a/agent.ini"
printf '%s\n' "$PW" | "$rd_agent" password set --config "$a/agent.ini" >>"$a/enroll.log" 2>&1
"$rd_agent" run --config "$a/agent.ini" --log-level debug >"$a/agent.log" 2>&1 &
agent=$!
touch "$O/agent-started"
wait_for "$O/host" '^finish' 300
kill $agent $fwd $shell 2>/dev/null
wait $agent
echo "agent exit $?" >>"$a/agent.log"
echo "guest: done"
EOF

t_bg "$RD_TOP/test/lab/vm.sh" --timeout 420 --out "$O" "$T_TMP/guest.sh"
VM_PID=$T_LAST_PID
host_says() { echo "$1" >>"$O/host"; }

registered() {
	local i
	for i in $(seq 300); do
		[ -e "$O/agent-started" ] && break
		kill -0 $VM_PID 2>/dev/null || return 1
		sleep 0.5
	done
	for i in $(seq 120); do
		rdctl_run lookup "$ID" && return 0
		kill -0 $VM_PID 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}
if check "the agent in the VM registered with the rendezvous server here" registered; then
	# The shell computes the number: only a shell that ran the line writes 42.
	rdctl_run --relay type "$ID" "echo RDESK_\$((6*7))_\$(uname -s) >$O/console-out.txt"$'\n'
	check_eq "rdctl --relay type into the console: exit 0" 0 "$CTL_RC" || note "$CTL_OUT"
	check_eq "the session went through the relay" relay "$(jfield path)"
	for i in $(seq 60); do [ -s "$O/console-out.txt" ] && break; sleep 0.5; done
	check_eq "the shell on tty1 ran the typed command" "RDESK_42_Linux" "$(cat "$O/console-out.txt" 2>/dev/null)"
	# Named keys: a second line typed in pieces, ended by the Return key.
	rdctl_run --relay type "$ID" "echo KEYS_OK >$O/keys-out.txt"
	rdctl_run --relay key "$ID" Return
	check_eq "rdctl key Return: exit 0" 0 "$CTL_RC"
	for i in $(seq 40); do [ -s "$O/keys-out.txt" ] && break; sleep 0.5; done
	check_eq "Return from rdctl key ran the line" KEYS_OK "$(cat "$O/keys-out.txt" 2>/dev/null)"
	rdctl_run --relay type "$ID" "é"
	check_eq "text outside the US keymap is refused on a console, but the verb ran (exit 0)" 0 "$CTL_RC"
	rdctl_run --relay clipboard "$ID" get
	check_eq "clipboard on a console: refused (exit 1)" 1 "$CTL_RC"
	check_eq "clipboard on a console: error no_clipboard" no_clipboard "$(jfield error)"
fi
host_says finish
for i in $(seq 600); do kill -0 $VM_PID 2>/dev/null || break; sleep 0.5; done
wait $VM_PID
check_eq "the VM ran the whole script and powered off" 0 $?
check "the agent chose the uinput backend" grep -q 'input backend uinput' "$O/agent/agent.log"
check "the agent logged the refused non-US text" grep -q 'input refused' "$O/agent/agent.log"
check "the agent said the console has no clipboard" grep -q 'no clipboard on this host' "$O/agent/agent.log"
if [ "$T_FAILED" -gt 0 ]; then
	sed 's/^/# devices: /' "$O/devices.txt" 2>/dev/null
	grep -E 'input|uinput|clipboard|capture' "$O/agent/agent.log" 2>/dev/null | tail -20 | sed 's/^/# agent: /'
	tail -5 "$O/cmd.log" 2>/dev/null | sed 's/^/# guest: /'
fi
t_done
