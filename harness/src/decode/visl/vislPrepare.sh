#!/bin/sh
# vislPrepare.sh: prepares the board for one vector in visl mode, in one round
# trip (used by decode/visl/session.ts VislSession.prepare):
# 1. reloads visl with the bitstream dump parameters (load-time only,
#    module_param(..., 0) in drivers/media/test-drivers/visl/visl-core.c),
# 2. arms the visl_vp9_controls/v4l2_ctrl_vp9_frame trace event (EVENTS=frame)
#    or every event of the visl_vp9_controls group (EVENTS=all: also the
#    compressed header, coefficient and MV probabilities) on an empty ring
#    buffer (Documentation/trace/ftrace.rst: tracing_on, buffer_size_kb,
#    trace, events/.../enable),
# 3. writes the kernel-log marker to /dev/kmsg.
#
# usage: vislPrepare.sh MARKER TRACE_KB EVENTS NFRAMES [NAME=VALUE...]
#   MARKER    kernel-log marker line ('' for none)
#   TRACE_KB  ring buffer size per CPU while tracing, KiB
#   EVENTS    frame | all
#   NFRAMES   frames to dump (bitstream_trace_nframes)
#   NAME=VALUE  extra visl module parameters
# Prints `VISL-BUSY <refcnt>`, `VISL-LOAD-FAILED <msg>` or
# `VISL-NODE /dev/videoN`; then `TRACE <tracefs>` or `NO-VISL-EVENTS`; then
# `MARKED` once the marker is written.
[ $# -ge 4 ] || { echo "usage: $0 MARKER TRACE_KB EVENTS NFRAMES [NAME=VALUE...]" >&2; exit 2; }
mark=$1; kb=$2; events=$3; shift 3
case "$events" in frame|all) ;; *) echo "$0: EVENTS must be frame or all, not '$events'" >&2; exit 2;; esac

# $1 nframes, then extra module parameters
reload() {
  n=$1; shift
  if [ -d /sys/module/visl ]; then
    modprobe -r visl 2>/dev/null || { echo "VISL-BUSY $(cat /sys/module/visl/refcnt 2>/dev/null)"; exit 0; }
  fi
  msg=$(modprobe visl keep_bitstream_buffers=1 bitstream_trace_frame_start=0 bitstream_trace_nframes="$n" "$@" 2>&1) || { echo "VISL-LOAD-FAILED $msg"; exit 0; }
  i=0
  while [ $i -lt 50 ]; do
    for v in /sys/class/video4linux/video*; do
      [ -e "$v/device/driver" ] || continue
      d=$(readlink -f "$v/device/driver")
      [ "${d##*/}" = visl ] && { echo "VISL-NODE /dev/${v##*/}"; exit 0; }
    done
    i=$((i+1)); sleep 0.1
  done
  echo "VISL-LOAD-FAILED no video node bound to visl after loading"
}

# $1 buffer KiB, $2 frame|all
arm() {
  T=/sys/kernel/tracing; [ -d "$T/events" ] || T=/sys/kernel/debug/tracing
  [ -d "$T/events/visl_vp9_controls/v4l2_ctrl_vp9_frame" ] || { echo NO-VISL-EVENTS; exit 0; }
  echo 0 > "$T/tracing_on"
  echo "$1" > "$T/buffer_size_kb"
  : > "$T/trace"
  if [ "$2" = all ]; then
    echo 1 > "$T/events/visl_vp9_controls/enable"
  else
    echo 1 > "$T/events/visl_vp9_controls/v4l2_ctrl_vp9_frame/enable"
  fi
  echo 1 > "$T/tracing_on"
  echo "TRACE $T"
}

r=$(reload "$@"); echo "$r"
case "$r" in "VISL-NODE "*) ;; *) exit 0;; esac
t=$(arm "$kb" "$events"); echo "$t"
case "$t" in "TRACE "*) ;; *) exit 0;; esac
if [ -n "$mark" ]; then printf '%s\n' "$mark" > /dev/kmsg && echo MARKED; fi
