#!/usr/bin/env bash
# rd-relay on loopback: start-up rules, pairing, data both ways, keys, deadlines,
# a third connection, half-close, bad first frames, idle pairs, metrics, logs,
# SIGTERM and the systemd unit.
source "$(dirname "$0")/../lib.sh"

RELAY=$RD_BUILD/rd-relay
PEER=$RD_BUILD/test/tools/relay-peer
for f in "$RELAY" "$PEER"; do
	[ -x "$f" ] || { not_ok "missing $f (make test-programs)"; t_done; }
done
: >"$T_TMP/empty.ini"
KEY=$(head -c 32 /dev/urandom | base64)
WRONG=$(head -c 32 /dev/urandom | base64)

# relay_start NAME ARGS...: start rd-relay on a free port; sets PORT_<NAME>,
# PID_<NAME> and LOG_<NAME>.
relay_start() {
	local name=$1 port log; shift
	port=$(t_free_port) || return 1
	log=$T_TMP/relay-$name.log
	t_bg "$RELAY" --config "$T_TMP/empty.ini" -p "$port" -b 127.0.0.1 "$@" >"$log" 2>&1
	printf -v "PORT_$name" %s "$port"
	printf -v "PID_$name" %s "$T_LAST_PID"
	printf -v "LOG_$name" %s "$log"
	t_wait_tcp "$port" 10
}
# secs_between OUT LO HI: the "closed SECS" line of relay-peer is within [LO, HI].
closed_within() {
	local out=$1 lo=$2 hi=$3 s
	[[ $out == closed\ * ]] || return 1
	s=${out#closed }
	awk -v s="$s" -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(s >= lo && s <= hi) }'
}
http_get() { # http_get PORT PATH: prints the whole response
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf 'GET %s HTTP/1.0\r\nHost: x\r\n\r\n' "$2" >&$fd
	timeout 5 cat <&$fd
	exec {fd}>&-
}

# --- start-up rules ---
out=$("$RELAY" --config "$T_TMP/empty.ini" -p "$(t_free_port)" 2>&1); rc=$?
check "refuses to start without -k or --open" [ "$rc" -ne 0 ]
check "says why it refused to start" grep -q -- "--open" <<<"$out"
out=$("$RELAY" --config "$T_TMP/empty.ini" -k not-a-key 2>&1); rc=$?
check "refuses a key that is not a base64 public key" [ "$rc" -ne 0 ]
check "--help lists the flags" bash -c "'$RELAY' --help | grep -q -- '--single-bandwidth'"
check "--version prints the version" bash -c "'$RELAY' --version | grep -q '^rd-relay '"
out=$("$RELAY" --config "$T_TMP/empty.ini" --max-pairs 0 --open 2>&1); rc=$?
check "rejects --max-pairs 0" [ "$rc" -ne 0 ]

# -k - reads id_ed25519.pub from the data dir.
mkdir -p "$T_TMP/data" && printf '%s' "$KEY" >"$T_TMP/data/id_ed25519.pub"
RDESK_DATA_DIR=$T_TMP/data relay_start dk -k - --pair-timeout 3
out=$("$PEER" -a "127.0.0.1:$PORT_dk" -k "$KEY" pairs 2 100000 2>&1)
check "-k - takes the key from the data dir (pairs with it)" grep -q " ok 2 failed 0" <<<"$out"
out=$("$PEER" -a "127.0.0.1:$PORT_dk" -k "$WRONG" -t 3 request k1 2>&1)
check "-k -: another key is refused" closed_within "$out" 0 1.5
t_stop "$PID_dk"

# The key also comes from the INI file and the environment.
printf '[relay]\nkey = %s\n' "$KEY" >"$T_TMP/relay.ini"
port=$(t_free_port)
t_bg "$RELAY" --config "$T_TMP/relay.ini" -p "$port" -b 127.0.0.1 >"$T_TMP/ini.log" 2>&1
ini_pid=$T_LAST_PID
t_wait_tcp "$port" 10
out=$("$PEER" -a "127.0.0.1:$port" -k "$KEY" pairs 1 1000 2>&1)
check "key from the INI file" grep -q " ok 1 failed 0" <<<"$out"
t_stop "$ini_pid"
port=$(t_free_port)
RDESK_KEY=$KEY t_bg "$RELAY" --config "$T_TMP/empty.ini" -p "$port" -b 127.0.0.1 >"$T_TMP/env.log" 2>&1
env_pid=$T_LAST_PID
t_wait_tcp "$port" 10
out=$("$PEER" -a "127.0.0.1:$port" -k "$WRONG" -t 3 request e1 2>&1)
check "key from RDESK_KEY (a wrong one is refused)" closed_within "$out" 0 1.5
t_stop "$env_pid"

