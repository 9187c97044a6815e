#!/bin/sh
# boardLock.sh: the board-wide lock of the workbench (a directory, created
# with mkdir, which is atomic), used by target/boardLock.ts.
#
# usage: boardLock.sh acquire LOCKDIR OWNER   take it, or report who holds it
#        boardLock.sh renew   LOCKDIR OWNER   refresh the holder's time stamp
#        boardLock.sh break   LOCKDIR OWNER   remove it if OWNER still holds it
#        boardLock.sh release LOCKDIR OWNER   remove it if OWNER holds it
#        boardLock.sh holder  LOCKDIR         report who holds it
# OWNER is one line (JSON). Output: `acquired`, `free`, or
# `held<TAB>AGE_SECONDS<TAB>OWNER` (AGE: seconds since the holder last renewed).
set -u
usage() { echo "usage: $0 acquire|renew|break|release LOCKDIR OWNER, or $0 holder LOCKDIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
op=$1 l=$2 owner=${3-}
held() {
  cur=
  { IFS= read -r cur < "$l/owner"; } 2>/dev/null
  now=$(date +%s)
  then=$(stat -c %Y "$l/owner" 2>/dev/null || stat -c %Y "$l" 2>/dev/null || echo "$now")
  printf 'held\t%s\t%s\n' "$((now - then))" "$cur"
}
case $op in
  acquire)
    mkdir -p "${l%/*}"
    if mkdir "$l" 2>/dev/null; then
      printf '%s\n' "$owner" > "$l/owner.tmp" && mv -f "$l/owner.tmp" "$l/owner"
      echo acquired
    else
      held
    fi
    ;;
  renew)
    { IFS= read -r cur < "$l/owner"; } 2>/dev/null || cur=
    if [ "$cur" = "$owner" ]; then touch "$l/owner"; echo renewed; else echo lost; fi
    ;;
  break|release)
    { IFS= read -r cur < "$l/owner"; } 2>/dev/null || cur=
    # a lock without an owner file is being created (or was left half-made): only `break` removes it
    if [ "$cur" = "$owner" ] || { [ "$op" = break ] && [ -z "$cur" ]; }; then rm -rf "$l"; echo removed; else echo kept; fi
    ;;
  holder)
    if [ -d "$l" ]; then held; else echo free; fi
    ;;
  *) usage ;;
esac
