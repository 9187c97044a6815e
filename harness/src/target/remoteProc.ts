import { quoteArgv } from './quote.ts';

/**
 * Remote process control that does not rely on SSH channel signals.
 *
 * OpenSSH ignores most `signal` channel requests (and closing a channel
 * without a pty sends no SIGHUP), so a timed-out or aborted remote command
 * would keep running. Every remote command therefore runs under a tiny POSIX
 * sh wrapper that first reports its PID on stderr (one marker line), then
 * `exec`s the real argv, keeping that PID. sshd makes the session's process
 * a session and process-group leader (OpenSSH session.c calls setsid() before
 * running the command), so that PID names the process group and the session
 * of everything the command starts. To kill it, a second channel runs
 * {@link KILL_TREE_SCRIPT}, which stops and SIGKILLs the group, the session
 * and every descendant (walking /proc, so it also catches children that
 * called setsid() themselves). Works with dash, bash and busybox sh.
 */

/** Prefix of the marker line the wrapper writes first on stderr. */
export const PID_MARKER = '\u001eWB-PID ';

/** Reports the shell's PID on stderr (the marker line). */
const PID_REPORT = `printf '\\036WB-PID %s\\n' "$$" >&2`;

/** The wrapper: report `$$`, then replace itself with the command. */
export const WRAP_SCRIPT = `${PID_REPORT}; exec "$@"`;

/**
 * The remote command line for `argv`: the wrapper, `exec`ed by the login
 * shell so that the wrapper (and then the command) keeps the session
 * leader's PID.
 */
export function wrappedCommandLine(argv: readonly string[]): string {
  // A shell script already runs in a shell of its own: put the PID report in
  // front of it instead of exec'ing a second shell (one process less per
  // command; each costs tens of ms on a slow board). Same PID, same argv.
  if (argv[0] === 'sh' && argv[1] === '-c' && argv.length >= 3) {
    return 'exec ' + quoteArgv(['sh', '-c', `${PID_REPORT}\n${argv[2]}`, ...argv.slice(3)]);
  }
  return 'exec ' + quoteArgv(['sh', '-c', WRAP_SCRIPT, 'wb', ...argv]);
}

/**
 * Kills a process tree: `$1` is the PID the wrapper reported. Stops the
 * process group first (no new forks), then collects every process whose
 * process group or session is `$1`, or that descends from `$1`, and sends
 * SIGKILL to all of them. Prints `killed PID...` (empty when nothing was
 * left). Reads /proc/PID/stat only (field 4 ppid, 5 pgrp, 6 session; the
 * comm field may hold spaces, so parsing starts after the last `)`).
 */
export const KILL_TREE_SCRIPT = `
r=$1
case "$r" in ''|*[!0-9]*) echo "bad pid" >&2; exit 2;; esac
kill -STOP -- "-$r" 2>/dev/null
snap() {
  for f in /proc/[0-9]*/stat; do
    { read -r l < "$f"; } 2>/dev/null || continue
    p=\${f#/proc/}; p=\${p%/stat}
    t=\${l##*) }
    set -- $t
    echo "$p $2 $3 $4"
  done
}
all=$(snap)
list=" $r "
changed=1
while [ $changed = 1 ]; do
  changed=0
  while read -r p pp pg sid; do
    case "$list" in *" $p "*) continue;; esac
    case "$list" in *" $pp "*) list="$list$p "; changed=1; continue;; esac
    if [ "$pg" = "$r" ] || [ "$sid" = "$r" ]; then list="$list$p "; changed=1; fi
  done <<EOF
$all
EOF
done
self=$$
out=""
for p in $list; do
  [ "$p" = "$self" ] && continue
  [ -d "/proc/$p" ] || continue
  kill -KILL "$p" 2>/dev/null && out="$out $p"
done
kill -KILL -- "-$r" 2>/dev/null
echo "killed$out"
`;

/** argv that kills the tree of `pid` (see {@link KILL_TREE_SCRIPT}). */
export function killTreeArgv(pid: number): string[] {
  return ['sh', '-c', KILL_TREE_SCRIPT, 'wb-kill', String(pid)];
}

/**
 * Splits the wrapper's marker line off the start of a stderr stream.
 * Feed chunks in order; returns the bytes that belong to the command's own
 * stderr, and sets {@link pid} once the marker line is complete.
 */
export class PidMarkerParser {
  pid: number | undefined;
  private pending: Buffer | undefined = Buffer.alloc(0);

  /** Returns the part of `chunk` that is the command's stderr. */
  push(chunk: Buffer): Buffer {
    if (!this.pending) return chunk;
    const buf = Buffer.concat([this.pending, chunk]);
    const marker = Buffer.from(PID_MARKER, 'utf8');
    const prefixLen = Math.min(buf.length, marker.length);
    if (!buf.subarray(0, prefixLen).equals(marker.subarray(0, prefixLen))) {
      // Not our marker (a command run without the wrapper): pass through.
      this.pending = undefined;
      return buf;
    }
    const nl = buf.indexOf(0x0a);
    if (nl < 0) {
      this.pending = buf;
      return Buffer.alloc(0);
    }
    const n = Number(buf.subarray(marker.length, nl).toString('ascii'));
    if (Number.isInteger(n) && n > 0) this.pid = n;
    this.pending = undefined;
    return buf.subarray(nl + 1);
  }

  /** Whatever was held back when the stream ended without a full marker. */
  flush(): Buffer {
    const b = this.pending ?? Buffer.alloc(0);
    this.pending = undefined;
    return b;
  }
}
