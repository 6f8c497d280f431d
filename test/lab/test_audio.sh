#!/usr/bin/env bash
# Sound: a private PipeWire daemon with WirePlumber and a null sink (the
# default sink), a 1 kHz tone played into it with pw-play, and an agent on
# the testsrc picture. rdctl listen must write Ogg Opus and WAV files whose
# sound ffprobe reads as Opus 48 kHz (the Ogg file), whose dominant frequency
# is the tone's (within 2 %) and whose level is within 3 dB of the tone's.
# rdctl record must write the same sound as an Opus track beside the
# picture (MKV, WebM, MP4), and rdctl connect must play it in mpv (recorded
# from a second sink). A controller that asks for no sound gets none, sound
# also comes through the relay, and a sink that goes away and comes back
# is heard again.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pipewire-env.sh"
source "$(dirname "$0")/ctl_env.sh"
t_require_root
for tool in pipewire wireplumber pw-play pw-cli dbus-daemon ffprobe ffmpeg python3; do
	command -v $tool >/dev/null || { not_ok "$tool is missing (run make deps)"; t_done; }
done
analyse=$(dirname "$0")/../tools/tone-analyse.py
TONE_HZ=1000
TONE_DB=-9.03   # RMS of a sine at half of full scale

# A stereo 16-bit WAV of the tone, 60 s (pw-play repeats nothing).
python3 - "$T_TMP/source-tone.wav" <<'PY'
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(2); w.setsampwidth(2); w.setframerate(48000)
one = b"".join(struct.pack("<hh", v, v) for v in
               (int(16384 * math.sin(2 * math.pi * 1000 * i / 48000)) for i in range(48000)))
for _ in range(60):
    w.writeframes(one)
w.close()
PY

check "pipewire daemon started" pw_env_start
check "wireplumber started" pw_env_wireplumber
timeout 5 pw-cli create-node adapter '{ factory.name=support.null-audio-sink node.name=rd-null
	media.class=Audio/Sink object.linger=true audio.position=[FL FR] }' >"$T_TMP/sink.log" 2>&1
sink_listed() { timeout 5 pw-cli ls Node 2>/dev/null | grep -q 'node.name = "rd-null"'; }
check "null sink rd-null created" t_wait_until 10 sink_listed
t_bg pw-play --target rd-null "$T_TMP/source-tone.wav" >"$T_TMP/pw-play.log" 2>&1
TONE_PID=$T_LAST_PID

check "servers up" ctl_servers
check "agent enrolled (testsrc picture)" ctl_agent_enroll 7001001 "" testsrc
DPORT=$(t_free_port)
check "agent started" ctl_agent_start 7001001 --log-level debug --direct-port "$DPORT" \
	--direct-bind 127.0.0.1

