import { randomBytes } from 'node:crypto';
import { WorkbenchError, isWorkbenchError } from '../core/errors.ts';
import { loadScript, scriptArgv, type RemoteScript as ShellScript } from '../target/scripts.ts';
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

/** Exit status of a phase script whose journal could not be written (nothing else ran), as journal.sh exits. */
const JOURNAL_FAILED_EXIT = 90;
/** The line journal.sh prints on stderr then. */
const JOURNAL_FAILED = 'wb-journal-failed';

// The journal must be on the board before the step it describes runs: if it
// cannot be written (disk full), the step does not run at all (journal.sh).
const JOURNAL = loadScript(import.meta.url, 'journal.sh');

/** `... exited with 90:` followed by stderr whose last line is the marker (the command line before it may quote the script). */
const JOURNAL_FAILED_RE = new RegExp(`exited with ${JOURNAL_FAILED_EXIT}:((?:[\\s\\S]*\\n)?)\\s*${JOURNAL_FAILED}\\s*$`);

function journalFailed(target: Target, stderr: string, cause?: unknown): WorkbenchError {
  const why = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && l !== JOURNAL_FAILED)
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
 * Runs a phase script (`sh -c "journal.sh + SCRIPT" NAME JOURNAL ARGS...`,
 * NAME the script's file name: its `$0`). `journal`: JSON text to write to the board's journal
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
  script: ShellScript,
  args: string[],
  opts: { journal?: string; timeoutMs?: number; allowFailure?: boolean } = {},
): Promise<ExecResult> {
  const execOpts: ExecOptions = { timeoutMs: opts.timeoutMs ?? 120_000, allowFailure: opts.allowFailure ?? false };
  execOpts.input = opts.journal ?? '';
  let r: ExecResult;
  try {
    r = await target.exec(['sh', '-c', JOURNAL.text + script.text, script.name, opts.journal !== undefined ? REMOTE_JOURNAL : '', ...args], execOpts);
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

/**
 * Writes `journal` (JSON text) to the board's journal and nothing else
 * (journal.sh alone).
 * @throws WorkbenchError E_JOURNAL_WRITE, and the errors of {@link Target.exec}.
 */
export async function writeRemoteJournal(target: Target, journal: string, timeoutMs = 30_000): Promise<void> {
  const r = await target.exec(scriptArgv(JOURNAL, [REMOTE_JOURNAL]), { input: journal, timeoutMs, allowFailure: true });
  if (r.exitCode === JOURNAL_FAILED_EXIT && new RegExp(`^${JOURNAL_FAILED}$`, 'm').test(r.stderr)) throw journalFailed(target, r.stderr);
  if (r.exitCode !== 0)
    throw new WorkbenchError('E_REMOTE_FAILED', `${target.name}: writing the deploy journal ${REMOTE_JOURNAL} exited with ${r.exitCode}: ${r.stderr.trim()}`);
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
