#!/usr/bin/env bash
# rd-relay on loopback: start-up rules, pairing, data both ways, relay tokens
# (none, forged, expired, another uuid's, two of one side) and the licence key
# of stock clients, deadlines, a third connection, half-close, bad first
# frames, idle pairs, metrics, logs, SIGTERM and the systemd unit.
source "$(dirname "$0")/../lib.sh"

RELAY=$RD_BUILD/rd-relay
PEER=$RD_BUILD/test/tools/relay-peer
for f in "$RELAY" "$PEER" "$RD_BUILD/rd-rendezvous"; do
	[ -x "$f" ] || { not_ok "missing $f (make test-programs)"; t_done; }
done
: >"$T_TMP/empty.ini"
# The rendezvous server's key pair (the relay gets the public key; relay-peer
# signs tokens with the secret one, as the server does) and a forger's.
KEY=$("$RD_BUILD/rd-rendezvous" --print-key --data-dir "$T_TMP/data" 2>/dev/null)
SK=$(cat "$T_TMP/data/id_ed25519")
"$RD_BUILD/rd-rendezvous" --print-key --data-dir "$T_TMP/forger" >/dev/null 2>&1
FORGED=$(cat "$T_TMP/forger/id_ed25519")
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
RDESK_DATA_DIR=$T_TMP/data relay_start dk -k - --pair-timeout 3
out=$("$PEER" -a "127.0.0.1:$PORT_dk" -s "$SK" pairs 2 100000 2>&1)
check "-k - takes the key from the data dir (tokens it signed pair)" grep -q " ok 2 failed 0" <<<"$out"
out=$("$PEER" -a "127.0.0.1:$PORT_dk" -s "$FORGED" -t 3 request k1 2>&1)
check "-k -: a token of another key is refused" closed_within "$out" 0 1.5
t_stop "$PID_dk"

# The key also comes from the INI file and the environment.
printf '[relay]\nkey = %s\n' "$KEY" >"$T_TMP/relay.ini"
port=$(t_free_port)
t_bg "$RELAY" --config "$T_TMP/relay.ini" -p "$port" -b 127.0.0.1 >"$T_TMP/ini.log" 2>&1
ini_pid=$T_LAST_PID
t_wait_tcp "$port" 10
out=$("$PEER" -a "127.0.0.1:$port" -s "$SK" pairs 1 1000 2>&1)
check "key from the INI file" grep -q " ok 1 failed 0" <<<"$out"
t_stop "$ini_pid"
port=$(t_free_port)
RDESK_KEY=$KEY t_bg "$RELAY" --config "$T_TMP/empty.ini" -p "$port" -b 127.0.0.1 >"$T_TMP/env.log" 2>&1
env_pid=$T_LAST_PID
t_wait_tcp "$port" 10
out=$("$PEER" -a "127.0.0.1:$port" -s "$FORGED" -t 3 request e1 2>&1)
check "key from RDESK_KEY (a token of another key is refused)" closed_within "$out" 0 1.5
t_stop "$env_pid"

# --- the main relay: closed, short deadlines, metrics ---
MPORT=$(t_free_port)
relay_start main -k "$KEY" --pair-timeout 2 --idle-timeout 5 --metrics "127.0.0.1:$MPORT"
P=("$PEER" -a "127.0.0.1:$PORT_main")
t_wait_tcp "$MPORT" 5

T=(-s "$SK")
out=$("${P[@]}" "${T[@]}" -t 120 pairs 1 200000000 2>&1)
note "$out"
check "one pair moves 200 MB each way, checksums equal" grep -q "pairs 1 ok 1 failed 0" <<<"$out"
out=$("${P[@]}" "${T[@]}" -t 60 pairs 16 4000000 2>&1)
note "$out"
check "16 pairs at once, 4 MB each way, every byte checked" grep -q "pairs 16 ok 16 failed 0" <<<"$out"

# What every agent and controller of the server has (its public key as the
# licence key) does not open the relay: only a token the server signed does.
out=$("${P[@]}" -k "$KEY" -t 3 request lk1)
check "licence key alone, no token: closed at once" closed_within "$out" 0 1.5
out=$("${P[@]}" -k "$KEY" -t 10 pairs 1 1000 2>&1)
check "licence key alone: no pair" grep -q "pairs 1 ok 0 failed 1" <<<"$out"
out=$("${P[@]}" -t 3 request m1)
check "no token, no key: closed at once" closed_within "$out" 0 1.5
out=$("${P[@]}" -k "$KEY" -s "$FORGED" -t 3 request f1)
check "forged token (another key), right licence key: closed at once" closed_within "$out" 0 1.5
out=$("${P[@]}" -k "$KEY" "${T[@]}" -e -30 -t 3 request x1)
check "expired token, right licence key: closed at once" closed_within "$out" 0 1.5
out=$("${P[@]}" -k "$KEY" "${T[@]}" -U other-uuid -t 3 request o1)
check "token of another uuid, right licence key: closed at once" closed_within "$out" 0 1.5
out=$("${P[@]}" "${T[@]}" -t 1 request alone1)
check "valid token, no peer yet: stays open while waiting" [ "$out" = open ]
"${P[@]}" "${T[@]}" -R 1 -t 4 request role1 >"$T_TMP/role1" &
r1=$!
sleep 0.5
out=$("${P[@]}" "${T[@]}" -R 1 -t 3 request role1)
check "a second controller's token on a waiting uuid: closed at once" closed_within "$out" 0 1.5
wait $r1
check "... and the first one kept waiting" closed_within "$(cat "$T_TMP/role1")" 1.5 4
out=$("${P[@]}" "${T[@]}" -t 6 request alone2)
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
out=$("${P[@]}" "${T[@]}" -t 5 third)
check "a third connection on a paired uuid is refused, the pair goes on" \
	grep -q "pair still works" <<<"$out"
