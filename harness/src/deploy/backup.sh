#!/bin/sh
# backup.sh: the backup step of a deploy (deploy/backup.ts backupFiles).
# Copies each DEST that exists into BACKUP_DIR as NAME, writes SHA256SUMS
# (sha256sum format: `cd BACKUP_DIR && sha256sum -c SHA256SUMS` checks it),
# and writes MARKER into the kernel log (the deploy's start, for verify).
#
# usage: backup.sh BACKUP_DIR MODULE_DIR MARKER [DEST NAME]...
# Prints, tab-separated, for each file saved:
#   orig NAME SHA256_OF_DEST SHA256_OF_COPY
# Exits non-zero on any failure (disk full: cp's error on stderr).
set -e
b=$1; dir=$2; mark=$3; shift 3
printf '%s\n' "$mark" > /dev/kmsg 2>/dev/null || true
mkdir -p "$b" "$dir"
: > "$b/SHA256SUMS.tmp"
while [ $# -gt 0 ]; do
  dest=$1; name=$2; shift 2
  if [ -e "$dest" ]; then
    cp -p "$dest" "$b/$name"
    copy=$(cd "$b" && sha256sum "$name")
    echo "$copy" >> "$b/SHA256SUMS.tmp"
    echo "orig	$name	$(sha256sum < "$dest" | cut -d' ' -f1)	${copy%% *}"
  fi
done
mv -f "$b/SHA256SUMS.tmp" "$b/SHA256SUMS"
sync
