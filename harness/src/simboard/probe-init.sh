#!/bin/busybox sh
# shellcheck shell=dash
# /init of the simboard probe initramfs (no root filesystem): checks the
# vdpu381-sim device model from the guest, then Debian's rockchip-vdec.
# 1. Without the driver: DEC_E (function + 0x028 = 1) through /dev/mem, wait,
#    read STA_INT (function + 0x380), write 0 to it (the device then writes
#    its capture record).
# 2. Loads the modules listed in /lib/modules/load-order (rockchip-vdec and
#    its dependencies) and reports what bound. Lines start with PROBE- so
#    the host can parse them; the guest powers off at the end.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "PROBE-UPTIME $(cut -d' ' -f1 /proc/uptime)"
node=
for n in /proc/device-tree/platform-bus@*/video-codec@*; do [ -e "$n" ] && node=$n; done
echo "PROBE-NODE ${node:-none}"
if [ -n "$node" ]; then
  bus=${node%/video-codec@*}; bus=${bus##*@}; off=${node##*@}
  base=$((0x$bus + 0x$off))
  f=$((base + 0x100))
  printf 'PROBE-BASE 0x%x\n' "$base"
  devmem $((f + 0x028)) 32 0x1
  sleep 1
  echo "PROBE-STA-AFTER-DEC-E $(devmem $((f + 0x380)) 32)"
  devmem $((f + 0x380)) 32 0x0
  echo "PROBE-STA-AFTER-ACK $(devmem $((f + 0x380)) 32)"
fi
while read -r m; do
  insmod "/lib/modules/$m" || echo "PROBE-INSMOD-FAILED $m"
done < /lib/modules/load-order
sleep 1
for d in /sys/bus/platform/drivers/rkvdec/*video-codec*; do
  [ -e "$d" ] && echo "PROBE-BOUND ${d##*/}"
done
for d in /sys/class/video4linux/video*; do
  [ -e "$d" ] && echo "PROBE-VIDEO ${d##*/} $(basename "$(readlink -f "$d/device/driver")") $(cat "$d/name")"
done
for d in /dev/media*; do [ -e "$d" ] && echo "PROBE-MEDIA $d"; done
grep -i rkvdec /proc/interrupts | sed 's/^/PROBE-IRQ /'
dmesg | grep -iE 'rkvdec|vdec|video-codec' | sed 's/^/PROBE-DMESG /'
echo "PROBE-DONE uptime $(cut -d' ' -f1 /proc/uptime)"
poweroff -f