# --- the main relay: closed, short deadlines, metrics ---
MPORT=$(t_free_port)
relay_start main -k "$KEY" --pair-timeout 2 --idle-timeout 5 --metrics "127.0.0.1:$MPORT"
P=("$PEER" -a "127.0.0.1:$PORT_main")
t_wait_tcp "$MPORT" 5

out=$("${P[@]}" -k "$KEY" -t 120 pairs 1 200000000 2>&1)
note "$out"
check "one pair moves 200 MB each way, checksums equal" grep -q "pairs 1 ok 1 failed 0" <<<"$out"
out=$("${P[@]}" -k "$KEY" -t 60 pairs 16 4000000 2>&1)
note "$out"
check "16 pairs at once, 4 MB each way, every byte checked" grep -q "pairs 16 ok 16 failed 0" <<<"$out"

out=$("${P[@]}" -k "$WRONG" -t 3 request w1)
check "wrong licence key: closed at once" closed_within "$out" 0 1.5
out=$("${P[@]}" -t 3 request m1)
check "missing licence key: closed at once" closed_within "$out" 0 1.5
out=$("${P[@]}" -k "$KEY" -t 1 request alone1)
check "right key, no peer yet: stays open while waiting" [ "$out" = open ]
out=$("${P[@]}" -k "$KEY" -t 6 request alone2)
check "unpaired side closed after --pair-timeout (2 s)" closed_within "$out" 1.5 4
out=$("${P[@]}" -t 6 raw '')
check "no first frame: closed after the deadline" closed_within "$out" 1.5 4
out=$("${P[@]}" -t 6 raw '9001')
check "half a first frame: closed after the deadline" closed_within "$out" 1.5 4
out=$("${P[@]}" -t 3 garbage 40)
check "garbage first frame: closed at once" closed_within "$out" 0 1.5
out=$("${P[@]}" -t 3 raw 'ffffffff00')
check "first frame announcing 1 GB: closed at once" closed_within "$out" 0 1.5
out=$("${P[@]}" -t 3 raw '083200')
check "another RendezvousMessage first: closed at once" closed_within "$out" 0 1.5
out=$("${P[@]}" -t 3 raw '0c920100')
check "RequestRelay without uuid: closed at once" closed_within "$out" 0 1.5
out=$("${P[@]}" -k "$KEY" -t 5 third)
check "a third connection on a paired uuid is refused, the pair goes on" \
	grep -q "pair still works" <<<"$out"
out=$("${P[@]}" -k "$KEY" -t 30 halfclose 3000000 2>&1)
check "half-close: EOF passed on, the answer still flows back" grep -q "ok 1 failed 0" <<<"$out"

out=$("${P[@]}" -k "$KEY" -t 5 abort)
check "one side resets: the other is closed at once" closed_within "$out" 0 1.5

# Two sides that pair and then say nothing are closed after --idle-timeout (5 s).
"${P[@]}" -k "$KEY" -t 12 request idle-pair >"$T_TMP/idle1" &
i1=$!
"${P[@]}" -k "$KEY" -t 12 request idle-pair >"$T_TMP/idle2" &
i2=$!
wait $i1 $i2
check "an idle pair is closed after --idle-timeout (5 s)" closed_within "$(cat "$T_TMP/idle1")" 4.5 9
check "both sides of the idle pair are closed" closed_within "$(cat "$T_TMP/idle2")" 4.5 9

out=$("${P[@]}" -k "$KEY" pairs 4 100000 2>&1)
check "still serving everyone after the bad ones" grep -q "pairs 4 ok 4 failed 0" <<<"$out"

