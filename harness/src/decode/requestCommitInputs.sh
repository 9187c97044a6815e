#!/bin/sh
# requestCommitInputs.sh: moves uploaded temporary vector files to their
# content-addressed names (used by decode/requestApi.ts BoardInputs.stage).
# usage: requestCommitInputs.sh [TMP FINAL]...
# Prints `MOVED <final>` per file moved.
while [ $# -ge 2 ]; do
  mkdir -p "${2%/*}" && mv -f "$1" "$2" && echo "MOVED $2"
  shift 2
done
true
