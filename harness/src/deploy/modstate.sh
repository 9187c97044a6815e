#!/bin/sh
# modstate.sh: what the kernel says about loaded modules, for
# deploy/modgraph.ts to plan unloads and loads (one round trip).
#
# usage: modstate.sh [--why] [NAME...]
# Prints, tab-separated:
#   mod   NAME INITSTATE REFCNT SRCVERSION HOLDER,HOLDER...   every loaded module
#                                  (/sys/module/NAME with an initstate file;
#                                  built-in code has none)
#   file  NAME PATH SRCVERSION DEPEND,DEPEND...   for each NAME that modprobe
#                                  finds (modinfo: the file the module index
#                                  points at, its srcversion and depends=)
#   nofile NAME                    a NAME modprobe cannot find
# With --why, also what can keep a module from unloading:
#   open  PID COMM DEVICE MODULE   a process holding /dev/video* or /dev/media*
#                                  (MODULE: the driver's module, from sysfs)
#   dstate PID COMM WCHAN          a task in uninterruptible sleep (state D)
# WB_SYS (default /sys) and WB_PROC (default /proc) let tests run it on a
# recorded tree.
sys=${WB_SYS:-/sys}
proc=${WB_PROC:-/proc}
why=
if [ "${1-}" = --why ]; then why=1; shift; fi
for d in "$sys"/module/*/; do
  d=${d%/}
  [ -r "$d/initstate" ] || continue
  n=${d##*/}
  IFS= read -r st < "$d/initstate" || st='?'
  rc=
  [ -r "$d/refcnt" ] && IFS= read -r rc < "$d/refcnt"
  sv=
  [ -r "$d/srcversion" ] && IFS= read -r sv < "$d/srcversion"
  hs=
  for h in "$d"/holders/*; do
    [ -e "$h" ] || continue
    hs="$hs${hs:+,}${h##*/}"
  done
  printf 'mod\t%s\t%s\t%s\t%s\t%s\n' "$n" "$st" "$rc" "$sv" "$hs"
done
for n in "$@"; do
  if p=$(modinfo -n "$n" 2>/dev/null) && [ -n "$p" ]; then
    printf 'file\t%s\t%s\t%s\t%s\n' "$n" "$p" "$(modinfo -F srcversion "$n" 2>/dev/null)" "$(modinfo -F depends "$n" 2>/dev/null)"
  else
    printf 'nofile\t%s\n' "$n"
  fi
done
[ -n "$why" ] || exit 0
for f in "$proc"/[0-9]*/fd/*; do
  t=$(readlink "$f" 2>/dev/null) || continue
  case $t in /dev/video[0-9]*|/dev/media[0-9]*) ;; *) continue ;; esac
  p=${f#"$proc"/}; p=${p%%/*}
  c=
  IFS= read -r c < "$proc/$p/comm" 2>/dev/null
  b=${t##*/}
  case $b in video*) s=$sys/class/video4linux/$b ;; *) s=$sys/bus/media/devices/$b ;; esac
  m=$(readlink -f "$s/device/driver/module" 2>/dev/null)
  printf 'open\t%s\t%s\t%s\t%s\n' "$p" "$c" "$t" "${m##*/}"
done
for s in "$proc"/[0-9]*/task/[0-9]*/stat; do
  l=
  { IFS= read -r l < "$s"; } 2>/dev/null || continue
  # field 3 (state) follows the last ')' (comm may hold spaces and parentheses)
  r=${l##*) }
  [ "${r%% *}" = D ] || continue
  t=${s%/stat}; t=${t##*/}
  c=${l#*(}; c=${c%)*}
  w=
  IFS= read -r w < "${s%/stat}/wchan" 2>/dev/null
  printf 'dstate\t%s\t%s\t%s\n' "$t" "$c" "$w"
done
exit 0
