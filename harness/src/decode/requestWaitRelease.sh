#!/bin/sh
# requestWaitRelease.sh: waits until no thread holds a device open (used by
# decode/requestApi.ts waitRelease). Threads, not processes: a killed decoder
# whose streaming thread sleeps in the driver (D state, e.g. inside
# MEDIA_REQUEST_IOC_QUEUE -> device_run) leaves a zombie leader whose own
# /proc/PID/fd is empty while /proc/PID/task/TID/fd still holds the device
# (proc(5): /proc/pid/task, /proc/pid/status State, /proc/pid/stack).
#
# usage: requestWaitRelease.sh DEVICE MAX_CHECKS
#   DEVICE      device node (/dev/videoN)
#   MAX_CHECKS  checks every 0.2 s, at most this many
# Prints `STACK <pid/task/tid> <frames>` for threads in D state at the first
# check, then `FREE <checks>` or `BUSY pid/task/tid(state)...`.
[ $# -eq 2 ] || { echo "usage: $0 DEVICE MAX_CHECKS" >&2; exit 2; }
dev=$1; max=$2; i=0
while :; do
  busy=""
  # shellcheck disable=SC2044 # /proc/PID/task/TID/fd paths hold no spaces or glob characters
  for f in $(find /proc/[0-9]*/task/[0-9]*/fd -maxdepth 1 -lname "$dev" 2>/dev/null); do
    t=${f%/fd/*}; st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "$t/status" 2>/dev/null)
    case "$busy" in *" ${t#/proc/}("*) ;; *) busy="$busy ${t#/proc/}($st)";; esac
    if [ "$i" = 0 ] && [ "$st" = D ]; then
      echo "STACK ${t#/proc/} $(head -4 "$t/stack" 2>/dev/null | sed 's/^\[<[0-9a-f]*>\] //' | tr '\n' ' ')"
    fi
  done
  [ -z "$busy" ] && { echo "FREE $i"; exit 0; }
  i=$((i+1)); [ "$i" -ge "$max" ] && { echo "BUSY$busy"; exit 0; }
  sleep 0.2
done
