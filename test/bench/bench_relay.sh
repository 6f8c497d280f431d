#!/usr/bin/env bash
# Benchmark: rd-relay against a direct loopback connection, socat and haproxy
# (TCP mode, without and with splice), in the same run, on loopback.
#   1. one pair (one sender, one receiver): Gbit/s and CPU seconds per GB of
#      the forwarding process (utime + stime from /proc/PID/stat, reaped
#      children included, so socat's forked workers count)
#   2. 100 concurrent pairs, the same figures
# Each figure is the median of BENCH_RUNS runs (the tools take turns inside
# each run, so machine noise hits them alike). Traffic: relay-bench, one
# thread sending from a fixed buffer, one receiving and dropping.
# Targets (issue 4): one pair >= 1.2x haproxy with splice and >= 3x socat;
# relay CPU per GB <= 0.5x haproxy's.
#   BENCH_RUNS (default 5), BENCH_BYTES (one pair, default 4000000000),
#   BENCH_PAIRS (default 100), BENCH_PAIR_BYTES (each of them, default 40000000),
#   BENCH_NICE (default -10 as root, else 0): the niceness of this script and so of
#   every process it starts alike, so other work on a shared machine disturbs
#   the measured tools less and all of them equally.
source "$(dirname "$0")/../lib.sh"
RELAY=$RD_BUILD/rd-relay
TOOL=$RD_BUILD/test/tools/relay-bench
RUNS=${BENCH_RUNS:-5}
BYTES=${BENCH_BYTES:-4000000000}
NPAIRS=${BENCH_PAIRS:-100}
PAIR_BYTES=${BENCH_PAIR_BYTES:-40000000}
HZ=$(getconf CLK_TCK)
NICE=${BENCH_NICE:-$([ "$(id -u)" = 0 ] && echo -10 || echo 0)}
[ "$NICE" != 0 ] && renice -n "$NICE" -p $$ >/dev/null 2>&1

for tool in socat haproxy; do
	command -v $tool >/dev/null || { not_ok "needs $tool (make deps)"; t_done; }
done
for f in "$RELAY" "$TOOL"; do
	[ -x "$f" ] || { not_ok "needs $f (make all test-programs)"; t_done; }
done
ulimit -n 16384 2>/dev/null
note "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $RUNS runs, nice $NICE;" \
	"$(haproxy -v | head -n1 | cut -d' ' -f1-3), $(socat -V | grep -m1 'socat version' | cut -d' ' -f1-3)"

SINK=$(t_free_port)      # relay-bench's own listener (proxy and direct modes)
P_RELAY=$(t_free_port)
P_SOCAT=$(t_free_port)
P_HAP=$(t_free_port)
P_HAPS=$(t_free_port)

t_bg "$RELAY" --config /dev/null -p "$P_RELAY" -b 127.0.0.1 --open --idle-timeout 0 \
	>"$T_TMP/relay.log" 2>&1
PID_relay=$T_LAST_PID
t_bg socat "TCP-LISTEN:$P_SOCAT,bind=127.0.0.1,reuseaddr,fork,backlog=1024" "TCP:127.0.0.1:$SINK"
PID_socat=$T_LAST_PID
hap_cfg() { # hap_cfg PORT EXTRA-OPTION
	cat <<EOF
global
	maxconn 2000
defaults
	mode tcp
	timeout connect 5s
	timeout client 120s
	timeout server 120s
	$2
frontend f
	bind 127.0.0.1:$1
	default_backend b
backend b
	server s 127.0.0.1:$SINK
EOF
}
hap_cfg "$P_HAP" "" >"$T_TMP/hap.cfg"
hap_cfg "$P_HAPS" "option splice-auto" >"$T_TMP/haps.cfg"
t_bg haproxy -db -f "$T_TMP/hap.cfg"
PID_hap=$T_LAST_PID
t_bg haproxy -db -f "$T_TMP/haps.cfg"
PID_haps=$T_LAST_PID
for p in "$P_RELAY" "$P_SOCAT" "$P_HAP" "$P_HAPS"; do
	t_wait_tcp "$p" 10 || { not_ok "listener on $p did not come up"; t_done; }
done

