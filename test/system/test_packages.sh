#!/usr/bin/env bash
# The Debian packages: `make deb` builds the four, lintian finds no errors,
# they install into a clean Debian root (debootstrap, from the mirror this
# machine's apt already uses; cached as a tarball under the build folder),
# each program runs there, the configuration is conffiles under /etc/rdesk
# (and the fail2ban filters and jails under /etc/fail2ban),
# the units are installed (and enabled) as the packaging says, the agent's
# system user rdesk-agent is made on install (and kept on purge, as Debian
# does), removing keeps /var/lib/rdesk and /var/lib/rdesk-agent and purging
# removes them. With the rendezvous server's state laid out as systemd does
# for its dynamic user (/var/lib/rdesk a link into the 0700 /var/lib/private),
# a root `rd-agent enroll` leaves the agent's files in /var/lib/rdesk-agent,
# rdesk-agent's and readable by it; the agent's state of earlier versions
# (/var/lib/rdesk/agent) is moved there by the postinst. The units pass
# `systemd-analyze verify`, and `systemd-analyze security --offline=true`
# scores the two server units and the (unprivileged) agent at 2.0 or lower;
# the agent's root helper's score is printed.
# Needs root (debootstrap, chroot); the first run downloads a minimal Debian
# (about 40 MB) and the packages' libraries, later runs reuse the caches.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../debroot.sh"
if [ "$(id -u)" -ne 0 ]; then
	not_ok "test_packages: needs root (debootstrap and chroot); run as root"
	t_done
fi
for tool in dpkg-buildpackage lintian debootstrap systemd-analyze; do
	command -v "$tool" >/dev/null || { not_ok "$tool is missing (make deps)"; t_done; }
done
cd "$RD_TOP"
# Packages are built with the distribution's flags whatever the test build
# is, so an ASan run shares the plain build's packages and caches.
PB=$RD_BUILD
[ "${RD_ASAN:-0}" = 1 ] && PB=${RD_BUILD%/asan}
DEB=$PB/deb
CACHE=$PB/pkg-cache
PKGS=(rd-rendezvous rd-relay rd-agent rdctl)

# 1. Build, unless the packages were built from exactly this tree.
# (The stamp covers everything but test/, which no package contains.)
stamp=$( { git ls-tree HEAD | grep -v '	test$'; git diff HEAD -- . ':(exclude)test'
	git ls-files -z --others --exclude-standard -- . ':(exclude)test' | xargs -0r sha256sum; } |
	sha256sum | cut -c1-16)
if [ "$(cat "$DEB/.stamp" 2>/dev/null)" = "$stamp" ] && ls "$DEB"/rdctl_*.deb >/dev/null 2>&1; then
	note "packages already built from this tree ($stamp)"
	ok "make deb (cached)"
else
	t0=$SECONDS
	if make --no-print-directory BUILD="$PB" deb >"$T_TMP/deb.log" 2>&1; then
		echo "$stamp" >"$DEB/.stamp"
		ok "make deb ($((SECONDS - t0)) s)"
	else
		not_ok "make deb"; tail -n 30 "$T_TMP/deb.log" | sed 's/^/# /'; t_done
	fi
fi
for p in "${PKGS[@]}"; do
	f=$(ls "$DEB"/${p}_*.deb 2>/dev/null | head -n1)
	if [ -n "$f" ]; then
		ok "$p package built: $(basename "$f"), $(stat -c %s "$f") bytes, installed size $(dpkg-deb -f "$f" Installed-Size) KiB"
	else
		not_ok "$p package built"
	fi
