#!/bin/sh
# usage: extractFixup.sh ROOT
# Runs on the host, as root, on an arm64 root filesystem that
# `mmdebstrap --variant=extract` unpacked (arm64Rootfs.ts: the simboard
# image, the farm NFS root; no maintainer script ran, and no arm64 code runs
# here). Does by hand what every such image needs of the packages'
# maintainer scripts, with host tools only:
# - users and groups: base-passwd's master files (its postinst copies them),
#   /etc/shadow and /etc/gshadow with every password disabled ('*');
# - the shell start-up files base-files' postinst installs when they are
#   missing: /etc/profile, root's .profile and .bashrc (PATH; bash's own
#   /etc/bash.bashrc then sets Debian's prompt `\u@\h:\w\$ `);
# - the alternatives links scripts use (awk, which: mawk's and
#   debianutils' postinst run update-alternatives), where the target exists;
# - apt's package lists and caches removed (nothing runs apt in the image).
# The image-specific part follows in the caller's own script
# (simboard/rootfsFixup.sh, farm/nfsRootFixup.sh).
set -eu
[ $# -eq 1 ] || { echo "usage: $0 ROOT" >&2; exit 2; }
root=$1
for f in usr/share/base-passwd/passwd.master usr/share/base-passwd/group.master usr/share/base-files/profile usr/share/base-files/dot.profile usr/share/base-files/dot.bashrc; do
  [ -e "$root/$f" ] || { echo "$0: $root/$f is missing (package layout changed?)" >&2; exit 3; }
done

cp "$root/usr/share/base-passwd/passwd.master" "$root/etc/passwd"
cp "$root/usr/share/base-passwd/group.master" "$root/etc/group"
cut -d: -f1 "$root/etc/passwd" | sed 's/$/:*:20000:0:99999:7:::/' > "$root/etc/shadow"
cut -d: -f1 "$root/etc/group" | sed 's/$/:*::/' > "$root/etc/gshadow"
chmod 600 "$root/etc/shadow" "$root/etc/gshadow"

[ -e "$root/etc/profile" ] || cp "$root/usr/share/base-files/profile" "$root/etc/profile"
[ -e "$root/root/.profile" ] || cp "$root/usr/share/base-files/dot.profile" "$root/root/.profile"
[ -e "$root/root/.bashrc" ] || cp "$root/usr/share/base-files/dot.bashrc" "$root/root/.bashrc"

for a in awk:/usr/bin/mawk nawk:/usr/bin/mawk which:/usr/bin/which.debianutils pager:/usr/bin/more; do
  n=${a%%:*}; t=${a#*:}
  if [ ! -e "$root$t" ] || [ -e "$root/usr/bin/$n" ]; then continue; fi
  ln -sf "$t" "$root/etc/alternatives/$n"
  ln -s "/etc/alternatives/$n" "$root/usr/bin/$n"
done
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
