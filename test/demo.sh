#!/usr/bin/env bash
# make demo: the whole product on one machine.
#   rd-rendezvous and rd-relay on loopback with a fresh key,
#   an agent enrolled against them on an Xvfb display with moving content,
#   and rdctl on it: a live mpv window when this session has a display ($DISPLAY),
#   else a screenshot and a short recording written under $RD_BUILD/demo/.
# Everything it starts is ended (by PID) when it finishes or is interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${RD_BUILD:-build}
case $B in /*) ;; *) B=$PWD/$B ;; esac
out=$B/demo
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/rdesk-demo.XXXXXX")
pids=()

cleanup() {
	local pid i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		pid=${pids[$i]}
		kill -TERM "$pid" 2>/dev/null || continue
		for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, cleaning up"; exit 130' INT TERM

say() { printf '\033[1mdemo:\033[0m %s\n' "$*"; }
start() { local log=$1; shift; "$@" >"$work/$log.log" 2>&1 & pids+=($!); }
free_port() { # a port p with p and p-1 free for TCP and UDP
	local used p
	used=$(ss -Htuan | awk '{print $5}' | sed 's/.*://' | sort -u)
	while :; do
		p=$((30000 + RANDOM % 30000))
		grep -qxE "$p|$((p - 1))" <<<"$used" || { echo "$p"; return; }
	done
}
wait_for() { # wait_for SECS CMD...
	local secs=$1 i; shift
	for i in $(seq $((secs * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
fail() { echo "demo: $*" >&2; for f in "$work"/*.log; do echo "--- $f"; tail -n 20 "$f"; done >&2; exit 1; }

rvport=$(free_port)
relayport=$(free_port)
say "rendezvous server on 127.0.0.1:$rvport (UDP+TCP, NAT test on $((rvport - 1))), relay on 127.0.0.1:$relayport"
mkdir -p "$work/rv"
key=$("$B/rd-rendezvous" --config= --data-dir "$work/rv" --print-key)
start rendezvous "$B/rd-rendezvous" --config= -p "$rvport" -b 127.0.0.1 -k - --data-dir "$work/rv" \
	-r "127.0.0.1:$relayport"
start relay "$B/rd-relay" --config= -p "$relayport" -b 127.0.0.1 -k "$key"
wait_for 10 bash -c "ss -Htln 'sport = :$rvport' | grep -q ." || fail "rendezvous server did not start"
say "server key: $key"

# A virtual display with something moving on it.
for n in $(seq 50 150); do [ -e /tmp/.X11-unix/X$n ] || [ -e /tmp/.X$n-lock ] || break; done
start xvfb Xvfb ":$n" -screen 0 1280x720x24 -nolisten tcp -noreset
wait_for 10 test -e /tmp/.X11-unix/X$n || fail "Xvfb did not start"
DISPLAY=:$n xsetroot -solid '#2d5b86'
start xterm env DISPLAY=:$n xterm -geometry 100x30+40+40 -fa Monospace -fs 12 -e top -d 1
start motion env DISPLAY=:$n mpv --no-config --really-quiet --no-audio --loop=inf \
	--geometry=480x270+760+400 --vo=x11 'av://lavfi:testsrc2=size=480x270:rate=25'
say "virtual display :$n with a terminal and a moving test pattern"

# Enroll an agent against the servers, give it a password, run it.
password=$(head -c 12 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9' | head -c 12)
printf '%s' "$password" >"$work/password"
chmod 600 "$work/password"
export RDESK_DATA_DIR=$work/agent
id=$("$B/rd-agent" enroll --config "$work/agent.ini" --server "127.0.0.1:$rvport" --key "$key" \
	--relay "127.0.0.1:$relayport")
printf '%s\n' "$password" | "$B/rd-agent" password set --config "$work/agent.ini"
start agent env DISPLAY=:$n "$B/rd-agent" run --config "$work/agent.ini" --capture-backend x11 --display ":$n"
ctl=("$B/rdctl" --config= --server "127.0.0.1:$rvport" --key "$key" --password-file "$work/password"
	--known-peers "$work/known_peers")
wait_for 20 "${ctl[@]}" lookup "$id" || fail "the agent did not register"
say "agent $id registered (rdctl lookup $id says online)"

if [ -n "${DISPLAY:-}" ] && [ -t 1 ] && command -v mpv >/dev/null; then
	say "opening the remote screen in mpv; close the window (or press Ctrl+C here) to end the demo"
	"${ctl[@]}" connect "$id" --viewer mpv || true
else
	say "no display of your own here: taking a screenshot and a 5-second recording instead"
	"${ctl[@]}" --json screenshot "$id" -o "$out/screenshot.png"
	echo
	"${ctl[@]}" --json record "$id" -o "$out/recording.mkv" --duration 5
	echo
	say "screenshot: $out/screenshot.png"
	say "recording:  $out/recording.mkv ($(ffprobe -v error -show_entries stream=codec_name,width,height \
		-of csv=p=0 "$out/recording.mkv" 2>/dev/null))"
	say "to watch it live on a machine with a display: DISPLAY=:0 make demo"
fi
say "done; stopping everything it started"
