import { WorkbenchError, isWorkbenchError } from '../core/errors.ts';
import type { Board } from '../target/boards.ts';
import { withBoardLock, type BoardLock, type HeldLock } from '../target/boardLock.ts';
import { validateName } from '../target/quote.ts';
import type { Target } from '../target/types.ts';
import { finishRecord, listBackups, listBackupsAndJournal, restoreFiles } from './backup.ts';
import { clearLocalJournal, clearRemoteJournal, loadLocalJournal, loadRemoteJournal, newJournal, saveLocalJournal, type Journal } from './journal.ts';
import { reloadModules } from './reload.ts';
import type { DeployRecord } from './types.ts';

/**
 * Rollback: put a deploy's backed-up module files back, reload the previous
 * modules, and mark the deploy rolled back. Also the repair of an
 * interrupted deploy (connection lost, Ctrl-C, workbench killed) found
 * through the board's journal.
 */

type Log = (msg: string) => void;

/** Modules to load after restoring: the previously loaded ones, then the holders that were unloaded around them. */
export function reloadListFor(rec: Pick<DeployRecord, 'replaced'>): string[] {
  const out: string[] = [];
  for (const e of rec.replaced) if (e.wasLoaded && !out.includes(e.module)) out.push(e.module);
  for (const e of rec.replaced) for (const h of e.holders) if (!out.includes(h)) out.push(h);
  return out;
}

/**
 * Restores one deploy's files and modules (idempotent: safe to run again
 * after an interruption) and writes its record with `state`.
 * @throws WorkbenchError E_BACKUP_CORRUPT, E_ROLLBACK_FAILED (the journal stays on the board).
 */
export async function restoreDeploy(
  target: Target,
  rec: DeployRecord,
  state: DeployRecord['state'],
  log: Log,
  timeoutMs = 120_000,
  opts: { releaseLock?: HeldLock } = {},
): Promise<DeployRecord> {
  const j = newJournal({
    kind: 'rollback',
    id: rec.id,
    board: rec.board,
    phase: 'rollback',
    release: rec.kernelRelease,
    moduleDir: rec.replaced[0]?.dest.replace(/\/[^/]*$/, '') ?? '',
    backupDir: rec.backupDir,
    entries: rec.replaced,
    reloadAfterRestore: reloadListFor(rec),
  });
  await saveLocalJournal(j).catch(() => undefined);
  log(`restoring backup ${rec.id} (${rec.replaced.map((e) => `${e.module}: ${e.existed ? 'previous file' : 'remove added file'}`).join(', ')})`);
  await restoreFiles(target, rec, { journal: JSON.stringify(j), timeoutMs });
  try {
    const r = await reloadModules(
      target,
      rec.replaced.map((e) => e.module),
      j.reloadAfterRestore.map((name) => ({ name })),
      { timeoutMs },
    );
    log(`reloaded previous modules: ${r.loaded.concat(r.reloaded).join(', ') || '(none were loaded before)'}`);
  } catch (e) {
    throw new WorkbenchError('E_ROLLBACK_FAILED', `${target.name}: files of ${rec.id} restored, but the previous modules could not be reloaded: ${(e as Error).message}`, {
      hint: 'the module may be stuck in the kernel (see the kernel log); power-cycle the board, the restored files load at boot',
      cause: e,
    });
  }
  const done: DeployRecord = { ...rec, state };
  await finishRecord(target, done, opts);
  await clearLocalJournal(rec.board);
  return done;
}

/** A journal turned into the record it describes. */
function recordFromJournal(j: Journal): DeployRecord {
  return {
    id: j.id,
    board: j.board,
    kernelRelease: j.release,
    backupDir: j.backupDir,
    replaced: j.entries,
    loaded: [],
    kernelLogFindings: [],
    bindings: [],
    durationMs: 0,
    state: 'failed',
    createdAt: j.startedAt,
  };
}

/** What {@link repairInterrupted} did. */
export interface RepairResult {
  action: 'none' | 'discarded' | 'rolled-back' | 'finished';
  id?: string;
  phase?: string;
}

/**
 * Finds a deploy or rollback that was interrupted on `board` (the board's
 * journal) and brings the board to a known state:
 * - interrupted before anything was replaced (preflight, backup, upload):
 *   the partial backup and uploads are removed;
 * - interrupted while installing, reloading or verifying, or during a
 *   rollback: the backup is restored and the previous modules reloaded;
 * - interrupted after it finished (journal not yet removed): finished.
 * Call it holding the board lock (target/boardLock.ts): then any journal
 * on the board belongs to a deploy that is no longer running.
 * @throws WorkbenchError E_JOURNAL_CORRUPT and the errors of {@link restoreDeploy}.
 */
