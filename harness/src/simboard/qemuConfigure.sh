#!/bin/sh
# usage: qemuConfigure.sh CONFIGURE-ARGS...
# Runs in the simboard QEMU build chroot: in the extracted tree under /wb/work,
# applies /wb/dev/patches/*.patch, adds the device sources /wb/dev/hw/misc/*.c
# and runs QEMU's configure in build/. /wb/work/src points at the tree.
set -e
cd /wb/work
d=$(find . -maxdepth 1 -mindepth 1 -type d -name 'qemu-*' | head -n1)
[ -n "$d" ] || { echo "$0: no qemu-* tree in /wb/work after apt-get source" >&2; exit 3; }
rm -f src
ln -s "$d" src
cd src
for p in /wb/dev/patches/*.patch; do
  echo "applying $p"
  patch -p1 --forward --batch < "$p"
done
cp /wb/dev/hw/misc/*.c hw/misc/
mkdir -p build
cd build
../configure "$@"
