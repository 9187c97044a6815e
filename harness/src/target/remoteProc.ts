import { quoteArgv } from './quote.ts';
import { loadScript, scriptArgv } from './scripts.ts';

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
 * killTree.sh ({@link KILL_TREE}), which stops and SIGKILLs the group, the session
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
 * Remote script `killTree.sh PID`: stops and SIGKILLs the process group, the
 * session and every descendant of PID (walking /proc); prints `killed PID...`
 * (see the file).
 */
export const KILL_TREE = loadScript(import.meta.url, 'killTree.sh');

/** argv that kills the tree of `pid` (see {@link KILL_TREE}). */
export function killTreeArgv(pid: number): string[] {
  return scriptArgv(KILL_TREE, [String(pid)]);
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
