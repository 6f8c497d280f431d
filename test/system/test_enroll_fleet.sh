#!/usr/bin/env bash
# Fleet enrollment: the one `rd-agent enroll` line a config-management tool
# runs on every pass. Non-interactive (stdin closed or a pipe, no terminal),
# the password from a file or stdin, the ID printed or JSON; the second run
# changes nothing (config and key files byte-identical, same mtimes and
# inodes, same ID, "changed":false); exit codes as rd-agent(8) documents;
# a refused run writes nothing.
source "$(dirname "$0")/../lib.sh"
A=$RD_BUILD/rd-agent
[ -x "$A" ] || { not_ok "rd-agent is not built in $RD_BUILD"; t_done; }
unset RDESK_DATA_DIR RDESK_CONFIG RDESK_ID RDESK_RENDEZVOUS RDESK_KEY RDESK_RELAY
M=$T_TMP/machine
CFG=$M/etc/rdesk/agent.ini D=$M/var/lib/rdesk-agent
mkdir -p "$M/etc/rdesk" "$M/secrets"
# The package's commented default file, as a fresh install leaves it.
cp "$RD_TOP/packaging/etc/agent.ini" "$CFG"
KEY=$(head -c 32 /dev/urandom | base64)
printf 'fleet password 1\n' >"$M/secrets/pw" && chmod 600 "$M/secrets/pw"
enroll() { setsid "$A" enroll --config "$CFG" --data-dir "$D" --server rdesk.example.net \
	--relay rdesk.example.net:21117 --key "$KEY" "$@"; }
snap() {
	(cd "$M" && find etc var -type f -printf '%p %s %m %T@ %i\n' | sort &&
		find etc var -type f -print0 | sort -z | xargs -0 sha256sum)
}

# Refusals first: nothing may be written.
enroll --password-file "$M/secrets/missing" </dev/null >/dev/null 2>"$T_TMP/err"
check_eq "password file missing: exit 1" 1 $?
check "password file missing: says so" grep -q 'password-file.*not found' "$T_TMP/err"
check "password file missing: no data dir made" test ! -e "$D"
check "password file missing: config untouched" cmp -s "$RD_TOP/packaging/etc/agent.ini" "$CFG"
printf '\n' | enroll --password-file - >/dev/null 2>&1
check_eq "empty password on stdin: exit 1" 1 $?
check "empty password: no data dir made" test ! -e "$D"
"$A" enroll --config "$CFG" --data-dir "$D" --key "$KEY" </dev/null >/dev/null 2>&1
check_eq "no --server: exit 2 (usage)" 2 $?
enroll --password-file </dev/null >/dev/null 2>&1
check_eq "--password-file without a value: exit 2" 2 $?
check "refused runs wrote nothing" test ! -e "$D"

# First run: JSON, password from a file, no terminal.
J1=$(enroll --password-file "$M/secrets/pw" --json </dev/null); rc=$?
check_eq "first enroll: exit 0" 0 $rc
ID=$(sed -nE 's/.*"id":"([^"]+)".*/\1/p' <<<"$J1")
check "first enroll: JSON with an ID" grep -qE '^[0-9]{9,10}$' <<<"$ID"
check "first enroll: \"changed\":true" grep -q '"changed":true' <<<"$J1"
check "config names the server, relay and key" bash -c "grep -qx 'rendezvous = rdesk.example.net' '$CFG' &&
	grep -qx 'relay = rdesk.example.net:21117' '$CFG' && grep -qxF 'key = $KEY' '$CFG'"
check "the package's comments are kept" grep -qF '# Rendezvous server, host[:port]' "$CFG"
check "password stored as a salted hash, mode 0600" bash -c "[ \$(stat -c %a '$D/password') = 600 ] && ! grep -q fleet '$D/password'"
snap >"$T_TMP/s1"
sleep 1.1

# Second run, the same line: nothing changes.
J2=$(enroll --password-file "$M/secrets/pw" --json </dev/null); rc=$?
check_eq "second enroll: exit 0" 0 $rc
check "second enroll: \"changed\":false" grep -q '"changed":false' <<<"$J2"
check_eq "second enroll: same JSON" "$J1" "${J2/\"changed\":false/\"changed\":true}"
snap >"$T_TMP/s2"
if cmp -s "$T_TMP/s1" "$T_TMP/s2"; then
	ok "second enroll: config, key, id, uuid and password files byte-identical, same mtimes and inodes ($(find "$M/etc" "$M/var" -type f | wc -l) files)"
else
	not_ok "second enroll changed files"; diff "$T_TMP/s1" "$T_TMP/s2" | sed 's/^/# /'
fi
# Third run with the password on stdin and plain output: still nothing.
ID3=$(printf 'fleet password 1\n' | enroll --password-file -); rc=$?
check_eq "enroll with the password on stdin: exit 0" 0 $rc
check_eq "plain output is the same ID" "$ID" "$ID3"
snap >"$T_TMP/s3"
check "password on stdin, same password: nothing changed" cmp -s "$T_TMP/s1" "$T_TMP/s3"
check_eq "rd-agent id agrees" "$ID" "$(RDESK_DATA_DIR=$D "$A" id --config "$CFG")"

# A new password changes the password file alone.
printf 'fleet password 2\n' >"$M/secrets/pw"
J4=$(enroll --password-file "$M/secrets/pw" --json </dev/null)
check "new password: \"changed\":true" grep -q '"changed":true' <<<"$J4"
snap >"$T_TMP/s4"
changed=$(diff <(grep -v password "$T_TMP/s1") <(grep -v password "$T_TMP/s4") | grep -c '^[<>]')
check_eq "new password: only the password file changed" 0 "$changed"
check "new password: the password file did change" bash -c "! cmp -s <(grep password '$T_TMP/s1') <(grep password '$T_TMP/s4')"
t_done
