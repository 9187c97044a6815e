#!/bin/sh
# killTree.sh: kills the process tree of a remote command (used by
# target/remoteProc.ts killTreeArgv, run by target/ssh.ts on a second channel
# when a command times out or is aborted).
#
# usage: killTree.sh PID
#   PID  the PID the command's wrapper reported: the session and process-group
#        leader of everything the command started
# Stops the process group first (no new forks), then collects every process
# whose process group or session is PID, or that descends from PID, and sends
# SIGKILL to all of them. Prints `killed PID...` (empty when nothing was
# left). Reads /proc/PID/stat only (proc(5): field 4 ppid, 5 pgrp, 6 session;
# the comm field may hold spaces, so parsing starts after the last `)`).
# Works with dash, bash and busybox sh.
r=${1:-}
case "$r" in ''|*[!0-9]*) echo "bad pid" >&2; exit 2;; esac
kill -STOP -- "-$r" 2>/dev/null
snap() {
  for f in /proc/[0-9]*/stat; do
    { read -r l < "$f"; } 2>/dev/null || continue
    p=${f#/proc/}; p=${p%/stat}
    t=${l##*) }
    # shellcheck disable=SC2086 # the stat fields after comm: split on purpose
    set -- $t
    echo "$p $2 $3 $4"
  done
}
all=$(snap)
list=" $r "
changed=1
while [ $changed = 1 ]; do
  changed=0
  while read -r p pp pg sid; do
    case "$list" in *" $p "*) continue;; esac
    case "$list" in *" $pp "*) list="$list$p "; changed=1; continue;; esac
    if [ "$pg" = "$r" ] || [ "$sid" = "$r" ]; then list="$list$p "; changed=1; fi
  done <<EOF2
$all
EOF2
done
self=$$
out=""
for p in $list; do
  [ "$p" = "$self" ] && continue
  [ -d "/proc/$p" ] || continue
  kill -KILL "$p" 2>/dev/null && out="$out $p"
done
kill -KILL -- "-$r" 2>/dev/null
echo "killed$out"
