import { WorkbenchError, asWorkbenchError, isWorkbenchError } from '../core/errors.ts';
import type { Board } from '../target/boards.ts';
import { withBoardLock, type BoardLock, type HeldLock } from '../target/boardLock.ts';
import { validateName } from '../target/quote.ts';
import type { Target } from '../target/types.ts';
import { finishRecord, listBackups, listBackupsAndJournal, restoreFiles } from './backup.ts';
import { clearLocalJournal, clearRemoteJournal, loadLocalJournal, loadRemoteJournal, newJournal, recordOf, saveLocalJournal, type Journal } from './journal.ts';
import { SwapStuckError, UnloadError, describeBlockers, swapModules } from './modgraph.ts';
import type { PowerCycle } from './power.ts';
import { writeRemoteJournal } from './remote.ts';
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
 * Where a repair runs: the board's target, and how to power-cycle the
 * board when a module is stuck. After a power cycle `target` is the new
 * connection (a vboard comes back on another port): callers go on with it.
 */
export interface RepairContext {
  target: Target;
  /** Power-cycles the board and returns a connection to it once it answers (see deploy/power.ts). */
  powerCycle?: PowerCycle;
  log: Log;
  timeoutMs?: number;
  /** The board lock held for the repair (follows the board to its new connection after a power cycle). */
  lock?: HeldLock;
}

/** Turns a {@link Target} into a {@link RepairContext} (no power control). */
function ctxOf(t: Target | RepairContext, log: Log, timeoutMs?: number): RepairContext {
  return 'exec' in t ? { target: t, log, ...(timeoutMs !== undefined ? { timeoutMs } : {}) } : t;
}

/**
 * Restores one deploy's files and modules and writes its record with
 * `state`. Idempotent, and reaches the backed-up state from any starting
 * state: the files go back (added files removed), then the module graph
 * (deploy/modgraph.ts) unloads whatever runs other code than the restored
 * files, holders first (also modules the backup never knew about: a later
 * deploy's, loaded by hand or by udev), and loads what was loaded before
 * in dependency order, then the holders it had to unload.
 *
 * When a module cannot be unloaded (a process holds its device, a task is
 * stuck in the kernel) and the board has power control, the board is
 * power-cycled ONCE (recorded in the board's journal, said in the log) and
 * the repair finishes after the boot. Without power control, or when the
 * module still cannot be unloaded after the power cycle, the failure is
 * recorded in the journal (so read-only commands stop retrying it) and
 * E_ROLLBACK_FAILED says what holds the module and what to do.
 *
 * The record is written last, and the board's journal removed only once it
 * is on disk: when it cannot be written (disk full) the restore fails with
 * E_RECORD_FAILED and the next command finishes it from the journal.
 *
 * @throws WorkbenchError E_BACKUP_CORRUPT, E_ROLLBACK_FAILED, E_RECORD_FAILED
 *   (the journal stays on the board), E_JOURNAL_WRITE (the journal could not
 *   be written: nothing was restored).
 */
