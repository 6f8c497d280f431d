#!/usr/bin/env bash
# rd-agent's command line without servers: enroll writes the configuration
# atomically and is idempotent (same bytes, same times), IDs are validated,
# `password set` stores only a salted hash with mode 0600, configuration
# errors name the file, line and key, and `status` says when no agent runs.
source "$(dirname "$0")/../lib.sh"
A=$RD_BUILD/rd-agent
[ -x "$A" ] || { not_ok "rd-agent is not built in $RD_BUILD"; t_done; }
D=$T_TMP/data CFG=$T_TMP/agent.ini
KEY=$(head -c 32 /dev/urandom | base64)
unset RDESK_DATA_DIR RDESK_CONFIG RDESK_ID

"$A" >/dev/null 2>&1; check_eq "no verb: exit 2" 2 $?
"$A" enroll --config "$CFG" >/dev/null 2>&1; check_eq "enroll without --server/--key: exit 2" 2 $?
"$A" enroll --config "$CFG" --server 127.0.0.1:21116 --key notbase64 --data-dir "$D" >/dev/null 2>&1
check_eq "enroll with a bad key: exit 2" 2 $?
check "nothing written after a refused enroll" test ! -e "$CFG"
# A data folder that cannot be made is found before the configuration is written.
touch "$T_TMP/afile"
err=$("$A" enroll --config "$CFG" --server 127.0.0.1:21116 --key "$KEY" --data-dir "$T_TMP/afile/data" 2>&1)
check_eq "enroll with a data folder that cannot be made: exit 1" 1 $?
check "... says so and that nothing was written" grep -q "data folder $T_TMP/afile/data: .*nothing written" <<<"$err"
check "... and wrote no configuration" test ! -e "$CFG"
help=$("$A" --help 2>&1)
check_eq "--help prints one usage block" 1 "$(grep -ci '^usage' <<<"$help")"
check "--help lists the verbs and the options" bash -c 'grep -q "^  enroll " <<<"$1" && grep -q -- "--capture-backend" <<<"$1"' _ "$help"

ID=$("$A" enroll --config "$CFG" --server 127.0.0.1:21116 --key "$KEY" --data-dir "$D"); rc=$?
check_eq "enroll: exit 0" 0 $rc
check "enroll prints a 10-digit ID" grep -qE '^1[0-9]{9}$' <<<"$ID"
check_eq "ID stored in the data dir" "$ID" "$(cat "$D/id")"
check "key pair created" test -s "$D/id_ed25519" -a -s "$D/id_ed25519.pub"
check_eq "secret key mode 0600" 600 "$(stat -c %a "$D/id_ed25519")"
check_eq "data dir mode 0700" 700 "$(stat -c %a "$D")"
check "config names the server" grep -qx 'rendezvous = 127.0.0.1:21116' "$CFG"
check "config holds the key" grep -qxF "key = $KEY" "$CFG"

