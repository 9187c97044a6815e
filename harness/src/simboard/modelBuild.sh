#!/bin/sh
# usage: modelBuild.sh JOBS CORE
# Runs in the simboard QEMU build chroot (harness/src/simboard/modelServer.ts):
# builds the static vdpu381-model-server from /wb/src (harness/simboard-model,
# read-only) into /wb/out, and writes /wb/out/core.txt: "core" when the model
# core was linked, else "stub" (server/stub.c: answers ready, writes nothing).
# CORE auto: link the core when /wb/src/Makefile exists and the patched
# libvpx build the core needs is bound at /wb/vpx (modelCore.ts,
# ensureModelCore(): /wb/vpx/libvpx = source, /wb/vpx/build = build tree);
# CORE stub: always the stub.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 JOBS auto|stub" >&2; exit 2; }
jobs=$1; core=$2
obj=/wb/out/obj
mkdir -p "$obj"
lib=stub
if [ "$core" = auto ] && [ -f /wb/src/Makefile ]; then
  if [ -f /wb/vpx/build/libvpx.a ]; then
    make -C /wb/src -j "$jobs" O="$obj" VPX_SRC=/wb/vpx/libvpx VPX_BUILD=/wb/vpx/build "$obj/libvdpu381model.a"
    lib=$obj/libvdpu381model.a
  else
    echo "model core not linked: no libvpx build bound at /wb/vpx (see modelCore.ts)" >&2
  fi
fi
make -f /wb/src/server/Makefile -j "$jobs" SRC=/wb/src O="$obj" CORE="$lib"
cp "$obj/vdpu381-model-server" /wb/out/
if [ "$lib" = stub ]; then echo stub > /wb/out/core.txt; else echo core > /wb/out/core.txt; fi
rm -rf "$obj"
