#!/bin/sh
# requestDecode.sh: runs a V4L2 request-API client (gst-launch-1.0 today)
# while proving which device it used and streaming its output file (used by
# decode/requestApi.ts through decode/backends/gstV4l2sl.ts).
#
# usage: requestDecode.sh OUTPUT GST_DEBUG CLIENT [ARG...]
#   OUTPUT     file the client writes; streamed to stdout as it grows
#              (its folder is created when missing), removed at the end
#   GST_DEBUG  GST_DEBUG of the client
# stdout: the decoded frames. stderr: the client's output plus
# `WB-GST-PID <pid>`, then after the client exited `WB-OPENED <device>` lines
# (media/video nodes it held, sampled from /proc/PID/fd every 20 ms while it
# ran, kept in a side file so they cannot interleave with its own output;
# proc(5) /proc/pid/fd) and `WB-EXIT <rc>`. Exits with the client's code
# (97 when OUTPUT cannot be prepared).
# Measured on the vboard (TCG, 2 vCPUs): the sampler costs no measurable
# decode time (p0-keyframe-only 1.9-2.5 s with it, 2.0-2.2 s without; a
# fork-free variant was not faster).
[ $# -ge 3 ] || { echo "usage: $0 OUTPUT GST_DEBUG CLIENT [ARG...]" >&2; exit 2; }
out=$1; dbg=$2; shift 2
fds="$out.fds"
[ -d "${out%/*}" ] || mkdir -p "${out%/*}" || exit 97
rm -f "$out" "$fds" || exit 97
GST_DEBUG=$dbg GST_DEBUG_NO_COLOR=1 "$@" >&2 &
gp=$!
echo "WB-GST-PID $gp" >&2
(
  : > "$fds"
  while kill -0 "$gp" 2>/dev/null; do
    # shellcheck disable=SC2012 # fd names are numbers; ls -l gives each fd's link target in one process
    ls -l /proc/"$gp"/fd 2>/dev/null | sed -n 's#.* -> \(/dev/\(media\|video\)[0-9]*\)$#\1#p' >> "$fds"
    sleep 0.02
  done
) &
wp=$!
tail -c +1 -s 0.05 --pid="$gp" -F "$out" 2>/dev/null
wait "$gp"; rc=$?
wait "$wp" 2>/dev/null
sort -u "$fds" | sed 's/^/WB-OPENED /' >&2
rm -f "$out" "$fds"
echo "WB-EXIT $rc" >&2
exit $rc