ticks() { # utime + stime + cutime + cstime of PID
	[ -n "$1" ] || { echo 0; return; }
	awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"
}
# measure NAME PID MODE-ARGS...: one transfer; appends "gbps cpu_per_gb" to $T_TMP/NAME
measure() {
	local name=$1 pid=$2 c0 c1 out; shift 2
	c0=$(ticks "$pid")
	out=$("$TOOL" "$@" 2>&1) || { note "$name: $out"; echo "fail" >>"$T_TMP/$name"; return; }
	c1=$(ticks "$pid")
	awk -v o="$out" -v c=$((c1 - c0)) -v hz="$HZ" 'BEGIN {
		split(o, f, " "); bytes = f[2]; gbps = f[6]
		printf "%s %.4f\n", gbps, (c / hz) / (bytes / 1e9) }' >>"$T_TMP/$name"
}
median() { # median FILE COLUMN
	grep -v fail "$1" | awk -v c="$2" '{ print $c }' | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "nan";
		else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
one_round() { # one_round SUFFIX PAIRS BYTES
	local s=$1 n=$2 b=$3
	measure "direct$s" "" --mode proxy --connect "127.0.0.1:$SINK" --listen "$SINK" --pairs "$n" --bytes "$b"
	measure "relay$s" "$PID_relay" --mode relay --connect "127.0.0.1:$P_RELAY" --pairs "$n" --bytes "$b"
	measure "socat$s" "$PID_socat" --mode proxy --connect "127.0.0.1:$P_SOCAT" --listen "$SINK" --pairs "$n" --bytes "$b"
	measure "haproxy$s" "$PID_hap" --mode proxy --connect "127.0.0.1:$P_HAP" --listen "$SINK" --pairs "$n" --bytes "$b"
	measure "haproxy_splice$s" "$PID_haps" --mode proxy --connect "127.0.0.1:$P_HAPS" --listen "$SINK" --pairs "$n" --bytes "$b"
}
report() { # report SUFFIX TITLE
	local s=$1 t
	printf '# %s\n# %-16s %10s %12s\n' "$2" tool Gbit/s "CPU s/GB"
	for t in direct relay socat haproxy haproxy_splice; do
		printf '# %-16s %10s %12s\n' "$t" "$(median "$T_TMP/$t$s" 1)" \
			"$([ $t = direct ] && echo - || median "$T_TMP/$t$s" 2)"
	done
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }

for i in $(seq "$RUNS"); do
	one_round "" 1 "$BYTES"
	note "run $i/$RUNS one pair: relay $(tail -n1 "$T_TMP/relay" | cut -d' ' -f1) Gbit/s," \
		"haproxy+splice $(tail -n1 "$T_TMP/haproxy_splice" | cut -d' ' -f1)," \
		"socat $(tail -n1 "$T_TMP/socat" | cut -d' ' -f1), direct $(tail -n1 "$T_TMP/direct" | cut -d' ' -f1)"
done
for i in $(seq "$RUNS"); do
	one_round _many "$NPAIRS" "$PAIR_BYTES"
done
report "" "one pair, $BYTES bytes, median of $RUNS"
report _many "$NPAIRS pairs at once, $PAIR_BYTES bytes each, median of $RUNS"

for s in "" _many; do
	label=$([ -z "$s" ] && echo "one pair" || echo "$NPAIRS pairs")
	r=$(median "$T_TMP/relay$s" 1)
	rc=$(median "$T_TMP/relay$s" 2)
	note "$label: relay/haproxy+splice $(ratio "$r" "$(median "$T_TMP/haproxy_splice$s" 1)")x," \
		"relay/haproxy $(ratio "$r" "$(median "$T_TMP/haproxy$s" 1)")x," \
		"relay/socat $(ratio "$r" "$(median "$T_TMP/socat$s" 1)")x," \
		"relay/direct $(ratio "$r" "$(median "$T_TMP/direct$s" 1)")x;" \
		"CPU/GB relay/haproxy+splice $(ratio "$rc" "$(median "$T_TMP/haproxy_splice$s" 2)")x," \
		"relay/haproxy $(ratio "$rc" "$(median "$T_TMP/haproxy$s" 2)")x"
done
check "every transfer completed" bash -c "! grep -q fail $T_TMP/*"
r=$(median "$T_TMP/relay" 1)
x=$(ratio "$r" "$(median "$T_TMP/haproxy_splice" 1)")
check "one pair: relay >= 1.2x haproxy with splice (measured ${x}x)" \
	awk -v x="$x" 'BEGIN { exit !(x >= 1.2) }'
x=$(ratio "$r" "$(median "$T_TMP/socat" 1)")
check "one pair: relay >= 3x socat (measured ${x}x)" awk -v x="$x" 'BEGIN { exit !(x >= 3) }'
rc=$(median "$T_TMP/relay" 2)
x=$(ratio "$rc" "$(median "$T_TMP/haproxy" 2)")
x2=$(ratio "$rc" "$(median "$T_TMP/haproxy_splice" 2)")
check "one pair: relay CPU/GB <= 0.5x haproxy's (measured ${x}x; with splice ${x2}x)" \
	awk -v x="$x" 'BEGIN { exit !(x <= 0.5) }'
t_done
