#!/usr/bin/env bash
# resize: the agent on a real X server whose screen size changes. Xvfb cannot
# switch modes, so this runs Xorg with the dummy video driver (RandR 1.2 with
# the modes its config lists), started as root with a config written here.
# While the mode goes 1280x1024 -> 800x600 -> 1024x768 the agent logs the
# reinit and encoder restart, `rdctl record` closes the file at each size and
# goes on in a new one (out.mkv, out-2.mkv, ...: every file has one size,
# starts with a keyframe and ffprobe reads it), `rdctl screenshot` has the
# new size and pixels, and `rdctl connect --viewer mpv` (on a second Xvfb)
# follows the size. Both codecs.
source "$(dirname "$0")/../lib.sh"
t_require_root
source "$RD_TOP/test/lab/ctl_env.sh"
B=$RD_BUILD
T=$T_TMP

for tool in Xorg xrandr xdpyinfo xsetroot display import convert compare identify ffprobe \
	Xvfb mpv xdotool xwininfo; do
	command -v $tool >/dev/null || { not_ok "needs $tool (make deps)"; t_done; }
done
DUMMY_DRV=$(find /usr/lib/xorg/modules/drivers -name 'dummy_drv.so' 2>/dev/null | head -n1)
[ -n "$DUMMY_DRV" ] || { not_ok "needs the Xorg dummy driver (xserver-xorg-video-dummy, make deps)"; t_done; }

# ---- Xorg with the dummy driver ----
# No VT of its own (-sharevts -novtswitch: the console is left alone) and no
# input hotplug (XTEST still works); the modes are those listed here.
MODES="1280x1024 1024x768 800x600"
xorg_config() {
	mkdir -p "$T/xorg/conf.d"
	cat >"$T/xorg/conf.d/10-rdesk.conf" <<'EOF'
Section "ServerFlags"
	Option "AutoAddDevices" "false"
	Option "AutoEnableDevices" "false"
	Option "DontVTSwitch" "true"
	Option "BlankTime" "0"
	Option "StandbyTime" "0"
	Option "SuspendTime" "0"
	Option "OffTime" "0"
EndSection
EOF
	cat >"$T/xorg/xorg.conf" <<'EOF'
Section "Device"
	Identifier "dummy"
	Driver "dummy"
	VideoRam 32768
EndSection
Section "Monitor"
	Identifier "monitor"
	HorizSync 5.0-1000.0
	VertRefresh 5.0-200.0
	Modeline "1280x1024" 109.00 1280 1368 1496 1712 1024 1027 1034 1063 -hsync +vsync
	Modeline "1024x768" 63.50 1024 1072 1176 1328 768 771 775 798 -hsync +vsync
	Modeline "800x600" 38.25 800 832 912 1024 600 603 607 624 -hsync +vsync
EndSection
Section "Screen"
	Identifier "screen"
	Device "dummy"
	Monitor "monitor"
	DefaultDepth 24
	SubSection "Display"
		Depth 24
		Modes "1280x1024" "1024x768" "800x600"
		Virtual 1280 1024
	EndSubSection
EndSection
EOF
}
# t_xorg: start Xorg on a free display; sets XD.
t_xorg() {
	local n i
	xorg_config
	# Above the displays t_xvfb hands out, so tests beside this one never meet it.
	for n in $(seq $((200 + ${RD_JOB_SLOT:-0} * 30)) $((229 + ${RD_JOB_SLOT:-0} * 30))); do
		[ -e /tmp/.X11-unix/X$n ] || [ -e /tmp/.X$n-lock ] && continue
		t_bg Xorg ":$n" -noreset -nolisten tcp -sharevts -novtswitch -config "$T/xorg/xorg.conf" \
			-configdir "$T/xorg/conf.d" -logfile "$T/xorg/Xorg.$n.log" >"$T/xorg/stderr.$n" 2>&1
		for i in $(seq 200); do
			DISPLAY=:$n xdpyinfo >/dev/null 2>&1 && { XD=:$n; XORG_PID=$T_LAST_PID; return 0; }
			kill -0 "$T_LAST_PID" 2>/dev/null || break
			sleep 0.05
		done
		t_stop "$T_LAST_PID"
		[ -e "$T/xorg/Xorg.$n.log" ] && grep '(EE)' "$T/xorg/Xorg.$n.log" | head -5 | sed 's/^/# /'
	done
	return 1
}
screen_size() { DISPLAY=$XD xdpyinfo 2>/dev/null | sed -n 's/.*dimensions: *\([0-9]*x[0-9]*\) pixels.*/\1/p'; }