done
mapfile -t debs < <(ls "$DEB"/*.deb | grep -v -- '-dbgsym_')

# 2. Depends from shlibs, and lintian.
dep=$(dpkg-deb -f "$DEB"/rd-agent_*.deb Depends)
check "rd-agent Depends comes from shlibs (libsodium, libvpx)" \
	bash -c "grep -q 'libsodium23' <<<'$dep' && grep -q 'libvpx' <<<'$dep'"
lintian --tag-display-limit 0 "${debs[@]}" >"$T_TMP/lintian.log" 2>&1
sed 's/^/# lintian: /' "$T_TMP/lintian.log"
errs=$(grep -c '^E: ' "$T_TMP/lintian.log")
note "lintian: $errs errors, $(grep -c '^W: ' "$T_TMP/lintian.log") warnings, $(grep -c '^[IP]: ' "$T_TMP/lintian.log") notes"
check_eq "lintian: no errors" 0 "$errs"

# 3. The units: verify and security scores (installed paths rewritten to the
# binaries of this build for `verify`, which checks that ExecStart exists).
mkdir -p "$T_TMP/units"
for u in systemd/rd-*.service systemd/rd-*.socket; do
	sed "s,/usr/local/bin/,$RD_BUILD/," "$u" >"$T_TMP/units/$(basename "$u")"
done
# (--man=no: the pages the units name are not installed on this machine.)
for u in "$T_TMP"/units/*.service "$T_TMP"/units/*.socket; do
	out=$(systemd-analyze verify --man=no "$u" 2>&1); rc=$?
	[ -n "$out" ] && sed 's/^/# verify: /' <<<"$out"
	check "systemd-analyze verify $(basename "$u")" test "$rc" -eq 0 -a -z "$(grep -v 'is not a file\|^$' <<<"$out")"
done
for u in rd-rendezvous rd-relay rd-agent; do
	systemd-analyze security --offline=true --no-pager "$T_TMP/units/$u.service" >"$T_TMP/sec-$u" 2>&1
	score=$(sed -nE 's/.*Overall exposure level for [^:]*: ([0-9.]+).*/\1/p' "$T_TMP/sec-$u")
	note "systemd-analyze security $u.service: ${score:-?}"
	check "$u.service exposure ${score:-?} <= 2.0" awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }'
done
u=rd-agent-helper
systemd-analyze security --offline=true --no-pager "$T_TMP/units/$u.service" >"$T_TMP/sec-$u" 2>&1
note "systemd-analyze security $u.service (root by design, for DRM, uinput and the display's cookie): $(sed -nE 's/.*Overall exposure level for [^:]*: ([0-9.]+ [A-Z]+).*/\1/p' "$T_TMP/sec-$u")"
check "rd-agent.service runs as rdesk-agent with no capability" bash -c \
	"grep -qx 'User=rdesk-agent' '$T_TMP/units/rd-agent.service' && grep -qx 'CapabilityBoundingSet=' '$T_TMP/units/rd-agent.service'"

# 4. A clean Debian root, from the mirror apt already uses here.
debroot_new "$CACHE"
mkdir -p "$R/tmp/debs" && cp "${debs[@]}" "$R/tmp/debs/"
debroot_update
t0=$SECONDS
in_root apt-get install -y -qq --no-install-recommends "${debs[@]/#*\//\/tmp\/debs\/}" >"$T_TMP/install.log" 2>&1
rc=$?
check "apt-get install the four packages into the clean root ($((SECONDS - t0)) s)" test $rc -eq 0
[ $rc -eq 0 ] || { tail -n 30 "$T_TMP/install.log" | sed 's/^/# /'; t_done; }
for p in "${PKGS[@]}"; do
	check_eq "$p installed" "install ok installed" "$(in_root dpkg-query -W -f='${Status}' "$p" 2>&1)"
done

# 5. The programs run.
for p in "${PKGS[@]}"; do
	v=$(in_root "$p" --version 2>&1); rc=$?
	check "$p --version: '$v'" test $rc -eq 0 -a -n "$v"
	in_root "$p" --help >"$T_TMP/help-$p" 2>&1; rc=$?
	check "$p --help ($(wc -l <"$T_TMP/help-$p") lines)" test $rc -eq 0 -a "$(grep -c -- '--' "$T_TMP/help-$p")" -gt 3
done
# The rendezvous server's state as systemd lays it out for DynamicUser=.
in_root sh -c 'mkdir -p -m 0700 /var/lib/private && mkdir -m 0700 /var/lib/private/rdesk &&
	ln -s private/rdesk /var/lib/rdesk'
check "rendezvous state as for DynamicUser= (/var/lib/rdesk -> private/rdesk, 0700 root)" \
	test -L "$R/var/lib/rdesk" -a -d "$R/var/lib/private/rdesk"
key=$(in_root rd-rendezvous --print-key --data-dir /var/lib/rdesk 2>/dev/null)
check "rd-rendezvous --print-key prints a base64 Ed25519 key" grep -qE '^[A-Za-z0-9+/]{43}=$' <<<"$key"
check "the key pair is in /var/lib/rdesk" test -s "$R/var/lib/rdesk/id_ed25519"
check "the packaged config files are accepted" bash -c "
	chroot '$R' rd-relay --config /etc/rdesk/relay.ini --version >/dev/null &&
	chroot '$R' rd-rendezvous --config /etc/rdesk/rendezvous.ini --data-dir /var/lib/rdesk --print-key >/dev/null 2>&1"
