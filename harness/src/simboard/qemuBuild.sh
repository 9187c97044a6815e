#!/bin/sh
# usage: qemuBuild.sh JOBS
# Runs in the simboard QEMU build chroot: copies the device sources that
# changed (unchanged ones keep their mtime, so ninja does not rebuild them),
# builds the device objects first (a compile error shows in seconds), then
# qemu-system-aarch64, and copies it to /wb/out.
set -e
[ $# -eq 1 ] || { echo "usage: $0 JOBS" >&2; exit 2; }
cd /wb/work/src
for f in /wb/dev/hw/misc/*.c; do
  cmp -s "$f" "hw/misc/${f##*/}" || cp "$f" hw/misc/
done
cd build
objs=$(ninja -t targets all | sed -n 's/^\([^:]*vdpu381[^:]*\.o\):.*/\1/p')
# shellcheck disable=SC2086 # one word per object file
[ -z "$objs" ] || ninja -j "$1" $objs
ninja -j "$1" qemu-system-aarch64
cp qemu-system-aarch64 /wb/out/qemu-system-aarch64
