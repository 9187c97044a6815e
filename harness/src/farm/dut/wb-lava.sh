#!/bin/sh
# Runs on the device under test inside a LAVA test shell; see harness/src/farm/dutScript.ts.
# modswap.sh, the GStreamer probe and the decode pipeline (the lines
# holding only a WB placeholder) are filled in by the workbench when it renders a job.
set -u
base=$1; driver=$2; mode=$3; set_name=$4; mod_sha=$5; mod_names=$6; vector_timeout=$7
shift 7
work=${WB_LAVA_WORK:-/tmp/wb-lava}
bk=/var/lib/workbench/lava-backup
mkdir -p "$work/v" "$work/r" || exit 2

wb_fetch() {
  rm -f "$2.part"
  if command -v wget >/dev/null 2>&1; then wget -q -O "$2.part" "$1"
  elif command -v curl >/dev/null 2>&1; then curl -fsS -o "$2.part" "$1"
  else
    bash -c '
      u=${1#http://}; hp=${u%%/*}; p=/${u#*/}; h=${hp%:*}; port=${hp##*:}
      [ "$port" = "$hp" ] && port=80
      exec 3<>"/dev/tcp/$h/$port" || exit 1
      printf "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" "$p" "$hp" >&3
      IFS= read -r status <&3
      case $status in *" 200 "*) ;; *) echo "HTTP: $status" >&2; exit 1;; esac
      while IFS= read -r l <&3; do [ "$l" = $'"'"'\r'"'"' ] && break; done
      cat <&3 > "$2"' wb-fetch "$1" "$2.part"
  fi || { rm -f "$2.part"; return 1; }
  if [ -n "$3" ] && [ "$(sha256sum < "$2.part" | cut -d' ' -f1)" != "$3" ]; then
    echo "WB-ERROR - SHA-256 of $1 is not $3"; rm -f "$2.part"; return 1
  fi
  mv -f "$2.part" "$2"
}

# Unload and load the job's modules with the workbench's modswap.sh (harness/src/deploy/):
# holders outside the set first, then the set (a module only once nothing in
# the set holds it any more), load the set, load the outside holders again.
wb_reload() {
  cat > "$work/modswap.sh" <<'WB_MODSWAP_EOF'
@MODSWAP@
WB_MODSWAP_EOF
  sys=${WB_SYS:-/sys}
  set_=$(echo "$mod_names" | tr ',-' ' _')
  outside=""
  for m in $set_; do
    for h in "$sys/module/$m/holders/"*; do
      [ -e "$h" ] || continue
      h=${h##*/}
      case " $set_ $outside " in *" $h "*) ;; *) outside="$outside $h";; esac
    done
  done
  args=""
  for h in $outside; do args="$args -u $h"; done
  left=$set_; pass=0
  while [ -n "$left" ] && [ "$pass" -lt 8 ]; do
    next=""
    for m in $left; do
      busy=""
      for h in "$sys/module/$m/holders/"*; do [ -e "$h" ] || continue; case " $left " in *" ${h##*/} "*) [ "${h##*/}" != "$m" ] && busy=1;; esac; done
      if [ -n "$busy" ]; then next="$next $m"; else args="$args -u $m"; fi
    done
    left=$next; pass=$((pass + 1))
  done
  for m in $left; do args="$args -u $m"; done
  for m in $set_; do args="$args -l $m ;"; done
  for h in $outside; do args="$args -r $h"; done
  # shellcheck disable=SC2086 # one word per argument, by construction
  sh "$work/modswap.sh" $args
}

wb_restore() {
  [ -f "$bk/list" ] || return 0
  while IFS= read -r p; do
    if [ -e "$bk/files$p" ]; then cp -a "$bk/files$p" "$p"; else rm -f "$p"; fi
  done < "$bk/list"
  [ -f "$bk/depmod" ] && depmod -a "$(uname -r)"
  wb_reload > "$work/restore.log" 2>&1 || { echo "WB-ERROR - reloading the previous modules failed: $(tr '\n' ' ' < "$work/restore.log")"; }
  rm -rf "$bk"
  echo "WB-MODULES restored"
}

