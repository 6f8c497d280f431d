#!/usr/bin/env bash
# rd-agent-helper, the privileged half of rd-agent, driven by privsep-probe
# (the agent's privsep client alone) running as the agent user (nobody):
# X cookies from an Xauthority the agent user cannot read, uinput devices,
# a PipeWire socket, and the refusals: another uid, malformed requests, a
# descriptor that is no DRM node, card nodes that are not DRM, an
# Xauthority swapped for a symlink, a FIFO or a huge file. The helper keeps
# serving through all of it, and a client whose helper died gets an error,
# then works again once the helper is back. Last, the helper started through
# systemd socket activation (systemd-socket-activate).
# Without /dev/uinput (containers) the uinput part checks the refusal;
# test/lab/test_agent_helper_vm.sh creates real devices and reads real DRM.
source "$(dirname "$0")/../lib.sh"
if [ "$(id -u)" -ne 0 ]; then
	not_ok "test_agent_helper.sh must run as root: it starts rd-agent-helper as root and its clients as other uids"
	t_done
fi
B=$RD_BUILD
for b in rd-agent-helper test/tools/privsep-probe; do
	[ -x "$B/$b" ] || { not_ok "$b is not built in $B"; t_done; }
done
for tool in setpriv xauth; do
	command -v $tool >/dev/null || { not_ok "$tool is missing (run make deps)"; t_done; }
done

chmod 0711 "$T_TMP"	# the agent user reaches the socket's folder, nothing else
mkdir -m 0755 "$T_TMP/run"
S=$T_TMP/run/helper.sock
HLOG=$T_TMP/helper.log PLOG=$T_TMP/probe.log

# An Xauthority that belongs to another user (mode 0600), as a desktop user's.
XA=$T_TMP/xauthority
COOKIE=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
xauth -q -f "$XA" add :57 MIT-MAGIC-COOKIE-1 "$COOKIE" 2>/dev/null
chown 4321:4321 "$XA" && chmod 0600 "$XA"
# Card nodes: card0 missing, card1 a plain file, card2 a link to /dev/null.
DRI=$T_TMP/dri
mkdir -m 0755 "$DRI" && touch "$DRI/card1" && ln -s /dev/null "$DRI/card2"
UINPUT=/dev/uinput
[ -c $UINPUT ] || modprobe uinput 2>/dev/null
[ -c $UINPUT ] || note "$UINPUT is missing here: the uinput part checks the refusal only"
PWDIR=$T_TMP/pw-none
if command -v pipewire >/dev/null && command -v dbus-daemon >/dev/null; then
	source "$RD_TOP/test/lab/pipewire-env.sh"
	pw_env_start && PWDIR=$XDG_RUNTIME_DIR || note "no private PipeWire daemon: the PipeWire part checks the refusal only"
fi

