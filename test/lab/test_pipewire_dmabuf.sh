#!/usr/bin/env bash
# PipeWire capture of dma-buf buffers: real dma-bufs need a DRM device, so
# this runs in the qemu VM of test/lab/vm.sh (Debian's kernel, bochs-drm).
# In the guest a private PipeWire daemon runs, test/tools/pw-dmabuf-src
# publishes a node whose buffers are only dma-bufs (dumb buffers of vgem, the
# kernel's virtual GEM device, exported with PRIME: bochs-drm cannot export
# its VRAM buffers; linear, not marked mappable), and the agent's pipewire
# backend (capture-dump) must negotiate dma-buf, map the descriptors itself
# and show the producer's picture: four coloured quadrants and a black block
# moving along a grey band at the bottom.
source "$(dirname "$0")/../lib.sh"
t_require_root
for tool in qemu-system-x86_64 pipewire convert; do
	command -v $tool >/dev/null || { not_ok "$tool is missing (run make deps)"; t_done; }
done
B=$(cd "$RD_BUILD" && pwd)
for p in test/tools/capture-dump test/tools/pw-dmabuf-src; do
	[ -x "$B/$p" ] || { not_ok "$p is not built in $RD_BUILD"; t_done; }
done
W=640 H=360
O=$(mktemp -d "$B/lab-dmabuf.XXXXXX")
t_on_exit rm -rf "$O"
{
	printf 'B=%q\nW=%s\nH=%s\n' "$B" $W $H
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!v:-}" ] && printf 'export %s=%q\n' "$v" "${!v}"
	done
} >"$O/params"
# vgem and its helper from the VM's own kernel package, loaded by the guest.
"$(dirname "$0")/vm.sh" --prepare >"$T_TMP/prepare.log" 2>&1
deb=$(ls "$B"/lab/vm/linux-image-*.deb 2>/dev/null | head -n1)
mkdir -p "$O/mod"
[ -n "$deb" ] && dpkg-deb --fsys-tarfile "$deb" |
	tar -x -C "$O/mod" --transform='s,.*/,,' --wildcards '*/drm/drm_shmem_helper.ko' '*/drm/vgem/vgem.ko'
check "vgem taken from the VM's kernel package" test -f "$O/mod/vgem.ko" -a -f "$O/mod/drm_shmem_helper.ko"

cat >"$T_TMP/guest.sh" <<'EOF'
set -u
O=$(dirname "$0")
source "$O/params"
wait_for() {
	local i
	for i in $(seq $(($3 * 5))); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.2; done
	echo "guest: timed out waiting for /$2/ in $1"
	return 1
}
export XDG_RUNTIME_DIR=/tmp/pw
mkdir -m 0700 -p $XDG_RUNTIME_DIR
insmod "$O/mod/drm_shmem_helper.ko" && insmod "$O/mod/vgem.ko" || echo "guest: insmod failed"
card=
for c in /sys/class/drm/card[0-9]*; do
	case $(readlink -f "$c/device") in *vgem*) card=/dev/dri/${c##*/} ;; esac
done
echo "vgem card: ${card:-none}" >"$O/dri.txt"
ls -l /dev/dri >>"$O/dri.txt" 2>&1
pipewire >"$O/pipewire.log" 2>&1 &
pw=$!
for i in $(seq 100); do [ -S $XDG_RUNTIME_DIR/pipewire-0 ] && break; sleep 0.1; done
"$B/test/tools/pw-dmabuf-src" rd-dmabuf ${W}x$H "$card" >"$O/src.log" 2>&1 &
src=$!
wait_for "$O/src.log" '^ready' 30
timeout 60 "$B/test/tools/capture-dump" --backend pipewire --display rd-dmabuf --frames 4 \
	--fps 10 --ppm "$O/dmabuf.ppm" >"$O/dump.log" 2>&1
echo "exit $?" >>"$O/dump.log"
kill $src
wait $src
echo "exit $?" >>"$O/src.log"
kill $pw
wait $pw
EOF

timeout 300 "$(dirname "$0")/vm.sh" --out "$O" --timeout 240 \
	"$T_TMP/guest.sh" \
	>"$T_TMP/vm.log" 2>&1
check_eq "the VM ran the guest script" 0 $?
sed 's/^/# guest: /' "$O/cmd.log" 2>/dev/null | head -10

check "the guest has a vgem card" grep -q "vgem card: /dev/dri/card" "$O/dri.txt"
check "the producer exported dma-bufs" grep -q '^buffer [0-9]* stride 2560 size' "$O/src.log"
check "the producer negotiated the linear modifier" grep -q "^format ${W}x$H modifier 0$" "$O/src.log"
check "the producer stayed up (exit 0)" grep -q '^exit 0' "$O/src.log"
check "capture-dump exits 0" grep -q '^exit 0' "$O/dump.log"
check "the capture negotiated dma-buf" grep -q "format ${W}x$H BGRx, dma-buf (linear)" "$O/dump.log"
check_eq "4 frames captured" 4 "$(grep -c '^frame' "$O/dump.log")"
# After the first frame only the band at the bottom (rows H-16..H) changes:
# damage is counted in 64-pixel tiles, so it stays in the last tile row.
bad=$(awk -v top=$(((H - 16) / 64 * 64)) '$1 == "frame" && $2 > 0 { split($9, b, ",");
	if (b[2] < top || b[3] > 256) print }' "$O/dump.log")
check "damage after the first frame is the moving block's tiles" test -z "$bad"
rgb_at() {
	convert "$1" -format "%[fx:int(255*p{$2,$3}.r+.5)] %[fx:int(255*p{$2,$3}.g+.5)] %[fx:int(255*p{$2,$3}.b+.5)]" info:
}
picture() {
	local want=("255 0 0" "0 255 0" "0 0 255" "255 255 255") xy=("160 90" "480 90" "160 250" "480 250") i got
	for i in 0 1 2 3; do
		# shellcheck disable=SC2086
		got=$(rgb_at "$1" ${xy[$i]})
		[ "$got" = "${want[$i]}" ] || { note "quadrant $i: $got, want ${want[$i]}"; return 1; }
	done
	got=$(convert "$1" -crop ${W}x16+0+$((H - 16)) +repage -format %k info:)
	[ "$got" = 2 ] || { note "bottom band has $got colours, want 2 (grey, black)"; return 1; }
}
check "the captured picture is the producer's" picture "$O/dmabuf.ppm"
check_no_sanitizer "no sanitizer report from capture-dump" "$O/dump.log"
check_no_sanitizer "no sanitizer report from pw-dmabuf-src" "$O/src.log"
if [ "$T_FAILED" -gt 0 ]; then
	for f in "$O"/*.log "$T_TMP/vm.log"; do
		note "--- $(basename "$f")"
		tail -n 12 "$f" | sed 's/^/#   /'
	done
fi
t_done
