import type { Command } from 'commander';
import { WorkbenchError } from '../../core/errors.ts';
import { listBackups } from '../../deploy/backup.ts';
import { DeployError, deployModules } from '../../deploy/deploy.ts';
import { artifactsFromPaths } from '../../deploy/modinfo.ts';
import { powerCycleFor } from '../../deploy/power.ts';
import { buildSeries } from '../../kernel/stage.ts';
import type { Board } from '../../target/boards.ts';
import type { ModuleArtifact } from '../../deploy/types.ts';
import { repairBeforeListing, rollback } from '../../deploy/rollback.ts';
import { describeFinding } from '../../irq/kernelLog.ts';
import { closeTargets } from '../../target/connect.ts';
import { builtinProviders } from '../../target/providers/builtin.ts';
import { ExecaRunner } from '../../core/runner.ts';

const out = (s: string) => process.stdout.write(s + '\n');
const log = (s: string) => process.stderr.write(`[deploy] ${s}\n`);
const collect = (v: string, acc: string[]) => [...acc, v];

/**
 * Ctrl-C: the first one asks the deploy to stop at the next safe point and
 * roll back; the second leaves at once (the board keeps its journal and the
 * next command repairs it).
 */
function interruptible(): { signal: AbortSignal; done: () => void } {
  const ac = new AbortController();
  const onInt = () => {
    if (!ac.signal.aborted) {
      log('interrupted: stopping at the next safe point and rolling back (Ctrl-C again to leave now; the next command repairs the board)');
      ac.abort();
    } else {
      log('leaving now; run `workbench rollback --board NAME` or deploy again to repair the board');
      process.exit(130);
    }
  };
  process.on('SIGINT', onInt);
  return { signal: ac.signal, done: () => process.off('SIGINT', onInt) };
}

/**
 * Test hook of the fault soak (harness/bench/fault-soak.ts):
 * `WORKBENCH_DEPLOY_PAUSE=PHASE:MS` prints `[deploy] phase P` as each phase
 * starts and waits MS ms at the start of PHASE, so a fault (SSH cut, SIGKILL,
 * power loss, disk full) lands at a known point. Unset: no effect.
 */
function phaseHook(): ((p: string) => Promise<void>) | undefined {
  const m = /^([a-z-]+):(\d{1,6})$/.exec(process.env.WORKBENCH_DEPLOY_PAUSE ?? '');
  if (!m) return undefined;
  return async (p) => {
    log(`phase ${p}`);
    if (p === m[1]) await new Promise((r) => setTimeout(r, Number(m[2])));
  };
}

/** `--param visl:bitstream_trace_nframes=100` -> { visl: ['bitstream_trace_nframes=100'] } */
function parseParams(list: string[]): Record<string, string[]> {
  const res: Record<string, string[]> = {};
  for (const p of list) {
    const m = /^([A-Za-z0-9_-]+):(.+)$/.exec(p);
    if (!m) throw new WorkbenchError('E_USAGE', `--param ${p}: expected MODULE:NAME=VALUE`, { hint: 'e.g. --param visl:bitstream_trace_nframes=100' });
    (res[m[1]!] ??= []).push(m[2]!);
  }
  return res;
}

/**
 * The current build of the series for `board` (built first when the series
 * or the base changed; unchanged builds come from the build cache), as
 * `workbench build --for BOARD|amd64|arm64` would build it.
 * @throws WorkbenchError E_BUILD_FAILED (exit code 1) when the series does not build.
 */
async function currentBuild(board: Board): Promise<ModuleArtifact[]> {
  // The board profile's architecture names the kernel build (kernel/build.ts BuildTarget).
  const target = board.arch;
  log(`no --modules: deploying the current build of the series for ${board.name} (workbench build --for ${target})`);
  const r = await buildSeries({ target, log, runner: new ExecaRunner() });
  if (!r.ok) {
    const first = r.diagnostics.find((d) => d.severity === 'error');
    throw new WorkbenchError(
      'E_BUILD_FAILED',
      `the series does not build for ${r.kernelRelease}${first ? `: ${first.file ?? ''}${first.line ? `:${first.line}` : ''}: ${first.message}` : ''}`,
      {
        exitCode: 1,
        hint: `see \`workbench build --for ${target}\``,
      },
    );
  }
  log(`build ${r.cached ? 'unchanged (cached)' : 'done'}: ${r.modules.map((m) => m.name).join(', ')}`);
  return r.modules.map((m) => ({ name: m.name, path: m.path, vermagic: m.vermagic, sha256: m.sha256 }));
}

