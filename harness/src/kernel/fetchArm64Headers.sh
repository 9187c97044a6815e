#!/bin/sh
# fetchArm64Headers.sh: downloads one arm64 Debian package inside the toolbox
# with a private apt state under /wb/apt (bind-mounted by kernel/arm64Kernel.ts),
# and unpacks it to /wb/apt/x. The toolbox's own apt state is not touched.
#
# usage: fetchArm64Headers.sh PACKAGE VERSION
# Sources: apt.conf(5) (Dir::State::Lists, APT::Architectures, Debug::NoLocking,
# Acquire::Check-Valid-Until, APT::Sandbox::User), dpkg-deb(1) -x.
set -e
[ $# -eq 2 ] || { echo "usage: $0 PACKAGE VERSION" >&2; exit 2; }
L=/wb/apt/lists; mkdir -p "$L/partial" /wb/apt/dl /wb/apt/x; cd /wb/apt/dl
set -- "$1" "$2" -o "Dir::State::Lists=$L" -o "APT::Architectures::=arm64" -o Debug::NoLocking=1 -o "Acquire::Check-Valid-Until=false" -o APT::Sandbox::User=root
P=$1; V=$2; shift 2
apt-get -q "$@" update >/dev/null
apt-get -q "$@" download "$P:arm64=$V"
dpkg-deb -x /wb/apt/dl/*.deb /wb/apt/x
