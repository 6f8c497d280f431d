#!/usr/bin/env bash
# rdctl against the real servers and an agent on Xvfb, all on loopback:
# usage and exit codes from real situations, lookup, screenshots (H.264, VP9)
# compared with the display, recordings probed with ffprobe, --relay, the
# viewer in mpv on a second Xvfb, key pinning, wrong password, offline peer.
source "$(dirname "$0")/../lib.sh"
source "$RD_TOP/test/lab/ctl_env.sh"
B=$RD_BUILD

# ---- usage (exit 2) and help ----
"$B/rdctl" >/dev/null 2>&1; check_eq "no verb: exit 2" 2 $?
"$B/rdctl" --json fly ABCDEF >"$T_TMP/u.json" 2>/dev/null; rc=$?
check_eq "unknown verb: exit 2" 2 $rc
check "unknown verb: JSON error usage" grep -q '"error":"usage"' "$T_TMP/u.json"
"$B/rdctl" screenshot >/dev/null 2>&1; check_eq "screenshot without ID: exit 2" 2 $?
"$B/rdctl" --server 127.0.0.1:1 --key AAAA screenshot ABCDEF -o x.png >/dev/null 2>&1
check_eq "bad key text: exit 2" 2 $?
check "--help lists the verbs" bash -c "'$B/rdctl' --help | grep -q wait-for-change"
check "--man is roff" bash -c "'$B/rdctl' --man | grep -q '^.TH RDCTL 1'"
"$B/rdctl" --password wrong screenshot X >/dev/null 2>&1
check_eq "no password on argv: exit 2" 2 $?

# ---- servers, display, agent ----
check "servers start" ctl_servers || t_done
check "Xvfb for the agent" t_xvfb 640x480x24 || t_done
AGENT_DISPLAY=$T_DISPLAY
convert -size 640x480 gradient:'#1040a0-#f0c020' -fill white -draw 'rectangle 60,60 300,220' \
	-fill '#c02020' -draw 'circle 480,330 480,420' -fill black -draw 'rectangle 350,60 600,120' \
	"$T_TMP/pattern.png"
DISPLAY=$AGENT_DISPLAY display -window root "$T_TMP/pattern.png" >/dev/null 2>&1 &
for i in $(seq 100); do	# until the pattern is on the screen (busy machines are slow)
	import -window root -display "$AGENT_DISPLAY" "$T_TMP/truth.png"
	mae=$(img_mae "$T_TMP/truth.png" "$T_TMP/pattern.png")
	float_lt "${mae:-1}" 0.01 && break
	sleep 0.1
done
check "the pattern is on the agent's display" float_lt "${mae:-1}" 0.01
ID=ctltest01
check "agent enrolled" ctl_agent_enroll $ID "$AGENT_DISPLAY" x11
check "agent registered" ctl_agent_start $ID || { tail -20 "$T_TMP/agent-$ID/agent.log"; t_done; }

# ---- lookup ----
rdctl_run lookup $ID; check_eq "lookup online: exit 0" 0 $CTL_RC
check_eq "lookup online: online true" true "$(jfield online)"
rdctl_run lookup nosuchpeer42; check_eq "lookup unknown: exit 3" 3 $CTL_RC
check_eq "lookup unknown: online false" false "$(jfield online)"
rdctl_run screenshot nosuchpeer42 -o "$T_TMP/n.png"; check_eq "screenshot unknown ID: exit 3" 3 $CTL_RC
check_eq "unknown ID: error code" unknown_id "$(jfield error)"

# ---- screenshots, both codecs ----
for codec in h264 vp9; do
	rdctl_run screenshot $ID --codec $codec -o "$T_TMP/shot-$codec.png"
	check_eq "screenshot $codec: exit 0" 0 $CTL_RC || note "$CTL_OUT"
	check_eq "screenshot $codec: codec in JSON" $codec "$(jfield codec)"
	check_eq "screenshot $codec: path lan on loopback" lan "$(jfield path)"
	check_eq "screenshot $codec: width" 640 "$(jfield width)"
	check_eq "screenshot $codec: height" 480 "$(jfield height)"
	check "screenshot $codec: connect_ms reported" test "$(jfield connect_ms)" != null
	check "screenshot $codec: PNG 640x480" bash -c "identify '$T_TMP/shot-$codec.png' | grep -q ' 640x480 '"
	mae=$(img_mae "$T_TMP/shot-$codec.png" "$T_TMP/truth.png")
	note "mean absolute difference $codec vs the display: $mae"
	check "screenshot $codec: matches the display (MAE $mae < 0.03)" float_lt "${mae:-1}" 0.03
