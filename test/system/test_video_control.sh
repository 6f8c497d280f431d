#!/usr/bin/env bash
# What the controller asks of the video is what it gets: rdctl --fps and
# --quality go to the agent in LoginRequest.option, the agent logs them and
# its capture and encoder follow. Real servers on loopback, an agent on Xvfb
# showing a 30 fps moving test pattern (ffplay), files probed with ffprobe.
source "$(dirname "$0")/../lib.sh"
source "$RD_TOP/test/lab/ctl_env.sh"
B=$RD_BUILD
for t in ffplay ffprobe Xvfb; do
	command -v $t >/dev/null || { not_ok "$t is missing (make deps)"; t_done; }
done

# ---- usage ----
"$B/rdctl" record X -o x.mkv --quality superb >/dev/null 2>&1
check_eq "--quality superb: exit 2" 2 $?
"$B/rdctl" record X -o x.mkv --quality 5 >/dev/null 2>&1
check_eq "--quality 5 (under 10 %): exit 2" 2 $?
"$B/rdctl" record X -o x.mkv --fps 500 >/dev/null 2>&1
check_eq "--fps 500: exit 2" 2 $?
lists_video_opts() {
	local h
	h=$("$B/rdctl" "$1" --help 2>&1)
	grep -qF -- '--fps N' <<<"$h" && grep -qF -- '--quality low|balanced|best|PERCENT' <<<"$h"
}
for v in connect screenshot record wait-for-change; do
	check "$v --help lists --fps and --quality" lists_video_opts $v
done
check "the man page explains --quality" bash -c "'$B/rdctl' --man | grep -q 'custom_image_quality'"

# ---- servers, a moving display, the agent ----
check "servers start" ctl_servers || t_done
check "Xvfb with a moving picture" t_moving_display 640x480 || t_done
ID=vidctl01
check "agent enrolled" ctl_agent_enroll $ID "$T_DISPLAY" x11 auto
check "agent registered" ctl_agent_start $ID || { tail -20 "$T_TMP/agent-$ID/agent.log"; t_done; }
AG=$T_TMP/agent-$ID/agent.log

# packets in a file (one per frame)
frames() { ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets \
	-of csv=p=0 "$1" 2>/dev/null | tr -d ' ,'; }
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
log_lines() { wc -l <"$AG"; }

# ---- frame rate ----
# Without --fps the agent sends its configured 30 fps of this moving picture,
# so the 5 fps bound below cannot pass by accident.
rdctl_run record $ID --duration 4 -o "$T_TMP/full.mkv"
check_eq "record at the default rate: exit 0" 0 $CTL_RC || note "$CTL_OUT"
nfull=$(frames "$T_TMP/full.mkv")
note "default rate: ${nfull:-?} frames in 4 s"
check "default rate: well over 5 fps (${nfull:-?} frames > 48)" test "${nfull:-0}" -gt 48

n0=$(log_lines)
rdctl_run record $ID --fps 5 --duration 4 -o "$T_TMP/fps5.mkv"
check_eq "record --fps 5: exit 0" 0 $CTL_RC || note "$CTL_OUT"
n5=$(frames "$T_TMP/fps5.mkv")
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$T_TMP/fps5.mkv" 2>/dev/null)
note "--fps 5: ${n5:-?} frames in ${dur:-?} s"
check "--fps 5: about 5 fps (${n5:-?} frames in 4 s, 12..28)" \
	bash -c "test '${n5:-0}' -ge 12 && test '${n5:-0}' -le 28"
check "--fps 5: the agent logged the option" \
	bash -c "tail -n +$((n0 + 1)) '$AG' | grep -q 'video options (login): fps 5, quality ratio default, frame acks off -> sending 5 fps'"
check "--fps 5: the capture followed" bash -c "tail -n +$((n0 + 1)) '$AG' | grep -q 'capture rate now 5 fps'"

# Above the agent's own setting is capped by it.
n0=$(log_lines)
rdctl_run record $ID --fps 120 --duration 2 -o "$T_TMP/fps120.mkv"
check_eq "record --fps 120: exit 0" 0 $CTL_RC
check "--fps 120: capped at the agent's 30" \
	bash -c "tail -n +$((n0 + 1)) '$AG' | grep -q 'fps 120, .* -> sending 30 fps'"

# ---- quality ----
for q in low best; do
	n0=$(log_lines)
	rdctl_run record $ID --quality $q --duration 4 -o "$T_TMP/q-$q.mkv"
	check_eq "record --quality $q: exit 0" 0 $CTL_RC || note "$CTL_OUT"
	declare "bytes_$q=$(size "$T_TMP/q-$q.mkv")"
	declare "frames_$q=$(frames "$T_TMP/q-$q.mkv")"
	want=$([ $q = low ] && echo 0.50 || echo 2.00)
	check "--quality $q: the agent logged ratio $want" \
		bash -c "tail -n +$((n0 + 1)) '$AG' | grep -q 'quality ratio $want'"
