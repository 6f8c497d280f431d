#!/usr/bin/env bash
# vm.sh: run one command in a throw-away qemu VM that has a real DRM device
# (bochs-drm on qemu's standard VGA) and /dev/uinput, with this machine's root
# file system as the VM's root (read-only 9p) and one writable folder.
#
#   test/lab/vm.sh [--out DIR] [--timeout SECS] [--mem MB] [--vga ARGS]
#                  [--append KERNEL-ARGS] SCRIPT
#   test/lab/vm.sh --prepare
#
# SCRIPT is a bash file that runs inside the VM as root, chrooted into this
# machine's root, so the freshly built programs are at their usual paths. DIR
# (default: a new folder under $RD_BUILD/lab/vm/runs) is mounted writable at
# the same path inside the VM: SCRIPT writes its results there. /tmp, /run and
# /dev/shm are fresh tmpfs inside the VM. The guest reaches this machine's
# loopback at 10.0.2.2; this machine never connects to the guest.
#
# After the run DIR holds serial.log (kernel and init), cmd.log (SCRIPT's
# stdout and stderr) and rc (SCRIPT's exit status); vm.sh exits with that
# status, or 124 when the VM did not finish in time.
#
# The kernel (Debian's linux-image for this release, fetched with apt-get
# download) and the busybox initramfs are built once into $RD_BUILD/lab/vm and
# reused; --prepare only builds them. Needs root (qemu's 9p passthrough serves
# every file of the host), qemu-system-x86, busybox-static, cpio and kmod.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${RD_BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
cache=$build/lab/vm
out='' timeout=180 mem=1024 prepare_only=0 script='' append=''
vga=(-vga std)

die() { echo "vm.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--vga) read -ra vga <<<"$2"; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--prepare) prepare_only=1; shift ;;
	-*) die "unknown option $1" ;;
	*) script=$1; shift ;;
	esac
done
[ "$(id -u)" -eq 0 ] || die "needs root (qemu serves the host's root file system over 9p)"
for tool in qemu-system-x86_64 busybox cpio depmod apt-get dpkg; do
	command -v "$tool" >/dev/null || die "$tool is missing: run make deps"
done
[ -x /bin/busybox ] && file_is_static=1 || file_is_static=0
[ $file_is_static = 1 ] || die "/bin/busybox (busybox-static) is missing: run make deps"

# Modules the initramfs loads, with what they need, in dependency order.
WANT_MODULES=(9p 9pnet_virtio virtio_net virtio_pci bochs uinput)

kernel_version() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/.*Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -n1
}

