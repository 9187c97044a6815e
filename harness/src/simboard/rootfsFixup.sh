#!/bin/sh
# usage: rootfsFixup.sh ROOT GUEST-DIR KERNEL-RELEASE
# Runs on the host, as root, on the arm64 root filesystem that
# `mmdebstrap --variant=extract` unpacked (no maintainer script ran, and no
# arm64 code runs here). Does by hand the few things of the packages'
# maintainer scripts the simboard guest needs, with host tools only:
# - users and groups: base-passwd's master files (its postinst copies them),
#   the sshd privilege-separation user (openssh-server's postinst adds it),
#   /etc/shadow with every password disabled ('*': sshd then accepts keys);
# - sshd: /etc/ssh/sshd_config from the package's template (its postinst
#   copies it), one ed25519 host key (the host's ssh-keygen), the vboard's
#   drop-in plus `UsePAM no` (pam-auth-update never ran: no common-* stacks);
# - the vboard's guest scripts (init, power-off), hostname;
# - modules.dep (the host's depmod reads arm64 modules; Debian's
#   linux-modules package ships none, its postinst runs depmod);
# - the alternatives links remote scripts use (awk, which: mawk's and
#   debianutils' postinst run update-alternatives), where the target exists.
set -eu
[ $# -eq 3 ] || { echo "usage: $0 ROOT GUEST-DIR KERNEL-RELEASE" >&2; exit 2; }
root=$1; guest=$2; rel=$3
for f in usr/share/base-passwd/passwd.master usr/share/base-passwd/group.master usr/share/openssh/sshd_config "usr/lib/modules/$rel/vmlinuz"; do
  [ -e "$root/$f" ] || { echo "$0: $root/$f is missing (package layout changed?)" >&2; exit 3; }
done

cp "$root/usr/share/base-passwd/passwd.master" "$root/etc/passwd"
cp "$root/usr/share/base-passwd/group.master" "$root/etc/group"
echo 'sshd:x:100:65534:sshd privilege separation:/run/sshd:/usr/sbin/nologin' >> "$root/etc/passwd"
cut -d: -f1 "$root/etc/passwd" | sed 's/$/:*:20000:0:99999:7:::/' > "$root/etc/shadow"
cut -d: -f1 "$root/etc/group" | sed 's/$/:*::/' > "$root/etc/gshadow"
chmod 600 "$root/etc/shadow" "$root/etc/gshadow"

install -m 755 "$guest/init" "$root/sbin/vboard-init"
install -m 755 "$guest/vboard-poweroff" "$root/sbin/vboard-poweroff"

cp "$root/usr/share/openssh/sshd_config" "$root/etc/ssh/sshd_config"
mkdir -p "$root/etc/ssh/sshd_config.d"
rm -f "$root"/etc/ssh/ssh_host_*
ssh-keygen -q -t ed25519 -N '' -C simboard -f "$root/etc/ssh/ssh_host_ed25519_key"
# sshd takes the first value it reads: the drop-in (included first) wins over sshd_config.
printf '%s\n' 'HostKey /etc/ssh/ssh_host_ed25519_key' 'UseDNS no' 'UsePAM no' 'PermitRootLogin prohibit-password' \
  'PasswordAuthentication no' 'KbdInteractiveAuthentication no' > "$root/etc/ssh/sshd_config.d/vboard.conf"
echo simboard > "$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 simboard\n' > "$root/etc/hosts"

depmod -b "$root" "$rel"

for a in awk:/usr/bin/mawk nawk:/usr/bin/mawk which:/usr/bin/which.debianutils pager:/usr/bin/more; do
  n=${a%%:*}; t=${a#*:}
  if [ ! -e "$root$t" ] || [ -e "$root/usr/bin/$n" ]; then continue; fi
  ln -sf "$t" "$root/etc/alternatives/$n"
  ln -s "/etc/alternatives/$n" "$root/usr/bin/$n"
done
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
