#!/bin/sh
# boardCheck.sh: what `workbench boards check` shows about a board, in one
# round trip (used by cli/commands/boards.ts).
#
# usage: boardCheck.sh MODULE_DIR
#   MODULE_DIR  the board's module install directory (free space is that of
#               its nearest existing ancestor)
# Prints tab-separated lines: `release R`, `uid N`, `df KIB_FREE MOUNT`,
# `video /dev/videoN NAME MODULE` per V4L2 video node
# (/sys/class/video4linux/videoN/name, device/driver/module), `media
# /dev/mediaN`, and `module M` per loaded decoder-related module.
[ $# -eq 1 ] || { echo "usage: $0 MODULE_DIR" >&2; exit 2; }
dir=$1
echo "release	$(uname -r)"
echo "uid	$(id -u)"
p=$dir; while [ ! -e "$p" ]; do p=${p%/*}; [ -z "$p" ] && p=/; done
df -P -k "$p" | awk 'NR==2{print "df\t"$4"\t"$6}'
for v in /sys/class/video4linux/video*; do
  [ -e "$v" ] || continue
  m=$(readlink -f "$v/device/driver/module" 2>/dev/null)
  echo "video	/dev/${v##*/}	$(cat "$v/name" 2>/dev/null)	${m##*/}"
done
for m in /dev/media*; do [ -e "$m" ] && echo "media	$m"; done
for m in rockchip_vdec visl v4l2_mem2mem hantro_vpu; do [ -d "/sys/module/$m" ] && echo "module	$m"; done
exit 0