# One picture for the largest mode, set once as the root background: a
# smaller screen shows its top-left corner, and so does a screen that grows
# back (the background pixmap stays), so every size has a known picture.
convert -size 1280x1024 gradient:'#1040a0-#f0c020' \( -size 1280x1024 pattern:checkerboard \
	-scale 400% \) -compose multiply -composite -fill white -draw 'rectangle 100,120 620,330' \
	-fill '#c02020' -draw 'circle 600,500 600,580' -fill '#20c040' -draw 'rectangle 820,650 1200,980' \
	-fill black -draw 'circle 900,300 900,380' "$T/pattern.png"
for m in $MODES; do
	convert "$T/pattern.png" -crop "$m+0+0" +repage "$T/pattern-$m.png"
	convert "$T/pattern-$m.png" -scale 25% "$T/pattern-$m-small.ppm"
done

# shows WxH: the screen is WxH and shows its picture (compared at a quarter
# of the size: quick on a loaded machine); keeps the full import as truth-WxH.png.
shows() {
	local m=$1 mae
	[ "$(screen_size)" = "$m" ] || return 1
	import -window root -display "$XD" "$T/truth-$m.png" 2>/dev/null || return 1
	convert "$T/truth-$m.png" -scale 25% "$T/truth-small.ppm" || return 1
	mae=$(compare -metric MAE "$T/truth-small.ppm" "$T/pattern-$m-small.ppm" null: 2>&1 |
		sed -n 's/.*(\(.*\)).*/\1/p')
	float_lt "${mae:-1}" 0.01
}
# set_mode WxH: switch the output and wait (at most 20 s) until the screen
# has the new size and shows its picture.
set_mode() {
	local m=$1 end=$((SECONDS + 20))
	DISPLAY=$XD timeout 10 xrandr --output DUMMY0 --mode "$m" || return 1
	while [ $SECONDS -lt $end ]; do
		shows "$m" && return 0
		sleep 0.1
	done
	return 1
}

check "Xorg with the dummy driver starts" t_xorg || {
	tail -20 "$T"/xorg/Xorg.*.log 2>/dev/null | sed 's/^/# /'; t_done; }
note "Xorg on $XD"
check "xrandr lists the configured modes" bash -c \
	"DISPLAY=$XD xrandr | grep -q ' 800x600 ' && DISPLAY=$XD xrandr | grep -q ' 1024x768 '"
check_eq "starts at 1280x1024" 1280x1024 "$(screen_size)"
DISPLAY=$XD timeout 20 display -window root "$T/pattern.png" >/dev/null 2>&1
check "the picture is on the screen" shows 1280x1024
DISPLAY=$XD xdotool mousemove 5 5	# the pointer out of the way of the comparisons

check "servers start" ctl_servers || t_done
ID=resize01
check "agent enrolled" ctl_agent_enroll $ID "$XD" x11
check "agent registered" ctl_agent_start $ID || { tail -20 "$T/agent-$ID/agent.log"; t_done; }
AGENT_LOG=$T/agent-$ID/agent.log

# mae A B: mean absolute difference of two pictures (0..1), after averaging
# 2x2 blocks (smooths codec noise; quicker than a blur on a loaded machine).
mae() {
	convert "$1" -alpha off -scale 50% "$T/mae-a.ppm" && convert "$2" -alpha off -scale 50% "$T/mae-b.ppm" &&
		compare -metric MAE "$T/mae-a.ppm" "$T/mae-b.ppm" null: 2>&1 | sed -n 's/.*(\(.*\)).*/\1/p'
}
# shot CODEC WxH: a screenshot has the size and the pixels of the screen.
shot() {
	local codec=$1 m=$2 f=$T/shot-$1-$2.png mae
	: >"$T/shot.err"
	CTL_OUT=$(HOME=$CTL_HOME RDESK_PASSWORD=$CTL_PW timeout 60 "$B/rdctl" -v --json \
		--server "127.0.0.1:$CTL_PORT" --key "$CTL_KEY" screenshot $ID --codec $codec -o "$f" \
		2>"$T/shot.err")
	CTL_RC=$?
	cat "$T/shot.err" >>"$T/rdctl.err"
	check_eq "screenshot $codec at $m: exit 0" 0 $CTL_RC || note "$CTL_OUT"
	check_eq "screenshot $codec at $m: size in JSON" "$m" "$(jfield width)x$(jfield height)"
	check "screenshot $codec at $m: the login names the current size" \
		grep -q "logged in to $ID (.*, $m)" "$T/shot.err"
	check "screenshot $codec at $m: PNG is $m" bash -c "identify '$f' | grep -q ' $m '"
	mae=$(mae "$f" "$T/truth-$m.png")
	check "screenshot $codec at $m: pixels match the screen (MAE ${mae:-?} < 0.03)" \
		float_lt "${mae:-1}" 0.03
}

for codec in h264 vp9; do
	shot $codec 1280x1024
done
for m in 800x600 1024x768; do
	check "mode $m set" set_mode $m
	for codec in h264 vp9; do
		shot $codec $m
	done
