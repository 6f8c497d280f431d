#!/usr/bin/env bash
# The README's first command on a fresh machine: in a clean Debian root
# (debootstrap minbase) with nothing added but `make`, a clean copy of this
# tree runs `make demo` exactly as the README writes it. It must install what
# it needs, build, and finish with its result: a screenshot and a recording.
# Then `make` alone on a root without the -dev packages says which are missing.
# Needs root (debootstrap, chroot, mounts). Downloads come from the mirror
# apt uses here; the packages this machine's apt already holds are read from
# its cache, new downloads are kept under the build folder for the next run.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../debroot.sh"
if [ "$(id -u)" -ne 0 ]; then
	not_ok "test_fresh_demo: needs root (debootstrap, chroot and mounts); run as root"
	t_done
fi
command -v debootstrap >/dev/null || { not_ok "debootstrap is missing (make deps)"; t_done; }
cd "$RD_TOP"
PB=$RD_BUILD
[ "${RD_ASAN:-0}" = 1 ] && PB=${RD_BUILD%/asan}
CACHE=$PB/pkg-cache

# The command, as the README's opening block writes it.
cmd=$(awk '/^    make demo/ { sub(/^    /, ""); sub(/[ \t]+#.*/, ""); print; exit }' README.md)
check_eq "the README opens with make demo" "make demo" "$cmd"
first=$(grep -m1 -E '^    make ' README.md | sed -e 's/^    //' -e 's/[ \t]*#.*//')
check_eq "make demo is the README's first command" "$cmd" "$first"

debroot_new "$CACHE"
# Packages this machine's apt already downloaded are used as they are (read
# only, beneath the cache of this test's own downloads).
eval "$(apt-config shell HOSTARCH Dir::Cache::archives/d)"
if [ -n "${HOSTARCH:-}" ] && [ -d "$HOSTARCH" ]; then
	mkdir -p "$CACHE/archives-work"
	mount -t overlay overlay -o "lowerdir=$HOSTARCH,upperdir=$CACHE/archives,workdir=$CACHE/archives-work" \
		"$R/var/cache/apt/archives" &&
		t_on_exit "umount -l '$R/var/cache/apt/archives'"
fi
mkdir -p "$R/dev/shm" && mount -t tmpfs -o mode=1777 shm "$R/dev/shm" && t_on_exit "umount -l '$R/dev/shm'"
# X displays are numbered machine-wide (abstract sockets): let the root see
# which are taken.
mkdir -p /tmp/.X11-unix "$R/tmp/.X11-unix"
mount --bind /tmp/.X11-unix "$R/tmp/.X11-unix" && t_on_exit "umount -l '$R/tmp/.X11-unix'"
debroot_update

t0=$SECONDS
in_root apt-get install -y -qq --no-install-recommends make >"$T_TMP/make-install.log" 2>&1
check "apt-get install make ($((SECONDS - t0)) s)" test $? -eq 0
check "the root has make and no compiler" bash -c "[ -x '$R/usr/bin/make' ] && ! [ -e '$R/usr/bin/cc' ]"

# A clean copy of the tree: what git tracks plus new files it does not ignore.
mkdir -p "$R/src"
git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf - | tar -xf - -C "$R/src"
check "clean tree copied ($(find "$R/src" -type f | wc -l) files, no build folder)" \
	test -f "$R/src/Makefile" -a ! -e "$R/src/build"

# Before the packages: a build says which pkg-config packages are missing.
in_root bash -c 'cd /src && make' >"$T_TMP/nodeps.log" 2>&1
rc=$?
sed 's/^/# make (no packages): /' "$T_TMP/nodeps.log" | tail -n 3
check "make without the packages fails" test $rc -ne 0
check "... naming the missing packages and make deps" \
	grep -qE "^error: pkg-config finds no .*sqlite3.*'make deps' installs them" "$T_TMP/nodeps.log"

t0=$SECONDS
timeout -k 10 1500 chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 HOME=/root \
	TERM=dumb bash -c "cd /src && $cmd" >"$T_TMP/demo.log" 2>&1
rc=$?
note "make demo took $((SECONDS - t0)) s"
check "make demo exits 0 on the fresh root" test $rc -eq 0
[ $rc -eq 0 ] || tail -n 40 "$T_TMP/demo.log" | sed 's/^/# /'
grep -E '^(deps:|.*demo:)' "$T_TMP/demo.log" | sed 's/\x1b\[[0-9;]*m//g; s/^/# /'
check "make demo installed the packages first" grep -q '^deps: installing' "$T_TMP/demo.log"
check "make demo printed its result" grep -qE 'demo:.* screenshot: ' "$T_TMP/demo.log"
check "the screenshot is a PNG" bash -c "head -c 4 '$R/src/build/demo/screenshot.png' | od -An -tx1 | grep -q '89 50 4e 47'"
probe=$(in_root ffprobe -v error -show_entries stream=codec_type,width,height -of csv=p=0 /src/build/demo/recording.mkv 2>&1)
note "recording: $probe"
check "the recording has a video stream" grep -qE '^video,[0-9]+,[0-9]+' <<<"$probe"
check "the demo left nothing running in the root" bash -c "! ls -l /proc/[0-9]*/root 2>/dev/null | grep -qF -- '-> $R'"
t_done