out=$("${P[@]}" "${T[@]}" -t 30 halfclose 3000000 2>&1)
check "half-close: EOF passed on, the answer still flows back" grep -q "ok 1 failed 0" <<<"$out"

out=$("${P[@]}" "${T[@]}" -t 5 abort)
check "one side resets: the other is closed at once" closed_within "$out" 0 1.5

# Two sides that pair and then say nothing are closed after --idle-timeout (5 s).
"${P[@]}" "${T[@]}" -R 1 -t 12 request idle-pair >"$T_TMP/idle1" &
i1=$!
"${P[@]}" "${T[@]}" -R 2 -t 12 request idle-pair >"$T_TMP/idle2" &
i2=$!
wait $i1 $i2
check "an idle pair is closed after --idle-timeout (5 s)" closed_within "$(cat "$T_TMP/idle1")" 4.5 9
check "both sides of the idle pair are closed" closed_within "$(cat "$T_TMP/idle2")" 4.5 9

out=$("${P[@]}" "${T[@]}" pairs 4 100000 2>&1)
check "still serving everyone after the bad ones" grep -q "pairs 4 ok 4 failed 0" <<<"$out"

L=$LOG_main
check "log: one line per pairing with uuid and both addresses" \
	grep -qE "INFO relay: paired uuid=\"[0-9a-f]+-0\" 127\.0\.0\.1:[0-9]+ <-> 127\.0\.0\.1:[0-9]+" "$L"
check "log: pair end with bytes both ways and duration" \
	grep -qE "pair end uuid=.* 200000000 bytes, .* 200000000 bytes, [0-9.]+ s, throttled" "$L"
for r in no_token bad_token expired_token same_role pair_timeout first_frame_timeout garbage \
	not_request_relay bad_uuid uuid_busy; do
	check "log: refusal reason $r" grep -qE "refused 127\.0\.0\.1:[0-9]+.*: $r\$" "$L"
done
check "log: reset end" grep -qE "pair end uuid=\"[0-9a-f]+-abort\" .*, reset$" "$L"
check "log: idle end" grep -qE "pair end uuid=\"idle-pair\" .*, idle$" "$L"
check "log: no key in any line" bash -c "! grep -qF -- '$KEY' '$L'"
check "log: says tokens are required" grep -q "closed (relay token required)" "$L"

# The last pairs' ends reach the relay a little after relay-peer exits.
idle_metrics() {
	m=$(http_get "$MPORT" /metrics)
	grep -q '^rd_relay_pairs_active 0' <<<"$m" && grep -q '^rd_relay_pairs_pending 0' <<<"$m"
}
t_wait_until 10 idle_metrics
val() { awk -v k="$1" '$1 == k { print $2 }' <<<"$m"; }
check "metrics: pairings counted" awk -v v="$(val rd_relay_pairings_total)" 'BEGIN { exit !(v >= 23) }'
check "metrics: no_token refusals counted" [ "$(val 'rd_relay_refusals_total{reason="no_token"}')" = 4 ]
check "metrics: bad_token refusals counted" [ "$(val 'rd_relay_refusals_total{reason="bad_token"}')" = 2 ]
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

# Stock RustDesk clients hold no token: the operator may let the key do.
relay_start lic -k "$KEY" --allow-licence-key --pair-timeout 3
out=$("$PEER" -a "127.0.0.1:$PORT_lic" -k "$KEY" pairs 2 100000 2>&1)
check "--allow-licence-key: the licence key alone pairs" grep -q "pairs 2 ok 2 failed 0" <<<"$out"
out=$("$PEER" -a "127.0.0.1:$PORT_lic" -s "$SK" pairs 1 100000 2>&1)
check "--allow-licence-key: tokens still pair" grep -q "pairs 1 ok 1 failed 0" <<<"$out"
out=$("$PEER" -a "127.0.0.1:$PORT_lic" -k "$WRONG" -t 3 request lw1)
check "--allow-licence-key: a wrong licence key is refused" closed_within "$out" 0 1.5
out=$("$PEER" -a "127.0.0.1:$PORT_lic" -k "$KEY" -s "$FORGED" -t 3 request lf1)
check "--allow-licence-key: a forged token is refused even with the key" closed_within "$out" 0 1.5
check "--allow-licence-key: says so in the log" \
	grep -q "closed (relay token, or the licence key for stock clients)" "$LOG_lic"
for r in wrong_key bad_token; do
	check "--allow-licence-key: refusal reason $r logged" grep -qE "refused 127\.0\.0\.1:[0-9]+.*: $r\$" "$LOG_lic"
done
t_stop "$PID_lic"
out=$("$RELAY" --config "$T_TMP/empty.ini" --open --allow-licence-key -p "$(t_free_port)" 2>&1); rc=$?
check "--allow-licence-key without -k: refuses to start" [ "$rc" -ne 0 ]

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
