#!/usr/bin/env bash
# Benchmark: the agent's sound path (PipeWire capture of a sink's monitor
# and Opus at 64 kbit/s, 20 ms frames, restricted low delay), through
# test/tools/audio-bench which runs the agent's own code, against
# ffmpeg -f pulse -i MONITOR -c:a libopus with the same settings, on the same
# source in the same run (a private PipeWire daemon with WirePlumber and
# pipewire-pulse; a null sink playing a mix of tones and noise).
#   1. CPU seconds per second of sound: ours (the whole process, PipeWire's
#      threads included) against ffmpeg's plus what pipewire-pulse spent for
#      it meanwhile. Target (issue 16): <= 0.8x.
#   2. Bytes per second of silence on the wire: each packet sent costs its
#      Opus bytes and about 26 bytes of message, frame header and MAC.
#      Target: < 200 B/s.
# The A/V offset figure comes from test/lab/test_audio_sync.sh.
#   BENCH_SECS (default 20), BENCH_RUNS (default 3; the median is kept)
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../lab/pipewire-env.sh"
TOOL=$RD_BUILD/test/tools/audio-bench
SECS=${BENCH_SECS:-20}
RUNS=${BENCH_RUNS:-3}
HZ=$(getconf CLK_TCK)
PER_PACKET=26
for tool in pipewire wireplumber pipewire-pulse pw-play pw-cli ffmpeg python3; do
	command -v $tool >/dev/null || { not_ok "needs $tool (make deps)"; t_done; }
done
[ -x "$TOOL" ] || { not_ok "audio-bench is not built ($TOOL)"; t_done; }

# cpu_of PID: utime + stime in seconds, reaped children included.
cpu_of() { awk -v hz="$HZ" '{ print ($14 + $15 + $16 + $17) / hz }' "/proc/$1/stat"; }
# timed CMD...: run it, print its CPU seconds (user + system, children included).
timed() {
	python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.4f" % (r.ru_utime + r.ru_stime))' "$@"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Something like music, long enough for every run: three tones, a slow
# tremolo and some noise.
MUSIC_SECS=$((RUNS * (2 * SECS + 5) + 30))
timeout 120 ffmpeg -v error -y -f lavfi -i "aevalsrc='0.2*sin(2*PI*220*t)+0.15*sin(2*PI*554*t)+\
0.1*sin(2*PI*1318*t)*(0.5+0.5*sin(2*PI*0.7*t))+0.05*(random(0)-0.5)':c=stereo:s=48000:d=$MUSIC_SECS" \
	-c:a pcm_s16le "$T_TMP/music.wav"
check "music made ($MUSIC_SECS s)" test -s "$T_TMP/music.wav"

check "pipewire daemon started" pw_env_start
check "wireplumber started" pw_env_wireplumber
t_bg pipewire-pulse >"$T_TMP/pipewire-pulse.log" 2>&1
PULSE_PID=$T_LAST_PID
check "pipewire-pulse up" t_wait_until 10 test -S "$XDG_RUNTIME_DIR/pulse/native"
timeout 5 pw-cli create-node adapter '{ factory.name=support.null-audio-sink node.name=rd-null
	media.class=Audio/Sink object.linger=true audio.position=[FL FR] }' >/dev/null 2>&1
sleep 0.5
t_bg pw-play --target rd-null "$T_TMP/music.wav"
PLAY_PID=$T_LAST_PID
sleep 0.5

ours=() ref=() refonly=()
for run in $(seq "$RUNS"); do
	line=$("$TOOL" "$SECS")
	note "run $run ours: $line"
	[ "$(awk '{ print $12 }' <<<"$line")" = 0 ] || note "run $run: silent frames in the music?"
	cpu=$(awk '{ print $4 }' <<<"$line")
	ours+=("$(awk -v c="$cpu" -v s="$SECS" 'BEGIN { printf "%.5f", c / s }')")
	p0=$(cpu_of "$PULSE_PID")
	c=$(timed ffmpeg -nostdin -v error -f pulse -i rd-null.monitor -t "$((SECS + 1))" \
		-c:a libopus -b:a 64k -application lowdelay -frame_duration 20 -f null -)
	p1=$(cpu_of "$PULSE_PID")
	note "run $run ffmpeg: cpu_s $c, pipewire-pulse meanwhile $(awk -v a="$p0" -v b="$p1" 'BEGIN { print b - a }') s"
	ref+=("$(awk -v c="$c" -v a="$p0" -v b="$p1" -v s="$((SECS + 1))" 'BEGIN { printf "%.5f", (c + b - a) / s }')")
	refonly+=("$(awk -v c="$c" -v s="$((SECS + 1))" 'BEGIN { printf "%.5f", c / s }')")
done
o=$(printf '%s\n' "${ours[@]}" | median)
r=$(printf '%s\n' "${ref[@]}" | median)
ro=$(printf '%s\n' "${refonly[@]}" | median)
ratio=$(awk -v o="$o" -v r="$r" 'BEGIN { printf "%.2f", o / r }')
note "CPU per second of sound: ours $o s, ffmpeg + pipewire-pulse $r s (ffmpeg alone $ro s): ${ratio}x"
check "CPU of the sound path <= 0.8x ffmpeg -f pulse + libopus (${ratio}x)" \
	awk -v x="$ratio" 'BEGIN { exit !(x <= 0.8) }'

# Silence: the player stopped, the sink quiet.
t_stop "$PLAY_PID"
sleep 0.5
line=$("$TOOL" 10)
note "silence: $line"
bps=$(awk -v p="$(awk '{ print $6 }' <<<"$line")" -v b="$(awk '{ print $8 }' <<<"$line")" \
	-v s="$(awk '{ print $2 }' <<<"$line")" -v o=$PER_PACKET 'BEGIN { printf "%.1f", (b + p * o) / s }')
note "bytes per second of silence on the wire: $bps"
check "silence costs < 200 B/s ($bps)" awk -v x="$bps" 'BEGIN { exit !(x < 200) }'
t_done
