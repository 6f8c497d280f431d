# Network namespace helpers for the NAT lab (source after test/lib.sh; root).
# Addresses only from the documentation ranges, inside namespaces made here:
# "internet" 198.51.100.0/24 and 203.0.113.0/24, LANs 192.0.2.0/25 and
# 192.0.2.128/25. Every namespace made is removed at exit.
NS_PFX=${NS_PFX:-rdn$$}
NS_LIST=()

ns() { echo "$NS_PFX-$1"; }
nsx() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }

ns_add() {
	ip netns add "$(ns "$1")" || return 1
	NS_LIST+=("$(ns "$1")")
	nsx "$1" ip link set lo up
	nsx "$1" sysctl -qw net.ipv4.ip_forward=0
}

ns_cleanup() {
	local n
	for n in "${NS_LIST[@]}"; do ip netns del "$n" 2>/dev/null; done
	NS_LIST=()
}

# ns_link A IFA ADDR_A B IFB ADDR_B: a veth pair between two namespaces.
ns_link() {
	local a=$1 ifa=$2 aa=$3 b=$4 ifb=$5 ab=$6
	ip link add "$ifa" netns "$(ns "$a")" type veth peer name "$ifb" netns "$(ns "$b")" || return 1
	[ -n "$aa" ] && nsx "$a" ip addr add "$aa" dev "$ifa"
	[ -n "$ab" ] && nsx "$b" ip addr add "$ab" dev "$ifb"
	nsx "$a" ip link set "$ifa" up
	nsx "$b" ip link set "$ifb" up
}

# ns_nat NAME WAN_IF [symmetric]: a home router: masquerade out of WAN, and
# accept from the WAN only what conntrack knows (established/related).
ns_nat() {
	local n=$1 wan=$2 mode=${3:-cone}
	nsx "$n" sysctl -qw net.ipv4.ip_forward=1
	nsx "$n" iptables -t nat -F
	if [ "$mode" = symmetric ]; then
		nsx "$n" iptables -t nat -A POSTROUTING -o "$wan" -j MASQUERADE --random-fully
	else
		nsx "$n" iptables -t nat -A POSTROUTING -o "$wan" -j MASQUERADE
	fi
	nsx "$n" iptables -F FORWARD
	nsx "$n" iptables -F INPUT
	nsx "$n" iptables -A FORWARD -i "$wan" -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
	nsx "$n" iptables -A FORWARD -i "$wan" -j DROP
	nsx "$n" iptables -A INPUT -i "$wan" -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
	nsx "$n" iptables -A INPUT -i "$wan" -j DROP
	nsx "$n" conntrack -F >/dev/null 2>&1 || true
}

# ns_loss NAME IF PROB: drop that share of the packets crossing interface IF
# of NAME, both ways, to local servers and forwarded alike (0 = none).
ns_loss() {
	local n=$1 dev=$2 p=$3
	nsx "$n" iptables -t raw -F PREROUTING
	nsx "$n" iptables -t mangle -F POSTROUTING
	if [ "$p" != 0 ]; then
		nsx "$n" iptables -t raw -A PREROUTING -i "$dev" -m statistic --mode random \
			--probability "$p" -j DROP
		nsx "$n" iptables -t mangle -A POSTROUTING -o "$dev" -m statistic --mode random \
			--probability "$p" -j DROP
	fi
}

# The lab: servers in "rs" on the internet, agent "h1" behind nat1 with a
# second host "h1b" on the same LAN, controller "h2" behind nat2.
ns_lab() {
	local n
	for n in rs nat1 nat2 h1 h1b h2; do ns_add $n || return 1; done
	nsx rs sysctl -qw net.ipv4.ip_forward=1
	ns_link rs rs1 198.51.100.1/24 nat1 wan1 198.51.100.2/24 || return 1
	ns_link rs rs2 203.0.113.1/24 nat2 wan2 203.0.113.2/24 || return 1
	nsx nat1 ip route add default via 198.51.100.1
	nsx nat2 ip route add default via 203.0.113.1
	# nat1's LAN is a bridge with two hosts
	nsx nat1 ip link add lan1 type bridge
	nsx nat1 ip addr add 192.0.2.1/25 dev lan1
	nsx nat1 ip link set lan1 up
	ns_link nat1 l1a "" h1 eth0 192.0.2.10/25 || return 1
	ns_link nat1 l1b "" h1b eth0 192.0.2.11/25 || return 1
	nsx nat1 ip link set l1a master lan1
	nsx nat1 ip link set l1b master lan1
	ns_link nat2 lan2 192.0.2.129/25 h2 eth0 192.0.2.140/25 || return 1
	nsx h1 ip route add default via 192.0.2.1
	nsx h1b ip route add default via 192.0.2.1
	nsx h2 ip route add default via 192.0.2.129
	ns_nat nat1 wan1 cone && ns_nat nat2 wan2 cone
}
