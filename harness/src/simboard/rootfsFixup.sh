#!/bin/sh
# usage: rootfsFixup.sh ROOT GUEST-DIR KERNEL-RELEASE
# Runs on the host, as root, on the simboard's arm64 root filesystem after
# extractFixup.sh (users, groups, shadow, shell start-up files, alternatives:
# arm64Rootfs.ts). Does by hand the rest of the packages' maintainer scripts
# the simboard guest needs, with host tools only:
# - the sshd privilege-separation user (openssh-server's postinst adds it);
# - sshd: /etc/ssh/sshd_config from the package's template (its postinst
#   copies it), one ed25519 host key (the host's ssh-keygen), the vboard's
#   drop-in plus `UsePAM no` (pam-auth-update never ran: no common-* stacks);
# - the vboard's guest scripts (init, power-off), hostname;
# - modules.dep (the host's depmod reads arm64 modules; Debian's
#   linux-modules package ships none, its postinst runs depmod).
set -eu
[ $# -eq 3 ] || { echo "usage: $0 ROOT GUEST-DIR KERNEL-RELEASE" >&2; exit 2; }
root=$1; guest=$2; rel=$3
for f in etc/shadow usr/share/openssh/sshd_config "usr/lib/modules/$rel/vmlinuz"; do
  [ -e "$root/$f" ] || { echo "$0: $root/$f is missing (package layout changed, or extractFixup.sh not run?)" >&2; exit 3; }
done

echo 'sshd:x:100:65534:sshd privilege separation:/run/sshd:/usr/sbin/nologin' >> "$root/etc/passwd"
echo 'sshd:*:20000:0:99999:7:::' >> "$root/etc/shadow"

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