done
# the comparison can fail: a different picture is far off
convert "$T_TMP/truth.png" -negate "$T_TMP/other.png"
mae=$(img_mae "$T_TMP/shot-h264.png" "$T_TMP/other.png")
check "another picture does not match (MAE $mae > 0.1)" float_lt 0.1 "${mae:-0}"

# ---- key pinning ----
check "first use pinned the key" grep -q "^$ID " "$CTL_HOME/.config/rdesk/known_peers"

# ---- wrong password (exit 4) ----
RDESK_PASSWORD=wrong-password rdctl_run screenshot $ID -o "$T_TMP/w.png"
check_eq "wrong password: exit 4" 4 $CTL_RC
check_eq "wrong password: login_refused" login_refused "$(jfield error)"
( unset RDESK_PASSWORD; HOME=$CTL_HOME "$B/rdctl" --server "127.0.0.1:$CTL_PORT" --key "$CTL_KEY" \
	--password-file /dev/null screenshot $ID -o "$T_TMP/e.png" </dev/null >/dev/null 2>&1 ); rc=$?
check_eq "empty password file: login refused (exit 4)" 4 $rc
printf '%s\n' "$CTL_PW" >"$T_TMP/pwfile"
( unset RDESK_PASSWORD; HOME=$CTL_HOME "$B/rdctl" --server "127.0.0.1:$CTL_PORT" --key "$CTL_KEY" \
	--password-file "$T_TMP/pwfile" screenshot $ID -o "$T_TMP/pf.png" </dev/null >/dev/null 2>&1 ); rc=$?
check_eq "password from --password-file: exit 0" 0 $rc

# password typed at a prompt on a terminal (script gives rdctl a pty), not echoed
if command -v script >/dev/null; then
	# typed once the prompt is up, as a person would (rdctl turns echo off and
	# drops what was typed before right after the prompt)
	( t_wait_file "$T_TMP/tty.out" "password for" 20; sleep 0.5; printf '%s\n' "$CTL_PW"; sleep 3 ) |
		( unset RDESK_PASSWORD; HOME=$CTL_HOME timeout 30 \
		script -qec "'$B/rdctl' --server 127.0.0.1:$CTL_PORT --key $CTL_KEY screenshot $ID \
		-o '$T_TMP/tty.png'" /dev/null >"$T_TMP/tty.out" 2>&1 )
	rc=$?
	check_eq "password prompt on a terminal: exit 0" 0 $rc
	check "password prompt: asked for it" grep -q "password for $ID" "$T_TMP/tty.out"
	check "password prompt: not echoed" bash -c "! grep -q '$CTL_PW' '$T_TMP/tty.out'"
fi

# ---- recordings ----
for spec in h264:mkv vp9:webm h264:mp4; do
	codec=${spec%:*} ext=${spec#*:} f=$T_TMP/rec-$codec.$ext
	rdctl_run record $ID --codec $codec --duration 3 -o "$f"
	check_eq "record $codec .$ext: exit 0" 0 $CTL_RC || note "$CTL_OUT"
	probe=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height \
		-show_entries format=duration -of default=nw=1 "$f" 2>&1)
	check "record $codec .$ext: ffprobe codec" grep -q "codec_name=$codec" <<<"$probe"
	check "record $codec .$ext: size 640x480" bash -c "grep -q width=640 <<<'$probe' && grep -q height=480 <<<'$probe'"
	dur=$(sed -n 's/^duration=//p' <<<"$probe")
	check "record $codec .$ext: duration $dur within 10% of 3 s" \
		awk -v d="${dur:-0}" 'BEGIN { exit !(d >= 2.7 && d <= 3.3) }'
done

# ---- forced relay ----
rdctl_run --relay screenshot $ID -o "$T_TMP/relay.png"
check_eq "--relay: exit 0" 0 $CTL_RC || note "$CTL_OUT"
check_eq "--relay: path relay" relay "$(jfield path)"
mae=$(img_mae "$T_TMP/relay.png" "$T_TMP/truth.png")
check "--relay: picture matches (MAE $mae)" float_lt "${mae:-1}" 0.03

# ---- doctor ----
rdctl_run doctor $ID
check_eq "doctor: exit 0" 0 $CTL_RC || note "$CTL_OUT"
check "doctor: relay attempt reported" grep -q '"try":"relay","ok":true' <<<"$CTL_OUT"

