#!/bin/busybox sh
# shellcheck shell=dash
# /init of the farm-rk3588 initramfs (harness/src/farm/initramfs.ts): Debian's
# arm64 kernel has the NFS client, SUNRPC and the ROCK 5B's Ethernet (r8169)
# as modules and no IP autoconfiguration, so this does what the kernel's
# `root=/dev/nfs nfsroot=... ip=...` would:
# 1. loads /etc/wb-initramfs-modules by name, then the board's modules by the
#    modalias of each device (again as new devices appear: the PCIe link to
#    the RTL8125 comes up only once its PHY, GPIO and regulator modules are
#    in);
# 2. `ip=` (Documentation/admin-guide/nfs/nfsroot.rst): dhcp (also on, any,
#    both, bootp, or no ip= at all) runs busybox udhcpc on the first
#    interface with a carrier (WB_NET_WAIT s, default 60: wb.netwait=N);
#    CLIENT:SERVER:GW:NETMASK:HOST:DEV:off sets the address by hand;
# 3. mounts `nfsroot=[SERVER:]PATH[,OPTIONS]` (what LAVA's u-boot nfs
#    commands pass: `root=/dev/nfs rw nfsroot=IP:DIR,tcp,hard ip=dhcp`; no
#    SERVER: the DHCP server) on /root with the kernel's NFS text options:
#    nolock (no statd here), vers=3 unless OPTIONS name a version, addr=;
# 4. moves /dev, /proc, /sys there and switch_roots to `init=` (default
#    /sbin/init: the farm root filesystem's wb-farm-init).
# Every failure prints a `wb-initramfs: ERROR` line and opens a shell on
# the console instead of letting the kernel panic.
# The same file is the udhcpc script (/etc/udhcpc.script links here).
# WB_INITRAMFS_LIB=1 only defines the functions (the unit tests source it).

wb_say() { echo "wb-initramfs: $*"; }

# wb_arg NAME CMDLINE: the value of the last NAME=... word of CMDLINE (nothing, status 1, if none).
wb_arg() {
  _v='' _found=1
  for _w in $2; do
    case $_w in "$1="*) _v=${_w#"$1="} _found=0 ;; esac
  done
  [ "$_found" -eq 0 ] && echo "$_v"
  return "$_found"
}

# wb_nfsroot VALUE [DHCP_SERVER]: sets nfs_server, nfs_path, nfs_opts from
# `[SERVER:]PATH[,OPTIONS]`; status 1 when no server is known.
wb_nfsroot() {
  _spec=${1%%,*}
  nfs_opts=
  case $1 in *,*) nfs_opts=${1#*,} ;; esac
  case $_spec in
    *:*) nfs_server=${_spec%%:*} nfs_path=${_spec#*:} ;;
    *) nfs_server=${2:-} nfs_path=$_spec ;;
  esac
  [ -n "$nfs_server" ] && [ -n "$nfs_path" ]
}

# wb_mount_opts OPTS SERVER: the mount -o string: OPTS with nolock, a version (vers=3 unless given) and addr=SERVER.
wb_mount_opts() {
  _o=$1
  case ",$_o," in *,vers=* | *,nfsvers=* | *,v[234],* | *,v4.[012],*) ;; *) _o="vers=3${_o:+,$_o}" ;; esac
  case ",$_o," in *,nolock,* | *,lock,*) ;; *) _o="$_o,nolock" ;; esac
  echo "$_o,addr=$2"
}

# wb_ip_mode IP_ARG: dhcp, off, or static (IP_ARG empty: dhcp).
wb_ip_mode() {
  case ${1:-dhcp} in
    dhcp | on | any | both | bootp | rarp) echo dhcp ;;
    off | none) echo off ;;
    *:*:*:*:*:*:dhcp* | *:*:*:*:*:*:on* | *:*:*:*:*:*:any* | *:*:*:*:*:*:both* | *:*:*:*:*:*:bootp*) echo dhcp ;;
    *) echo static ;;
  esac
}