if [ "$mod_sha" != "-" ]; then
  if [ -f "$bk/list" ]; then
    echo "WB-MODULES leftover backup from an earlier job found: restoring it first"
    wb_restore
  fi
  wb_fetch "$base/modules.tar.xz" "$work/modules.tar.xz" "$mod_sha" || { echo "WB-ERROR - cannot download the modules"; lava-test-case modules-install --result fail; exit 0; }
  rm -rf "$bk"; mkdir -p "$bk/files"
  tar -tJf "$work/modules.tar.xz" | while IFS= read -r f; do
    case "$f" in */) continue;; esac
    p=/${f#./}
    if [ -e "$p" ]; then mkdir -p "$bk/files${p%/*}"; cp -a "$p" "$bk/files$p"; fi
    echo "$p"
  done > "$bk/list.part" && mv "$bk/list.part" "$bk/list"
  trap 'wb_restore' EXIT
  trap 'exit 130' INT TERM
  # depmod (minutes on a slow board) only when the module index can change: a new
  # path, or a module whose alias/depends/softdep/weakdep lines differ from the file it replaces
  rm -rf "$work/new"; mkdir -p "$work/new" && tar -xJf "$work/modules.tar.xz" -C "$work/new"
  while IFS= read -r p; do
    if [ ! -e "$bk/files$p" ] || [ "$(modinfo "$bk/files$p" | grep -E '^(alias|depends|softdep|weakdep):')" != "$(modinfo "$work/new$p" | grep -E '^(alias|depends|softdep|weakdep):')" ]; then
      : > "$bk/depmod"
    fi
  done < "$bk/list"
  rm -rf "$work/new"
  if tar -xJf "$work/modules.tar.xz" -C / && { [ ! -f "$bk/depmod" ] || depmod -a "$(uname -r)"; } && wb_reload > "$work/reload.log" 2>&1; then
    echo "WB-MODULES installed $(tr '\n' ' ' < "$bk/list")"
    lava-test-case modules-install --result pass
  else
    echo "WB-ERROR - installing the modules failed: $(tr '\n' ' ' < "$work/reload.log" 2>/dev/null)"
    lava-test-case modules-install --result fail
    exit 0
  fi
else
  echo "WB-MODULES none (booted with them)"
fi

cat > "$work/probe.sh" <<'WB_PROBE_EOF'
@PROBE@
WB_PROBE_EOF
wb_probe() {
  sh "$work/probe.sh" | awk -v d="$driver" '$1 == "ELEMENT" && $5 == d { print; exit }'
}
line=$(wb_probe)
if [ -z "$line" ] && [ "$driver" = visl ]; then modprobe visl; line=$(wb_probe); fi
if [ -z "$line" ]; then
  echo "WB-ERROR - no GStreamer stateless VP9 element is bound to driver $driver"
  lava-test-case decoder-probe --result fail
  exit 0
fi
# shellcheck disable=SC2086 # ELEMENT name media video driver: split on purpose
set -- $line "$@"
# shellcheck disable=SC2034 # el, demux, in and out are read by the pipeline line below
el=$2; echo "WB-ELEMENT $2 $3 $4 $5"; shift 5
lava-test-case decoder-probe --result pass

lava-test-set start "$set_name"
for spec in "$@"; do
  # shellcheck disable=SC2034 # demux is read by the pipeline line
  IFS=: read -r case file sha demux sizes <<WB_SPEC_EOF
$spec
WB_SPEC_EOF
  in=$work/v/$file; out=$work/out.yuv
  if [ ! -f "$in" ] && ! wb_fetch "$base/vectors/$file" "$in" "$sha"; then
    echo "WB-ERROR $case cannot download the vector"; lava-test-case "$case" --result fail; continue
  fi
  refs=""
  if [ "$mode" = pixels ]; then
    if ! wb_fetch "$base/refs/$case.sha256" "$work/r/$case.sha256" ""; then
      echo "WB-ERROR $case cannot download the reference hashes"; lava-test-case "$case" --result fail; continue
    fi
    refs=$work/r/$case.sha256
  fi
  rm -f "$out"
  GST_DEBUG=@GST_DEBUG@ GST_DEBUG_NO_COLOR=1 timeout "$vector_timeout" @PIPELINE@ > "$work/gst.log" 2>&1
  rc=$?
  [ -f "$out" ] || : > "$out"
  bytes=$(stat -c %s "$out")
  echo "WB-DECODE $case rc=$rc bytes=$bytes md5=$(md5sum < "$out" | cut -d' ' -f1)"
  grep -E 'select_src_format:.* Selected format ' "$work/gst.log" | tail -n 4 | sed "s/^/WB-GST $case /"
  # frames GStreamer's VP9 base class dropped at a size change on an inter frame (gstFailure.ts droppedAtSizeChange)
  grep -E 'frame resolution changed|non-keyframe format change|Drop frame before initial keyframe' "$work/gst.log" | tail -n 400 | sed "s/^/WB-GST $case /"
  [ "$rc" = 0 ] || grep -E -A2 '^ERROR:|[[:space:]](WARN|ERROR)[[:space:]]|^Additional debug info:' "$work/gst.log" | tail -n 60 | sed "s/^/WB-GST $case /"
  # Split the output into frames (expected sizes in output order; bytes past them at
  # the last size) with one split per run of equal sizes, hash them with one
  # sha256sum, then walk expected size / produced size / hash / reference side by side.
  f=$work/f; rm -rf "$f"; mkdir -p "$f"; : > "$f.exp"
  off=0; gi=1000; last=0
  for g in $(echo "$sizes" | tr '+' ' '); do
    n=${g%x*}; sz=${g#*x}; last=$sz; gi=$((gi + 1))
    j=0; while [ "$j" -lt "$n" ]; do echo "$sz" >> "$f.exp"; j=$((j + 1)); done
    [ "$off" -lt "$bytes" ] && tail -c +$((off + 1)) "$out" | head -c $((n * sz)) | split -b "$sz" -a 6 - "$f/g$gi-"
    off=$((off + n * sz))
  done
  [ "$bytes" -gt "$off" ] && [ "$last" -gt 0 ] && tail -c +$((off + 1)) "$out" | split -b "$last" -a 6 - "$f/g9999-"
  if [ -n "$(ls -A "$f")" ]; then
    (cd "$f" && stat -c %s g*) > "$f.got"
    (cd "$f" && sha256sum g* | cut -d' ' -f1) > "$f.sha"
  else
    : > "$f.got"; : > "$f.sha"
  fi
  [ -n "$refs" ] || refs=/dev/null
  paste -d: "$f.exp" "$f.got" "$f.sha" "$refs" > "$f.rows"
  i=0; first=-1
  while IFS=: read -r exp got h ref; do
    [ -n "$got" ] && echo "WB-FRAME $case $i $got $h"
    if [ -z "$got" ] || [ "$got" != "$exp" ] || { [ "$mode" = pixels ] && [ "$h" != "$ref" ]; }; then
      [ "$first" -lt 0 ] && first=$i
    fi
    i=$((i + 1))
  done < "$f.rows"
  rm -rf "$f" "$f.exp" "$f.got" "$f.sha" "$f.rows"
  rm -f "$out"
  if [ "$rc" = 0 ] && [ "$first" -lt 0 ]; then
    lava-test-case "$case" --result pass
  else
    [ "$first" -lt 0 ] && first=$i
    lava-test-case "$case" --result fail --measurement "$first" --units frame
  fi
done
lava-test-set stop "$set_name"
exit 0