# ---- viewer: mpv on a second display ----
if check "second Xvfb" t_xvfb 1024x768x24; then
	VIEW_DISPLAY=$T_DISPLAY
	( DISPLAY=$VIEW_DISPLAY HOME=$CTL_HOME RDESK_PASSWORD=$CTL_PW exec "$B/rdctl" --json \
		--server "127.0.0.1:$CTL_PORT" --key "$CTL_KEY" connect $ID --viewer mpv --duration 30 \
		>"$T_TMP/connect.json" 2>"$T_TMP/connect.err" ) &
	VPID=$!
	T_PIDS+=("$VPID")
	wid=
	for i in $(seq 300); do
		wid=$(DISPLAY=$VIEW_DISPLAY xdotool search --name "rdctl $ID" 2>/dev/null | head -n1)
		[ -n "$wid" ] && break
		sleep 0.1
	done
	check "mpv window appeared" test -n "$wid"
	# mpv shows the first frame a moment after its window appears
	mpv_shows() {
		eval "$(DISPLAY=$VIEW_DISPLAY xdotool getwindowgeometry --shell "$wid")"
		import -window root -display "$VIEW_DISPLAY" "$T_TMP/view-root.png"
		convert "$T_TMP/view-root.png" -crop "${WIDTH}x${HEIGHT}+${X}+${Y}" +repage \
			-resize '640x480!' "$T_TMP/mpv640.png"
		mae=$(img_mae "$T_TMP/mpv640.png" "$T_TMP/truth.png")
		float_lt "${mae:-1}" 0.06
	}
	if [ -n "$wid" ]; then
		sleep 1
		t_wait_until 20 mpv_shows
		note "mpv window vs the agent's display: MAE $mae"
		check "mpv shows the remote screen (MAE $mae < 0.06)" float_lt "${mae:-1}" 0.06
		DISPLAY=$VIEW_DISPLAY xdotool windowclose "$wid" 2>/dev/null ||
			DISPLAY=$VIEW_DISPLAY xdotool windowkill "$wid"
		for i in $(seq 100); do kill -0 $VPID 2>/dev/null || break; sleep 0.1; done
		check "closing the window ends the session" bash -c "! kill -0 $VPID 2>/dev/null"
		wait $VPID; rc=$?
		check_eq "connect: exit 0 after the window closed" 0 $rc
		check "connect: JSON path" grep -q '"path":"lan"' "$T_TMP/connect.json"
	fi
fi

# ---- changed agent key (exit 6) ----
t_stop "$CTL_AGENT_PID"
check "agent got a new key" ctl_agent_rekey $ID
check "agent restarted with a new key" ctl_agent_start $ID
rdctl_run screenshot $ID -o "$T_TMP/k.png"
check_eq "changed agent key: exit 6" 6 $CTL_RC || note "$CTL_OUT"
check_eq "changed agent key: key_mismatch" key_mismatch "$(jfield error)"
check "changed agent key: message names both fingerprints" \
	bash -c "[ \$(grep -o 'SHA256:' <<<'$(jfield message)' | wc -l) -ge 2 ]"
check "no PNG written on key mismatch" test ! -e "$T_TMP/k.png"

# ---- timeout (exit 7): a server that accepts and never answers ----
HP=$(t_free_port)
t_bg socat TCP-LISTEN:$HP,bind=127.0.0.1,reuseaddr,fork SYSTEM:'sleep 30'
t_wait_tcp $HP 5
OUT=$(HOME=$CTL_HOME RDESK_PASSWORD=x "$B/rdctl" --json --timeout 1 --server 127.0.0.1:$HP \
	--key "$CTL_KEY" screenshot $ID -o "$T_TMP/t.png" 2>/dev/null); rc=$?
check_eq "hung server: exit 7" 7 $rc
check "hung server: error timeout" grep -q '"error":"timeout"' <<<"$OUT"

# ---- dead server (exit 5) ----
t_stop "$CTL_RV_PID"
rdctl_run screenshot $ID -o "$T_TMP/d.png"
check_eq "dead server: exit 5" 5 $CTL_RC
check_eq "dead server: server_unreachable" server_unreachable "$(jfield error)"

# ---- offline peer (exit 3): a known ID whose agent stopped ----
# (stopped first: an agent still running would register with the new server)
t_stop "$CTL_AGENT_PID"
t_bg "$B/rd-rendezvous" -p "$CTL_PORT" -b 127.0.0.1 -k - --data-dir "$T_TMP/rv" \
	-r "127.0.0.1:$CTL_RELAY_PORT" --config /dev/null >>"$T_TMP/rendezvous.log" 2>&1
t_wait_tcp "$CTL_PORT" 10
rdctl_run screenshot $ID -o "$T_TMP/o.png"
check_eq "offline peer (known, agent stopped): exit 3" 3 $CTL_RC || note "$CTL_OUT"
check_eq "offline peer: error offline" offline "$(jfield error)"

t_done
