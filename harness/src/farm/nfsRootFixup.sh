#!/bin/sh
# usage: nfsRootFixup.sh ROOT INIT COLDPLUG
# Runs on the host, as root, on the farm-rk3588 NFS root filesystem after
# simboard/extractFixup.sh (farm/rootfs.ts). Makes it boot and log in the way
# LAVA's rk3588-rock-5b u-boot `nfs` flow and the farm job (farm/job.ts) expect:
# - PID 1: INIT (dut/farm-init) as /usr/sbin/wb-farm-init, and
#   /usr/sbin/init (the kernel's default) pointing at it: systemd is unpacked
#   as a dependency but was never set up (its postinst did not run);
#   COLDPLUG (simboard/coldplug.sh) as /usr/local/sbin/wb-coldplug;
# - root logs in on the console without a password: root's /etc/passwd
#   field `x` (base-passwd's `*` makes busybox's login refuse at once) and
#   its /etc/shadow field empty, busybox's login as /usr/local/sbin/login
#   (no PAM: pam-auth-update never ran, and Debian's login is not in the
#   image);
# - hostname farm-rk3588: the job's prompt `root@[^:]*:[^#]*# ` is bash's
#   Debian prompt for root; systemd's profile.d scripts removed (they wrap
#   the prompt in OSC 3008 escapes);
# - /etc/fstab without entries (the kernel mounts the NFS root; a line for /
#   would remount it), /etc/resolv.conf empty (init fills it from DHCP), the
#   build host's apt sources removed (nothing runs apt here);
# - the CA bundle ca-certificates' postinst would build (wget over https).
set -eu
[ $# -eq 3 ] || { echo "usage: $0 ROOT INIT COLDPLUG" >&2; exit 2; }
root=$1; init=$2; coldplug=$3
for f in etc/passwd etc/shadow etc/bash.bashrc etc/profile usr/bin/busybox usr/bin/bash usr/share/ca-certificates; do
  [ -e "$root/$f" ] || { echo "$0: $root/$f is missing (package list changed, or extractFixup.sh not run?)" >&2; exit 3; }
done

install -m 755 "$init" "$root/usr/sbin/wb-farm-init"
ln -sf wb-farm-init "$root/usr/sbin/init"
mkdir -p "$root/usr/local/sbin"
install -m 755 "$coldplug" "$root/usr/local/sbin/wb-coldplug"
ln -sf /usr/bin/busybox "$root/usr/local/sbin/login"

sed -i 's/^root:[^:]*:/root:x:/' "$root/etc/passwd"
sed -i 's/^root:[^:]*:/root::/' "$root/etc/shadow"
echo farm-rk3588 > "$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 farm-rk3588\n' > "$root/etc/hosts"
rm -f "$root"/etc/profile.d/*systemd*

echo '# NFS root (farm-rk3588): the kernel mounts / (root=/dev/nfs rw); nothing is mounted from here.' > "$root/etc/fstab"
rm -f "$root/etc/resolv.conf"
: > "$root/etc/resolv.conf"
rm -f "$root/etc/apt/sources.list" "$root"/etc/apt/sources.list.d/*

mkdir -p "$root/etc/ssl/certs"
cat "$root"/usr/share/ca-certificates/*/*.crt > "$root/etc/ssl/certs/ca-certificates.crt"