/** Registers `workbench deploy`, `workbench rollback`, `workbench backups list`. */
export function register(program: Command): void {
  program
    .command('deploy')
    .description(
      'install built modules on a board with backup, verify and automatic rollback (repairs an interrupted deploy first); without --modules, the current build of the series for the board',
    )
    .requiredOption('--board <name>', 'board name (see `workbench boards list`)')
    .option('--modules <paths...>', '.ko files, or directories holding them (default: build the series for the board and deploy that)')
    .option('--param <module:name=value>', 'module parameter for modprobe (repeatable)', collect, [] as string[])
    .option('--json', 'print the deploy record as JSON')
    .action(async (o: { board: string; modules?: string[]; param: string[]; json?: boolean }) => {
      const providers = builtinProviders();
      const board = providers.getBoard(o.board);
      const params = parseParams(o.param);
      const modules = o.modules?.length ? await artifactsFromPaths(o.modules) : await currentBuild(board);
      const ir = interruptible();
      // a labgrid board's place is acquired before the board is touched and released on every way out (finally)
      const held = await providers.hold(board, { runner: new ExecaRunner(), log }).catch((e: unknown) => {
        ir.done();
        throw e;
      });
      try {
        const target = providers.targetFor(held.board);
        const hook = phaseHook();
        const powerCycle = powerCycleFor(held.board, target, new ExecaRunner(), providers.providerOf(board));
        const rec = await deployModules(target, held.board, modules, {
          params,
          log,
          signal: ir.signal,
          ...(hook ? { onPhase: hook } : {}),
          ...(powerCycle ? { powerCycle } : {}),
        });
        if (o.json) out(JSON.stringify(rec, null, 2));
        else {
          out(`deployed ${rec.id} to ${rec.board} (${rec.kernelRelease}) in ${(rec.durationMs / 1000).toFixed(1)} s`);
          for (const e of rec.replaced) out(`  ${e.module}: ${e.dest} (${e.existed ? `replaced, backup in ${rec.backupDir}` : 'new file'})`);
          for (const b of rec.bindings) if (b.bound.length) out(`  ${b.module}: bound to ${b.bound.join(', ')}`);
          for (const f of rec.kernelLogFindings) out(`  kernel log: ${describeFinding(f)}`);
          out(`undo with: workbench rollback --board ${rec.board}`);
        }
      } catch (e) {
        if (e instanceof DeployError && e.record && o.json) out(JSON.stringify({ ...e.record, error: e.code, rolledBack: e.rolledBack }, null, 2));
        throw e;
      } finally {
        ir.done();
        await closeTargets();
        await held.release();
      }
    });

  program
    .command('rollback')
    .description('restore the modules a deploy replaced and reload them (default: the newest active deploy; --to ID: every deploy back to and including ID)')
    .requiredOption('--board <name>', 'board name')
    .option('--to <id>', 'deploy id (see `workbench backups list`)')
    .action(async (o: { board: string; to?: string }) => {
      const providers = builtinProviders();
      const held = await providers.hold(providers.getBoard(o.board), { runner: new ExecaRunner(), log });
      const board = held.board;
      try {
        const target = providers.targetFor(board);
        const powerCycle = powerCycleFor(board, target, new ExecaRunner(), providers.providerOf(board));
        const done = await rollback(target, board, o.to, { log, ...(powerCycle ? { powerCycle } : {}) });
        if (done.length === 0) out(`${board.name}: the interrupted deploy/rollback was finished (its backup restored); run rollback again to go further back`);
        for (const r of done)
          out(`rolled back ${r.id} on ${r.board}: ${r.replaced.map((e) => `${e.module} ${e.existed ? 'restored' : 'removed'}`).join(', ')}`);
      } finally {
        await closeTargets();
        await held.release();
      }
    });

  const backups = program.command('backups').description('module backups kept on a board by deploys');
  backups
    .command('list')
    .description(
      'list the backups on a board, newest first (id, state, modules); repairs an interrupted deploy first, unless its last repair failed (then it says so and lists)',
    )
    .requiredOption('--board <name>', 'board name')
    .option('--json', 'machine-readable output')
    .action(async (o: { board: string; json?: boolean }) => {
      const providers = builtinProviders();
      const held = await providers.hold(providers.getBoard(o.board), { runner: new ExecaRunner(), log });
      const board = held.board;
      try {
        const target = providers.targetFor(board);
        // It repairs an interrupted deploy/rollback first (waiting for a board that was just switched on), but never
        // retries a repair that failed before (that is for `deploy`/`rollback`, which say what holds the board).
        const { pending, failed } = await repairBeforeListing(target, board.name, log);
        if (pending) log(`warning: ${pending}; run \`workbench rollback --board ${board.name}\` once the cause is fixed`);
        const list = await listBackups(target);
        if (o.json) {
          out(JSON.stringify(list, null, 2));
        } else if (list.length === 0) out(`${board.name}: no backups`);
        for (const b of o.json ? [] : list) {
          const r = b.record;
          out(
            r
              ? `${b.id}  ${r.state.padEnd(11)} ${r.kernelRelease}  ${r.replaced.map((e) => `${e.module}${e.existed ? '' : ' (new)'}`).join(', ')}${r.kernelLogFindings.length ? `  [${r.kernelLogFindings.length} kernel log finding(s)]` : ''}`
              : `${b.id}  partial     (no record: an interrupted deploy before it was repaired)`,
          );
        }
        // Listed, but the interrupted operation is still on the board and nothing records why: not a success.
        if (failed) throw failed;
      } finally {
        await closeTargets();
        await held.release();
      }
    });
}