start_helper() {
	local started
	started=$(grep -c "serving .* on $S" "$HLOG" 2>/dev/null)
	t_bg "$B/rd-agent-helper" --listen "$S" --agent-user nobody --xauthority "$XA" \
		--runtime-dir "$PWDIR" --uinput "$UINPUT" --dri-dir "$DRI" -l debug >>"$HLOG" 2>&1
	HPID=$T_LAST_PID
	t_wait_until 10 eval '[ "$(grep -c "serving .* on $S" "$HLOG")" -gt "${started:-0}" ]'
}
# probe_as UID ARGS...: privsep-probe as that uid (group nogroup: the socket's).
probe_as() {
	local uid=$1; shift
	setpriv --reuid="$uid" --regid=65534 --clear-groups "$B/test/tools/privsep-probe" \
		--socket "$S" "$@" 2>>"$PLOG"
}
agent() { probe_as 65534 "$@"; }
# raw HEX [NFDS [COUNT]]: a request built by hand; the helper's answers.
raw() { agent raw "$@" | tr '\n' ' ' | sed 's/ $//'; }
# req TYPE ARG [ZERO]: a well-formed request's bytes (host order: little-endian), in hex.
le16() { printf '%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)); }
le32() { le16 $(($1 & 65535)); le16 $(($1 >> 16 & 65535)); }
req() { echo "$(le32 0x52445053)$(le16 1)$(le16 "$1")$(le32 "$2")$(le32 "${3:-0}")"; }
helper_alive() { kill -0 "$HPID" 2>/dev/null; }
matches() { [[ $1 =~ $2 ]]; }
helper_fds() { ls /proc/"$HPID"/fd | wc -l; }

check "the helper starts and listens" start_helper
check_eq "its socket is mode 0660, group of the agent user" "660 nogroup" "$(stat -c '%a %G' "$S")"

# ---- X cookies ----
check "the agent user cannot read the Xauthority itself" \
	bash -c "! setpriv --reuid=65534 --regid=65534 --clear-groups cat '$XA' 2>/dev/null"
check_eq "cookie of :57 through the helper" "ok cookie: $COOKIE" "$(agent cookie :57)"
check_eq "cookie of :57.0 too" "ok cookie: $COOKIE" "$(agent cookie :57.0)"
check_eq "no cookie for :58" "error cookie: not found (errno ENOENT)" "$(agent cookie :58)"
# The user who owns the file swaps it for a link to a root-only file that has
# a cookie for :57: the helper must not follow it.
mv "$XA" "$XA.real"
xauth -q -f "$T_TMP/root-only" add :57 MIT-MAGIC-COOKIE-1 00000000000000000000000000000bad 2>/dev/null
chmod 0600 "$T_TMP/root-only"
ln -s "$T_TMP/root-only" "$XA"
check_eq "an Xauthority that is a symlink is refused" \
	"error cookie: input/output error (errno ELOOP)" "$(agent cookie :57)"
rm "$XA" && mkfifo -m 0600 "$XA"
check_eq "an Xauthority that is a FIFO is refused at once" \
	"error cookie: permission denied (errno EPERM)" "$(timeout 5 setpriv --reuid=65534 \
	--regid=65534 --clear-groups "$B/test/tools/privsep-probe" --socket "$S" cookie :57 2>>"$PLOG")"
rm "$XA" && head -c 70000 /dev/zero >"$XA"
check_eq "an Xauthority over 64 KiB is refused" "error cookie: too big (errno EFBIG)" "$(agent cookie :57)"
rm "$XA" && mv "$XA.real" "$XA"
check_eq "the helper still serves cookies" "ok cookie: $COOKIE" "$(agent cookie :57)"

# ---- other peers ----
check "uid 1234 (in the socket's group) gets nothing" matches "$(probe_as 1234 cookie :57)" "^error "
check "the helper logs the refused uid" grep -q "uid=1234 refused: not an agent user" "$HLOG"
check "root is not an agent user either" matches "$(probe_as 0 cookie :57)" "^error "
check_eq "the agent user is still served" "ok cookie: $COOKIE" "$(agent cookie :57)"

# ---- DRM ----
check_eq "a missing card: ENOENT" "error drm-open: not found (errno ENOENT)" "$(agent drm-open 0)"
check_eq "a card node that is a plain file: refused" "error drm-open: not supported (errno ENODEV)" "$(agent drm-open 1)"
check_eq "a card node that is /dev/null: refused" "error drm-open: not supported (errno ENODEV)" "$(agent drm-open 2)"
check_eq "DRM_FB on /dev/null: refused" "error drm-fb-fd: not supported (errno ENODEV)" "$(agent drm-fb-fd /dev/null 1)"
check "the helper logged the refusals" grep -q "drm-fb 1 refused: the descriptor sent is not a DRM primary node" "$HLOG"

# ---- malformed requests ----
check_eq "one byte: EINVAL" "reply status 22 type 0" "$(raw 00)"
check_eq "a request 4 bytes too long: EINVAL" "reply status 22 type 4" "$(raw "$(req 4 57)00000000")"
check_eq "bad magic: EINVAL" "reply status 22 type 4" "$(raw "00$(req 4 57 | cut -c3-)")"
check_eq "reserved field set: EINVAL" "reply status 22 type 4" "$(raw "$(req 4 57 1)")"
check_eq "unknown request type 6: EINVAL" "reply status 22 type 6" "$(raw "$(req 6 0)")"
check_eq "display 10000: EINVAL" "reply status 22 type 4" "$(raw "$(req 4 10000)")"
check_eq "card 16: EINVAL" "reply status 22 type 1" "$(raw "$(req 1 16)")"
check_eq "uinput device 3: EINVAL" "reply status 22 type 3" "$(raw "$(req 3 3)")"
check_eq "DRM_OPEN with a descriptor: EINVAL" "reply status 22 type 1" "$(raw "$(req 1 0)" 1)"
check_eq "DRM_FB without a descriptor: EINVAL" "reply status 22 type 2" "$(raw "$(req 2 1)" 0)"
check_eq "DRM_FB with two descriptors: EINVAL" "reply status 22 type 2" "$(raw "$(req 2 1)" 2)"
check_eq "a well-formed request by hand is served" "reply status 0 type 4" "$(raw "$(req 4 57)")"
want="$(printf 'reply status 22 type 0 %.0s' 1 2 3 4 5 6 7 8)closed"
check_eq "garbage, again and again: answered 8 times, then dropped" "$want" "$(raw ff 0 9)"
fds_before=$(helper_fds)
raw "$(req 2 1)" 3 5 >/dev/null
raw "$(req 4 57)" 4 5 >/dev/null
raw "$(req 4 57)" 7 1 >/dev/null
t_wait_until 3 eval '[ "$(helper_fds)" = "$fds_before" ]'
check_eq "descriptors sent with refused requests are closed" "$fds_before" "$(helper_fds)"
check_eq "the helper still serves after the garbage" "ok cookie: $COOKIE" "$(agent cookie :57)"

# ---- uinput ----
if [ -c "$UINPUT" ]; then
	check "a uinput keyboard, named as rdesk's" matches "$(agent uinput keyboard)" \
		'^ok uinput: input[0-9]+ "rdesk virtual keyboard"$'
	check "a uinput pointer, named as rdesk's" matches "$(agent uinput pointer)" \
		'^ok uinput: input[0-9]+ "rdesk virtual pointer"$'
else
	check_eq "uinput without /dev/uinput: ENOENT" "error uinput: not found (errno ENOENT)" "$(agent uinput keyboard)"
	check "the helper tried $UINPUT" grep -q "uinput 1: No such file or directory" "$HLOG"
fi

# ---- PipeWire ----
if [ "$PWDIR" != "$T_TMP/pw-none" ]; then
	check_eq "a PipeWire client connects on the socket the helper passed" \
		'ok pipewire: unix stream socket, connected to "pipewire-0"' "$(agent pipewire)"
else
	check_eq "PipeWire without a daemon: ENOENT" "error pipewire: not found (errno ENOENT)" "$(agent pipewire)"
fi

# ---- the helper dies and comes back ----
PLOG=$T_TMP/repeat.log agent --repeat 3 --pause 2 cookie :57 >"$T_TMP/repeat.out" &
probe=$!
t_wait_file "$T_TMP/repeat.out" "^ok" 5
kill -KILL "$HPID"; wait "$HPID" 2>/dev/null
t_wait_until 5 eval '[ "$(wc -l <"$T_TMP/repeat.out")" -ge 2 ]'
start_helper
wait "$probe"; rc=$?
mapfile -t lines <"$T_TMP/repeat.out"
check_eq "first call, helper up" "ok cookie: $COOKIE" "${lines[0]:-}"
check "second call, helper killed: an error, not a crash (${lines[1]:-nothing})" matches "${lines[1]:-}" \
	'^error cookie: input/output error \(errno E(CONNREFUSED|NOENT|PIPE|CONNRESET)\)$'
check_eq "third call, helper restarted: works again" "ok cookie: $COOKIE" "${lines[2]:-}"
check_eq "the probe exited with 1 (one call failed), not a signal" 1 "$rc"
check_eq "the client said once that the helper is not answering" 1 "$(grep -c 'not answering' "$T_TMP/repeat.log")"
check "and that it answers again" grep -q "helper at $S answering again" "$T_TMP/repeat.log"

check "the helper is still running" helper_alive
kill -TERM "$HPID"
t_wait_until 5 eval '! kill -0 "$HPID" 2>/dev/null'
kill -KILL "$HPID" 2>/dev/null
wait "$HPID"; rc=$?
check_eq "SIGTERM: the helper exits 0 at once" 0 "$rc"
check "and removes its socket" test ! -e "$S"

# ---- systemd socket activation ----
if command -v systemd-socket-activate >/dev/null; then
	SA=$T_TMP/run/activated.sock
	t_bg systemd-socket-activate --seqpacket -l "$SA" "$B/rd-agent-helper" --agent-user nobody \
		--xauthority "$XA" >"$T_TMP/helper-sa.log" 2>&1
	APID=$T_LAST_PID
	t_wait_until 5 test -S "$SA" && chmod 0666 "$SA"
	check_eq "socket activation: started on the first connection, serves it" "ok cookie: $COOKIE" \
		"$(S=$SA agent cookie :57)"
	check "it serves the socket systemd passed" grep -q "on the socket systemd passed" "$T_TMP/helper-sa.log"
	t_stop "$APID"
	check "and leaves that socket alone at exit" test -S "$SA"
	check_no_sanitizer "no sanitizer report from the socket-activated helper" "$T_TMP/helper-sa.log"
else
	note "systemd-socket-activate is missing: socket activation not checked"
fi
check_no_sanitizer "no sanitizer report from the helper" "$HLOG"
check_no_sanitizer "nor from the clients" "$PLOG"
if [ "$T_FAILED" -gt 0 ]; then
	note "helper log:"; tail -n 40 "$HLOG" | sed 's/^/# /'
fi
t_done
