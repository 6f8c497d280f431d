#!/usr/bin/env bash
# rd-agent-helper on real devices: a qemu VM (test/lab/vm.sh: Debian's
# kernel, bochs-drm, /dev/uinput, this machine's root over 9p) runs the
# helper as root and privsep-probe as nobody, who may open neither
# /dev/dri/card0 nor /dev/uinput. Through the helper nobody gets the card
# (master dropped), the console's framebuffer described by GETFB2 on its own
# descriptor with a GEM handle it maps itself (the pixels equal /dev/fb0's),
# and the rdesk uinput keyboard and pointer. A helper without CAP_SYS_ADMIN
# gets no handle: that privilege is what the helper is for.
source "$(dirname "$0")/../lib.sh"
t_require_root
command -v qemu-system-x86_64 >/dev/null || { not_ok "qemu-system-x86_64 is missing (run make deps)"; t_done; }
for p in rd-agent-helper test/tools/privsep-probe; do
	[ -x "$RD_BUILD/$p" ] || { not_ok "$p is not built in $RD_BUILD"; t_done; }
done
if ! "$RD_TOP/test/lab/vm.sh" --prepare >"$T_TMP/prepare.log" 2>&1; then
	not_ok "VM kernel and initramfs prepared"; sed 's/^/# /' "$T_TMP/prepare.log"; t_done
fi
O=$T_TMP/vm
mkdir -p "$O"
echo "B=$RD_BUILD" >"$O/params"

cat >"$T_TMP/guest.sh" <<'EOF'
set -u
O=$(dirname "$0")
source "$O/params"
S=/run/rdh/helper.sock
P=$B/test/tools/privsep-probe
mkdir -m 0755 /run/rdh
ls -l /dev/uinput /dev/dri/card0 >"$O/devices.txt" 2>&1
printf '\033[?25l\033[2J\033[HRDESK HELPER TEST\n\033[41m%20s\033[0m\n' '' >/dev/tty1
sleep 0.5
"$B/rd-agent-helper" --listen $S --agent-user nobody -l debug >"$O/helper.log" 2>&1 &
for i in $(seq 100); do [ -S $S ] && break; sleep 0.1; done
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$P" "$@" 2>>"$O/probe.log"; }
nobody drm-open 0 >"$O/direct-drm.out"
nobody uinput keyboard >"$O/direct-uinput.out"
nobody --socket $S drm-open 0 >"$O/drm-open.out"
nobody --socket $S drm-fb 0 >"$O/drm-fb.out"
nobody --socket $S uinput keyboard >"$O/uinput-kbd.out"
nobody --socket $S uinput pointer >"$O/uinput-ptr.out"
# A helper without CAP_SYS_ADMIN: the kernel withholds the handle.
setpriv --bounding-set -sys_admin --inh-caps -sys_admin "$B/rd-agent-helper" \
	--listen /run/rdh/nocap.sock --agent-user nobody >"$O/helper-nocap.log" 2>&1 &
for i in $(seq 100); do [ -S /run/rdh/nocap.sock ] && break; sleep 0.1; done
nobody --socket /run/rdh/nocap.sock drm-fb 0 >"$O/drm-fb-nocap.out"
# The same sum over /dev/fb0 (the console's framebuffer): the first byte of
# every pixel, every row.
stride=$(cat /sys/class/graphics/fb0/stride)
IFS=, read -r w h </sys/class/graphics/fb0/virtual_size
python3 -c "
import sys
d = open('/dev/fb0', 'rb').read($stride * $h)
print(sum(d[y * $stride + x] for y in range($h) for x in range(0, $stride, 4)))
" >"$O/fb0.sum" 2>&1
echo done >"$O/finished"
EOF

"$RD_TOP/test/lab/vm.sh" --timeout 300 --out "$O" "$T_TMP/guest.sh" >"$T_TMP/vm.log" 2>&1
check_eq "the VM ran the script" done "$(cat "$O/finished" 2>/dev/null)" || {
	tail -n 20 "$O/serial.log" "$O/cmd.log" 2>/dev/null | sed 's/^/# /'; t_done; }
note "$(tr '\n' ' ' <"$O/devices.txt")"
check "nobody cannot open the card itself" grep -q '^error drm-open: permission denied' "$O/direct-drm.out"
check "nor /dev/uinput" grep -q '^error uinput: permission denied' "$O/direct-uinput.out"
check_eq "through the helper: the card" "ok drm-open: char 226:0" "$(cat "$O/drm-open.out")"
fb=$(cat "$O/drm-fb.out")
check "GETFB2 through the helper gives a GEM handle ($fb)" grep -qE '^ok drm-fb: [0-9]+x[0-9]+ XR24 pitch [0-9]+ handle [1-9][0-9]* mapped sum [0-9]+$' "$O/drm-fb.out"
check_eq "nobody maps it on its own descriptor: the pixels are /dev/fb0's" \
	"$(cat "$O/fb0.sum")" "$(sed -n 's/.* mapped sum //p' "$O/drm-fb.out")"
check "a helper without CAP_SYS_ADMIN gets no handle" grep -q ' handle 0$' "$O/drm-fb-nocap.out"
check "a uinput keyboard, named as rdesk's" grep -qE '^ok uinput: input[0-9]+ "rdesk virtual keyboard"$' "$O/uinput-kbd.out"
check "a uinput pointer, named as rdesk's" grep -qE '^ok uinput: input[0-9]+ "rdesk virtual pointer"$' "$O/uinput-ptr.out"
check "the helper logged each request" bash -c "[ \$(grep -c 'uid=65534 .*: done' '$O/helper.log') -eq 5 ]"
if [ "$T_FAILED" -gt 0 ]; then
	for f in drm-fb.out uinput-kbd.out helper.log probe.log; do
		sed "s|^|# $f: |" "$O/$f" 2>/dev/null | tail -n 15
	done
fi
t_done