ID=$(in_root rd-agent enroll --server 127.0.0.1 --key "$key" 2>"$T_TMP/enroll.err")
check "rd-agent enroll in the root prints an ID" grep -qE '^[0-9]{9,10}$' <<<"$ID"
check "enroll wrote the packaged /etc/rdesk/agent.ini" grep -qx "key = $key" "$R/etc/rdesk/agent.ini"
# Both servers' packages and the agent's on one machine: the agent's state is
# its own, out of the rendezvous server's private folder.
as_agent() { in_root setpriv --reuid=rdesk-agent --regid=rdesk-agent --clear-groups "$@"; }
check_eq "the agent's folder, made on install: /var/lib/rdesk-agent rdesk-agent 700" \
	"rdesk-agent 700" "$(in_root stat -c '%U %a' /var/lib/rdesk-agent 2>&1)"
for f in id uuid id_ed25519 id_ed25519.pub; do
	check_eq "enroll as root: /var/lib/rdesk-agent/$f is rdesk-agent's" \
		rdesk-agent "$(in_root stat -c %U "/var/lib/rdesk-agent/$f" 2>&1)"
done
check "rdesk-agent reads its ID, uuid and key (setpriv --reuid=rdesk-agent)" as_agent sh -c \
	'test -r /var/lib/rdesk-agent/id -a -r /var/lib/rdesk-agent/uuid -a -r /var/lib/rdesk-agent/id_ed25519'
check_eq "rd-agent id as rdesk-agent: the enrolled ID" "$ID" "$(as_agent rd-agent id 2>&1)"
check "nothing of the agent's in the rendezvous server's folder" test ! -e "$R/var/lib/private/rdesk/agent"
for f in usr/share/man/man8/rd-rendezvous.8.gz usr/share/man/man8/rd-relay.8.gz \
	usr/share/man/man8/rd-agent.8.gz usr/share/man/man8/rd-agent-helper.8.gz usr/share/man/man1/rdctl.1.gz \
	usr/share/bash-completion/completions/rdctl usr/share/bash-completion/completions/rd-agent \
	usr/bin/rd-agent-helper lib/systemd/system/rd-agent-helper.socket \
	lib/systemd/system/rd-agent-helper.service usr/lib/sysusers.d/rd-agent.conf; do
	check "installed /$f" test -s "$R/$f"
done

# The agent's user, made on install from sysusers.d.
pw=$(in_root getent passwd rdesk-agent)
check "user rdesk-agent exists after install ($pw)" \
	grep -qE '^rdesk-agent:x:[0-9]+:[0-9]+:[^:]*:/var/lib/rdesk-agent:/usr/sbin/nologin$' <<<"$pw"
check "group rdesk-agent exists" grep -q '^rdesk-agent:' <<<"$(in_root getent group rdesk-agent)"
# An operator's `rd-agent password set` (root) into the agent's folder: the
# new file is the agent's.
printf 'pw-in-the-root\n' | in_root rd-agent password set >/dev/null 2>&1
check_eq "password set as root into rdesk-agent's folder: the hash is rdesk-agent's" \
	"rdesk-agent 600" "$(in_root stat -c '%U %a' /var/lib/rdesk-agent/password 2>&1)"

