import { WorkbenchError } from '../core/errors.ts';
import { loadScript, scriptArgv } from '../target/scripts.ts';
import type { Target } from '../target/types.ts';
import type { HeldLock } from '../target/boardLock.ts';
import { REMOTE_BACKUPS, REMOTE_JOURNAL, parseLines, runPhase } from './remote.ts';
import type { DeployRecord, ReplacedFile } from './types.ts';

/**
 * Backups on the board: `/var/lib/workbench/backups/<id>/` holds the module
 * files a deploy replaced, `SHA256SUMS` (sha256sum format, so `sha256sum -c`
 * checks it on the board) and `record.json` (the {@link DeployRecord}).
 * Also the install step (atomic rename into the module directory + depmod)
 * and the restore step, since both move files between the two places.
 */

/**
 * Time allowed for a step that runs `depmod -a`: it reads every module of
 * the kernel (thousands of .ko.xz), measured at 200 s on the TCG vboard
 * under load.
 */
export const DEPMOD_TIMEOUT_MS = 900_000;

/** How many backups to keep (active deploys are never pruned). */
export const KEEP_BACKUPS = 10;

const BACKUP = loadScript(import.meta.url, 'backup.sh');
const INSTALL = loadScript(import.meta.url, 'install.sh');
const RESTORE = loadScript(import.meta.url, 'restore.sh');
/** The journal is removed only once the record is on disk: a record that cannot be written (disk full) leaves the journal for the next command. */
const FINISH = loadScript(import.meta.url, 'finish.sh');
const LIST = loadScript(import.meta.url, 'listBackups.sh');

/**
 * Copies the files at `entries[].dest` that exist into `backupDir`, writes
 * SHA256SUMS, verifies each copy against the original, and writes `marker`
 * into the kernel log. Fills `previousSha256`.
 * @throws WorkbenchError E_BACKUP_FAILED (disk full, copy differs); nothing
 *   was replaced.
 */
export async function backupFiles(
  target: Target,
  backupDir: string,
  moduleDir: string,
  marker: string,
  entries: ReplacedFile[],
  opts: { journal?: string; timeoutMs?: number } = {},
): Promise<void> {
  const args = [backupDir, moduleDir, marker];
  for (const e of entries) args.push(e.dest, e.backupFile ?? `${e.module}.ko`);
  const r = await runPhase(target, BACKUP, args, { ...opts, allowFailure: true });
  if (r.exitCode !== 0) {
    const full = /No space left|Disk quota/i.test(r.stderr);
    throw new WorkbenchError(
      'E_BACKUP_FAILED',
      `${target.name}: backing up to ${backupDir} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}; nothing was replaced`,
      {
        hint: full ? 'the board disk is full: free space, then deploy again' : 'check the board (permissions, filesystem), then deploy again',
      },
    );
  }
  const got = new Map<string, [string, string]>();
  for (const [k, f] of parseLines(r.stdout)) if (k === 'orig') got.set(f[0]!, [f[1]!, f[2]!]);
  for (const e of entries) {
    if (!e.existed) continue;
    const h = got.get(e.backupFile!);
    if (!h || h[0] !== h[1]) {
      throw new WorkbenchError(
        'E_BACKUP_FAILED',
        `${target.name}: backup copy of ${e.dest} ${h ? 'differs from the original' : 'is missing'}; nothing was replaced`,
      );
    }
    e.previousSha256 = h[0];
  }
}

/**
 * Renames the verified uploads into place (same filesystem: atomic) and,
 * when `depmod`, rebuilds the module index (`depmod -a`: minutes on a slow
 * board, so it is skipped when the index stays valid; see preflight).
 */
export async function installFiles(
  target: Target,
  release: string,
  moves: { tmp: string; dest: string }[],
  depmod: boolean,
  opts: { journal?: string; timeoutMs?: number } = {},
): Promise<void> {
  await runPhase(target, INSTALL, [release, depmod ? 'yes' : 'no', ...moves.flatMap((m) => [m.tmp, m.dest])], {
    ...opts,
    timeoutMs: depmod ? Math.max(opts.timeoutMs ?? 0, DEPMOD_TIMEOUT_MS) : opts.timeoutMs,
  });
}

/**
 * Puts the backed-up files back (or removes files the deploy added), after
 * checking the backup against its SHA256SUMS, removes leftover uploads of
 * deploy `id`, and runs depmod.
 * @throws WorkbenchError E_BACKUP_CORRUPT (nothing touched), E_ROLLBACK_FAILED.
 */