done
note "--quality low: $bytes_low bytes, $frames_low frames; --quality best: $bytes_best bytes, $frames_best frames"
check "--quality low writes clearly fewer bytes than best ($bytes_low < 0.6 x $bytes_best)" \
	awk -v a="$bytes_low" -v b="$bytes_best" 'BEGIN { exit !(a > 0 && a < 0.6 * b) }'
check "--quality low and best: both at the full rate (frames > 48)" \
	bash -c "test '${frames_low:-0}' -gt 48 && test '${frames_best:-0}' -gt 48"

# VP9 (libvpx times frames by their pts, so its ceiling follows the rate).
rdctl_run record $ID --codec vp9 --fps 5 --duration 4 -o "$T_TMP/vp9-fps5.webm"
check_eq "record vp9 --fps 5: exit 0" 0 $CTL_RC || note "$CTL_OUT"
check_eq "record vp9 --fps 5: codec" vp9 "$(jfield codec)"
nv5=$(frames "$T_TMP/vp9-fps5.webm")
check "vp9 --fps 5: about 5 fps (${nv5:-?} frames in 4 s, 12..28)" \
	bash -c "test '${nv5:-0}' -ge 12 && test '${nv5:-0}' -le 28"
for q in low best; do
	rdctl_run record $ID --codec vp9 --quality $q --duration 3 -o "$T_TMP/vp9-$q.webm"
	check_eq "record vp9 --quality $q: exit 0" 0 $CTL_RC || note "$CTL_OUT"
	declare "vbytes_$q=$(size "$T_TMP/vp9-$q.webm")"
done
note "vp9 --quality low: $vbytes_low bytes; best: $vbytes_best bytes"
check "vp9 --quality low writes clearly fewer bytes than best ($vbytes_low < 0.6 x $vbytes_best)" \
	awk -v a="$vbytes_low" -v b="$vbytes_best" 'BEGIN { exit !(a > 0 && a < 0.6 * b) }'

# A percentage: 25 % of the bitrate scale is ratio 0.50 (custom_image_quality).
n0=$(log_lines)
rdctl_run screenshot $ID --quality 25 -o "$T_TMP/q25.png"
check_eq "screenshot --quality 25: exit 0" 0 $CTL_RC
check "--quality 25: ratio 0.50 from custom_image_quality" \
	bash -c "tail -n +$((n0 + 1)) '$AG' | grep -q 'quality ratio 0.50'"

# ---- the live viewer acknowledges frames ----
n0=$(log_lines)
rdctl_run connect $ID --viewer none --duration 3 --fps 10
check_eq "connect --viewer none: exit 0" 0 $CTL_RC || note "$CTL_OUT"
nf=$(jfield frames)
note "connect --fps 10 for 3 s: ${nf:-?} frames decoded"
check "connect: frames acknowledged (agent: frame acks on)" \
	bash -c "tail -n +$((n0 + 1)) '$AG' | grep -q 'fps 10, quality ratio default, frame acks on'"
check "connect --fps 10: about 10 fps with acks (${nf:-?} frames in 3 s, 15..40)" \
	bash -c "test '${nf:-0}' -ge 15 && test '${nf:-0}' -le 40"
check "connect: no frame skipped for the window on loopback" \
	bash -c "tail -n +$((n0 + 1)) '$AG' | grep 'session over' | grep -q ' 0 skipped'"

# Two at once: the highest rate asked wins, and leaving restores the other's.
n0=$(log_lines)
rdctl_run connect $ID --viewer none --duration 6 --fps 5 &
P1=$!
sleep 2
rdctl_run record $ID --fps 20 --duration 2 -o "$T_TMP/two.mkv"
check_eq "second controller at 20 fps: exit 0" 0 $CTL_RC
wait $P1
n20=$(frames "$T_TMP/two.mkv")
check "two controllers: the faster one gets its 20 fps (${n20:-?} frames in 2 s, >= 28)" \
	test "${n20:-0}" -ge 28
check "two controllers: capture went up to 20 fps and back to 5" \
	bash -c "tail -n +$((n0 + 1)) '$AG' | grep -A100 'capture rate now 20 fps' | grep -q 'capture rate now 5 fps'"

check "agent still running" kill -0 "$CTL_AGENT_PID"
t_stop "$CTL_AGENT_PID"
check_no_sanitizer "no sanitizer report from the agent" "$AG"
check_no_sanitizer "no sanitizer report from rdctl" "$T_TMP/rdctl.err"
t_done
