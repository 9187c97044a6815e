#!/bin/sh
# preflight.sh: everything a deploy checks before it changes anything
# (deploy/preflight.ts), in one round trip.
#
# usage: preflight.sh MODULE_DIR_TEMPLATE WORKBENCH_ROOT JOURNAL [NAME FILE]...
#   MODULE_DIR_TEMPLATE   the board's module_dir, `{release}` standing for uname -r
#   NAME FILE             each module to deploy and its file name in module_dir
# Prints, tab-separated:
#   release REL | moduledir DIR | uid UID | dirreal PATH
#   journal JSON                    a pending deploy journal
#   missing TOOL | has gzip
#   dfdir KIB MOUNT | dfroot KIB MOUNT   free space for the modules / the backups
#   loaded NAME INITSTATE | holder NAME HOLDER | current NAME PATH
#   dest NAME BYTES PATH | oldinfo NAME FIELD VALUE | oldsym NAME SYMBOL
#   busy PID COMM DEVICE MODULE     a process holding /dev/video* or /dev/media*
tmpl=$1; root=$2; journal=$3; shift 3
# builtins only where possible: every process costs tens of ms on a slow board
read -r rel < /proc/sys/kernel/osrelease
dir=$tmpl
while :; do case $dir in *'{release}'*) dir=${dir%%'{release}'*}$rel${dir#*'{release}'};; *) break;; esac; done
uid=; while read -r k v _; do [ "$k" = Uid: ] && uid=$v; done < /proc/self/status
echo "release	$rel"
echo "moduledir	$dir"
echo "uid	$uid"
[ -s "$journal" ] && echo "journal	$(tr -d '\n' < "$journal")"
for t in modprobe depmod rmmod modinfo sha256sum df; do command -v $t >/dev/null 2>&1 || echo "missing	$t"; done
command -v gzip >/dev/null 2>&1 && echo "has	gzip"
near() { p=$1; while [ ! -e "$p" ]; do p=${p%/*}; [ -z "$p" ] && p=/; done; echo "$p"; }
d=$(near "$dir"); r=$(near "$root")
# the install directory itself, resolved (it may not exist yet: its nearest existing parent resolved + the rest)
echo "dirreal	$(readlink -f "$d")${dir#"$d"}"
df -P -k "$d" "$r" | awk 'NR==2{print "dfdir\t"$4"\t"$6} NR==3{print "dfroot\t"$4"\t"$6}'
while [ $# -gt 0 ]; do
  n=$1; dest=$dir/$2; shift 2
  if [ -d "/sys/module/$n" ]; then echo "loaded	$n	$(cat "/sys/module/$n/initstate" 2>/dev/null || echo builtin)"; fi
  q=$n
  while [ -n "$q" ]; do
    x=${q%% *}; [ "$x" = "$q" ] && q="" || q=${q#* }
    for h in "/sys/module/$x/holders/"*; do [ -e "$h" ] || continue; echo "holder	$n	${h##*/}"; q="$q ${h##*/}"; q=${q# }; done
  done
  cur=$(modinfo -n "$n" 2>/dev/null) && echo "current	$n	$(readlink -f "$cur")"
  if [ -e "$dest" ]; then
    echo "dest	$n	$(wc -c < "$dest")	$(readlink -f "$dest")"
    modinfo "$dest" 2>/dev/null | sed -n -E 's/^(alias|depends|softdep|weakdep|name):[[:space:]]*/oldinfo\t'"$n"'\t\1\t/p'
    grep " $n\$" "/lib/modules/$rel/modules.symbols" 2>/dev/null | while read -r _ s _; do echo "oldsym	$n	${s#symbol:}"; done
  fi
done
# the open device files of every process from ls -l (no fuser or lsof needed)
# shellcheck disable=SC2012
ls -l /proc/[0-9]*/fd 2>/dev/null | awk '/^\/proc\//{p=$1; sub("^/proc/","",p); sub("/fd:$","",p); next} / -> \/dev\/(video|media)[0-9]+$/{print p"\t"$NF}' | while IFS='	' read -r pid dev; do
  b=${dev##*/}
  case $b in video*) s=/sys/class/video4linux/$b;; *) s=/sys/bus/media/devices/$b;; esac
  m=$(readlink -f "$s/device/driver/module" 2>/dev/null); m=${m##*/}
  echo "busy	$pid	$(cat "/proc/$pid/comm" 2>/dev/null)	$dev	$m"
done
exit 0
