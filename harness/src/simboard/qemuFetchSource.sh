#!/bin/sh
# usage: qemuFetchSource.sh PACKAGE VERSION
# Runs in the simboard QEMU build chroot: fetches and extracts (dpkg-source -x,
# Debian's patches applied) one Debian source package version into /wb/work,
# with a private apt state under /wb/apt (sources.list written by the caller).
set -e
[ $# -eq 2 ] || { echo "usage: $0 PACKAGE VERSION" >&2; exit 2; }
A=/wb/apt
mkdir -p "$A/lists/partial" "$A/parts"
P=$1; V=$2; shift 2
set -- -o "Dir::State::Lists=$A/lists" -o "Dir::Etc::SourceList=$A/sources.list" -o "Dir::Etc::SourceParts=$A/parts" \
  -o Debug::NoLocking=1 -o "Acquire::Check-Valid-Until=false" -o "Acquire::Check-Date=false" -o APT::Sandbox::User=root
apt-get -q "$@" update >/dev/null
cd /wb/work
apt-get -q "$@" source "$P=$V"
