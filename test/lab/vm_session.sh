# Host side of the lab tests that run rd-agent in a qemu VM (test/lab/vm.sh)
# against rd-rendezvous and rd-relay on this machine. Source after ctl_env.sh.
#   vm_session_start IDPREFIX  prepares the VM, starts the servers on loopback and
#                              writes $O/params (B ID KEY PORT RPORT PW) and
#                              $O/guest_lib.sh (test/lab/vm_guest.sh); sets O and ID
#   vm_session_boot SECS       runs $T_TMP/guest.sh in the VM; sets VM_PID
#   host_says WORD             appends WORD to $O/host, which the guest waits on
#   vm_agent_registered        waits until the guest started its agent and the
#                              rendezvous server here lists it
#   vm_session_end             says "finish", waits for the VM and checks that it
#                              ran the whole script and powered off
#   vm_split_checks            after a guest_agent_split run: the agent ran as uid
#                              65534 without capabilities under its seccomp filter
#                              (the status the guest copied), used the helper, and
#                              the helper refused nothing and stopped cleanly
vm_session_start() {
	if ! "$RD_TOP/test/lab/vm.sh" --prepare >"$T_TMP/prepare.log" 2>&1; then
		not_ok "VM kernel and initramfs prepared"; sed 's/^/# /' "$T_TMP/prepare.log"; t_done
	fi
	ok "VM kernel and initramfs prepared (cached in \$RD_BUILD/lab/vm)"
	check "rendezvous and relay servers on loopback" ctl_servers 127.0.0.1

	O=$T_TMP/vm
	ID=$1$RANDOM
	mkdir -p "$O"
	cat >"$O/params" <<EOP
B=$RD_BUILD
ID=$ID
KEY=$CTL_KEY
PORT=$CTL_PORT
RPORT=$CTL_RELAY_PORT
PW=$CTL_PW
EOP
	cp "$RD_TOP/test/lab/vm_guest.sh" "$O/guest_lib.sh"
}

vm_session_boot() {
	t_bg "$RD_TOP/test/lab/vm.sh" --timeout "$1" --out "$O" "$T_TMP/guest.sh"
	VM_PID=$T_LAST_PID
}

host_says() { echo "$1" >>"$O/host"; }

vm_agent_registered() {
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

vm_session_end() {
	local i
	host_says finish
	for i in $(seq 600); do kill -0 $VM_PID 2>/dev/null || break; sleep 0.5; done
	wait $VM_PID
	check_eq "the VM ran the whole script and powered off" 0 $?
}

vm_split_checks() {
	local st=$O/agent-status a=$O/agent
	field() { awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "$st"; }
	if check "split: the guest copied the running agent's /proc status" test -s "$st"; then
		check_eq "split: the agent runs as uid 65534 (real, effective, saved, fs)" \
			"65534 65534 65534 65534" "$(field Uid)"
		check_eq "split: no effective capability" 0000000000000000 "$(field CapEff)"
		check_eq "split: no permitted capability" 0000000000000000 "$(field CapPrm)"
		check_eq "split: under a seccomp filter (Seccomp 2)" 2 "$(field Seccomp)"
		check_eq "split: NoNewPrivs 1" 1 "$(field NoNewPrivs)"
	fi
	check "split: the agent uses the privileged helper" \
		grep -q "privileged helper at /run/rd-agent-helper/helper.sock$" "$a/agent.log"
	check "split: the helper served uid 65534" grep -q "uid=65534 connected" "$a/helper.log"
	check "split: the helper refused nothing" \
		bash -c "! grep -qE 'refused|malformed|peer without' '$a/helper.log'" ||
		grep -E 'refused|malformed|peer without' "$a/helper.log" | head -5 | sed 's/^/# /'
	check_eq "split: the helper stopped cleanly on SIGTERM" "helper exit 0" \
		"$(tail -n1 "$a/helper.log")"
}
