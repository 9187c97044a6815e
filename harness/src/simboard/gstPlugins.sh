#!/bin/sh
# usage: gstPlugins.sh ROOT PACKAGE:FILE...
# mmdebstrap --extract-hook of the arm64 root filesystems (arm64Rootfs.ts:
# the simboard image, the farm NFS root), run on
# the host (the only hook the extract variant runs; it sets no APT_CONFIG, so
# a private one points apt at the chroot's arm64 package lists: Dir ROOT):
# downloads the big GStreamer plugin packages and unpacks
# only the named plugin files (their full dependency sets pull in GTK, Mesa
# and LLVM), at the version of the installed base: plugins-bad at
# libgstreamer-plugins-bad1.0-0's, the others at gstreamer1.0-plugins-base's.
# Each such package is added to the image's package record (debManifest.sh)
# with the files taken from it as a fourth, space-separated column.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 ROOT PACKAGE:FILE..." >&2; exit 2; }
root=$1; shift
plugdir=/usr/lib/aarch64-linux-gnu/gstreamer-1.0
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
printf 'Dir "%s";\nAPT::Architecture "arm64";\nAPT::Sandbox::User "root";\n' "$root" > "$d/apt.conf"
export APT_CONFIG="$d/apt.conf"
version() { apt-cache show --no-all-versions "$1:arm64" | sed -n 's/^Version: //p' | head -n1; }
[ -n "$(version libgstreamer-plugins-bad1.0-0)" ] || { echo "$0: no arm64 package lists under $root (not run as an mmdebstrap hook?)" >&2; exit 3; }
bad=$(version libgstreamer-plugins-bad1.0-0)
base=$(version gstreamer1.0-plugins-base)
pkgs=$(for w in "$@"; do echo "${w%%:*}"; done | sort -u)
for p in $pkgs; do
  case "$p" in
    gstreamer1.0-plugins-bad) v=$bad ;;
    *) v=$base ;;
  esac
  (cd "$d" && apt-get download -qq "$p:arm64=$v")
done
for w in "$@"; do
  p=${w%%:*}; f=${w#*:}
  dpkg-deb --fsys-tarfile "$d/$p"_*_arm64.deb | tar -x -C "$root" ".$plugdir/$f"
done
mkdir -p "$root/var/lib/workbench"
for p in $pkgs; do
  files=$(for w in "$@"; do [ "${w%%:*}" != "$p" ] || printf '%s ' "${w#*:}"; done)
  # shellcheck disable=SC2016 # dpkg-deb's own format, not shell
  dpkg-deb --show --showformat='${Package}\t${Version}\t${Architecture}' "$d/$p"_*_arm64.deb
  printf '\t%s\n' "${files% }"
done >> "$root/var/lib/workbench/rootfs-packages"
