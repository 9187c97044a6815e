#!/bin/sh
# usage: coldplug.sh
# Runs on the simboard right after boot (simboard.ts, over SSH), and on a
# farm-rk3588 board from its init (farm/dut/farm-init, installed in the NFS
# root as wb-coldplug); neither has udev. Loads the
# module of every device-tree platform device by its modalias, as udev's
# coldplug does on a real board (so rockchip-vdec binds to the vdpu381 node:
# of:N...Crockchip,rk3588-vdec). modprobe prefers a deployed module in
# updates/ over the kernel's own. Prints one line per device:
# "<device> <modalias> <driver or ->".
set -u
for f in /sys/bus/platform/devices/*/modalias; do
  [ -e "$f" ] || continue
  read -r a < "$f"
  case $a in
    of:*) modprobe -q "$a" || : ;; # no module for built-in drivers (psci, timer): not an error
    *) continue ;;
  esac
  d=${f%/modalias}
  drv=-
  [ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
  echo "${d##*/} $a $drv"
done
