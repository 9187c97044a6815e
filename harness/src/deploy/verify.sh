#!/bin/sh
# verify.sh: the post-load checks of a deploy (deploy/verify.ts), in one round trip.
#
# usage: verify.sh [NAME]...
# Prints, tab-separated, per module NAME:
#   state NAME INITSTATE | srcversion NAME SRCVERSION
#   driver NAME BUS:DRIVER | bound NAME BUS:DRIVER DEVICE
# then every device's modalias (`modalias PATH:ALIAS`), a line `@@kernel-log`
# and the kernel log (`dmesg -r`).
for m in "$@"; do
  echo "state	$m	$(cat "/sys/module/$m/initstate" 2>/dev/null || echo absent)"
  [ -r "/sys/module/$m/srcversion" ] && echo "srcversion	$m	$(cat "/sys/module/$m/srcversion")"
  for d in "/sys/module/$m/drivers/"*; do
    [ -e "$d" ] || continue
    dn=${d##*/}
    echo "driver	$m	$dn"
    for x in "$d"/*; do
      [ -L "$x" ] || continue
      b=${x##*/}
      case $b in module|bind|unbind|uevent|new_id|remove_id) continue;; esac
      echo "bound	$m	$dn	$b"
    done
  done
done
grep -H '' /sys/bus/*/devices/*/modalias 2>/dev/null | sed 's/^/modalias	/'
echo "@@kernel-log"
dmesg -r 2>/dev/null || dmesg
