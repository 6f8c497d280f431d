#!/usr/bin/env bash
# Remote input on a bare console: a qemu VM (test/lab/vm.sh: Debian's kernel,
# bochs-drm, /dev/uinput, this machine's root over 9p) runs the freshly built
# rd-agent (capture auto -> drm, input auto -> uinput) and a shell on tty1.
# The agent is split in two as installed: rd-agent-helper as root creates the
# uinput devices and opens the card, the agent runs as uid 65534 without
# capabilities, under its seccomp filter.
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
source "$(dirname "$0")/vm_session.sh"

vm_session_start inputvm

# ---- the guest's part ----
cat >"$T_TMP/guest.sh" <<'EOF'
set -u
O=$(dirname "$0")
source "$O/params"
source "$O/guest_lib.sh"
ls -l /dev/uinput /dev/dri/card0 >"$O/devices.txt" 2>&1
# A shell on tty1 (the console shown on the DRM framebuffer) reading the keyboard.
printf '\033[2J\033[H' >/dev/tty1
setsid bash -c 'exec bash --norc --noprofile -i </dev/tty1 >/dev/tty1 2>&1' &
shell=$!
guest_agent_enroll $'[input]\nbackend = auto\n'
guest_agent_split --log-level debug
touch "$O/agent-started"
wait_for "$O/host" '^finish' 300
guest_agent_stop $shell
echo "guest: done"
EOF

vm_session_boot 420
if check "the agent in the VM registered with the rendezvous server here" vm_agent_registered; then
	# The shell computes the number: only a shell that ran the line writes 42.
	rdctl_run --relay type "$ID" "echo RDESK_\$((6*7))_\$(uname -s) >$O/console-out.txt"$'\n'
	check_eq "rdctl --relay type into the console: exit 0" 0 "$CTL_RC" || note "$CTL_OUT"
	check_eq "the session went through the relay" relay "$(jfield path)"
	for i in $(seq 120); do [ -s "$O/console-out.txt" ] && break; sleep 0.5; done
	check_eq "the shell on tty1 ran the typed command" "RDESK_42_Linux" "$(cat "$O/console-out.txt" 2>/dev/null)"
	# Named keys: a second line typed in pieces, ended by the Return key.
	rdctl_run --relay type "$ID" "echo KEYS_OK >$O/keys-out.txt"
	rdctl_run --relay key "$ID" Return
	check_eq "rdctl key Return: exit 0" 0 "$CTL_RC"
	for i in $(seq 120); do [ -s "$O/keys-out.txt" ] && break; sleep 0.5; done
	check_eq "Return from rdctl key ran the line" KEYS_OK "$(cat "$O/keys-out.txt" 2>/dev/null)"
	rdctl_run --relay type "$ID" "é"
	check_eq "text outside the US keymap is refused on a console, but the verb ran (exit 0)" 0 "$CTL_RC"
	rdctl_run --relay clipboard "$ID" get
	check_eq "clipboard on a console: refused (exit 1)" 1 "$CTL_RC"
	check_eq "clipboard on a console: error no_clipboard" no_clipboard "$(jfield error)"
fi
vm_session_end
check "the agent chose the uinput backend" grep -q 'input backend uinput' "$O/agent/agent.log"
check "the agent logged the refused non-US text" grep -q 'input refused' "$O/agent/agent.log"
check "the agent said the console has no clipboard" grep -q 'no clipboard on this host' "$O/agent/agent.log"
check_eq "agent stopped cleanly on SIGTERM" "agent exit 0" "$(tail -n1 "$O/agent/agent.log")"
vm_split_checks
check "split: the helper created the uinput keyboard for the agent" \
	grep -q "uid=65534 uinput 1: done" "$O/agent/helper.log"
check "split: the agent's keyboard came from the helper" \
	grep -q "rd-agent-helper's uinput" "$O/agent/agent.log"
if [ "$T_FAILED" -gt 0 ]; then
	sed 's/^/# devices: /' "$O/devices.txt" 2>/dev/null
	grep -E 'input|uinput|clipboard|capture' "$O/agent/agent.log" 2>/dev/null | tail -20 | sed 's/^/# agent: /'
	tail -n 10 "$O/agent/helper.log" 2>/dev/null | sed 's/^/# helper: /'
	tail -5 "$O/cmd.log" 2>/dev/null | sed 's/^/# guest: /'
fi
t_done
