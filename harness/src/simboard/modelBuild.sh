#!/bin/sh
# usage: modelBuild.sh JOBS SOURCE_DIR CONFIGURE_ARG...
# Runs in the simboard build chroot. /wb/work holds the fetched Debian
# libvpx source (SOURCE_DIR, dpkg-source -x), /wb/model the model sources
# (read-only), /wb/out the cache entry being written.
# 1. once per work tree: copy the source to /wb/work/libvpx, apply
#    /wb/model/patches/*.patch in name order, configure in /wb/work/build,
#    build libvpx.a and vpxdec (marker /wb/work/build/.built);
# 2. every time: build the model (make -C /wb/model OUT=/wb/out/…) and
#    copy vpxdec, libvpx.a and the model's public header next to it.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 JOBS SOURCE_DIR CONFIGURE_ARG..." >&2; exit 2; }
jobs=$1; src=$2; shift 2
W=/wb/work
if [ ! -f "$W/build/.built" ]; then
  rm -rf "$W/libvpx" "$W/build"
  cp -a "$W/$src" "$W/libvpx"
  for p in /wb/model/patches/*.patch; do
    [ -e "$p" ] || continue
    echo "applying ${p##*/}"
    patch -d "$W/libvpx" -p1 --forward --batch < "$p"
  done
  mkdir -p "$W/build"
  cd "$W/build"
  "$W/libvpx/configure" "$@"
  make -j "$jobs"
  touch .built
fi
mkdir -p /wb/out/obj
make -C /wb/model -j "$jobs" VPX_SRC="$W/libvpx" VPX_BUILD="$W/build" OUT=/wb/out
cp "$W/build/vpxdec" "$W/build/libvpx.a" /wb/out/
cp /wb/model/include/vdpu381_model.h /wb/out/
rm -rf /wb/out/obj
