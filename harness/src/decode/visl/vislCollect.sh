#!/bin/sh
# vislCollect.sh: after a vector's decode in visl mode, in one round trip
# (used by decode/visl/session.ts VislSession.collect): stops tracing and
# prints the trace (then disarms the visl_vp9_controls events and empties the buffer), lists
# visl's bitstream dumps (size and SHA-256, computed on the board), prints
# the kernel log when asked, and removes the board lock directory when given.
#
# usage: vislCollect.sh TRACEFS BITSTREAM_DIR NONCE KERNEL_LOG [LOCK_DIR]
#   TRACEFS        tracefs mount (printed by vislPrepare.sh)
#   BITSTREAM_DIR  visl's debugfs dump folder (visl-debugfs.c)
#   NONCE          random per call: every part follows a `WB-SECTION-NONCE NAME`
#                  line (after a newline, so a part that does not end in one
#                  cannot swallow it), which no traced or logged text can fake
#   KERNEL_LOG     1: print the kernel log (`dmesg -r`, else `dmesg`)
#   LOCK_DIR       lock directory to remove at the end ('' for none): `LOCK-RELEASED`
# Dumps: `WB-SIZE bitstreamN BYTES` and `WB-SHA bitstreamN SHA256` lines, or
# `NO-BITSTREAM-DIR`.
[ $# -ge 4 ] || { echo "usage: $0 TRACEFS BITSTREAM_DIR NONCE KERNEL_LOG [LOCK_DIR]" >&2; exit 2; }
T=$1; B=$2; n=$3; k=$4; l=${5:-}

# $1 tracefs (Documentation/trace/ftrace.rst)
trace() {
  echo 0 > "$1/tracing_on"
  cat "$1/trace"
  echo 0 > "$1/events/visl_vp9_controls/enable"
  : > "$1/trace"
}

# $1 dump folder. One wc and one sha256sum over all dumps: two processes per
# dump took 2-9 s per vector on the TCG vboard (a process start costs ~70 ms there).
dumps() {
  d=$1
  [ -d "$d" ] || { echo NO-BITSTREAM-DIR; exit 0; }
  set -- "$d"/bitstream*
  [ -e "$1" ] || exit 0
  wc -c "$@" | while read -r s f; do case "$f" in "$d"/*) echo "WB-SIZE ${f##*/} $s";; esac; done
  sha256sum "$@" | while read -r h f; do echo "WB-SHA ${f##*/} $h"; done
}

sec() { printf '\nWB-SECTION-%s %s\n' "$n" "$1"; }
sec trace; trace "$T"
sec dumps; (dumps "$B")
if [ "$k" = 1 ]; then sec dmesg; dmesg -r 2>/dev/null || dmesg; fi
sec end
if [ -n "$l" ]; then rm -rf "$l" && echo LOCK-RELEASED; fi
true
