#!/bin/sh
# modswap.sh: unloads and loads kernel modules in the order given (the order
# deploy/modgraph.ts computed from the kernel's dependency graph).
#
# usage: modswap.sh [-u NAME]... [-l NAME [PARAM...] ;]... [-r NAME]...
#   -u NAME            rmmod NAME when it is loaded   (fails: exit 4)
#   -l NAME PARAM... ; modprobe NAME PARAM...         (fails: exit 5)
#   -r NAME            modprobe NAME again (a module that was unloaded around
#                      the others); a failure is reported, the rest goes on,
#                      exit 6 at the end
# Prints `unloaded NAME`, `loaded NAME`, `reloaded NAME`, or
# `unload-failed|load-failed|reload-failed NAME` (tab-separated).
# rmmod, not `modprobe -r`: unrelated unused dependencies stay loaded.
# WB_SYS (default /sys) lets tests run it on a fake tree.
sys=${WB_SYS:-/sys}
rc=0
while [ $# -gt 0 ]; do
  op=$1
  shift
  [ $# -gt 0 ] || { echo "usage: $0 [-u NAME]... [-l NAME [PARAM...] ;]... [-r NAME]..." >&2; exit 2; }
  n=$1
  shift
  case $op in
    -u)
      [ -d "$sys/module/$n" ] || continue
      rmmod "$n" || { printf 'unload-failed\t%s\n' "$n"; exit 4; }
      printf 'unloaded\t%s\n' "$n"
      ;;
    -l)
      ps=
      while [ $# -gt 0 ] && [ "$1" != ";" ]; do ps="$ps $1"; shift; done
      [ $# -gt 0 ] && shift
      # word splitting of the parameters is wanted; globbing is off for it
      # (deploy/modgraph.ts refuses parameters with glob or shell characters)
      set -f
      # shellcheck disable=SC2086
      modprobe "$n" $ps || { printf 'load-failed\t%s\n' "$n"; exit 5; }
      set +f
      printf 'loaded\t%s\n' "$n"
      ;;
    -r)
      [ -d "$sys/module/$n" ] && continue
      if modprobe "$n"; then printf 'reloaded\t%s\n' "$n"; else printf 'reload-failed\t%s\n' "$n"; rc=6; fi
      ;;
    *) echo "usage: $0 [-u NAME]... [-l NAME [PARAM...] ;]... [-r NAME]..." >&2; exit 2 ;;
  esac
done
exit $rc