export async function repairInterrupted(target: Target, board: string, log: Log, timeoutMs = 120_000): Promise<RepairResult> {
  const { journal, corrupt } = await loadRemoteJournal(target);
  if (corrupt) {
    throw new WorkbenchError('E_JOURNAL_CORRUPT', `${target.name}: the deploy journal on the board is unreadable: ${corrupt}`, {
      hint: 'inspect /var/lib/workbench/journal.json on the board and the backups (`workbench backups list`), then remove the journal by hand',
    });
  }
  if (!journal) {
    if (await loadLocalJournal(board)) {
      log('the board has no pending journal: the previous deploy completed on the board');
      await clearLocalJournal(board);
    }
    return { action: 'none' };
  }
  log(`found an interrupted ${journal.kind} ${journal.id} on ${board} (phase ${journal.phase}); repairing`);
  const rec = recordFromJournal(journal);
  if (journal.kind === 'deploy' && ['preflight', 'backup', 'upload'].includes(journal.phase)) {
    await target.exec(
      ['sh', '-c', 'rm -rf "$1"; for d in "$2"; do rm -f "$d"/.wb-"$3"-*; done; rm -f "$4"; sync', 'wb', journal.backupDir, journal.moduleDir, journal.id, '/var/lib/workbench/journal.json'],
      { timeoutMs },
    );
    await clearLocalJournal(board);
    log(`nothing had been replaced: discarded the partial backup ${journal.id}`);
    return { action: 'discarded', id: journal.id, phase: journal.phase };
  }
  if (journal.kind === 'deploy' && journal.phase === 'done') {
    await clearRemoteJournal(target);
    await clearLocalJournal(board);
    return { action: 'finished', id: journal.id, phase: journal.phase };
  }
  const state = journal.kind === 'rollback' ? 'rolled-back' : 'failed';
  // For a rollback, keep the record the board already has (findings, timing).
  let base = rec;
  if (journal.kind === 'rollback') {
    const listed = (await listBackups(target)).find((b) => b.id === journal.id);
    if (listed?.record) base = { ...listed.record, replaced: journal.entries };
  }
  await restoreDeploy(target, base, state, log, timeoutMs);
  log(`rolled back ${journal.id}: the previous modules are back`);
  return { action: 'rolled-back', id: journal.id, phase: journal.phase };
}

/**
 * Rolls back the newest active deploy on `board`, or with `id` every active
 * deploy from the newest down to and including `id` (newest first), so the
 * board ends as it was before deploy `id`. Repairs an interrupted deploy
 * first.
 * @throws WorkbenchError E_NOTHING_TO_ROLL_BACK, E_UNKNOWN_BACKUP (lists the
 *   ids), E_BACKUP_CORRUPT, E_ROLLBACK_FAILED.
 */
export async function rollback(target: Target, board: Board, id?: string, opts: { log?: Log; timeoutMs?: number; lock?: BoardLock } = {}): Promise<DeployRecord[]> {
  const log = opts.log ?? (() => undefined);
  if (id !== undefined) validateName(id, 'backup id');
  return withBoardLock(
    target,
    board.name,
    async (lock) => {
      let listed = await listBackupsAndJournal(target);
      let repaired: RepairResult = { action: 'none' };
      if (listed.journalPending) {
        repaired = await repairInterrupted(target, board.name, log, opts.timeoutMs);
        listed = await listBackupsAndJournal(target);
      } else await clearLocalJournal(board.name);
      const active = listed.backups.filter((b) => b.record?.state === 'active').map((b) => b.record!);
      if (active.length === 0) {
        if (repaired.action === 'rolled-back') return [];
        throw new WorkbenchError('E_NOTHING_TO_ROLL_BACK', `board ${board.name} has no active deploy to roll back`, {
          hint: `see \`workbench backups list --board ${board.name}\``,
        });
      }
      let todo: DeployRecord[];
      if (id === undefined) todo = [active[0]!];
      else {
        const i = active.findIndex((r) => r.id === id);
        if (i < 0) {
          throw new WorkbenchError('E_UNKNOWN_BACKUP', `board ${board.name} has no active deploy ${id} (active: ${active.map((r) => r.id).join(', ')})`, {
            hint: `see \`workbench backups list --board ${board.name}\``,
          });
        }
        todo = active.slice(0, i + 1);
      }
      const done: DeployRecord[] = [];
      for (const [i, rec] of todo.entries()) {
        done.push(await restoreDeploy(target, rec, 'rolled-back', log, opts.timeoutMs, i === todo.length - 1 ? { releaseLock: lock } : {}));
      }
      return done;
    },
    { log, what: 'rollback', ...(opts.lock ? { lock: opts.lock } : {}) },
  );
}

/** True for errors that mean the board could not be reached (the journal then stays for the next command). */
export function isConnectionError(e: unknown): boolean {
  return isWorkbenchError(e, 'E_CONNECTION_LOST') || isWorkbenchError(e, 'E_UNREACHABLE');
}
