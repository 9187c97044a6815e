#!/bin/sh
# enterChroot.sh: sets up bind mounts in a private mount namespace and enters
# the toolbox chroot (used by toolbox/chrootExec.ts, run under
# `unshare -m -p -f --mount-proc=ROOT/proc`, so the mounts vanish with the
# command and never show on the host).
#
# usage: enterChroot.sh ROOT N [HOST INSIDE ro|rw]... COMMAND [ARG...]
#   ROOT    the chroot
#   N       number of HOST INSIDE ro|rw triples that follow
#   COMMAND the argv run inside the chroot (exec chroot ROOT COMMAND...)
set -e
[ $# -ge 3 ] || { echo "usage: $0 ROOT N [HOST INSIDE ro|rw]... COMMAND [ARG...]" >&2; exit 2; }
root=$1; n=$2; shift 2
i=0
while [ "$i" -lt "$n" ]; do
  if [ -d "$1" ]; then mkdir -p "$root$2"; else mkdir -p "$(dirname "$root$2")"; [ -e "$root$2" ] || : > "$root$2"; fi
  mount --bind "$1" "$root$2"
  if [ "$3" = ro ]; then mount -o remount,bind,ro "$root$2"; fi
  shift 3; i=$((i+1))
done
exec chroot "$root" "$@"
