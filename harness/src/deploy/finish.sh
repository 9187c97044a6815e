#!/bin/sh
# finish.sh: the last step of a deploy or rollback (deploy/backup.ts finishRecord).
# Writes RECORD (one line of JSON) to BACKUP_DIR/record.json (temp + rename);
# only once it is on disk, removes the deploy JOURNAL, prunes the oldest
# backups beyond KEEP (never one whose record says active) and, when LOCK is
# not empty, removes the board lock directory.
#
# usage: finish.sh BACKUP_DIR RECORD JOURNAL KEEP LOCK
# Prints `pruned DIR` (tab-separated) per backup removed. Exits 91 when the
# record cannot be written (disk full: cat's error on stderr); then nothing
# else was done (the journal stays, so the next command repairs).
b=$1; rec=$2; journal=$3; keep=$4; lock=$5
# through cat: its write error names the cause (dash's printf says only "I/O error")
if ! { printf '%s\n' "$rec" | cat > "$b/record.json.tmp" && mv -f "$b/record.json.tmp" "$b/record.json"; }; then
  rm -f "$b/record.json.tmp"
  exit 91
fi
sync
rm -f "$journal"
n=0
# backup ids are safe names (YYYYMMDDTHHMMSSZ-xxxx): ls | sort -r lists them newest first
# shellcheck disable=SC2012
for d in $(ls -1d "${b%/*}"/*/ 2>/dev/null | sort -r); do
  n=$((n+1)); [ "$n" -le "$keep" ] && continue
  grep -q '"state":"active"' "$d/record.json" 2>/dev/null && continue
  rm -rf "$d" && echo "pruned	$d"
done
sync
[ -n "$lock" ] && rm -rf "$lock"
exit 0