done
# the comparison can fail: the picture of another size, stretched, is far off
convert "$T/truth-1280x1024.png" -resize '800x600!' "$T/other.png"
mae=$(mae "$T/shot-h264-800x600.png" "$T/other.png")
check "another picture does not match (MAE ${mae:-?} > 0.05)" float_lt 0.05 "${mae:-0}"

# ---- record while the mode changes: one file per size ----
# seg FILE: "WxH frames keyframe-first duration" from ffprobe (every frame's size listed once).
probe_seg() {
	local f=$1 sizes first dur
	sizes=$(ffprobe -v error -select_streams v:0 -show_entries frame=width,height -of csv=p=0 "$f" |
		awk -F, '$1 ~ /^[0-9]+$/ { print $1 "x" $2 }' | sort -u | tr '\n' ' ')
	first=$(ffprobe -v error -select_streams v:0 -show_entries packet=flags -of csv=p=0 "$f" |
		grep -m1 .)
	dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$f")
	echo "${sizes% } ${first:0:1} ${dur:-0}"
}
declare -A EXT=([h264]=mkv [vp9]=webm)
for codec in h264 vp9; do
	ext=${EXT[$codec]}
	check "$codec: mode 1280x1024 before recording" set_mode 1280x1024
	out=$T/rec-$codec.$ext
	mark=$(wc -l <"$AGENT_LOG")
	( HOME=$CTL_HOME RDESK_PASSWORD=$CTL_PW exec timeout 60 "$B/rdctl" -v --json \
		--server "127.0.0.1:$CTL_PORT" --key "$CTL_KEY" record $ID --codec $codec --duration 10 \
		-o "$out" >"$T/rec-$codec.json" 2>"$T/rec-$codec.err" ) &
	RPID=$!
	t_wait_file "$T/rec-$codec.err" 'first keyframe' 15
	sleep 1.5
	set_mode 800x600
	sleep 1.5
	set_mode 1024x768
	wait $RPID; rc=$?
	CTL_OUT=$(cat "$T/rec-$codec.json")
	check_eq "record $codec: exit 0" 0 $rc || { note "$CTL_OUT"; tail -5 "$T/rec-$codec.err" | sed 's/^/# /'; }
	tail -n +$((mark + 1)) "$AGENT_LOG" >"$T/agent-$codec.part"
	for m in 800x600 1024x768; do
		check "record $codec: agent followed the screen to $m" \
			grep -q "x11: screen is now $m" "$T/agent-$codec.part"
		check "record $codec: agent restarted its encoders at $m" \
			grep -q "display is now $m; restarting the encoders" "$T/agent-$codec.part"
	done
	# how long from the agent seeing the new size to rdctl starting the file
	for m in 800x600 1024x768; do
		a=$(grep -m1 "x11: screen is now $m" "$T/agent-$codec.part" | cut -d' ' -f1)
		b=$(grep -m1 "the screen is now $m:" "$T/rec-$codec.err" | cut -d' ' -f1)
		[ -n "$a" ] && [ -n "$b" ] && note "$codec: $m keyframe in the recording \
$(( ($(date -d "$b" +%s%3N) - $(date -d "$a" +%s%3N)) )) ms after the agent saw the new size"
	done
	check "record $codec: rdctl names the next file" grep -q "the screen is now 800x600: .* going on in .*rec-$codec-2.$ext" "$T/rec-$codec.err"
	n=$(grep -o '"output":"[^"]*rec-'$codec'[^"]*"' <<<"$CTL_OUT" | wc -l)
	check_eq "record $codec: JSON lists the main file and 3 segments" 4 "$n"
	total=0 i=1
	for m in 1280x1024 800x600 1024x768; do
		f=$out; [ $i -gt 1 ] && f=${out%.$ext}-$i.$ext
		read -r size key dur <<<"$(probe_seg "$f")"
		check_eq "record $codec: file $i has one size, $m" "$m" "$size"
		check_eq "record $codec: file $i starts with a keyframe" K "$key"
		check "record $codec: file $i lasts ${dur}s (> 0.3 s)" float_lt 0.3 "$dur"
		total=$(awk -v a="$total" -v b="$dur" 'BEGIN { print a + b }')
		# its keyframe and its last picture are the screen at that size
		ffmpeg -v error -y -i "$f" -frames:v 1 "$T/first-$codec-$i.png" 2>/dev/null
		mae=$(mae "$T/first-$codec-$i.png" "$T/truth-$m.png")
		check "record $codec: file $i keyframe shows the screen at $m (MAE ${mae:-?} < 0.05)" \
			float_lt "${mae:-1}" 0.05
		ffmpeg -v error -y -i "$f" -update 1 "$T/last-$codec-$i.png" 2>/dev/null
		mae=$(mae "$T/last-$codec-$i.png" "$T/truth-$m.png")
		check "record $codec: file $i shows the screen at $m (MAE ${mae:-?} < 0.03)" float_lt "${mae:-1}" 0.03
		i=$((i + 1))
	done
	check "record $codec: the files together last ${total}s (10 s +- 10%)" \
		awk -v d="$total" 'BEGIN { exit !(d >= 9 && d <= 11) }'
	check "record $codec: duration in JSON $(jfield duration) (10 s +- 10%)" \
		awk -v d="$(jfield duration)" 'BEGIN { exit !(d >= 9 && d <= 11) }'
	check_eq "record $codec: JSON width/height are the first size" 1280x1024 "$(jfield width)x$(jfield height)"
