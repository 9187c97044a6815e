#!/bin/sh
# restore.sh: puts a deploy's backed-up files back (deploy/backup.ts restoreFiles).
# Checks BACKUP_DIR against its SHA256SUMS first (nothing is touched when it
# does not match), removes leftover uploads of deploy ID next to each DEST,
# then per entry: `restore DEST SRC` copies SRC over DEST (temp + rename),
# `remove DEST -` removes a file the deploy added. With DEPMOD=yes, rebuilds
# the module index of RELEASE.
#
# usage: restore.sh BACKUP_DIR RELEASE ID yes|no [restore|remove DEST SRC]...
# Prints, tab-separated: `restored DEST SHA256`, `removed DEST`, or
# `backup-corrupt BACKUP_DIR` (exit 3); other failures exit non-zero.
set -e
b=$1; rel=$2; id=$3; depmod=$4; shift 4
if [ -s "$b/SHA256SUMS" ]; then
  (cd "$b" && sha256sum -c SHA256SUMS >/dev/null) || { echo "backup-corrupt	$b"; exit 3; }
fi
while [ $# -gt 0 ]; do
  mode=$1; dest=$2; src=$3; shift 3
  rm -f "${dest%/*}"/.wb-"$id"-* 2>/dev/null || true
  case $mode in
    restore) cp -p "$src" "$dest.wb-restore"; mv -f "$dest.wb-restore" "$dest"; echo "restored	$dest	$(sha256sum < "$dest" | cut -d' ' -f1)";;
    remove) rm -f "$dest"; echo "removed	$dest";;
  esac
done
[ "$depmod" = yes ] && depmod -a "$rel"
sync
