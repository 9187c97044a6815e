#!/bin/sh
# usage: fetchArm64Debs.sh MIRROR SUITE PKG[=VERSION]...
# Runs in the simboard QEMU build chroot: downloads arm64 .deb files into
# /wb/out with a private apt state (the chroot's own apt state is untouched).
set -e
[ $# -ge 3 ] || { echo "usage: $0 MIRROR SUITE PKG[=VERSION]..." >&2; exit 2; }
M=$1; S=$2; shift 2
A=/wb/out/apt
mkdir -p "$A/lists/partial" "$A/parts"
echo "deb $M $S main" > "$A/sources.list"
o="-o Dir::State::Lists=$A/lists -o Dir::Etc::SourceList=$A/sources.list -o Dir::Etc::SourceParts=$A/parts -o APT::Architectures::=arm64 -o Debug::NoLocking=1 -o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false -o APT::Sandbox::User=root"
# shellcheck disable=SC2086 # $o is a list of options
apt-get -q $o update >/dev/null
cd /wb/out
for p in "$@"; do
  # shellcheck disable=SC2086
  apt-get -q $o download "${p%%=*}:arm64${p#"${p%%=*}"}"
done
rm -rf "$A"