done

# ---- the viewer follows the size: mpv on a second display ----
# view_win WxH: the id of the one visible viewer window once it is WxH.
view_win() {
	local m=$1 ids end=$((SECONDS + 20))
	while [ $SECONDS -lt $end ]; do
		ids=$(DISPLAY=$VIEW_DISPLAY xdotool search --onlyvisible --name "rdctl $ID" 2>/dev/null)
		if [ "$(wc -w <<<"$ids")" = 1 ]; then
			eval "$(DISPLAY=$VIEW_DISPLAY xdotool getwindowgeometry --shell "$ids")"
			[ "${WIDTH}x${HEIGHT}" = "$m" ] && { echo "$ids"; return 0; }
		fi
		sleep 0.1
	done
	note "viewer windows: $ids (last ${WIDTH:-?}x${HEIGHT:-?})"
	return 1
}
# view_matches WID WxH: the window shows the screen at that size.
view_matches() {
	local wid=$1 m=$2 mae end=$((SECONDS + 15))
	while [ $SECONDS -lt $end ]; do	# the new player may show its first frame a little later
		eval "$(DISPLAY=$VIEW_DISPLAY xdotool getwindowgeometry --shell "$wid")"
		import -window root -display "$VIEW_DISPLAY" "$T/view-root.png" 2>/dev/null
		convert "$T/view-root.png" -crop "${WIDTH}x${HEIGHT}+${X}+${Y}" +repage "$T/view-$m.png"
		mae=$(mae "$T/view-$m.png" "$T/truth-$m.png")
		float_lt "${mae:-1}" 0.06 && break
		sleep 0.2
	done
	note "viewer at $m vs the screen: MAE $mae"
	float_lt "${mae:-1}" 0.06
}
check "viewer: mode 1280x1024" set_mode 1280x1024
if check "viewer: second Xvfb" t_xvfb 1600x1200x24; then
	VIEW_DISPLAY=$T_DISPLAY
	for codec in h264 vp9; do
		( DISPLAY=$VIEW_DISPLAY HOME=$CTL_HOME RDESK_PASSWORD=$CTL_PW exec timeout 90 "$B/rdctl" -v \
			--json --server "127.0.0.1:$CTL_PORT" --key "$CTL_KEY" connect $ID --codec $codec \
			--viewer mpv --duration 60 >"$T/view-$codec.json" 2>"$T/view-$codec.err" ) &
		VPID=$!
		T_PIDS+=("$VPID")
		[ $codec = vp9 ] && set_mode 1280x1024
		wid=$(view_win 1280x1024)
		check "viewer $codec: mpv window is 1280x1024" test -n "$wid"
		[ -n "$wid" ] && check "viewer $codec: shows the screen at 1280x1024" view_matches "$wid" 1280x1024
		for m in 800x600 1024x768; do
			set_mode $m
			wid=$(view_win $m)
			check "viewer $codec: the window follows to $m" test -n "$wid"
			[ -n "$wid" ] && check "viewer $codec: shows the screen at $m" view_matches "$wid" $m
		done
		if [ -n "$wid" ]; then
			DISPLAY=$VIEW_DISPLAY xdotool windowclose "$wid" 2>/dev/null ||
				DISPLAY=$VIEW_DISPLAY xdotool windowkill "$wid"
		fi
		for i in $(seq 100); do kill -0 $VPID 2>/dev/null || break; sleep 0.1; done
		check "viewer $codec: closing the window ends the session" bash -c "! kill -0 $VPID 2>/dev/null"
		wait $VPID; rc=$?
		check_eq "viewer $codec: exit 0" 0 $rc || tail -5 "$T/view-$codec.err" | sed 's/^/# /'
		check "viewer $codec: a player per size" \
			bash -c "[ \$(grep -c 'started mpv' '$T/view-$codec.err') -ge 3 ]"
	done
fi

check_no_sanitizer "agent: no sanitizer report" "$AGENT_LOG"
check_no_sanitizer "rdctl: no sanitizer report" <(cat "$T"/rec-*.err "$T"/view-*.err "$T/rdctl.err" 2>/dev/null)
t_done