# 6. Conffiles, units and their state.
for p in rd-rendezvous rd-relay rd-agent; do
	ini=${p#rd-}.ini
	check "$p: /etc/rdesk/$ini is a conffile" \
		bash -c "chroot '$R' dpkg-query -W -f='\${Conffiles}' $p | grep -q ' /etc/rdesk/$ini '"
	check "$p: unit installed with /usr/bin paths" \
		bash -c "grep -q '^ExecStart=/usr/bin/$p' '$R/lib/systemd/system/$p.service'"
	check "$p: enabled (multi-user.target.wants)" test -L "$R/etc/systemd/system/multi-user.target.wants/$p.service"
done
check "rd-agent-helper.service installed with /usr/bin paths" \
	grep -q '^ExecStart=/usr/bin/rd-agent-helper --agent-user rdesk-agent' "$R/lib/systemd/system/rd-agent-helper.service"
check "rd-agent-helper.socket enabled (sockets.target.wants)" \
	test -L "$R/etc/systemd/system/sockets.target.wants/rd-agent-helper.socket"
check "rd-agent-helper.socket: only group rdesk-agent may connect (0660)" bash -c \
	"grep -qx 'SocketGroup=rdesk-agent' '$R/lib/systemd/system/rd-agent-helper.socket' &&
	grep -qx 'SocketMode=0660' '$R/lib/systemd/system/rd-agent-helper.socket'"
check "rd-agent.service requires the helper's socket" grep -qx 'Requires=rd-agent-helper.socket' "$R/lib/systemd/system/rd-agent.service"

# The fail2ban filters and jails (jails off until enabled), as conffiles; the
# installed filters match a line of their program (when fail2ban-regex is here).
for p in rd-agent rd-rendezvous; do
	for d in filter.d jail.d; do
		check "$p: /etc/fail2ban/$d/$p.conf is a conffile" \
			bash -c "chroot '$R' dpkg-query -W -f='\${Conffiles}' $p | grep -q ' /etc/fail2ban/$d/$p.conf '"
	done
	check "$p: its jail is off until enabled" grep -qx 'enabled *= *false' "$R/etc/fail2ban/jail.d/$p.conf"
done
if command -v fail2ban-regex >/dev/null; then
	mkdir -p "$T_TMP/f2b/filter.d"
	cp /etc/fail2ban/filter.d/common.conf "$R"/etc/fail2ban/filter.d/rd-*.conf "$T_TMP/f2b/filter.d/"
	got=$(fail2ban-regex -o ip "host rd-agent[7]: session: login failed src=192.0.2.7 port=5: wrong password; controller id=\"x\"" \
		"$T_TMP/f2b/filter.d/rd-agent.conf[logtype=journal]" 2>&1)
	check_eq "installed rd-agent filter matches a journal line" 192.0.2.7 "$got"
	got=$(fail2ban-regex -o ip "host rd-rendezvous[7]: rendezvous: limit rate src=192.0.2.8 port=5 id=- tcp request rate" \
		"$T_TMP/f2b/filter.d/rd-rendezvous.conf[logtype=journal]" 2>&1)
	check_eq "installed rd-rendezvous filter matches a journal line" 192.0.2.8 "$got"
fi

# 7. Remove keeps data and configuration; purge removes them.
in_root apt-get remove -y -qq "${PKGS[@]}" >"$T_TMP/remove.log" 2>&1
check "apt-get remove" test $? -eq 0
check "removed: binaries gone" test ! -e "$R/usr/bin/rd-agent" -a ! -e "$R/usr/bin/rdctl"
check "removed: /var/lib/rdesk and /var/lib/rdesk-agent kept (server key, agent ID)" \
	test -s "$R/var/lib/rdesk/id_ed25519" -a -s "$R/var/lib/rdesk-agent/id"
check "removed: /etc/rdesk kept" test -f "$R/etc/rdesk/agent.ini" -a -f "$R/etc/rdesk/relay.ini"
in_root dpkg --purge "${PKGS[@]}" >"$T_TMP/purge.log" 2>&1
check "dpkg --purge" test $? -eq 0
check "purged: /var/lib/rdesk gone" test ! -e "$R/var/lib/rdesk" -a ! -L "$R/var/lib/rdesk"
check "purged: /var/lib/rdesk-agent gone" test ! -e "$R/var/lib/rdesk-agent"
check "purged: /etc/rdesk gone" test ! -e "$R/etc/rdesk"
check "purged: no unit links left" bash -c "! ls '$R'/etc/systemd/system/*/rd-* >/dev/null 2>&1"
check "purged: the rdesk-agent user is kept (Debian leaves system users)" \
	grep -q '^rdesk-agent:' <<<"$(in_root getent passwd rdesk-agent)"
stray=$(cd "$R" && find . -path ./proc -prune -o -path ./tmp -prune -o -path ./var/cache/apt -prune -o \
	-path ./var/lib/dpkg -prune -o \( -name '*rdesk*' -o -name 'rd-agent*' -o -name 'rd-relay*' \
	-o -name 'rd-rendezvous*' -o -name 'rdctl*' \) -print | head -n 5 | paste -sd' ')
check "purged: nothing of ours left in the root${stray:+ ($stray)}" test -z "$stray"
left=$(in_root dpkg-query -W -f='${Package} ${Status}\n' "${PKGS[@]}" 2>/dev/null | grep -v 'not-installed$' | grep -c .)
check_eq "dpkg knows none of the four any more" 0 "$left"

# 8. Upgrade from the layout of earlier versions: the agent's state in
# /var/lib/rdesk/agent, inside the rendezvous server's private folder and
# chowned to its dynamic uid (what its first start did to it).
old=/var/lib/private/rdesk/agent
in_root sh -c "set -e; mkdir -p -m 0700 /var/lib/private/rdesk; ln -s private/rdesk /var/lib/rdesk
	mkdir -m 0700 /var/lib/rdesk/agent; cd /var/lib/rdesk/agent
	echo 123456789 >id; chmod 644 id; echo 00112233445566778899aabbccddeeff >uuid; chmod 600 uuid
	head -c 64 /dev/urandom >id_ed25519; chmod 600 id_ed25519
	head -c 32 /dev/urandom >id_ed25519.pub; chmod 644 id_ed25519.pub
	printf 'salt hash\n' >password; chmod 600 password; chown -R 61234:61234 ."
listing() { in_root sh -c "cd '$1' && find . -mindepth 1 -printf '%p %m %s\n' | sort && find . -type f -exec sha256sum {} + | sort"; }
before=$(listing "$old")
check_eq "old layout: 5 files in $old" 5 "$(in_root find "$old" -type f | wc -l)"
check "old layout: rdesk-agent cannot reach it" bash -c "! chroot '$R' setpriv --reuid=rdesk-agent \
	--regid=rdesk-agent --clear-groups test -r /var/lib/rdesk/agent/id"
f=$(ls "$DEB"/rd-agent_*.deb | head -n1)
cp "$f" "$R/tmp/debs/"
in_root apt-get install -y -qq --no-install-recommends "/tmp/debs/$(basename "$f")" >"$T_TMP/upgrade.log" 2>&1
check "apt-get install rd-agent over the old layout" test $? -eq 0
check "the postinst says it moved the state" grep -q "moved the agent's state from /var/lib/rdesk/agent to /var/lib/rdesk-agent" "$T_TMP/upgrade.log"
check "moved: nothing left in $old" test ! -e "$R$old"
check_eq "moved: same files, modes and contents in /var/lib/rdesk-agent" "$before" "$(listing /var/lib/rdesk-agent)"
check_eq "moved: all rdesk-agent's" "" "$(in_root find /var/lib/rdesk-agent ! -user rdesk-agent ! -group rdesk-agent 2>&1)"
check_eq "moved: the folder is rdesk-agent's, 0700" "rdesk-agent 700" "$(in_root stat -c '%U %a' /var/lib/rdesk-agent 2>&1)"
check_eq "moved: rd-agent id as rdesk-agent keeps the ID" 123456789 "$(as_agent rd-agent id 2>&1)"
check "moved: the rendezvous server's link is left alone" test -L "$R/var/lib/rdesk" -a -d "$R/var/lib/private/rdesk"
in_root dpkg -i "/tmp/debs/$(basename "$f")" >"$T_TMP/upgrade2.log" 2>&1
check "again (an upgrade to the same version): nothing moves" bash -c \
	"! grep -q moved '$T_TMP/upgrade2.log' && [ \"\$(chroot '$R' cat /var/lib/rdesk-agent/id)\" = 123456789 ]"
# An old state the postinst never saw (say `make install`): the daemon says
# where it is (as root here, which reads it through the private folder).
in_root sh -c 'mkdir -m 0700 /var/lib/rdesk/agent && echo 987654321 >/var/lib/rdesk/agent/id &&
	mv /var/lib/rdesk-agent /var/lib/rdesk-agent.saved && mkdir -m 0700 /var/lib/rdesk-agent'
in_root rd-agent run --server 127.0.0.1 >/dev/null 2>"$T_TMP/run-old.err"
rc=$?
sed 's/^/# rd-agent run: /' "$T_TMP/run-old.err" | head -n 5
check "rd-agent run with the old state only: fails, and names where the state is" bash -c \
	"[ $rc -ne 0 ] && grep -q 'earlier version.*/var/lib/rdesk/agent' '$T_TMP/run-old.err'"
in_root sh -c 'rmdir /var/lib/rdesk-agent && mv /var/lib/rdesk-agent.saved /var/lib/rdesk-agent'
in_root dpkg --purge rd-agent >"$T_TMP/purge2.log" 2>&1
check "purge after the move: both the new and the old folder gone" \
	test $? -eq 0 -a ! -e "$R/var/lib/rdesk-agent" -a ! -e "$R$old"
t_done