export async function restoreDeploy(
  where: Target | RepairContext,
  rec: DeployRecord,
  state: DeployRecord['state'],
  log: Log,
  timeoutMs = 120_000,
  opts: { releaseLock?: HeldLock; previous?: Journal['repair'] } = {},
): Promise<DeployRecord> {
  const ctx = ctxOf(where, log, timeoutMs);
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
    ...(opts.previous ? { repair: opts.previous } : {}),
  });
  await saveLocalJournal(j).catch(() => undefined);
  log(`restoring backup ${rec.id} (${rec.replaced.map((e) => `${e.module}: ${e.existed ? 'previous file' : 'remove added file'}`).join(', ')})`);
  await restoreFiles(ctx.target, rec, { journal: JSON.stringify(j), timeoutMs });
  const goal = {
    replace: rec.replaced.map((e) => e.module),
    load: j.reloadAfterRestore.map((name) => ({ name })),
  };
  const swap = async () => {
    const r = await swapModules(ctx.target, goal, { timeoutMs, log });
    const back = [...r.loaded, ...r.reloaded];
    log(
      `modules: ${r.unloaded.length ? `unloaded ${r.unloaded.join(', ')}; ` : ''}${back.length ? `loaded ${back.join(', ')}` : 'nothing to load'}` +
        `${r.plan.current.length ? `; already running the restored code: ${r.plan.current.join(', ')}` : ''}`,
    );
    if (r.reloadFailed.length) log(`warning: ${r.reloadFailed.join(', ')} (unloaded around the restored modules) did not load again; load by hand if needed`);
  };
  try {
    await swap();
  } catch (e) {
    if (!(e instanceof UnloadError || e instanceof SwapStuckError)) throw rollbackFailed(ctx.target, rec, e, j.repair);
    const started = Date.now();
    const powerCycledAt = j.repair?.powerCycledAt;
    if (!ctx.powerCycle || powerCycledAt) {
      j.repair = {
        attempts: (j.repair?.attempts ?? 0) + 1,
        firstFailedAt: j.repair?.firstFailedAt ?? new Date().toISOString(),
        lastError: e.message,
        ...(powerCycledAt ? { powerCycledAt } : {}),
      };
      await writeJournal(ctx.target, j).catch(() => undefined);
      await loadWhatCan(ctx.target, goal.load, log, timeoutMs);
      throw rollbackFailed(ctx.target, rec, e, j.repair, !ctx.powerCycle);
    }
    // The one power cycle of this repair: recorded first, so that a repair interrupted now never cycles again.
    j.repair = {
      attempts: (j.repair?.attempts ?? 0) + 1,
      firstFailedAt: j.repair?.firstFailedAt ?? new Date().toISOString(),
      lastError: e.message,
      powerCycledAt: new Date().toISOString(),
    };
    await writeJournal(ctx.target, j).catch(() => undefined);
    log(
      `${e instanceof UnloadError ? `module ${e.module} cannot be unloaded (${describeBlockers(e.module, e.snapshot)})` : e.message}: power-cycling board ${rec.board} once to finish the repair`,
    );
    ctx.target = await ctx.powerCycle(log);
    ctx.lock?.retarget(ctx.target);
    log(`board ${rec.board} is back after the power cycle (${((Date.now() - started) / 1000).toFixed(1)} s); finishing the repair`);
    try {
      await restoreFiles(ctx.target, rec, { journal: JSON.stringify(j), timeoutMs });
      await swap();
    } catch (e2) {
      j.repair = { ...j.repair, attempts: j.repair.attempts + 1, lastError: (e2 as Error).message };
      await writeJournal(ctx.target, j).catch(() => undefined);
      await loadWhatCan(ctx.target, goal.load, log, timeoutMs);
      throw rollbackFailed(ctx.target, rec, e2, j.repair);
    }
    log(`repair of ${rec.id} finished after one power cycle, ${((Date.now() - started) / 1000).toFixed(1)} s after the failed unload`);
  }
  const done: DeployRecord = { ...rec, state };
  try {
    await finishRecord(ctx.target, done, opts.releaseLock ? { releaseLock: opts.releaseLock } : {});
  } catch (e) {
    if (!isWorkbenchError(e, 'E_RECORD_FAILED')) throw e;
    // Never a silent success with a stale record: the journal stays, and the next command writes the record.
    throw new WorkbenchError(
      'E_RECORD_FAILED',
      `${ctx.target.name}: the files and modules of ${rec.id} are restored, but its record could not be marked ${state}: ${e.message}`,
      { hint: e.hint, cause: e },
    );
  }
  await clearLocalJournal(rec.board);
  return done;
}

/**
 * After a failed unload some holders may be unloaded already: load every
 * module that should run and is not loaded (no unloads), so the board keeps
 * working modules while it waits for the repair. Best effort.
 */
async function loadWhatCan(target: Target, load: { name: string }[], log: Log, timeoutMs: number): Promise<void> {
  try {
    const r = await swapModules(target, { replace: [], load }, { timeoutMs });
    if (r.loaded.length) log(`meanwhile loaded the modules that were not loaded: ${r.loaded.join(', ')}`);
  } catch (e) {
    log(`could not load the modules back meanwhile: ${(e as Error).message}`);
  }
}

/** Writes the board's journal (and its local mirror). */
async function writeJournal(target: Target, j: Journal): Promise<void> {
  await saveLocalJournal(j).catch(() => undefined);
  await writeRemoteJournal(target, JSON.stringify(j));
}

function rollbackFailed(target: Target, rec: DeployRecord, e: unknown, repair: Journal['repair'], noPower = false): WorkbenchError {
  const err = e as WorkbenchError;
  const how = noPower
    ? ` (board ${rec.board} has no power control: set power_cycle in boards.toml to let the workbench do this itself)`
    : repair?.powerCycledAt
      ? ` (the board was power-cycled at ${repair.powerCycledAt} and the module still cannot be replaced: read the kernel log, \`workbench boards console ${rec.board}\`)`
      : '';
  return new WorkbenchError(
    'E_ROLLBACK_FAILED',
    `${target.name}: files of ${rec.id} restored, but the previous modules could not be reloaded: ${err?.message ?? String(e)}${repair ? ` (repair attempt ${repair.attempts}, first failure ${repair.firstFailedAt})` : ''}`,
    {
      hint: `${err?.hint ? `${err.hint}; then ` : ''}run \`workbench rollback --board ${rec.board}\` to finish this repair${how}. \`workbench backups list --board ${rec.board}\` works meanwhile.`,
      cause: e,
    },
  );
}

