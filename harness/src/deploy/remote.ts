import { randomBytes } from 'node:crypto';
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

const JOURNAL_PREFIX = `j=$1; shift
if [ -n "$j" ]; then mkdir -p "\${j%/*}"; cat > "$j.tmp" && mv -f "$j.tmp" "$j"; fi
`;

/**
 * Runs a phase script. `journal`: JSON text to write to the board's journal
 * first (or undefined to leave it). Output is `key<TAB>field...` lines; see
 * {@link parseLines}.
 */
export async function runPhase(
  target: Target,
  script: string,
  args: string[],
  opts: { journal?: string; timeoutMs?: number; allowFailure?: boolean; name?: string } = {},
): Promise<ExecResult> {
  const execOpts: ExecOptions = { timeoutMs: opts.timeoutMs ?? 120_000, allowFailure: opts.allowFailure ?? false };
  execOpts.input = opts.journal ?? '';
  return target.exec(['sh', '-c', JOURNAL_PREFIX + script, opts.name ?? 'wb', opts.journal !== undefined ? REMOTE_JOURNAL : '', ...args], execOpts);
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
