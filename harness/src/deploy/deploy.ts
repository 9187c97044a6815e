import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { WorkbenchError, asWorkbenchError, isWorkbenchError } from '../core/errors.ts';
import { MARKER_PREFIX, describeFinding, failures } from '../irq/kernelLog.ts';
import type { Board } from '../target/boards.ts';
import type { Target } from '../target/types.ts';
import { backupFiles, finishRecord, installFiles } from './backup.ts';
import { clearLocalJournal, newJournal, recordOf, saveLocalJournal, type Journal } from './journal.ts';
import { readModInfo } from './modinfo.ts';
import { preflight } from './preflight.ts';
import { REMOTE_BACKUPS, newDeployId } from './remote.ts';
import { swapModules } from './modgraph.ts';
import { isConnectionError, reachIfInterrupted, reloadListFor, repairInterrupted, restoreDeploy, type RepairContext } from './rollback.ts';
import { withBoardLock } from '../target/boardLock.ts';
import type { DeployOptions, DeployPhase, DeployRecord, ModuleArtifact, ReplacedFile } from './types.ts';
import { verifyModules, type ModuleCheck } from './verify.ts';

export type { DeployOptions, DeployRecord, ModuleArtifact } from './types.ts';
export { rollback } from './rollback.ts';

/**
 * A deploy that failed. `rolledBack`: the previous modules were restored
 * and reloaded (the board is as before); otherwise the journal stays on the
 * board and the next deploy/rollback repairs it. `record` holds what was
 * found (kernel log findings, bindings) when the deploy got that far.
 */
/**
 * The kernel log lines that explain a driver that did not bind: those naming
 * one of the modules (`rockchip_vdec` or `rockchip-vdec`), a driver they
 * registered, or a device that should have bound; else the last lines.
 * @returns at most 12 lines, oldest first.
 */
export function bindingLogLines(log: readonly string[], modules: readonly Pick<ModuleCheck, 'name' | 'binding'>[]): string[] {
  const words = new Set<string>();
  for (const m of modules) {
    words.add(m.name);
    words.add(m.name.replace(/_/g, '-'));
    for (const d of m.binding.drivers) words.add(d.split(':').pop()!);
    for (const d of m.binding.unboundMatches) words.add(d);
  }
  const named = log.filter((l) => [...words].some((w) => w && l.includes(w)));
  return (named.length ? named : log).slice(-12);
}

export class DeployError extends WorkbenchError {
  readonly rolledBack: boolean;
  readonly record: DeployRecord | undefined;
  constructor(cause: WorkbenchError, rolledBack: boolean, record: DeployRecord | undefined, extra: string, hint?: string) {
    super(cause.code, `${cause.message}${extra}`, { hint: hint ?? cause.hint, cause, exitCode: cause.exitCode });
    this.rolledBack = rolledBack;
    this.record = record;
  }
}

/**
 * Deploys built modules to a board: preflight, backup (with SHA-256
 * manifest), upload to a temp path + verify + atomic rename, depmod, reload
 * (dependents unloaded first), verify (module live, the new srcversion,
 * driver bound where the board has the device, no error-class findings in
 * the kernel log since the deploy's /dev/kmsg marker). Any failure after the
 * backup restores it and reloads the previous modules. A journal on the
 * board (mirrored locally) lets the next deploy/rollback repair a deploy
 * that was interrupted (connection cut, Ctrl-C); it is checked first.
 *
 * @returns the {@link DeployRecord} (also stored as record.json in the backup dir).
 * @throws WorkbenchError from preflight (E_VERMAGIC_MISMATCH, E_DISK_FULL,
 *   E_PERMISSION, E_DEVICE_BUSY, ...: nothing changed), E_UNREACHABLE,
 *   {@link DeployError} for failures after the backup.
 */
