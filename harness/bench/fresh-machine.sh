#!/usr/bin/env bash
# fresh-machine.sh: rehearse README's two commands the way a newcomer runs them
# on a fresh Debian machine: a new clone, empty XDG cache/state/config/data
# folders, and (with --remove-tools) the workbench's host-tool packages purged
# first, so that the commands must install what they need themselves.
#
# The two commands are read from README.md (the indented line after "Run the
# main job:" and after "Run the tests:"), so this script checks what the README
# says, not a copy of it. It prints one line per step with its exit code and
# wall time, and exits non-zero when any step failed.
#
# usage: harness/bench/fresh-machine.sh [--remove-tools] [--repo PATH] [--workdir DIR] [--only-main]
#   --remove-tools  purge the removable host-tool packages first (as root; this
#                   affects the whole machine: do not use while others run
#                   tests on it)
#   --repo PATH     the repository to clone (default: this checkout)
#   --workdir DIR   where the clone and the XDG folders go (default: mktemp -d)
#   --only-main     run the main job only
set -euo pipefail

me=$(basename "$0")
here=$(cd "$(dirname "$0")/../.." && pwd)
repo=$here
workdir=
remove=0
only_main=0
while [ $# -gt 0 ]; do
  case $1 in
    --remove-tools) remove=1 ;;
    --repo) repo=$2; shift ;;
    --workdir) workdir=$2; shift ;;
    --only-main) only_main=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "$me: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

readme=$repo/README.md
[ -f "$readme" ] || { echo "$me: no README.md in $repo" >&2; exit 2; }
# The first indented (4 spaces) line after the given heading line.
command_after() {
  awk -v head="$1" '
    $0 == head { found = 1; next }
    found && /^    [^ ]/ { sub(/^    /, ""); print; exit }
  ' "$readme"
}
main_cmd=$(command_after 'Run the main job:')
test_cmd=$(command_after 'Run the tests:')
[ -n "$main_cmd" ] || { echo "$me: README.md has no command after 'Run the main job:'" >&2; exit 2; }
[ -n "$test_cmd" ] || { echo "$me: README.md has no command after 'Run the tests:'" >&2; exit 2; }

# Host-tool packages that can be purged without breaking the machine's own
# tools (git, python3, openssh-client, coreutils-level packages stay).
removable="qemu-system-x86 mmdebstrap busybox-static cpio vpx-tools ffmpeg libxml2-utils chromium shellcheck nfs-ganesha-vfs kmod"
if [ "$remove" = 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "$me: --remove-tools needs root" >&2; exit 2; }
  installed=
  for p in $removable; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      installed="$installed $p"
    fi
  done
  if [ -n "$installed" ]; then
    echo "== purging host-tool packages:$installed"
    # shellcheck disable=SC2086 # word splitting of the package list is wanted
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $installed >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get autoremove -y -q >/dev/null
  fi
fi

[ -n "$workdir" ] || workdir=$(mktemp -d /tmp/wb-fresh.XXXXXX)
mkdir -p "$workdir"
export XDG_CACHE_HOME=$workdir/xdg/cache XDG_STATE_HOME=$workdir/xdg/state
export XDG_CONFIG_HOME=$workdir/xdg/config XDG_DATA_HOME=$workdir/xdg/data
unset WORKBENCH_CACHE_DIR WORKBENCH_BOARD
mkdir -p "$XDG_CACHE_HOME" "$XDG_STATE_HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"

clone=$workdir/clone
rm -rf "$clone"
git clone -q "$repo" "$clone"
echo "== fresh clone of $(git -C "$clone" rev-parse --short HEAD) in $clone, XDG dirs under $workdir/xdg"

results=()
status=0
run_step() {
  local name=$1 cmd=$2 log=$workdir/$1.log start end rc
  echo "== $name: $cmd (log: $log)"
  start=$(date +%s)
  set +e
  (cd "$clone" && bash -c "$cmd") >"$log" 2>&1
  rc=$?
  set -e
  end=$(date +%s)
  tail -n 5 "$log" | sed 's/^/   | /'
  results+=("$(printf '%-6s exit %-3s %4dm %02ds  %s' "$name" "$rc" $(((end - start) / 60)) $(((end - start) % 60)) "$cmd")")
  [ "$rc" = 0 ] || status=1
}

run_step main "$main_cmd"
if [ "$only_main" = 0 ]; then run_step tests "$test_cmd"; fi

echo
echo "== fresh-machine rehearsal ($(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
[ "$remove" = 1 ] && echo "   host-tool packages purged before the run: $removable"
for r in "${results[@]}"; do echo "   $r"; done
exit "$status"