# wb_ip_field IP_ARG N: the N-th (1-based) colon-separated field.
wb_ip_field() {
  echo "$1" | cut -d: -f"$2"
}

# udhcpc calls this file with deconfig|bound|renew|leasefail|nak and the lease in
# its environment (interface, ip, subnet, router, dns, serverid, siaddr,
# rootpath); the lease goes to /run/wb-dhcp.
# shellcheck disable=SC2154 # udhcpc's environment
wb_udhcpc_event() {
  case $1 in
    deconfig) ifconfig "$interface" 0.0.0.0 up ;;
    bound | renew)
      ifconfig "$interface" "$ip" ${subnet:+netmask "$subnet"} up
      if [ -n "${router:-}" ]; then
        while route del default gw 0.0.0.0 dev "$interface" 2>/dev/null; do :; done
        for r in $router; do route add default gw "$r" dev "$interface" && break; done
      fi
      {
        echo "interface=$interface"
        echo "ip=$ip"
        echo "subnet=${subnet:-}"
        echo "router=${router:-}"
        echo "dns='${dns:-}'"
        echo "serverid=${serverid:-}"
        echo "siaddr=${siaddr:-}"
        echo "rootpath=${rootpath:-}"
      } > /run/wb-dhcp
      ;;
  esac
  return 0
}

wb_rescue() {
  wb_say "ERROR: $*"
  wb_say "opening a shell on the console (exit it to open another; the board needs a reset to boot again)"
  while :; do
    setsid cttyhack sh -i || sleep 1
  done
}

# wb_coldplug: modprobe every device's modalias (modules that are not here, or built-in drivers, fail quietly).
wb_coldplug() {
  for _f in /sys/bus/*/devices/*/modalias; do
    [ -r "$_f" ] || continue
    read -r _a < "$_f" || continue
    [ -n "$_a" ] && modprobe -q -b "$_a" 2> /dev/null
  done
  return 0
}

wb_devices() {
  _c=0
  for _d in /sys/bus/*/devices/*; do _c=$((_c + 1)); done
  echo "$_c"
}

# wb_find_iface DEV SECONDS: prints the interface to use: DEV when named, else the first with a carrier.
wb_find_iface() {
  _end=$(($(cut -d. -f1 /proc/uptime) + $2))
  _seen=0
  while :; do
    _n=$(wb_devices)
    if [ "$_n" != "$_seen" ]; then
      _seen=$_n
      wb_coldplug
    fi
    for _d in /sys/class/net/*; do
      _i=${_d##*/}
      [ "$_i" = lo ] && continue
      [ -n "$1" ] && [ "$_i" != "$1" ] && continue
      [ -e "$_d" ] || continue
      ip link set "$_i" up 2> /dev/null
      if [ "$(cat "$_d/carrier" 2> /dev/null)" = 1 ]; then
        echo "$_i"
        return 0
      fi
    done
    [ "$(cut -d. -f1 /proc/uptime)" -ge "$_end" ] && return 1
    sleep 1
  done
}

