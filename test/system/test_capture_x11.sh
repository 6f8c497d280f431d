#!/usr/bin/env bash
# capture: the x11 backend on a real Xvfb. Frames are compared with what
# `import -window root` reads (the pointer, which import leaves out and we
# draw in, is masked); an idle screen yields no frame after the first; a
# small change yields a small damaged frame; encoded streams decode back to
# the screen within codec error; a RandR size change is followed.
source "$(dirname "$0")/../lib.sh"
T=$T_TMP
# capture-dump; a failing exit (a crash, a sanitizer report) is noted and
# counted at the end (runs in the background cannot count themselves).
dump() {
	timeout 60 "$RD_BUILD/test/tools/capture-dump" "$@"
	local rc=$?
	[ $rc -eq 0 ] || echo "capture-dump $* exited with $rc" >>"$T/dump-failures"
	return $rc
}

for tool in Xvfb xsetroot display import convert compare xdotool xrandr ffmpeg; do
	command -v $tool >/dev/null || { not_ok "needs $tool (make deps)"; t_done; }
done
[ -x "$RD_BUILD/test/tools/capture-dump" ] || { not_ok "needs capture-dump (make test-programs)"; t_done; }
t_xvfb 640x480x24 || { not_ok "Xvfb starts"; t_done; }
export DISPLAY=$T_DISPLAY
ok "Xvfb on $DISPLAY"

# Differing pixels between two images, with the area around the pointer
# (PX, PY) painted black in both.
PX=600 PY=440
masked_ae() {
	local a=$1 b=$2 m="rectangle $((PX - 40)),$((PY - 40)) $((PX + 40)),$((PY + 40))"
	convert "$a" -depth 8 -fill black -draw "$m" "$T/ma.ppm" &&
	convert "$b" -depth 8 -fill black -draw "$m" "$T/mb.ppm" &&
	compare -metric AE -fuzz 1% "$T/ma.ppm" "$T/mb.ppm" null: 2>&1
}
psnr() { compare -metric PSNR "$1" "$2" null: 2>&1 | awk '{print int($1)}'; }
between() { [ -n "$1" ] && [ "$1" -gt "$2" ] && [ "$1" -lt "$3" ]; }
field() { sed -n "s/.* $1 \([0-9.]*\).*/\1/p" | tail -1; }

xdotool mousemove $PX $PY

# ---- a solid colour ----
xsetroot -solid '#336699'
dump --backend x11 --frames 1 --ppm "$T/solid.ppm" >"$T/solid.log" 2>&1
check "solid: one frame captured" grep -q '^frame 0 640x480' "$T/solid.log"
import -window root "$T/solid-ref.png"
check_eq "solid: same pixels as import (pointer masked)" 0 "$(masked_ae "$T/solid.ppm" "$T/solid-ref.png")"
# The pointer is drawn into the frame: pixels near it differ from import.
convert "$T/solid.ppm" -crop 40x40+$PX+$PY +repage "$T/cur.ppm"
convert "$T/solid-ref.png" -crop 40x40+$PX+$PY +repage "$T/cur-ref.ppm"
n=$(compare -metric AE "$T/cur.ppm" "$T/cur-ref.ppm" null: 2>&1)
check "solid: pointer composited into the frame ($n pixels)" [ "${n:-0}" -gt 20 ]

# ---- a picture with detail ----
convert -size 320x240 gradient:'#1040a0-#f0c020' \( -size 320x240 pattern:checkerboard \) \
	-compose multiply -composite -fill white -draw 'rectangle 30,30 150,110' \
	-fill '#c02020' -draw 'circle 240,160 240,210' -resize 640x480\! -depth 8 "$T/pattern.png"
display -window root "$T/pattern.png" >/dev/null 2>&1
import -window root "$T/pattern-ref.png"
check_eq "pattern: background set (import sees it)" 0 \
	"$(compare -metric AE -fuzz 1% "$T/pattern.png" "$T/pattern-ref.png" null: 2>&1)"
dump --backend x11 --frames 1 --ppm "$T/pattern.ppm" >"$T/pattern.log" 2>&1
check_eq "pattern: same pixels as import (pointer masked)" 0 \
	"$(masked_ae "$T/pattern.ppm" "$T/pattern-ref.png")"

# Encoded, then decoded by ffmpeg: within codec error.
for codec in h264 vp9; do
	ext=h264; [ $codec = vp9 ] && ext=ivf
	dump --backend x11 --frames 1 --encode $codec --quality 70 --out "$T/p.$ext" \
		>"$T/enc-$codec.log" 2>&1
	ffmpeg -v error -y -i "$T/p.$ext" -frames:v 1 "$T/dec-$codec.png" 2>"$T/ffmpeg-$codec.log"
	q=$(psnr "$T/dec-$codec.png" "$T/pattern-ref.png")
	check "$codec: decoded frame matches the screen (PSNR ${q:-?} dB > 30)" [ "${q:-0}" -gt 30 ]
