#!/bin/sh
# usage: modelCoreBuild.sh libvpx JOBS SOURCE_DIR CONFIGURE_ARG...
#        modelCoreBuild.sh model JOBS
# Runs in the simboard build chroot (harness/src/simboard/modelCore.ts).
# libvpx: /wb/work holds the Debian libvpx source just fetched
#   (qemuFetchSource.sh, dpkg-source -x into SOURCE_DIR); copies it to
#   /wb/work/libvpx, applies /wb/model/patches/*.patch in name order,
#   configures and builds libvpx.a and vpxdec in /wb/work/build.
# model: /wb/work is that libvpx entry (read-only); builds the model
#   (make -C /wb/model) into /wb/out with vpxdec, libvpx.a and the public
#   header next to it.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 libvpx|model JOBS ..." >&2; exit 2; }
step=$1; jobs=$2; shift 2
W=/wb/work
case $step in
libvpx)
  [ $# -ge 1 ] || { echo "usage: $0 libvpx JOBS SOURCE_DIR CONFIGURE_ARG..." >&2; exit 2; }
  src=$1; shift
  rm -rf "$W/libvpx" "$W/build"
  cp -a "$W/$src" "$W/libvpx"
  for p in /wb/model/patches/*.patch; do
    [ -e "$p" ] || continue
    echo "applying ${p##*/}"
    patch -d "$W/libvpx" -p1 --forward --batch < "$p"
  done
  mkdir -p "$W/build"
  cd "$W/build"
  # static tools (vpxdec): they run on the host, outside the chroot
  LDFLAGS=-static "$W/libvpx/configure" "$@"
  make -j "$jobs"
  # keep what the model build needs: the patched source and the build tree
  rm -rf "${W:?}/$src"
  ;;
model)
  mkdir -p /wb/out/obj
  make -C /wb/model -j "$jobs" VPX_SRC="$W/libvpx" VPX_BUILD="$W/build" O=/wb/out/obj
  cp /wb/out/obj/libvdpu381model.a /wb/out/obj/vdpu381-model-offline /wb/out/
  cp "$W/build/vpxdec" /wb/out/
  cp /wb/model/include/vdpu381_model.h /wb/out/
  rm -rf /wb/out/obj
  ;;
*)
  echo "$0: unknown step $step" >&2
  exit 2
  ;;
esac
