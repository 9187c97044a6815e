#!/bin/sh
# irqLines.sh: the /proc/interrupts lines of the devices bound to a platform
# driver (used by irq/storm.ts), in one round trip. The action name of a
# platform device's interrupt is its device name (devm_request_threaded_irq
# with dev_name(), drivers/media/platform/rockchip/rkvdec/rkvdec.c), e.g.
# "c000000.video-codec" on the simboard, "fdc38000.video-codec" on RK3588.
#
# usage: irqLines.sh DRIVER
# Prints `WB-DEV <name>` per bound device, then its /proc/interrupts lines.
[ $# -eq 1 ] || { echo "usage: $0 DRIVER" >&2; exit 2; }
for d in /sys/bus/platform/drivers/"$1"/*; do
  [ -L "$d" ] || continue
  n=${d##*/}
  case "$n" in bind|unbind|uevent|module|new_id|remove_id) continue;; esac
  echo "WB-DEV $n"
  grep -F -- "$n" /proc/interrupts
done
true