done

# ---- idle: nothing after the first frame ----
dump --backend x11 --seconds 3 --encode h264 >"$T/idle.log" 2>&1
check_eq "idle: 1 frame in 3 s" 1 "$(field frames <"$T/idle.log")"
check_eq "idle: 1 packet encoded" 1 "$(field encoded <"$T/idle.log")"

# ---- a small change: a small frame ----
convert -size 48x32 xc:'#00ff00' "$T/small.png"
# The change comes once the first frame is out; the run ends with the frame
# after it (or after 20 s).
dump --backend x11 --frames 2 --seconds 20 --encode vp9 >"$T/small.log" 2>&1 &
dump_pid=$!
t_wait_file "$T/small.log" '^frame 0 ' 15
t_bg display -geometry +200+150 "$T/small.png"
win_pid=$T_LAST_PID
wait $dump_pid
check "small: frames after the first" [ "$(field frames <"$T/small.log")" -ge 2 ]
# frame N WxH rects R area A bbox X,Y,W,H: the change lies around 200,150.
line=$(grep '^frame [1-9]' "$T/small.log" | head -1)
note "$line"
area=$(awk '{print $7}' <<<"$line")
check "small: damage is small (${area:-?} px)" between "$area" 0 20000
check "small: damage where the window appeared" \
	awk -v l="$line" 'BEGIN { split(l, f, " "); split(f[9], b, ","); 
		exit !(b[1] <= 200 && b[2] <= 150 && b[1] + b[3] >= 248 && b[2] + b[4] >= 182) }'
t_stop $win_pid

# ---- the pointer moving is a change too ----
dump --backend x11 --frames 2 --seconds 20 >"$T/ptr.log" 2>&1 &
dump_pid=$!
t_wait_file "$T/ptr.log" '^frame 0 ' 15
xdotool mousemove 100 100
wait $dump_pid
line=$(grep '^frame [1-9]' "$T/ptr.log" | head -1)
area=$(awk '{print $7}' <<<"$line")
check "pointer move: one small frame (${area:-none} px)" between "$area" 0 4000
xdotool mousemove $PX $PY

# ---- the pipeline (what rd-agent runs) over x11 ----
dump --backend x11 --pipeline --encode h264 --frames 1 --seconds 20 --out "$T/pipe.h264" >"$T/pipe.log" 2>&1
check "pipeline: first packet is a keyframe" grep -q '^packet 1 640x480 bytes [0-9]* key 1' "$T/pipe.log"
ffmpeg -v error -y -i "$T/pipe.h264" -frames:v 1 "$T/pipe.png" 2>/dev/null
q=$(psnr "$T/pipe.png" "$T/pattern-ref.png")
check "pipeline: decodes to the screen (PSNR ${q:-?} dB > 30)" [ "${q:-0}" -gt 30 ]

# ---- a RandR size change is followed (REINIT, new keyframe) ----
# (the run lasts long enough for a slow start and the resize after it)
dump --backend x11 --pipeline --encode vp9 --seconds 15 --out "$T/rs.ivf" >"$T/resize.log" 2>&1 &
dump_pid=$!
t_wait_file "$T/resize.log" '^packet 1 ' 10
xrandr --newmode 400x300_rd 20 400 410 420 430 300 305 310 315 >/dev/null 2>&1
xrandr --addmode screen 400x300_rd && xrandr --output screen --mode 400x300_rd
wait $dump_pid
check "resize: reported" grep -q '^resize 400x300' "$T/resize.log"
check "resize: keyframe of the new size follows" \
	bash -c "sed -n '/^resize/,\$p' '$T/resize.log' | grep -m1 '^packet' | grep -q '400x300 bytes [0-9]* key 1'"
check "resize: no error" bash -c "! grep -q '^error' '$T/resize.log'"
check "resize: no packet of the old size after the resize" \
	bash -c "! sed -n '/^resize/,\$p' '$T/resize.log' | grep -q '^packet .* 640x480 '"
# ---- the X server going away ends capture with an error, not a crash ----
if t_xvfb 320x240x24; then
	dump --backend x11 --display "$T_DISPLAY" --pipeline --encode h264 --seconds 30 \
		>"$T/gone.log" 2>&1 &
	dump_pid=$!
	t_wait_file "$T/gone.log" '^packet 1 ' 15
	t_stop "$T_LAST_PID"
	wait $dump_pid
	check "X server gone: subscribers get an error" grep -q '^error' "$T/gone.log"
	check "X server gone: logged" grep -q 'connection to the X server lost' "$T/gone.log"
else
	not_ok "second Xvfb starts"
fi

[ -s "$T/dump-failures" ] && sed 's/^/# /' "$T/dump-failures"
check "capture-dump exited cleanly every time" [ ! -s "$T/dump-failures" ]
t_done