wb_main() {
  export PATH=/sbin:/bin:/usr/sbin:/usr/bin
  /bin/busybox --install -s
  mount -t proc proc /proc
  mount -t sysfs sysfs /sys
  mount -t devtmpfs devtmpfs /dev 2> /dev/null
  mount -t tmpfs -o mode=755 tmpfs /run
  read -r cmdline < /proc/cmdline
  rel=$(uname -r)
  wb_say "kernel $rel; command line: $cmdline"

  loaded='' failed=''
  while read -r m; do
    [ -n "$m" ] || continue
    if modprobe "$m"; then loaded="$loaded $m"; else failed="$failed $m"; fi
  done < /etc/wb-initramfs-modules
  wb_coldplug
  wb_say "modules loaded:${loaded:- none}${failed:+; FAILED:$failed}"

  iparg=$(wb_arg ip "$cmdline")
  mode=$(wb_ip_mode "$iparg")
  wait_s=$(wb_arg wb.netwait "$cmdline") || wait_s=60
  dev=
  case $iparg in *:*) dev=$(wb_ip_field "$iparg" 6) ;; esac
  : > /run/wb-dhcp
  if [ "$mode" = off ]; then
    wb_say "ip=$iparg: not configuring the network"
  else
    wb_say "waiting up to $wait_s s for a network interface${dev:+ $dev} with a carrier"
    if ! iface=$(wb_find_iface "$dev" "$wait_s"); then
      wb_say "interfaces:$(for d in /sys/class/net/*; do printf ' %s' "${d##*/}"; done)"
      wb_rescue "no network interface${dev:+ $dev} got a carrier within $wait_s s (ip=${iparg:-unset})"
    fi
    if [ "$mode" = dhcp ]; then
      wb_say "$iface has a carrier; DHCP (ip=${iparg:-unset}) with udhcpc"
      udhcpc -i "$iface" -s /etc/udhcpc.script -q -f -n -t 10 -T 3 -O rootpath > /run/udhcpc.log 2>&1 \
        || wb_rescue "no DHCP lease on $iface: $(tail -n 3 /run/udhcpc.log | tr '\n' ' ')"
      # shellcheck disable=SC1091 # written by wb_udhcpc_event
      . /run/wb-dhcp
      wb_say "DHCP lease on $iface: $ip${subnet:+/$subnet} router ${router:-none} server ${serverid:-none}"
    else
      ip=$(wb_ip_field "$iparg" 1)
      gw=$(wb_ip_field "$iparg" 3)
      mask=$(wb_ip_field "$iparg" 4)
      ifconfig "$iface" "$ip" ${mask:+netmask "$mask"} up || wb_rescue "cannot set $ip on $iface"
      [ -n "$gw" ] && route add default gw "$gw" dev "$iface"
      wb_say "static address on $iface: $ip${mask:+ netmask $mask}${gw:+ gateway $gw}"
    fi
  fi

  root=$(wb_arg root "$cmdline")
  nfsroot=$(wb_arg nfsroot "$cmdline") || nfsroot=${rootpath:-}
  [ "$root" = /dev/nfs ] || wb_rescue "root=${root:-unset}: this initramfs mounts NFS roots only (root=/dev/nfs nfsroot=SERVER:PATH)"
  [ -n "$nfsroot" ] || wb_rescue "root=/dev/nfs without nfsroot= (and no root path from DHCP)"
  wb_nfsroot "$nfsroot" "${serverid:-${siaddr:-}}" || wb_rescue "nfsroot=$nfsroot names no server (and DHCP gave none)"
  opts=$(wb_mount_opts "$nfs_opts" "$nfs_server")
  rw=rw
  for w in $cmdline; do case $w in ro) rw=ro ;; rw) rw=rw ;; esac; done
  wb_say "mounting $nfs_server:$nfs_path on /root (nfs, $rw,$opts)"
  mkdir -p /root
  mount -t nfs -o "$rw,$opts" "$nfs_server:$nfs_path" /root \
    || wb_rescue "mount -t nfs -o $rw,$opts $nfs_server:$nfs_path /root failed"
  init=$(wb_arg init "$cmdline") || init=/sbin/init
  [ -x "/root$init" ] || [ -L "/root$init" ] || wb_rescue "the NFS root has no $init"
  if [ -n "${dns:-}" ] && [ -w /root/etc ] && [ ! -s /root/etc/resolv.conf ]; then
    for d in $dns; do echo "nameserver $d"; done > /root/etc/resolv.conf
  fi
  for d in dev proc sys; do
    mkdir -p "/root/$d" 2> /dev/null
    mount --move "/$d" "/root/$d" || wb_rescue "cannot move /$d to the NFS root"
  done
  umount /run 2> /dev/null
  wb_say "switching to $init on $nfs_server:$nfs_path"
  exec switch_root /root "$init"
}

case $0 in
  */udhcpc.script) wb_udhcpc_event "$@" ;;
  *) [ -n "${WB_INITRAMFS_LIB:-}" ] || wb_main ;;
esac
