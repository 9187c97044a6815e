#!/bin/sh
# install.sh: the install step of a deploy (deploy/backup.ts installFiles).
# Renames each verified upload TMP over DEST (same filesystem: atomic) and,
# with DEPMOD=yes, rebuilds the module index of RELEASE.
#
# usage: install.sh RELEASE yes|no [TMP DEST]...
# Prints `installed DEST` (tab-separated) per file; exits non-zero on a failure.
set -e
rel=$1; depmod=$2; shift 2
while [ $# -gt 0 ]; do mv -f "$1" "$2"; echo "installed	$2"; shift 2; done
[ "$depmod" = yes ] && depmod -a "$rel"
sync