# listen FILE: 3 s of sound; checks the result and the file's sound.
listen_check() {
	local f=$1 how=$2
	rdctl_run listen 7001001 -o "$T_TMP/$f" --duration 3 "${@:3}"
	check_eq "listen $f ($how): exit status" 0 "$CTL_RC"
	check_eq "listen $f: result names the codec" opus "$(jfield audio_codec)"
	check_eq "listen $f: result names the rate" 48000 "$(jfield audio_rate)"
	check_eq "listen $f: result names the channels" 2 "$(jfield audio_channels)"
	check "listen $f: duration about 3 s ($(jfield audio_duration))" \
		float_lt "$(awk -v d="$(jfield audio_duration)" 'BEGIN { print (d > 3 ? d - 3 : 3 - d) }')" 0.1
	local wav=$T_TMP/$f.wav
	case $f in
	*.wav) cp "$T_TMP/$f" "$wav" ;;
	*) check_eq "listen $f: ffprobe reads Opus" opus "$(ffprobe -v error -select_streams a:0 \
			-show_entries stream=codec_name -of csv=p=0 "$T_TMP/$f")"
		check_eq "listen $f: at 48 kHz" 48000 "$(ffprobe -v error -select_streams a:0 \
			-show_entries stream=sample_rate -of csv=p=0 "$T_TMP/$f")"
		ffmpeg -v error -y -i "$T_TMP/$f" -c:a pcm_s16le -ar 48000 "$wav" ;;
	esac
	local got freq db
	got=$(python3 "$analyse" "$wav" 0.5)
	note "$f: $got"
	freq=$(awk '{ print $2 }' <<<"$got")
	db=$(awk '{ print $4 }' <<<"$got")
	check "listen $f: dominant frequency within 2 % of $TONE_HZ Hz ($freq)" \
		awk -v f="$freq" -v t=$TONE_HZ 'BEGIN { exit !(f > t * 0.98 && f < t * 1.02) }'
	check "listen $f: level within 3 dB of the tone ($db dBFS, tone $TONE_DB)" \
		awk -v d="$db" -v t=$TONE_DB 'BEGIN { x = d - t; exit !(x > -3 && x < 3) }'
}
listen_check tone.opus direct
listen_check tone.wav direct
# record: the Opus track beside the picture, both about as long as asked.
record_check() {
	local f=$1 got a v
	rdctl_run record 7001001 -o "$T_TMP/$f" --duration 3
	check_eq "record $f: exit status" 0 "$CTL_RC"
	check_eq "record $f: result names the sound codec" opus "$(jfield audio_codec)"
	check_eq "record $f: an Opus 48 kHz track beside the picture" "opus,48000" \
		"$(ffprobe -v error -select_streams a:0 -show_entries stream=codec_name,sample_rate \
			-of csv=p=0 "$T_TMP/$f")"
	v=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_type -of csv=p=0 "$T_TMP/$f")
	check_eq "record $f: and the picture" video "$v"
	local vs as
	vs=$(ffprobe -v error -select_streams v:0 -show_entries stream=start_time -of csv=p=0 "$T_TMP/$f")
	as=$(ffprobe -v error -select_streams a:0 -show_entries stream=start_time -of csv=p=0 "$T_TMP/$f")
	check "record $f: sound starts with the picture (video $vs s, audio $as s)" \
		awk -v v="$vs" -v a="$as" 'BEGIN { d = a - v; exit !(d > -0.5 && d < 0.5) }'
	a=$(jfield audio_duration)
	check "record $f: about 3 s of sound ($a)" awk -v d="$a" 'BEGIN { exit !(d > 2.8 && d < 3.1) }'
	ffmpeg -v error -y -i "$T_TMP/$f" -map 0:a:0 -c:a pcm_s16le -ar 48000 "$T_TMP/$f.wav"
	got=$(python3 "$analyse" "$T_TMP/$f.wav" 0.5)
	note "$f: $got"
	check "record $f: the tone's frequency and level" awk -v f="$(awk '{ print $2 }' <<<"$got")" \
		-v d="$(awk '{ print $4 }' <<<"$got")" -v t=$TONE_DB \
		'BEGIN { exit !(f > 980 && f < 1020 && d - t > -3 && d - t < 3) }'
}
record_check rec.mkv
record_check rec.webm
record_check rec.mp4
rdctl_run record 7001001 -o "$T_TMP/mute.mkv" --duration 1 --no-audio
check_eq "record --no-audio: exit status" 0 "$CTL_RC"
check_eq "record --no-audio: no sound track" "" "$(ffprobe -v error -select_streams a \
	-show_entries stream=codec_name -of csv=p=0 "$T_TMP/mute.mkv")"

grep -q 'audio on: monitor of the default sink' "$T_TMP/agent-7001001/agent.log"
check "agent logged the sound source" test $? = 0

# A controller that asks for no sound (screenshot sets disable_audio) gets
# none: the agent starts no sound for it.
before=$(grep -c 'audio on:' "$T_TMP/agent-7001001/agent.log")
rdctl_run screenshot 7001001 -o "$T_TMP/shot.png"
check_eq "screenshot (no sound asked) exit status" 0 "$CTL_RC"
sleep 0.5
check_eq "no sound started for a controller that asked for none" "$before" \
	"$(grep -c 'audio on:' "$T_TMP/agent-7001001/agent.log")"

# Through the relay.
rdctl_run listen 7001001 -o "$T_TMP/relay.opus" --duration 2 --relay
check_eq "listen through the relay: exit status" 0 "$CTL_RC"
check_eq "listen through the relay: path" relay "$(jfield path)"
got=$(ffmpeg -v error -y -i "$T_TMP/relay.opus" -c:a pcm_s16le "$T_TMP/relay.wav" && python3 "$analyse" "$T_TMP/relay.wav" 0.5)
note "relay: $got"
check "listen through the relay: the tone" awk -v f="$(awk '{ print $2 }' <<<"$got")" \
	'BEGIN { exit !(f > 980 && f < 1020) }'

