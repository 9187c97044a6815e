import { randomBytes } from 'node:crypto';
import { WorkbenchError, isWorkbenchError } from '../core/errors.ts';
import type { ExecOptions, ExecResult, Target } from '../target/types.ts';

/**
 * Where the workbench keeps its state on a board, and how phase scripts run.
 *
 * Every phase is one remote `sh -c SCRIPT` with positional arguments (never
 * interpolated) that first writes the deploy journal it got on stdin
 * (temp + rename), so a phase and its journal entry cost one round trip.
 * The scripts use POSIX sh and tools present on minimal boards (coreutils or
 * busybox, kmod).
 */

/** Root of the workbench's files on a board. */
export const REMOTE_ROOT = '/var/lib/workbench';
/** Backups: one directory per deploy id. */
export const REMOTE_BACKUPS = `${REMOTE_ROOT}/backups`;
/** Lock directory of the operation holding the board (target/boardLock.ts). */
export { REMOTE_LOCK } from '../target/boardLock.ts';
/** The journal of the deploy or rollback in progress (absent when none). */
export const REMOTE_JOURNAL = `${REMOTE_ROOT}/journal.json`;

/** A new deploy id: `YYYYMMDDTHHMMSSZ-xxxx` (sortable, a safe name). */
export function newDeployId(now = new Date()): string {
  const ts = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${ts}-${randomBytes(2).toString('hex')}`;
}

/** Exit status of a phase script whose journal could not be written (nothing else ran). */
export const JOURNAL_FAILED_EXIT = 90;
const JOURNAL_FAILED = 'wb-journal-failed';

// The journal must be on the board before the step it describes runs: if it
// cannot be written (disk full), the step does not run at all.
const JOURNAL_PREFIX = `j=$1; shift
if [ -n "$j" ]; then
  { mkdir -p "\${j%/*}" && cat > "$j.tmp" && mv -f "$j.tmp" "$j"; } || { rm -f "$j.tmp"; echo "${JOURNAL_FAILED}" >&2; exit ${JOURNAL_FAILED_EXIT}; }
fi
`;

/** `... exited with 90:` followed by stderr whose last line is the marker (the command line before it may quote the script). */
const JOURNAL_FAILED_RE = new RegExp(`exited with ${JOURNAL_FAILED_EXIT}:((?:[\\s\\S]*\\n)?)\\s*${JOURNAL_FAILED}\\s*$`);

function journalFailed(target: Target, stderr: string, cause?: unknown): WorkbenchError {
  const why = stderr
    .split('\n')
    .filter((l) => l.trim() && l.trim() !== JOURNAL_FAILED)
    .join('; ');
  const full = /No space left|Disk quota/i.test(stderr);
  return new WorkbenchError(
    'E_JOURNAL_WRITE',
    `${target.name}: could not write the deploy journal ${REMOTE_JOURNAL}${why ? ` (${why})` : ''}; the step it describes was not started`,
    {
      hint: full
        ? `the board's disk is full: free space on it (\`df -h ${REMOTE_ROOT}\`), then run the command again; the next workbench command on the board finishes or undoes what was started`
        : `check ${REMOTE_ROOT} on the board (permissions, read-only filesystem), then run the command again`,
      ...(cause !== undefined ? { cause } : {}),
    },
  );
}

/**
 * Runs a phase script. `journal`: JSON text to write to the board's journal
 * first (or undefined to leave it); when it cannot be written (disk full,
 * read-only) the script does not run. Output is `key<TAB>field...` lines;
 * see {@link parseLines}.
 * @throws WorkbenchError E_JOURNAL_WRITE (the journal could not be written:
 *   nothing of the step ran; the previous journal, if any, is unchanged),
 *   and the errors of {@link Target.exec} (E_REMOTE_FAILED on a non-zero
 *   exit without `allowFailure`, E_CONNECTION_LOST, E_REMOTE_TIMEOUT).
 */
export async function runPhase(
  target: Target,
  script: string,
  args: string[],
  opts: { journal?: string; timeoutMs?: number; allowFailure?: boolean; name?: string } = {},
): Promise<ExecResult> {
  const execOpts: ExecOptions = { timeoutMs: opts.timeoutMs ?? 120_000, allowFailure: opts.allowFailure ?? false };
  execOpts.input = opts.journal ?? '';
  let r: ExecResult;
  try {
    r = await target.exec(['sh', '-c', JOURNAL_PREFIX + script, opts.name ?? 'wb', opts.journal !== undefined ? REMOTE_JOURNAL : '', ...args], execOpts);
  } catch (e) {
    // Without allowFailure the exit status and stderr's tail come in the error's message (after the command line).
    const m = isWorkbenchError(e, 'E_REMOTE_FAILED') ? JOURNAL_FAILED_RE.exec(e.message) : null;
    if (opts.journal !== undefined && m) throw journalFailed(target, m[1]!, e);
    throw e;
  }
  if (opts.journal !== undefined && r.exitCode === JOURNAL_FAILED_EXIT && new RegExp(`^${JOURNAL_FAILED}$`, 'm').test(r.stderr))
    throw journalFailed(target, r.stderr);
  return r;
}

/** Splits `key\tf1\tf2` lines into [key, fields] (other lines are ignored). */
export function parseLines(stdout: string): [string, string[]][] {
  const out: [string, string[]][] = [];
  for (const line of stdout.split('\n')) {
    if (!line.includes('\t')) continue;
    const [k, ...rest] = line.split('\t');
    out.push([k!, rest]);
  }
  return out;
}

/** Kernel module name as /sys/module spells it (`-` becomes `_`). */
export function sysName(module: string): string {
  return module.replace(/-/g, '_');
}
