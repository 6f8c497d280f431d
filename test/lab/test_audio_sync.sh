#!/usr/bin/env bash
# A/V sync of a recording: mpv plays, full screen on Xvfb and into the
# default sink of a private PipeWire daemon, a clip that flashes the screen
# white and clicks at the same instant every second. The agent captures
# both (X11 and the sink's monitor); rdctl record writes them into one
# Matroska file on the agent's clock. The median offset between each flash
# and its click over 10 pairs (of the 25 s recorded: a loaded machine may
# drop a click now and then) must be within 60 ms.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/pipewire-env.sh"
source "$(dirname "$0")/ctl_env.sh"
t_require_root
for tool in pipewire wireplumber pw-cli mpv Xvfb ffmpeg ffprobe python3; do
	command -v $tool >/dev/null || { not_ok "$tool is missing (run make deps)"; if [ "$T_FAILED" -gt 0 ]; then
	python3 "$offset" "$T_TMP/rec.mkv" 10 debug | sed 's/^/#   /'
	ffprobe -v error -show_entries stream=codec_name,start_time,duration,nb_read_packets -count_packets \
		-of csv=p=0 "$T_TMP/rec.mkv" | sed 's/^/#   /'
	note "$CTL_OUT"
	cp "$T_TMP/rec.mkv" "${RD_TEST_LOGS:-/tmp}/audio-sync-failed.mkv" 2>/dev/null
fi
t_stop "$CTL_AGENT_PID"
check_no_sanitizer "no sanitizer report from the agent" "$T_TMP/agent-7002002/agent.log"
check_no_sanitizer "no sanitizer report from rdctl" "$T_TMP/rdctl.err"
t_done; }
done
offset=$(dirname "$0")/../tools/av-offset.py
LIMIT_MS=60

# The clip: 30 s, a 100 ms white flash and a 40 ms 1 kHz click at each second.
timeout 120 ffmpeg -v error -y \
	-f lavfi -i "color=c=black:s=320x240:r=30:d=30,drawbox=c=white:t=fill:enable='lt(mod(t,1),0.1)'" \
	-f lavfi -i "aevalsrc='if(lt(mod(t\,1)\,0.04)\,0.5*sin(2*PI*1000*t)\,0)':c=stereo:s=48000:d=30" \
	-c:v ffv1 -c:a pcm_s16le -shortest "$T_TMP/clip.mkv"
check "clip made" test -s "$T_TMP/clip.mkv"
truth=$(python3 "$offset" "$T_TMP/clip.mkv")
note "the clip itself: $truth"

check "Xvfb" t_xvfb 320x240x24
check "pipewire daemon started" pw_env_start
check "wireplumber started" pw_env_wireplumber
timeout 5 pw-cli create-node adapter '{ factory.name=support.null-audio-sink node.name=rd-null
	media.class=Audio/Sink object.linger=true audio.position=[FL FR] }' >"$T_TMP/sink.log" 2>&1
sleep 0.5
t_bg env DISPLAY=$T_DISPLAY mpv --no-config --really-quiet --fs --vo=x11 --loop-file=inf \
	"$T_TMP/clip.mkv" >"$T_TMP/mpv.log" 2>&1
check "mpv plays the clip" t_wait_until 10 bash -c "timeout 5 pw-cli ls Node 2>/dev/null | grep -q 'application.name = \"mpv\"'"

check "servers up" ctl_servers
check "agent enrolled (X11)" ctl_agent_enroll 7002002 "$T_DISPLAY" x11
check "agent started" ctl_agent_start 7002002
rdctl_run record 7002002 -o "$T_TMP/rec.mkv" --duration 25 --fps 30
check_eq "record: exit status" 0 "$CTL_RC"
got=$(python3 "$offset" "$T_TMP/rec.mkv" 10)
note "recording: $got"
pairs=$(awk '{ print $4 }' <<<"$got")
med=$(awk '{ print $2 }' <<<"$got")
check "10 flash/click pairs found ($pairs)" test "${pairs:-0}" -ge 10
check "median offset within $LIMIT_MS ms ($med ms)" \
	awk -v m="$med" -v l=$LIMIT_MS 'BEGIN { exit !(m == m + 0 && m > -l && m < l) }'
t_done