# connect: mpv plays picture and sound from one Matroska stream. Its sound
# goes to a second null sink (PIPEWIRE_NODE), whose monitor is recorded:
# the tone must come out of the player.
if command -v mpv >/dev/null && command -v Xvfb >/dev/null && command -v pw-record >/dev/null; then
	timeout 5 pw-cli create-node adapter '{ factory.name=support.null-audio-sink node.name=rd-play
		media.class=Audio/Sink object.linger=true audio.position=[FL FR] }' >>"$T_TMP/sink.log" 2>&1
	check "Xvfb for the player" t_xvfb 320x240x24
	t_bg timeout 12 pw-record -P '{ stream.capture.sink=true }' --target rd-play "$T_TMP/played.wav"
	REC_PID=$T_LAST_PID
	DISPLAY=$T_DISPLAY PIPEWIRE_NODE=rd-play rdctl_run connect 7001001 --viewer mpv --duration 5
	check_eq "connect with sound: exit status" 0 "$CTL_RC"
	t_stop "$REC_PID"
	got=$(python3 "$analyse" "$T_TMP/played.wav" 2 2>&1)
	note "played by mpv: $got"
	check "connect: mpv played the tone ($got)" awk -v f="$(awk '{ print $2 }' <<<"$got")" \
		-v d="$(awk '{ print $4 }' <<<"$got")" 'BEGIN { exit !(f > 980 && f < 1020 && d > -20) }'
fi
# The same with ffplay (SDL's PipeWire output, sent to rd-play the same way).
if command -v ffplay >/dev/null && command -v Xvfb >/dev/null && command -v pw-record >/dev/null; then
	t_bg timeout 12 pw-record -P '{ stream.capture.sink=true }' --target rd-play "$T_TMP/played-ff.wav"
	REC_PID=$T_LAST_PID
	DISPLAY=$T_DISPLAY SDL_AUDIODRIVER=pipewire PIPEWIRE_NODE=rd-play \
		rdctl_run connect 7001001 --viewer ffplay --duration 5
	check_eq "connect --viewer ffplay with sound: exit status" 0 "$CTL_RC"
	t_stop "$REC_PID"
	got=$(python3 "$analyse" "$T_TMP/played-ff.wav" 2 2>&1)
	note "played by ffplay: $got"
	check "connect: ffplay played the tone ($got)" awk -v f="$(awk '{ print $2 }' <<<"$got")" \
		-v d="$(awk '{ print $4 }' <<<"$got")" 'BEGIN { exit !(f > 980 && f < 1020 && d > -20) }'
fi

# A stock RustDesk controller (it sets no disable_audio) gets RustDesk's
# Misc.audio_format{48000, 2} and AudioFrames it can read.
SOUT=$(timeout 40 python3 "$(dirname "$0")/../tools/stock-controller.py" "$DPORT" 7001001 \
	"$(cat "$T_TMP/agent-7001001/data/id_ed25519.pub")" "$CTL_PW" audio 2>&1)
check_eq "stock controller: video and sound" 0 $?
check "stock controller: AudioFormat 48000 Hz, 2 channels" grep -qx "audio-format 48000 2" <<<"$SOUT"
check "stock controller: an AudioFrame with an Opus packet" grep -qE "^audio-frame [1-9][0-9]*$" <<<"$SOUT"
note "stock controller: $(tr '\n' ' ' <<<"$SOUT")"

# connect --no-audio: the agent starts no sound for it.
before=$(grep -c 'audio on:' "$T_TMP/agent-7001001/agent.log")
rdctl_run connect 7001001 --viewer none --duration 1.5 --no-audio
check_eq "connect --no-audio: exit status" 0 "$CTL_RC"
check_eq "connect --no-audio: no sound started" "$before" \
	"$(grep -c 'audio on:' "$T_TMP/agent-7001001/agent.log")"