/** What {@link repairInterrupted} did (`pending`: not tried, an earlier repair failed: see `repair`). */
export interface RepairResult {
  action: 'none' | 'discarded' | 'rolled-back' | 'finished' | 'pending';
  repair?: Journal['repair'];
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
export async function repairInterrupted(
  where: Target | RepairContext,
  board: string,
  log: Log,
  timeoutMs = 120_000,
  opts: { unlessFailedBefore?: boolean } = {},
): Promise<RepairResult> {
  const ctx = ctxOf(where, log, timeoutMs);
  const target = ctx.target;
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
  if (journal.repair && opts.unlessFailedBefore) {
    return { action: 'pending', id: journal.id, phase: journal.phase, repair: journal.repair };
  }
  log(
    `found an interrupted ${journal.kind} ${journal.id} on ${board} (phase ${journal.phase}); repairing` +
      (journal.repair ? ` (attempt ${journal.repair.attempts + 1}; the last one failed: ${journal.repair.lastError})` : ''),
  );
  const rec = recordOf(journal);
  if (journal.kind === 'deploy' && ['preflight', 'backup', 'upload'].includes(journal.phase)) {
    await target.exec(
      [
        'sh',
        '-c',
        'rm -rf "$1"; for d in "$2"; do rm -f "$d"/.wb-"$3"-*; done; rm -f "$4"; sync',
        'wb',
        journal.backupDir,
        journal.moduleDir,
        journal.id,
        '/var/lib/workbench/journal.json',
      ],
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
  await restoreDeploy(ctx, base, state, log, timeoutMs, journal.repair ? { previous: journal.repair } : {});
  log(`rolled back ${journal.id}: the previous modules are back`);
  return { action: 'rolled-back', id: journal.id, phase: journal.phase };
}

/**
 * Rolls back the newest active deploy on `board`, or with `id` every active
 * deploy from the newest down to and including `id` (newest first), so the
 * board ends as it was before deploy `id`. Repairs an interrupted deploy
 * or rollback first; without `id` that repair is the rollback (returns []).
 * @throws WorkbenchError E_NOTHING_TO_ROLL_BACK, E_UNKNOWN_BACKUP (lists the
 *   ids), E_BACKUP_CORRUPT, E_ROLLBACK_FAILED.
 */
export async function rollback(
  target: Target,
  board: Board,
  id?: string,
  opts: { log?: Log; timeoutMs?: number; lock?: BoardLock; powerCycle?: PowerCycle } = {},
): Promise<DeployRecord[]> {
  const log = opts.log ?? (() => undefined);
  const ctx: RepairContext = {
    target,
    log,
    ...(opts.powerCycle ? { powerCycle: opts.powerCycle } : {}),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  };
  if (id !== undefined) validateName(id, 'backup id');
  await reachIfInterrupted(target, board.name, log);
  return withBoardLock(
    target,
    board.name,
    async (lock) => {
      ctx.lock = lock;
      let listed = await listBackupsAndJournal(ctx.target);
      let repaired: RepairResult = { action: 'none' };
      if (listed.journalPending) {
        repaired = await repairInterrupted(ctx, board.name, log, opts.timeoutMs);
        listed = await listBackupsAndJournal(ctx.target);
      } else await clearLocalJournal(board.name);
      const active = listed.backups.filter((b) => b.record?.state === 'active').map((b) => b.record!);
      // Finishing an interrupted deploy or rollback is this command's rollback: go further only when asked (--to).
      if (repaired.action === 'rolled-back' && id === undefined) return [];
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
        done.push(await restoreDeploy(ctx, rec, 'rolled-back', log, opts.timeoutMs, i === todo.length - 1 ? { releaseLock: lock } : {}));
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

/** How long a command that must repair first keeps trying a board that does not answer (one just switched on, a loaded host), ms. */
export const REPAIR_REACH_MS = 180_000;

/**
 * Runs `step` (the first contact of a command that repairs), and when this
 * machine's journal mirror says an operation on `board` was interrupted
 * and the board does not answer (a board just switched on after a power
 * loss answers SSH late on a loaded host), runs it again every
 * `retryDelayMs` for up to `reachMs`, saying so once. Without a pending
 * journal here a board that does not answer fails at once, as anywhere.
 * @throws the last connection error once the wait is over; other errors at once.
 */
export async function withRepairReach<T>(board: string, log: Log, step: () => Promise<T>, opts: { reachMs?: number; retryDelayMs?: number } = {}): Promise<T> {
  let deadline: number | undefined;
  for (;;) {
    try {
      return await step();
    } catch (e) {
      if (!isConnectionError(e)) throw e;
      if (deadline === undefined) {
        const local = await loadLocalJournal(board);
        if (!local) throw e;
        deadline = Date.now() + (opts.reachMs ?? REPAIR_REACH_MS);
        log(
          `board ${board} does not answer (${(e as Error).message}) and its ${local.kind} ${local.id} was interrupted (phase ${local.phase}): trying again for up to ${Math.round((opts.reachMs ?? REPAIR_REACH_MS) / 1000)} s (a board just switched on may be slow to answer)`,
        );
      }
      if (Date.now() >= deadline) throw e;
      await new Promise((r) => setTimeout(r, opts.retryDelayMs ?? 5_000));
    }
  }
}

/**
 * The first contact of `deploy`/`rollback`: when this machine's journal
 * mirror says an operation on `board` was interrupted, waits for a board
 * that does not answer yet ({@link withRepairReach}); otherwise nothing (no
 * round trip).
 */
export async function reachIfInterrupted(target: Target, board: string, log: Log, opts: { reachMs?: number; retryDelayMs?: number } = {}): Promise<void> {
  if (!(await loadLocalJournal(board))) return;
  await withRepairReach(board, log, () => target.exec(['true'], { timeoutMs: 60_000 }), opts);
}

/** What {@link repairBeforeListing} left undone. */
export interface ListingRepair {
  /** An earlier repair failed and was recorded on the board: not retried (the text says why). */
  pending?: string;
  /** This repair failed and nothing on the board records it: the command lists, then fails with it. */
  failed?: WorkbenchError;
}

/**
 * The repair `workbench backups list` runs before it lists: under the board
 * lock, finishes or undoes an interrupted deploy/rollback
 * ({@link repairInterrupted}), except one whose last repair failed and was
 * recorded in the board's journal (not retried: `pending` says why, the
 * listing goes on). A board that does not answer while this machine knows
 * of an interrupted operation is waited for ({@link withRepairReach}).
 * Never reports success while an interrupted operation stays on the board
 * unrecorded: such a failure is returned as `failed` (the command lists,
 * then exits with it).
 * @returns {} when nothing interrupted is left on the board.
 * @throws WorkbenchError E_UNREACHABLE / E_CONNECTION_LOST when the board
 *   did not answer (the journal stays for the next command).
 */
export async function repairBeforeListing(
  target: Target,
  board: string,
  log: Log,
  opts: { reachMs?: number; retryDelayMs?: number; lockWaitMs?: number } = {},
): Promise<ListingRepair> {
  try {
    return await withRepairReach(
      board,
      log,
      () =>
        withBoardLock(
          target,
          board,
          async (): Promise<ListingRepair> => {
            let r: RepairResult;
            try {
              r = await repairInterrupted(target, board, log, undefined, { unlessFailedBefore: true });
            } catch (e) {
              if (isConnectionError(e)) throw e;
              // A failure restoreDeploy recorded on the board is reported like an earlier one; anything else fails the command.
              const again = await loadRemoteJournal(target).catch(() => ({ journal: undefined }));
              if (!again.journal?.repair) return { failed: asWorkbenchError(e) };
              r = { action: 'pending', id: again.journal.id, phase: again.journal.phase, repair: again.journal.repair };
            }
            if (r.action !== 'pending') return {};
            const how = r.repair?.powerCycledAt ? `after a power cycle at ${r.repair.powerCycledAt}` : `first failure ${r.repair?.firstFailedAt}`;
            return {
              pending: `${r.id ? `deploy ${r.id}` : 'the interrupted deploy'} is not repaired: its last repair (attempt ${r.repair?.attempts}, ${how}) failed: ${r.repair?.lastError}`,
            };
          },
          { log, what: 'backups list', ...(opts.lockWaitMs !== undefined ? { waitMs: opts.lockWaitMs } : {}) },
        ),
      opts,
    );
  } catch (e) {
    if (isConnectionError(e)) throw e;
    return { failed: asWorkbenchError(e) };
  }
}
