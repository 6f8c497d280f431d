# A clean Debian root for the tests that install into one (source it after
# lib.sh): debootstrap --variant=minbase from the mirror this machine's apt
# already uses, cached as a tarball, unpacked under $T_TMP; apt's lists and
# downloaded packages are kept between runs in the cache folder given.
#   debroot_new CACHE    unpacks a root into $T_TMP/root, sets R, mounts proc
#                        and the caches (undone at exit); ends the test with
#                        not ok when no root can be made
#   in_root CMD...       runs CMD in the root with a clean environment
#   debroot_update       apt-get update in the root unless the lists are fresh

debroot__mirror() {
	local codename=$1 f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && awk -v c="$codename" '$1 == "deb" { u = ""; for (i = 2; i <= NF; i++) {
			if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; continue } if (u == "") { u = $i; continue }
			if ($i == c) { print u; exit } break } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && awk -v c="$codename" 'BEGIN { RS = ""; FS = "\n" } {
			u = ""; s = ""; for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/) { u = $i; sub(/^URIs:[ \t]*/, "", u); sub(/[ \t].*/, "", u) }
				if ($i ~ /^Suites:/) s = " " substr($i, 8) " " }
			if (u != "" && index(s, " " c " ")) print u }' "$f"
	done | head -n1
}

debroot_new() {
	DEBROOT_CACHE=$1
	mkdir -p "$DEBROOT_CACHE/archives/partial" "$DEBROOT_CACHE/lists/partial"
	local codename mirror tarball t0
	codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
	mirror=$(debroot__mirror "$codename")
	if [ -z "$mirror" ]; then not_ok "a Debian mirror for $codename in /etc/apt/sources.list*"; t_done; fi
	note "mirror: $mirror ($codename)"
	tarball=$DEBROOT_CACHE/$codename-minbase.tar
	if [ ! -s "$tarball" ]; then
		t0=$SECONDS
		if debootstrap --variant=minbase "$codename" "$T_TMP/boot" "$mirror" >"$T_TMP/debootstrap.log" 2>&1 &&
			tar -C "$T_TMP/boot" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"; then
			ok "debootstrap $codename ($((SECONDS - t0)) s, cached in $tarball)"
		else
			not_ok "debootstrap $codename"; tail -n 20 "$T_TMP/debootstrap.log" | sed 's/^/# /'; t_done
		fi
		rm -rf "$T_TMP/boot"
	fi
	R=$T_TMP/root
	mkdir -p "$R" && tar -C "$R" -xf "$tarball"
	check "clean root unpacked" test -x "$R/usr/bin/dpkg" -a ! -e "$R/usr/bin/rd-agent" -a ! -e "$R/usr/bin/make"
	mount --bind "$DEBROOT_CACHE/archives" "$R/var/cache/apt/archives"
	t_on_exit "umount -l '$R/var/cache/apt/archives'"
	mount --bind "$DEBROOT_CACHE/lists" "$R/var/lib/apt/lists"
	t_on_exit "umount -l '$R/var/lib/apt/lists'"
	mount -t proc proc "$R/proc"
	t_on_exit "umount -l '$R/proc'"
	cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null
	return 0
}

in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

debroot_update() {
	if [ -z "$(find "$DEBROOT_CACHE/lists" -name '*Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
		in_root apt-get update -qq >"$T_TMP/update.log" 2>&1
		check "apt-get update in the root" test $? -eq 0
	fi
}