# The sink goes away during a listen and comes back: the tone is heard
# again in the same file, and the agent lives on.
sink_id() { timeout 5 pw-cli ls Node 2>/dev/null | awk '$1 == "id" { id = $2; sub(",", "", id) }
	/node.name = "rd-null"/ { print id; exit }'; }
(
	sleep 1.5
	timeout 5 pw-cli destroy "$(sink_id)" >/dev/null 2>&1
	sleep 1.5
	timeout 5 pw-cli create-node adapter '{ factory.name=support.null-audio-sink node.name=rd-null
		media.class=Audio/Sink object.linger=true audio.position=[FL FR] }' >/dev/null 2>&1
	sleep 0.3
	exec pw-play --target rd-null "$T_TMP/source-tone.wav"
) >/dev/null 2>&1 &
T_PIDS+=("$!")
SINK_JOB=$!
rdctl_run listen 7001001 -o "$T_TMP/gone.wav" --duration 7
check_eq "listen while the sink goes and comes back: exit status" 0 "$CTL_RC"
got=$(python3 "$analyse" "$T_TMP/gone.wav" 5)
note "after the sink came back: $got"
check "the tone is heard again once the sink is back" awk -v f="$(awk '{ print $2 }' <<<"$got")" \
	-v d="$(awk '{ print $4 }' <<<"$got")" 'BEGIN { exit !(f > 980 && f < 1020 && d > -12) }'
check "the agent lives on" kill -0 "$CTL_AGENT_PID"
t_stop "$SINK_JOB"

# Split in two, as installed: the agent as uid 65534 under its seccomp
# filter cannot reach the daemon's socket (a root 0700 folder);
# rd-agent-helper connects for it and hands the connection over. The tone
# must come through that connection, with no system call refused.
if [ -x "$RD_BUILD/rd-agent-helper" ] && command -v setpriv >/dev/null; then
	chmod 0711 "$T_TMP"
	HS=$T_TMP/helper/helper.sock
	mkdir -m 0755 "$T_TMP/helper"
	t_bg "$RD_BUILD/rd-agent-helper" --listen "$HS" --agent-user 65534 \
		--runtime-dir "$XDG_RUNTIME_DIR" -l debug >>"$T_TMP/helper.log" 2>&1
	HELPER_PID=$T_LAST_PID
	check "rd-agent-helper started" t_wait_until 10 test -S "$HS"
	check "third agent enrolled" ctl_agent_enroll 7001003 "" testsrc
	chown -R 65534:65534 "$T_TMP/agent-7001003"
	MAIN_AGENT=$CTL_AGENT_PID
	CTL_AGENT_WRAP=(setpriv --reuid=65534 --regid=65534 --clear-groups env -u XDG_RUNTIME_DIR
		-u DBUS_SESSION_BUS_ADDRESS)
	check "agent as uid 65534 with --helper started" ctl_agent_start 7001003 --helper "$HS"
	CTL_AGENT_WRAP=()
	rdctl_run listen 7001003 -o "$T_TMP/split.opus" --duration 2
	check_eq "split agent: listen exit status" 0 "$CTL_RC"
	ffmpeg -v error -y -i "$T_TMP/split.opus" -c:a pcm_s16le "$T_TMP/split.wav"
	got=$(python3 "$analyse" "$T_TMP/split.wav" 0.5)
	note "split: $got"
	check "split agent: the tone through the helper's connection ($got)" \
		awk -v f="$(awk '{ print $2 }' <<<"$got")" -v d="$(awk '{ print $4 }' <<<"$got")" \
		-v t=$TONE_DB 'BEGIN { exit !(f > 980 && f < 1020 && d - t > -3 && d - t < 3) }'
	check "split agent: seccomp filter installed" grep -q "seccomp filter installed" \
		"$T_TMP/agent-7001003/agent.log"
	check "the helper connected to PipeWire for uid 65534" grep -q "uid=65534 pipewire 0: done" \
		"$T_TMP/helper.log"
	t_stop "$CTL_AGENT_PID"
	check_no_sanitizer "no sanitizer report from the split agent" "$T_TMP/agent-7001003/agent.log"
	t_stop "$HELPER_PID"
	CTL_AGENT_PID=$MAIN_AGENT
fi

# [audio] source names the node; a view-only host still sends sound. One
# agent with the tone's sink named, one with a sink nothing plays into.
timeout 5 pw-cli create-node adapter '{ factory.name=support.null-audio-sink node.name=rd-quiet
	media.class=Audio/Sink object.linger=true audio.position=[FL FR] }' >/dev/null 2>&1