# Print the module files (relative to the modules folder) for WANT_MODULES,
# dependencies first, each once.
resolve_modules() {
	local moddir=$1 dep=$1/modules.dep
	declare -A seen=()
	visit() {
		local path=$1 line d
		[ -n "${seen[$path]:-}" ] && return 0
		seen[$path]=1
		line=$(grep -m1 "^$path:" "$dep") || die "module $path not in modules.dep"
		for d in ${line#*:}; do visit "$d"; done
		echo "$path"
	}
	local m path
	for m in "${WANT_MODULES[@]}"; do
		path=$(grep -m1 -E "(^|/)${m}\.ko(\.xz)?:" "$dep" | cut -d: -f1) ||
			die "module $m not found in $dep"
		[ -n "$path" ] || die "module $m not found in $dep"
		visit "$path"
	done
}

write_init() {
	cat >"$1" <<'EOF'
#!/bin/busybox sh
# init of the rdesk lab VM: load modules, mount the host root and the output
# folder, run the command chrooted into the host root, power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.list); do
	insmod "/lib/modules/$m" || echo "init: insmod $m failed"
done
out=$(sed -n 's/.*rdout=\([^ ]*\).*/\1/p' /proc/cmdline)
mkdir -p /host
opts=trans=virtio,version=9p2000.L,msize=262144
if ! mount -t 9p -o "$opts,ro" hostroot /host; then
	echo "init: cannot mount the host root"; poweroff -f
fi
for d in proc sys dev; do mount --bind "/$d" "/host/$d"; done
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /host/dev/pts
# The project and its build may live under /tmp (a clone in a temp folder):
# keep a view of the host root from before the tmpfs mounts and bind those
# folders back over them.
keep=$(sed -n 's/.*rdkeep=\([^ ]*\).*/\1/p' /proc/cmdline)
mkdir -p /keep
mount --bind /host /keep
for d in tmp run dev/shm var/tmp; do mount -t tmpfs -o mode=1777 tmpfs "/host/$d"; done
for k in $(echo "$keep" | tr , ' '); do
	case $k in
	/tmp/*|/run/*|/dev/shm/*|/var/tmp/*)
		mkdir -p "/host$k" && mount --bind "/keep$k" "/host$k" || echo "init: cannot keep $k" ;;
	esac
done
mkdir -p "/host$out" 2>/dev/null
mount -t 9p -o "$opts" out "/host$out" || echo "init: cannot mount the output folder"
ip link set lo up
ip link set eth0 up 2>/dev/null
ip addr add 10.0.2.15/24 dev eth0 2>/dev/null
ip route add default via 10.0.2.2 2>/dev/null
echo "init: running $out/cmd.sh"
chroot /host /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=linux \
	/bin/bash "$out/cmd.sh" >"/host$out/cmd.log" 2>&1 </dev/null
echo $? >"/host$out/rc"
kill -TERM -1 2>/dev/null; sleep 0.2; kill -KILL -1 2>/dev/null
sync
umount "/host$out"
echo "init: done"
poweroff -f
EOF
	chmod 0755 "$1"
}

prepare() {
	local ver stamp tmp
	ver=$(kernel_version)
	[ -n "$ver" ] || die "apt-cache does not name a linux-image for linux-image-amd64"
	stamp="$ver $( { declare -f write_init; echo "${WANT_MODULES[*]}"; } | sha256sum | cut -c1-16)"
	if [ -f "$cache/stamp" ] && [ "$(cat "$cache/stamp")" = "$stamp" ] &&
		[ -f "$cache/vmlinuz" ] && [ -f "$cache/initrd.gz" ]; then
		return 0
	fi
	echo "vm.sh: building kernel $ver and initramfs in $cache" >&2
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/prep.XXXXXX")
	trap 'rm -rf "$tmp"' RETURN
	if ! ls "$cache"/linux-image-"$ver"_*.deb >/dev/null 2>&1; then
		(cd "$cache" && apt-get download -q "linux-image-$ver") >&2 ||
			die "apt-get download linux-image-$ver failed"
	fi
	dpkg -x "$cache"/linux-image-"$ver"_*.deb "$tmp/pkg"
	cp "$tmp/pkg/boot/vmlinuz-$ver" "$cache/vmlinuz"
	depmod -b "$tmp/pkg" "$ver"
	local moddir=$tmp/pkg/lib/modules/$ver root=$tmp/root m
	mapfile -t mods < <(resolve_modules "$moddir")
	mkdir -p "$root"/{bin,proc,sys,dev,lib/modules}
	cp /bin/busybox "$root/bin/busybox"
	for m in "${mods[@]}"; do
		mkdir -p "$root/lib/modules/$(dirname "$m")"
		case $m in
		*.xz) xz -dc "$moddir/$m" >"$root/lib/modules/${m%.xz}" ;;
		*) cp "$moddir/$m" "$root/lib/modules/$m" ;;
		esac
	done
	printf '%s\n' "${mods[@]%.xz}" >"$root/modules.list"
	write_init "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$cache/initrd.gz.new"
	mv "$cache/initrd.gz.new" "$cache/initrd.gz"
	echo "$stamp" >"$cache/stamp"
}

prepare
[ $prepare_only = 1 ] && exit 0
[ -n "$script" ] || die "usage: vm.sh [--out DIR] [--timeout SECS] SCRIPT"
[ -f "$script" ] || die "no such script: $script"
if [ -z "$out" ]; then
	mkdir -p "$cache/runs"
	out=$(mktemp -d "$cache/runs/run.XXXXXX")
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
case $out in *' '*) die "the output folder must not contain spaces" ;; esac
cp "$script" "$out/cmd.sh"
rm -f "$out/rc" "$out/cmd.log" "$out/serial.log"
rc=0
# no_timer_check: under TCG on a loaded host the guest's IO-APIC timer check
# can fail and panic the kernel at boot; the check proves nothing here.
timeout -k 5 "$timeout" qemu-system-x86_64 -accel tcg -m "$mem" -smp 1 \
	-display none -monitor none -serial "file:$out/serial.log" -no-reboot \
	-kernel "$cache/vmlinuz" -initrd "$cache/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1 no_timer_check rdout=$out rdkeep=$top,$build $append" \
	"${vga[@]}" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$out,mount_tag=out,security_model=none,multidevs=remap" \
	-netdev user,id=n0 -device virtio-net-pci,netdev=n0 </dev/null || rc=$?
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	echo "vm.sh: the VM did not finish within ${timeout}s (see $out/serial.log)" >&2
	exit 124
fi
[ -f "$out/rc" ] || { echo "vm.sh: the command did not report a status (see $out/serial.log)" >&2; exit 125; }
exit "$(cat "$out/rc")"
