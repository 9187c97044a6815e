#!/bin/sh
# listBackups.sh: the backups on a board (deploy/backup.ts listBackups).
#
# usage: listBackups.sh BACKUPS_DIR JOURNAL
# Prints, tab-separated:
#   journal JSON          when JOURNAL is not empty (a deploy/rollback is pending)
#   record  ID JSON       a backup directory with its record.json
#   partial ID            a backup directory without a readable record
[ -s "$2" ] && echo "journal	$(tr -d '\n' < "$2")"
for d in "$1"/*/; do
  [ -d "$d" ] || continue
  d=${d%/}
  # record.json is one line of JSON: read it with the shell's own read (no process per backup)
  if [ -r "$d/record.json" ] && IFS= read -r rec < "$d/record.json"; then printf 'record\t%s\t%s\n' "${d##*/}" "$rec"; else printf 'partial\t%s\n' "${d##*/}"; fi
done