check "null sink rd-quiet created" t_wait_until 10 bash -c \
	"timeout 5 pw-cli ls Node 2>/dev/null | grep -q 'node.name = \"rd-quiet\"'"
source_check() { # source_check ID NODE: listen 2 s to an agent capturing NODE
	local id=$1 node=$2
	MAIN_AGENT=$CTL_AGENT_PID
	ctl_agent_enroll "$id" "" testsrc && ctl_agent_start "$id" --view-only --audio-source "$node" ||
		return 1
	rdctl_run listen "$id" -o "$T_TMP/src-$node.wav" --duration 2
	t_stop "$CTL_AGENT_PID"
	CTL_AGENT_PID=$MAIN_AGENT
	got=$(python3 "$analyse" "$T_TMP/src-$node.wav" 0.5)
	note "source $node: $got, $(jfield audio_packets) packets"
}
source_check 7001005 rd-null
check "view-only agent, source rd-null: the tone ($got)" \
	awk -v f="$(awk '{ print $2 }' <<<"$got")" -v d="$(awk '{ print $4 }' <<<"$got")" \
	-v t=$TONE_DB 'BEGIN { exit !(f > 980 && f < 1020 && d - t > -3 && d - t < 3) }'
source_check 7001006 rd-quiet
check "source rd-quiet: silence, next to no packets ($(jfield audio_packets))" \
	test "$(jfield audio_packets)" -le 5
# A recording that ends in silence: the tone stops 3 s after a 5 s recording
# was asked for; the agent sends nothing after it, and the sound track still
# lasts as the picture.
( rdctl_run record 7001001 -o "$T_TMP/tail.mkv" --duration 5; echo "$CTL_OUT" >"$T_TMP/tail.json" ) &
rec_pid=$!
sleep 3
t_stop "$TONE_PID"
wait $rec_pid
CTL_OUT=$(cat "$T_TMP/tail.json")
a=$(jfield audio_duration)
check "record ending in silence: about 5 s of sound all the same ($a)" \
	awk -v d="$a" 'BEGIN { exit !(d > 4.8 && d < 5.1) }'
# Silence: with the tone stopped, the agent sends (almost) nothing, and
# listen still writes the time asked for.
sleep 0.5
rdctl_run listen 7001001 -o "$T_TMP/quiet.opus" --duration 2
check_eq "listen to silence: exit status" 0 "$CTL_RC"
note "silence: $(jfield audio_packets) packets, $(jfield audio_silence_filled) filled"
check "listen to silence: at most a few packets sent" test "$(jfield audio_packets)" -le 5
check "listen to silence: 2 s written" float_lt 1.9 "$(jfield audio_duration)"
# An agent that reaches no PipeWire daemon: sound is off, it says why once
# (not once per session), and listen still writes the silence asked for.
mkdir -m 0700 -p "$T_TMP/no-pw"
check "second agent enrolled" ctl_agent_enroll 7001002 "" testsrc
MAIN_AGENT=$CTL_AGENT_PID
XDG_RUNTIME_DIR=$T_TMP/no-pw PIPEWIRE_REMOTE=none check "second agent started, no PipeWire for it" \
	ctl_agent_start 7001002
for i in 1 2; do
	rdctl_run listen 7001002 -o "$T_TMP/nopw$i.wav" --duration 1
	check_eq "no PipeWire, listen $i: exit status" 0 "$CTL_RC"
	check_eq "no PipeWire, listen $i: no packets" 0 "$(jfield audio_packets)"
done
check_eq "no PipeWire: the agent said why once" 1 \
	"$(grep -c 'audio off: no PipeWire daemon' "$T_TMP/agent-7001002/agent.log")"
t_stop "$CTL_AGENT_PID"
check_no_sanitizer "no sanitizer report from the second agent" "$T_TMP/agent-7001002/agent.log"
CTL_AGENT_PID=$MAIN_AGENT

# The agent stops cleanly (its sound stream and encoder freed) and no
# program reported a sanitizer error (ASan builds).
t_stop "$CTL_AGENT_PID"
check_no_sanitizer "no sanitizer report from the agent" "$T_TMP/agent-7001001/agent.log"
check_no_sanitizer "no sanitizer report from rdctl" "$T_TMP/rdctl.err"
t_done