export async function deployModules(target: Target, board: Board, modules: ModuleArtifact[], opts: DeployOptions = {}): Promise<DeployRecord> {
  const log = opts.log ?? (() => undefined);
  const timeoutMs = opts.commandTimeoutMs ?? 120_000;
  // An interrupted operation recorded here: the board may just have been switched on (slow to answer).
  if (!opts.lock?.held) await reachIfInterrupted(target, board.name, log);
  return withBoardLock(
    target,
    board.name,
    async (lock) => {
      const started = Date.now();
      const ctx: RepairContext = { target, log, timeoutMs, lock, ...(opts.powerCycle ? { powerCycle: opts.powerCycle } : {}) };
      const phase = async (p: DeployPhase) => {
        if (opts.signal?.aborted && p !== 'rollback' && p !== 'rolled-back') {
          throw new WorkbenchError('E_ABORTED', `deploy to ${board.name} interrupted (Ctrl-C) before ${p}`);
        }
        await opts.onPhase?.(p);
      };
      await phase('preflight');
      const waitUntil = Date.now() + (opts.busyWaitMs ?? 0);
      let toldBusy = false;
      const runPreflight = async () => {
        for (;;) {
          try {
            return await preflight(target, board, modules, { ...opts, timeoutMs });
          } catch (e) {
            if (!isWorkbenchError(e, 'E_DEVICE_BUSY') || !opts.busyWaitMs || Date.now() >= waitUntil) throw e;
            if (!toldBusy) log(`${e.message}; waiting up to ${Math.round((opts.busyWaitMs ?? 0) / 1000)} s for them to finish`);
            toldBusy = true;
            await new Promise((r) => setTimeout(r, 2000));
          }
        }
      };
      let pf = await runPreflight();
      if (pf.journal) {
        // An interrupted deploy/rollback is pending on the board: bring the board to a known state first.
        const repaired = await repairInterrupted(ctx, board.name, log, timeoutMs);
        target = ctx.target;
        log(`repaired interrupted deploy ${repaired.id}: ${repaired.action}`);
        pf = await runPreflight();
      }
      const infos = await Promise.all(modules.map((m) => readModInfo(m.path)));
      log(
        `preflight ok: ${board.name} runs ${pf.release}; ${pf.plans.map((p) => `${p.artifact.name}${p.loadState ? ' (loaded)' : ''}`).join(', ')} -> ${pf.moduleDir}`,
      );

      const id = newDeployId();
      const backupDir = `${REMOTE_BACKUPS}/${id}`;
      const entries: ReplacedFile[] = pf.plans.map((p) => ({
        module: p.sysName,
        dest: p.dest,
        existed: p.destBytes !== undefined,
        ...(p.destBytes !== undefined ? { backupFile: basename(p.dest) } : {}),
        sha256: p.artifact.sha256,
        wasLoaded: p.loadState !== undefined,
        holders: p.holders,
        indexUnchanged: p.indexUnchanged,
      }));
      const journal: Journal = newJournal({
        kind: 'deploy',
        id,
        board: board.name,
        phase: 'backup',
        release: pf.release,
        moduleDir: pf.moduleDir,
        backupDir,
        entries,
        reloadAfterRestore: reloadListFor({ replaced: entries }),
      });
      // Local mirror writes go one after another, and clearing waits for them: a write still in flight
      // when the deploy finished landed after the clear and left a stale journal (the next deploy then
      // saw an interrupted operation).
      let saving: Promise<void> = Promise.resolve();
      const journalFor = (p: DeployPhase) => {
        journal.phase = p;
        const snapshot: Journal = { ...journal };
        saving = saving.then(() => saveLocalJournal(snapshot)).catch(() => undefined);
        return JSON.stringify(journal);
      };
      const markerId = randomBytes(6).toString('hex');
      const record: DeployRecord = recordOf({ id, board: board.name, release: pf.release, backupDir, entries, startedAt: new Date().toISOString() });

      // Backup. A failure here changed nothing but the partial backup, which is removed.
      await phase('backup');
      try {
        await saveLocalJournal(journal);
        await backupFiles(target, backupDir, pf.moduleDir, `${MARKER_PREFIX} ${markerId} deploy ${id}`, entries, { journal: journalFor('backup'), timeoutMs });
        log(`backup ${id}: ${entries.filter((e) => e.existed).length} file(s) saved in ${backupDir}`);
      } catch (e) {
        if (!isConnectionError(e)) {
          await repairInterrupted(target, board.name, () => undefined, timeoutMs).catch(() => undefined);
        }
        throw e;
      }

      let replacing = false;
      try {
        await phase('upload');
        const moves: { tmp: string; dest: string }[] = [];
        for (const p of pf.plans) {
          const tmp = `${pf.moduleDir}/.wb-${id}-${basename(p.dest)}`;
          const up = await target.upload(p.artifact.path, tmp, { mode: 0o644, compress: pf.gzip });
          if (up.sha256 !== p.artifact.sha256) {
            throw new WorkbenchError('E_TRANSFER', `${board.name}: uploaded ${p.artifact.name} has SHA-256 ${up.sha256}, expected ${p.artifact.sha256}`);
          }
          moves.push({ tmp, dest: p.dest });
        }
        log(`uploaded and verified ${moves.length} module(s)`);

        await phase('install');
        replacing = true;
        const depmod = entries.some((e) => !e.indexUnchanged);
        await installFiles(target, pf.release, moves, depmod, { journal: journalFor('install'), timeoutMs });
        log(`installed into ${pf.moduleDir}; ${depmod ? 'depmod done' : 'module index unchanged (same path, aliases, dependencies, exports): depmod skipped'}`);

        await phase('reload');
        const r = await swapModules(
          target,
          {
            replace: pf.plans.map((p) => p.sysName),
            load: pf.plans.map((p) => ({ name: p.sysName, params: opts.params?.[p.artifact.name] ?? opts.params?.[p.sysName] ?? [] })),
            force: true,
          },
          { journal: journalFor('reload'), timeoutMs, log },
        );
        record.loaded = [...r.loaded, ...r.reloaded];
        log(`reloaded: unloaded ${r.unloaded.join(', ') || '-'}; loaded ${record.loaded.join(', ')}`);
        if (r.reloadFailed.length) {
          throw new WorkbenchError('E_MODULE_LOAD', `${board.name}: ${r.reloadFailed.join(', ')} (unloaded around the new modules) failed to load again`, {
            hint: 'see the kernel log findings for the reason',
          });
        }

        await phase('verify');
        const v = await verifyModules(
          target,
          pf.plans.map((p, i) => ({ name: p.sysName, aliases: infos[i]!.aliases })),
          markerId,
          { journal: journalFor('verify'), timeoutMs },
        );
        record.kernelLogFindings = v.findings;
        record.bindings = v.modules.map((m) => m.binding);
        const problems: string[] = [];
        const unbound: string[] = [];
        v.modules.forEach((m, i) => {
          if (m.state !== 'live') problems.push(`${m.name} is not loaded (state ${m.state})`);
          const want = infos[i]!.srcversion;
          if (m.state === 'live' && want && m.srcversion && want !== m.srcversion) {
            problems.push(`${m.name} on the board has srcversion ${m.srcversion}, not the deployed ${want}`);
          }
          if (m.binding.unboundMatches.length && m.state === 'live')
            unbound.push(
              `${m.name} is loaded but ${m.binding.unboundMatches.join(', ')} (matching its aliases) ${m.binding.unboundMatches.length > 1 ? 'are' : 'is'} not bound to it`,
            );
          else if (m.binding.unboundMatches.length)
            problems.push(`${m.name}: device(s) ${m.binding.unboundMatches.join(', ')} match it but are not bound to its driver`);
        });
        const bad = failures(v.findings);
        // With an unbound device, a failed probe is the reason, shown with the kernel log lines below.
        const badOther = unbound.length ? bad.filter((f) => f.kind !== 'probe_failed') : bad;
        if (badOther.length) problems.push(`kernel log since the deploy: ${badOther.map(describeFinding).join('; ')}`);
        if (!v.markerFound) log('warning: the deploy marker is no longer in the kernel log (ring buffer wrapped); checked the whole log');
        if (unbound.length) {
          // The verdict is the binding; the kernel's own lines (probe errors) say why.
          const lines = bindingLogLines(v.kernelLog, v.modules);
          throw new WorkbenchError(
            'E_NOT_BOUND',
            `${board.name}: deploy ${id}: driver did not bind: ${[...unbound, ...problems].join('; ')}; kernel log since the deploy: ${lines.length ? lines.map((l) => `«${l}»`).join(' ') : '(nothing)'}`,
            { hint: 'the probe failed or never ran: read the kernel log lines above (probe errors, missing resources); the previous module was restored' },
          );
        }
        if (problems.length) {
          throw new WorkbenchError(bad.length ? 'E_KERNEL_LOG' : 'E_VERIFY', `${board.name}: deploy ${id} failed verification: ${problems.join('; ')}`, {
            hint: 'fix the module; the previous one was restored',
          });
        }
        log(`verified: ${v.modules.map((m) => `${m.name} live${m.binding.bound.length ? `, bound to ${m.binding.bound.join(',')}` : ''}`).join('; ')}`);

        await phase('done');
        record.state = 'active';
        record.durationMs = Date.now() - started;
        journalFor('done');
        await finishRecord(target, record, { releaseLock: lock });
        await saving;
        await clearLocalJournal(board.name);
        return record;
      } catch (e) {
        const err = asWorkbenchError(e);
        record.durationMs = Date.now() - started;
        if (isWorkbenchError(err, 'E_MODULE_LOAD') && !record.kernelLogFindings.length) {
          // Show the kernel's reason (Unknown parameter, version magic...) with the failure.
          try {
            const v = await verifyModules(target, [], markerId, { timeoutMs });
            record.kernelLogFindings = v.findings;
          } catch {
            /* best effort */
          }
        }
        // E_NOT_BOUND's message already quotes the kernel log.
        const why = isWorkbenchError(err, 'E_NOT_BOUND') ? [] : failures(record.kernelLogFindings).map(describeFinding);
        log(
          `deploy ${id} failed: ${err.message}${why.length ? ` (${why.join('; ')})` : ''}; ${replacing ? 'restoring the previous modules' : 'nothing was replaced yet: discarding the backup'}`,
        );
        await opts.onPhase?.('rollback');
        await saving; // the rollback writes and clears the local journal itself
        try {
          if (replacing) await restoreDeploy(ctx, record, 'failed', log, timeoutMs, { releaseLock: lock });
          else await repairInterrupted(ctx, board.name, log, timeoutMs); // nothing replaced yet: discard the backup and uploads
        } catch (re) {
          const rerr = asWorkbenchError(re);
          throw new DeployError(
            err,
            false,
            record,
            `; automatic rollback did not complete: ${rerr.message}`,
            isConnectionError(re) || isConnectionError(e)
              ? `the board keeps a journal of deploy ${id}: the next \`workbench deploy\` or \`workbench rollback --board ${board.name}\` repairs it once the board is reachable`
              : rerr.hint,
          );
        }
        await opts.onPhase?.('rolled-back');
        throw new DeployError(
          err,
          true,
          record,
          `${why.length ? ` (kernel log: ${why.join('; ')})` : ''}; ${replacing ? 'rolled back: the previous modules are installed and loaded again' : 'nothing on the board was replaced'}`,
        );
      }
    },
    { log, what: 'deploy', ...(opts.lockWaitMs !== undefined ? { waitMs: opts.lockWaitMs } : {}), ...(opts.lock ? { lock: opts.lock } : {}) },
  );
}
