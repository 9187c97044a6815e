#!/bin/sh
# mmdebstrap --customize-hook of the virtual board root filesystem.
# Runs on the host: $1 = rootfs, $2 = directory with the guest scripts,
# then the GStreamer plugin files to extract, as "deb-package:file.so" words.
# (The out-of-tree modules are installed afterwards by image.ts.)
set -eu
root=$1; guest=$2
shift 2

install -m 755 "$guest/init" "$root/sbin/vboard-init"
install -m 755 "$guest/vboard-poweroff" "$root/sbin/vboard-poweroff"

# One host key (ed25519) so the recorded key is the only one offered.
rm -f "$root"/etc/ssh/ssh_host_*
chroot "$root" ssh-keygen -q -t ed25519 -N '' -C vboard -f /etc/ssh/ssh_host_ed25519_key
printf '%s\n' 'HostKey /etc/ssh/ssh_host_ed25519_key' 'UseDNS no' 'PermitRootLogin prohibit-password' \
  'PasswordAuthentication no' 'KbdInteractiveAuthentication no' > "$root/etc/ssh/sshd_config.d/vboard.conf"
echo vboard > "$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 vboard\n' > "$root/etc/hosts"

# Selected GStreamer plugins from the big plugin packages (their full
# dependency sets would triple the image): same version as the installed base.
pkgs=$(for w in "$@"; do echo "${w%%:*}"; done | sort -u)
ver=$(chroot "$root" dpkg-query -W -f '${Version}' libgstreamer-plugins-bad1.0-0)
plugdir=/usr/lib/x86_64-linux-gnu/gstreamer-1.0
mkdir -p "$root/tmp/wb-debs"; chmod 777 "$root/tmp/wb-debs"
for p in $pkgs; do
  case "$p" in
    gstreamer1.0-plugins-bad) want="$p=$ver" ;;
    *) want="$p=$(chroot "$root" dpkg-query -W -f '${Version}' gstreamer1.0-plugins-base)" ;;
  esac
  chroot "$root" sh -c 'cd /tmp/wb-debs && apt-get download -qq "$1"' sh "$want" \
    || chroot "$root" sh -c 'cd /tmp/wb-debs && apt-get download -qq "$1"' sh "$p"
done
for w in "$@"; do
  p=${w%%:*}; f=${w#*:}
  chroot "$root" sh -c 'dpkg-deb --fsys-tarfile /tmp/wb-debs/"$1"_*.deb | tar -x -C / ".$2/$3"' sh "$p" "$plugdir" "$f"
done
rm -rf "$root/tmp/wb-debs"

# Warm the GStreamer registry so the first decode does not scan plugins.
chroot "$root" env HOME=/root gst-inspect-1.0 v4l2codecs > /dev/null 2>&1 || true
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
