#!/bin/sh
# irqEnable.sh: turns on the IRQ instrumentation of a loaded module on the
# board (used by irq/instrumentation.ts).
#
# usage: irqEnable.sh MODULE PARAM DYNDBG
#   MODULE  module name (/sys/module/MODULE)
#   PARAM   module parameter to set to 1 ('' for none)
#   DYNDBG  1 to enable the module's dynamic debug prints (+p), else 0
# Prints one of: NOT-LOADED, NO-PARAM, NO-DYNDBG, or `ENABLED <how...>`.
# Sources: Documentation/admin-guide/dynamic-debug-howto.rst (control file,
# "module NAME +p"); /sys/module/NAME/parameters/ (Documentation/ABI/testing/sysfs-module).
[ $# -eq 3 ] || { echo "usage: $0 MODULE PARAM DYNDBG" >&2; exit 2; }
m=$1; p=$2; dd=$3; how=""
[ -d "/sys/module/$m" ] || { echo NOT-LOADED; exit 0; }
if [ -n "$p" ]; then
  f="/sys/module/$m/parameters/$p"
  [ -e "$f" ] || { echo NO-PARAM; exit 0; }
  echo 1 > "$f" || { echo NO-PARAM; exit 0; }
  how="$how param:$p=$(cat "$f")"
fi
if [ "$dd" = 1 ]; then
  c=/sys/kernel/debug/dynamic_debug/control
  [ -w "$c" ] || c=/proc/dynamic_debug/control
  if [ -w "$c" ] && echo "module $m +p" > "$c" 2>/dev/null; then how="$how dyndbg:module $m +p"; else echo NO-DYNDBG; exit 0; fi
fi
echo "ENABLED$how"