L=$LOG_main
check "log: one line per pairing with uuid and both addresses" \
	grep -qE "INFO relay: paired uuid=\"[0-9a-f]+-0\" 127\.0\.0\.1:[0-9]+ <-> 127\.0\.0\.1:[0-9]+" "$L"
check "log: pair end with bytes both ways and duration" \
	grep -qE "pair end uuid=.* 200000000 bytes, .* 200000000 bytes, [0-9.]+ s, throttled" "$L"
for r in wrong_key missing_key pair_timeout first_frame_timeout garbage not_request_relay \
	bad_uuid uuid_busy; do
	check "log: refusal reason $r" grep -qE "refused 127\.0\.0\.1:[0-9]+.*: $r\$" "$L"
done
check "log: reset end" grep -qE "pair end uuid=\"[0-9a-f]+-abort\" .*, reset$" "$L"
check "log: idle end" grep -qE "pair end uuid=\"idle-pair\" .*, idle$" "$L"
check "log: no key in any line" bash -c "! grep -qF -- '$KEY' '$L'"

# The last pairs' ends reach the relay a little after relay-peer exits.
idle_metrics() {
	m=$(http_get "$MPORT" /metrics)
	grep -q '^rd_relay_pairs_active 0' <<<"$m" && grep -q '^rd_relay_pairs_pending 0' <<<"$m"
}
t_wait_until 10 idle_metrics
val() { awk -v k="$1" '$1 == k { print $2 }' <<<"$m"; }
check "metrics: pairings counted" awk -v v="$(val rd_relay_pairings_total)" 'BEGIN { exit !(v >= 23) }'
check "metrics: wrong_key refusal counted" [ "$(val 'rd_relay_refusals_total{reason="wrong_key"}')" = 1 ]
check "metrics: bytes counted" awk -v v="$(val rd_relay_bytes_total)" 'BEGIN { exit !(v >= 400000000) }'
check "metrics: active and pending gauges" bash -c "grep -q '^rd_relay_pairs_active 0' <<<'$m' &&
	grep -q '^rd_relay_pairs_pending 0' <<<'$m'"
check "metrics: throttled time exported" grep -q '^rd_relay_throttled_seconds ' <<<"$m"
check "/healthz answers ok" bash -c "http_get() { exec 3<>/dev/tcp/127.0.0.1/$MPORT;
	printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3; timeout 5 cat <&3; }; http_get | grep -q '200'"

kill -TERM "$PID_main"
for i in $(seq 50); do kill -0 "$PID_main" 2>/dev/null || break; sleep 0.1; done
wait "$PID_main"; rc=$?
check_eq "SIGTERM: exits with 0" 0 "$rc"
check "SIGTERM: logged" grep -q "shutting down" "$L"

# An open relay takes anyone, without a key.
relay_start open --open
out=$("$PEER" -a "127.0.0.1:$PORT_open" pairs 2 100000 2>&1)
check "--open: pairs without a key" grep -q "pairs 2 ok 2 failed 0" <<<"$out"
check "--open: says so in the log" grep -q "OPEN to anyone" "$LOG_open"
t_stop "$PID_open"

# The systemd unit: hardened and valid (ExecStart pointed at the built binary).
U=$RD_TOP/systemd/rd-relay.service
for d in Type=notify WatchdogSec= DynamicUser=yes NoNewPrivileges=yes ProtectSystem=strict \
	PrivateTmp=yes 'CapabilityBoundingSet=$' LimitNOFILE=; do
	check "unit has $d" grep -qE "^$d" "$U"
done
mkdir -p "$T_TMP/unit"
sed "s|^ExecStart=/usr/local/bin/rd-relay|ExecStart=$RELAY|" "$U" >"$T_TMP/unit/rd-relay.service"
if command -v systemd-analyze >/dev/null; then
	out=$(cd "$T_TMP/unit" && systemd-analyze verify ./rd-relay.service 2>&1); rc=$?
	[ -n "$out" ] && note "$out"
	check "systemd-analyze verify passes on the unit" [ "$rc" -eq 0 ] && [ -z "$out" ]
else
	not_ok "systemd-analyze not installed (make deps)"
fi
t_done