snap() { (cd "$T_TMP" && find agent.ini data -type f -printf '%p %s %T@ %i\n' | sort && md5sum agent.ini data/*); }
snap >"$T_TMP/before"
sleep 1.1
ID2=$("$A" enroll --config "$CFG" --server 127.0.0.1:21116 --key "$KEY" --data-dir "$D")
check_eq "second enroll: same ID" "$ID" "$ID2"
snap >"$T_TMP/after"
check "second enroll changed no byte, time or inode" cmp -s "$T_TMP/before" "$T_TMP/after"
J=$("$A" enroll --config "$CFG" --server 127.0.0.1:21116 --key "$KEY" --data-dir "$D" --json)
check "--json: changed false" grep -q '"changed":false' <<<"$J"
check "--json: id" grep -q "\"id\":\"$ID\"" <<<"$J"
check "--json: fingerprint" grep -q '"fingerprint":"SHA256:' <<<"$J"

# Lines the operator added survive a change.
printf '# my note\n[video]\nfps = 12\n' >>"$CFG"
"$A" enroll --config "$CFG" --server 127.0.0.1:21200 --key "$KEY" --relay 127.0.0.1:21201 --data-dir "$D" >/dev/null
check "server changed in place" grep -qx 'rendezvous = 127.0.0.1:21200' "$CFG"
check_eq "one rendezvous line" 1 "$(grep -c '^rendezvous' "$CFG")"
check "relay added under [server]" bash -c "sed -n '/^\[server\]/,/^\[/p' '$CFG' | grep -qx 'relay = 127.0.0.1:21201'"
check "operator's lines kept" bash -c "grep -qx '# my note' '$CFG' && grep -qx 'fps = 12' '$CFG'"
check "no temporary files left" bash -c "[ \$(ls -A '$T_TMP' | grep -c '^agent.ini') -eq 1 ]"

# IDs.
"$A" enroll --config "$CFG" --server 127.0.0.1:21200 --key "$KEY" --data-dir "$D" --id 12ab >/dev/null 2>&1
check_eq "too short an ID: exit 2" 2 $?
"$A" enroll --config "$CFG" --server 127.0.0.1:21200 --key "$KEY" --data-dir "$D" --id '1abc/../x' >/dev/null 2>&1
check_eq "ID with a slash: exit 2" 2 $?
check_eq "refused IDs change nothing" "$ID" "$(cat "$D/id")"
N=$("$A" enroll --config "$CFG" --server 127.0.0.1:21200 --key "$KEY" --data-dir "$D" --id host-web01)
check_eq "--id sets the ID" host-web01 "$N"
check_eq "rd-agent id prints it" host-web01 "$(RDESK_DATA_DIR=$D "$A" id --config "$CFG")"
check_eq "id --json" '{"id":"host-web01"}' "$(RDESK_DATA_DIR=$D "$A" id --config "$CFG" --json)"
check_eq "[agent] id overrides" web-02abc "$(RDESK_DATA_DIR=$D RDESK_ID=web-02abc "$A" id --config "$CFG")"

# Password.
printf 'correct horse battery\n' | RDESK_DATA_DIR=$D "$A" password set --config "$CFG" 2>/dev/null
check_eq "password set: exit 0" 0 $?
check_eq "password file mode 0600" 600 "$(stat -c %a "$D/password")"
check "password file holds salt and hash only" \
	bash -c "grep -qE '^salt [a-z0-9]{32}$' '$D/password' && grep -qE '^h1 [0-9a-f]{64}$' '$D/password' && ! grep -q horse '$D/password'"
salt=$(sed -n 's/^salt //p' "$D/password")
want=$(printf '%s%s' 'correct horse battery' "$salt" | sha256sum | cut -d' ' -f1)
check_eq "h1 = SHA256(password || salt)" "$want" "$(sed -n 's/^h1 //p' "$D/password")"
printf '' | RDESK_DATA_DIR=$D "$A" password set --config "$CFG" >/dev/null 2>&1
check_eq "empty password refused" 1 $?
check_eq "refused password keeps the old hash" "$want" "$(sed -n 's/^h1 //p' "$D/password")"

# Root enrolling into a data folder another user owns (the agent's, run as
# rdesk-agent): what it creates there goes to that user, who must read it;
# the configuration in a folder of root's stays root's.
if [ "$(id -u)" -eq 0 ]; then
	O=$T_TMP/owned CO=$T_TMP/owned.ini
	mkdir -m 0700 "$O" && chown nobody:nogroup "$O"
	"$A" enroll --config "$CO" --server 127.0.0.1:21116 --key "$KEY" --data-dir "$O" >/dev/null 2>&1
	check_eq "enroll as root into a folder of nobody's: exit 0" 0 $?
	printf 'staple\n' | RDESK_DATA_DIR=$O "$A" password set --config "$CO" 2>/dev/null
	owners=$(cd "$O" && stat -c '%n %U:%G' * | paste -sd' ')
	check "... id, uuid, key pair and password hash are nobody's ($owners)" \
		bash -c '[ "$(cd "$1" && ls | wc -l)" -ge 5 ] && ! stat -c "%U:%G" "$1"/* | grep -vqx nobody:nogroup' _ "$O"
	check_eq "... secret key still mode 0600" 600 "$(stat -c %a "$O/id_ed25519")"
	check_eq "... the configuration stays root's" root "$(stat -c %U "$CO")"
else
	note "not root: the ownership of files enrolled into another user's folder is not checked"
fi

# Configuration errors name file, line and key.
printf '[server]\nrendezvous = 127.0.0.1:1\n[video]\ncodec = h265\n' >"$T_TMP/bad1.ini"
err=$("$A" id --config "$T_TMP/bad1.ini" 2>&1); rc=$?
check_eq "bad codec: exit 2" 2 $rc
check "bad codec: file:line and key named" grep -qF "bad1.ini:4: [video] codec" <<<"$err"
printf '[agent]\ndirect-port = 99999\n' >"$T_TMP/bad2.ini"
err=$("$A" id --config "$T_TMP/bad2.ini" 2>&1)
check "port out of range: file:line named" grep -qE "bad2.ini:2: .*direct-port" <<<"$err"
printf '[server]\nrendezvouz = x\n' >"$T_TMP/bad3.ini"
err=$("$A" id --config "$T_TMP/bad3.ini" 2>&1)
check "unknown key: file:line named" grep -qE "bad3.ini:2: .*rendezvouz" <<<"$err"
err=$(RDESK_CODEC=av1 "$A" id --config "$CFG" 2>&1)
check "bad value from the environment names the variable" grep -q "RDESK_CODEC" <<<"$err"
"$A" id --config "$T_TMP/missing.ini" >/dev/null 2>&1
check_eq "a named config file must exist" 2 $?

# status without a daemon.
out=$(RDESK_DATA_DIR=$D "$A" status --config "$CFG" --json 2>/dev/null); rc=$?
check_eq "status with no daemon: exit 3" 3 $rc
check_eq "status --json says not running" '{"running":false}' "$out"
t_done