export async function restoreFiles(
  target: Target,
  rec: { id: string; backupDir: string; kernelRelease: string; replaced: ReplacedFile[] },
  opts: { journal?: string; timeoutMs?: number } = {},
): Promise<void> {
  // The index must be rebuilt unless every file went back to a file with the same index facts.
  const depmod = rec.replaced.some((e) => e.indexUnchanged !== true);
  const args = [rec.backupDir, rec.kernelRelease, rec.id, depmod ? 'yes' : 'no'];
  for (const e of rec.replaced) {
    args.push(e.existed ? 'restore' : 'remove', e.dest, e.existed ? `${rec.backupDir}/${e.backupFile}` : '-');
  }
  const r = await runPhase(target, RESTORE, args, {
    ...opts,
    allowFailure: true,
    timeoutMs: depmod ? Math.max(opts.timeoutMs ?? 0, DEPMOD_TIMEOUT_MS) : opts.timeoutMs,
  });
  const lines = parseLines(r.stdout);
  if (lines.some(([k]) => k === 'backup-corrupt')) {
    throw new WorkbenchError('E_BACKUP_CORRUPT', `${target.name}: backup ${rec.backupDir} does not match its SHA256SUMS; nothing was restored`, {
      hint: `inspect it on the board (cd ${rec.backupDir} && sha256sum -c SHA256SUMS)`,
    });
  }
  if (r.exitCode !== 0) {
    throw new WorkbenchError('E_ROLLBACK_FAILED', `${target.name}: restoring ${rec.backupDir} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`, {
      hint: 'the journal stays on the board; fix the cause (disk full?) and run `workbench rollback` again',
    });
  }
  const restored = new Map(lines.filter(([k]) => k === 'restored').map(([, f]) => [f[0]!, f[1]!]));
  for (const e of rec.replaced) {
    if (e.existed && e.previousSha256 && restored.get(e.dest) !== e.previousSha256) {
      throw new WorkbenchError(
        'E_ROLLBACK_FAILED',
        `${target.name}: ${e.dest} after restore has SHA-256 ${restored.get(e.dest)}, expected ${e.previousSha256}`,
      );
    }
  }
}

/**
 * Writes `record.json` (temp + rename), then removes the board's journal,
 * prunes old backups (keeps {@link KEEP_BACKUPS}, never active ones) and,
 * with `releaseLock` (the last remote step of a deploy/rollback), removes
 * the board lock in the same round trip. When the record cannot be written
 * nothing else is done: the journal stays on the board, so the next
 * command repairs (finishes or undoes) the operation.
 * @returns the backup directories pruned.
 * @throws WorkbenchError E_RECORD_FAILED (the record could not be written,
 *   e.g. the board's disk is full; the journal and the lock stay), and the
 *   connection errors of {@link Target.exec}.
 */
export async function finishRecord(target: Target, rec: DeployRecord, opts: { releaseLock?: HeldLock } = {}): Promise<string[]> {
  const lockPath = opts.releaseLock?.remotePath ?? '';
  const r = await target.exec(scriptArgv(FINISH, [rec.backupDir, JSON.stringify(rec), REMOTE_JOURNAL, String(KEEP_BACKUPS), lockPath]), {
    timeoutMs: 60_000,
    allowFailure: true,
  });
  if (r.exitCode !== 0) {
    const why = r.stderr.trim() || `exit ${r.exitCode}`;
    const full = /No space left|Disk quota/i.test(why);
    throw new WorkbenchError('E_RECORD_FAILED', `${target.name}: could not write ${rec.backupDir}/record.json (state ${rec.state}): ${why}`, {
      hint: `${full ? "the board's disk is full: free space on it" : `check ${rec.backupDir} on the board`}; the board keeps the journal, so the next workbench command on board ${rec.board} (e.g. \`workbench backups list --board ${rec.board}\`) finishes this`,
    });
  }
  if (lockPath) opts.releaseLock!.releasedRemotely();
  return parseLines(r.stdout)
    .filter(([k]) => k === 'pruned')
    .map(([, f]) => f[0]!);
}

/** A backup directory as listed on the board. */
export interface BackupListing {
  id: string;
  dir: string;
  /** The record, when the deploy got far enough to write one. */
  record?: DeployRecord;
}

/** Lists the board's backups, newest first. */
export async function listBackups(target: Target): Promise<BackupListing[]> {
  return (await listBackupsAndJournal(target)).backups;
}

/** {@link listBackups} plus whether a deploy journal is pending, in one round trip. */
export async function listBackupsAndJournal(target: Target): Promise<{ backups: BackupListing[]; journalPending: boolean }> {
  const r = await target.exec(scriptArgv(LIST, [REMOTE_BACKUPS, REMOTE_JOURNAL]), { timeoutMs: 30_000 });
  const out: BackupListing[] = [];
  let journalPending = false;
  for (const [k, f] of parseLines(r.stdout)) {
    if (k === 'journal') {
      journalPending = true;
      continue;
    }
    const id = f[0]!;
    const dir = `${REMOTE_BACKUPS}/${id}`;
    if (k === 'record') {
      try {
        out.push({ id, dir, record: JSON.parse(f.slice(1).join('\t')) as DeployRecord });
      } catch {
        out.push({ id, dir });
      }
    } else if (k === 'partial') out.push({ id, dir });
  }
  return { backups: out.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)), journalPending };
}
