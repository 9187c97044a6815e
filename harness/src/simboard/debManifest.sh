#!/bin/sh
# usage: debManifest.sh ROOT
# mmdebstrap --extract-hook of the arm64 root filesystems (arm64Rootfs.ts),
# run on the host right after the packages were unpacked, while their .deb
# files are still in ROOT/var/cache/apt/archives: writes one line per package,
# `NAME<TAB>VERSION<TAB>ARCHITECTURE` (dpkg-deb's own fields, sorted), to
# ROOT/var/lib/workbench/rootfs-packages. The extract variant registers
# nothing with dpkg (its status file stays empty), so this is the record of
# what the image holds; gstPlugins.sh appends the plugin packages it takes
# files from.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 ROOT" >&2; exit 2; }
root=$1
out=$root/var/lib/workbench/rootfs-packages
mkdir -p "${out%/*}"
for d in "$root"/var/cache/apt/archives/*.deb; do
  [ -e "$d" ] || continue
  # shellcheck disable=SC2016 # dpkg-deb's own format, not shell
  dpkg-deb --show --showformat='${Package}\t${Version}\t${Architecture}\n' "$d"
done | LC_ALL=C sort > "$out"
[ -s "$out" ] || { echo "$0: no .deb under $root/var/cache/apt/archives (not run as an mmdebstrap extract hook?)" >&2; exit 3; }
