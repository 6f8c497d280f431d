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
	for n in $(seq 140 199); do
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

# A picture for each size: a gradient with a few shapes, colours by size.
declare -A TOP BOT
TOP[1280x1024]='#1040a0' BOT[1280x1024]='#f0c020'
TOP[1024x768]='#20a040' BOT[1024x768]='#e03070'
TOP[800x600]='#a02020' BOT[800x600]='#20c0e0'
for m in $MODES; do
	w=${m%x*} h=${m#*x}
	convert -size "$m" gradient:"${TOP[$m]}-${BOT[$m]}" -fill white \
		-draw "rectangle $((w / 10)),$((h / 8)) $((w / 2)),$((h / 3))" -fill black \
		-draw "circle $((w * 3 / 4)),$((h * 2 / 3)) $((w * 3 / 4)),$((h * 2 / 3 + h / 6))" \
		"$T/pattern-$m.png"
done

# set_mode WxH: switch the output, wait for the new size, paint its picture.
set_mode() {
	local m=$1 i
	DISPLAY=$XD xrandr --output DUMMY0 --mode "$m" || return 1
	for i in $(seq 100); do [ "$(screen_size)" = "$m" ] && break; sleep 0.05; done
	[ "$(screen_size)" = "$m" ] || return 1
	DISPLAY=$XD timeout 10 display -window root "$T/pattern-$m.png" >/dev/null 2>&1
	for i in $(seq 100); do	# until the picture is on the screen
		import -window root -display "$XD" "$T/truth-$m.png" 2>/dev/null
		float_lt "$(img_mae "$T/truth-$m.png" "$T/pattern-$m.png")" 0.01 && return 0
		sleep 0.1
	done
	return 1
}

check "Xorg with the dummy driver starts" t_xorg || {
	tail -20 "$T"/xorg/Xorg.*.log 2>/dev/null | sed 's/^/# /'; t_done; }
note "Xorg on $XD"
check "xrandr lists the configured modes" bash -c \
	"DISPLAY=$XD xrandr | grep -q ' 800x600 ' && DISPLAY=$XD xrandr | grep -q ' 1024x768 '"
check "start at 1280x1024" set_mode 1280x1024
DISPLAY=$XD xdotool mousemove 5 5	# the pointer out of the way of the comparisons

check "servers start" ctl_servers || t_done
ID=resize01
check "agent enrolled" ctl_agent_enroll $ID "$XD" x11
check "agent registered" ctl_agent_start $ID || { tail -20 "$T/agent-$ID/agent.log"; t_done; }
AGENT_LOG=$T/agent-$ID/agent.log

# shot CODEC WxH: a screenshot has the size and the pixels of the screen.
shot() {
	local codec=$1 m=$2 f=$T/shot-$1-$2.png mae
	rdctl_run screenshot $ID --codec $codec -o "$f"
	check_eq "screenshot $codec at $m: exit 0" 0 $CTL_RC || note "$CTL_OUT"
	check_eq "screenshot $codec at $m: size in JSON" "$m" "$(jfield width)x$(jfield height)"
	check "screenshot $codec at $m: PNG is $m" bash -c "identify '$f' | grep -q ' $m '"
	mae=$(img_mae "$f" "$T/truth-$m.png")
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

t_done
