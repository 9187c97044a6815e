#!/bin/sh
# gstProbe.sh: what GStreamer can decode VP9 with on this board (used by
# decode/backends/gstElements.ts probeGst, and embedded in LAVA jobs by
# farm/dutScript.ts). No arguments.
# Prints `NO-GSTREAMER`, or `GST-VERSION <version>`, then per stateless VP9
# element of v4l2codecs `ELEMENT <name> <media> <video> <driver>` (`-` when
# unknown; the driver from /sys/class/video4linux/videoN/device/driver), then
# for its video device the driver's formats between `FORMATS-OUT <dev>` /
# `FORMATS-CAP <dev>` / `END` (v4l2-ctl --list-formats-out-ext / --list-formats-ext).
command -v gst-inspect-1.0 >/dev/null || { echo NO-GSTREAMER; exit 0; }
echo "GST-VERSION $(gst-launch-1.0 --version 2>/dev/null | sed -n 's/.*version //p' | head -1)"
for e in $(gst-inspect-1.0 v4l2codecs 2>/dev/null | sed -n 's/^ *\(v4l2sl[A-Za-z0-9_]*vp9dec\): .*/\1/p'); do
  info=$(gst-inspect-1.0 "$e" 2>/dev/null)
  md=$(printf '%s\n' "$info" | sed -n '/^ *media-device /,/Default:/ s/.*Default: "\(.*\)".*/\1/p' | head -1)
  vd=$(printf '%s\n' "$info" | sed -n '/^ *video-device /,/Default:/ s/.*Default: "\(.*\)".*/\1/p' | head -1)
  n=${vd##*/}
  drv=""
  [ -n "$n" ] && [ -e "/sys/class/video4linux/$n/device/driver" ] && drv=$(basename "$(readlink -f "/sys/class/video4linux/$n/device/driver")")
  echo "ELEMENT $e ${md:--} ${vd:--} ${drv:--}"
  if [ -n "$vd" ] && command -v v4l2-ctl >/dev/null; then
    echo "FORMATS-OUT $vd"; v4l2-ctl -d "$vd" --list-formats-out-ext 2>&1 | head -40
    echo "FORMATS-CAP $vd"; v4l2-ctl -d "$vd" --list-formats-ext 2>&1 | head -40
    echo END
  fi
done
