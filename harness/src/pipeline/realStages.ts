/**
 * The real stages of `workbench iterate`, on top of the stage modules
 * (kernel/, target/ + vboard/, deploy/, vectors/ + compare/, decode/).
 * `workbench iterate` only ever runs these (fakes live in harness/test/).
 */
import { WorkbenchError } from '../core/errors.ts';
import { ExecaRunner, formatArgv, type Runner } from '../core/runner.ts';
import { moduleDirFor, type Board } from '../target/boards.ts';
import { validateName } from '../target/quote.ts';
import { builtinPlugins, type Plugins } from './plugins.ts';
import { deployModules } from '../deploy/deploy.ts';
import { powerCycleFor } from '../deploy/power.ts';
import { BoardLock } from '../target/boardLock.ts';
import { DecodeService } from '../decode/service.ts';
import { toRecordFinding } from '../irq/findings.ts';
import type { StageContext } from './graph.ts';
import type { BoardSession, IterateStages } from './stages.ts';
import { prepareVectors } from './plan.ts';
import { buildStage, checkStage } from './kernelStage.ts';

/** Per-vector decode time limit, ms. */
export const VECTOR_TIMEOUT_MS = 60_000;

/** Module file name of the driver under test (rkvdec): always deployed. */
export const DRIVER_MODULE = 'rockchip-vdec';

/**
 * Helper modules of the build (v4l2-mem2mem, v4l2-vp9...) that the board
 * already has loaded: replacing them would mean unloading unrelated drivers
 * that use them (visl on the vboard), so the board's own copies stay. The
 * driver under test is never kept.
 */
async function loadedHelpers(s: BoardSession, names: readonly string[]): Promise<string[]> {
  const helpers = names.filter((n) => n !== DRIVER_MODULE);
  if (!helpers.length) return [];
  const sys = helpers.map((n) => n.replace(/-/g, '_'));
  for (const n of sys) validateName(n, 'module name');
  const r = await s.target.exec(['sh', '-c', 'for m in "$@"; do [ -d "/sys/module/$m" ] && echo "$m"; done; true', 'wb-loaded', ...sys]);
  const loaded = new Set(
    r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  );
  return helpers.filter((n) => loaded.has(n.replace(/-/g, '_')));
}

/** Options of {@link realStages}. */
export interface RealStagesOptions {
  runner?: Runner;
  /** Skip the static checks (`--no-check`). */
  skipChecks?: boolean;
  /** The series to build (kernel/series.ts loadSeries: a folder with a `series` file, an mbox, A..B); default patches/. */
  series?: string;
  /** Board kinds, decoder backends and per-vector checks (default: pipeline/plugins.ts). */
  plugins?: Plugins;
}

/** The session's board profile (the real board stage always sets it). */
function boardOf(s: BoardSession): Board {
  if (!s.board) throw new WorkbenchError('E_INTERNAL', 'board session without a board profile');
  return s.board;
}

/** The real {@link IterateStages}. */
export function realStages(opts: RealStagesOptions = {}): IterateStages {
  const runner = opts.runner ?? new ExecaRunner();
  const { providers, decoders, checks } = opts.plugins ?? builtinPlugins();
  // Held from the deploy to the last vector, so another run's deploy or decode never comes in between.
  let runLock: BoardLock | undefined;

  const boardStage = async (ctx: StageContext, name: string | undefined): Promise<BoardSession> => {
    // a labgrid board's place is acquired before the board is touched; session.close() releases it (every way out of runIterate)
    const held = await providers.hold(providers.getBoard(name), { runner, log: (m) => ctx.log(m) });
    const board = held.board;
    const provider = providers.providerOf(board);
    let target, kernelRelease;
    try {
      const ready = await provider.ensureReady(board, { log: (m) => ctx.log(m), runner });
      for (const c of ready.commands) ctx.command(c);
      if (ready.detail) ctx.detail(ready.detail);
      target = providers.targetFor(board);
      kernelRelease = await target.kernelRelease();
    } catch (e) {
      await held.release();
      throw e;
    }
    return {
      info: {
        name: board.name,
        kind: provider.recordKind,
        kernelRelease,
        device: { driver: board.driver },
        pixelsDecoded: checks.forBoard(board).verifiesPixels,
      },
      target,
      board,
      // the pooled connection is closed by the command (closeTargets) at exit; the vboard keeps running for the next run
      close: async () => {
        await runLock?.release();
        runLock = undefined;
        await held.release();
      },
    };
  };

  return {
    board: (ctx, req) => boardStage(ctx, req.board),
    build: (ctx, req) => buildStage(ctx, providers.getBoard(req.board).arch, runner, opts.series),
    check: async (ctx, build) => {
      if (opts.skipChecks) {
        ctx.log('static checks skipped (--no-check)', 'warn');
        return { diagnostics: [], ran: [], skipped: [{ tool: 'checkpatch, sparse, W=1', reason: 'skipped with --no-check' }] };
      }
      return checkStage(ctx, build, runner);
    },
    deploy: async (ctx, s, build) => {
      const board = boardOf(s);
      runLock ??= await BoardLock.acquire(s.target, board.name, { log: (m) => ctx.log(m), what: 'iterate' });
      const powerCycle = powerCycleFor(board, s.target, runner, providers.providerOf(board));
      const keep = await loadedHelpers(
        s,
        build.modules.map((m) => m.name),
      );
      if (keep.length) ctx.log(`keeping the board's own ${keep.join(', ')} (loaded, other drivers use them); deploying the rest`);
      const modules = build.modules.filter((m) => !keep.includes(m.name));
      const rec = await deployModules(
        s.target,
        board,
        modules.map((m) => ({ name: m.name, path: m.path, vermagic: m.vermagic, sha256: m.sha256 })),
        { signal: ctx.signal, log: (m) => ctx.log(m), lock: runLock, ...(powerCycle ? { powerCycle } : {}) },
      );
      // the same steps by hand
      const ssh = providers.shellArgv(board);
      const dir = moduleDirFor(board, rec.kernelRelease);
      const scp = ['scp', ...ssh.slice(1, -1).map((a) => (a === '-p' ? '-P' : a)), ...modules.map((m) => m.path), `${ssh.at(-1)}:${dir}/`];
      ctx.command(scp);
      ctx.command([...ssh, 'depmod', '-a', rec.kernelRelease]);
      for (const m of rec.loaded) ctx.command([...ssh, `modprobe -r ${m}; modprobe ${m}`]);
      return {
        info: { id: rec.id, backupDir: rec.backupDir, replaced: rec.replaced.map((r) => r.dest), loaded: rec.loaded, durationMs: rec.durationMs },
        kernelLog: rec.kernelLogFindings.map((f) => toRecordFinding(f, 'deploy')),
      };
    },
    plan: (ctx, req) => prepareVectors(ctx, req, runner),
    prepareDecode: async (ctx, s, plan) => {
      const board = boardOf(s);
      const service = (s.decoding = await DecodeService.open({
        board,
        target: s.target,
        backend: decoders.forBoard(board),
        checks,
        runner,
        log: (m, level) => ctx.log(m, level),
      }));
      const inspect = service.decoder.inspectArgv?.();
      if (inspect) ctx.command([...providers.shellArgv(board), ...inspect]);
      // every vector onto the board at once (content-addressed: a second run uploads nothing)
      const t0 = Date.now();
      await service.stage(plan.vectors);
      ctx.log(`vectors on the board (${plan.vectors.length}) in ${Date.now() - t0} ms`, 'debug');
      const b = service.binding;
      return {
        device: {
          driver: b.device?.driver || board.driver,
          ...(b.device?.media ? { media: b.device.media } : {}),
          ...(b.device?.video ? { video: b.device.video } : {}),
        },
        decoder: { name: b.implementation, version: b.version, ...(b.detail ? { detail: b.detail } : {}) },
      };
    },
    decodeVector: async (ctx, s, _plan, v, artifacts) => {
      const service = s.decoding;
      if (!service || !v.inspect) throw new WorkbenchError('E_INTERNAL', 'decode before plan/prepareDecode');
      const out = await service.decode(
        { ...v, inspect: v.inspect, reference: v.reference ?? null },
        {
          timeoutMs: VECTOR_TIMEOUT_MS,
          artifactsDir: artifacts.dir(false),
          relative: artifacts.relative,
          log: (m) => ctx.log(`${v.name}: ${m}`, 'debug'),
          signal: ctx.signal,
          ...(runLock ? { lock: runLock } : {}),
        },
      );
      if (ctx.signal.aborted) throw new WorkbenchError('E_ABORTED', `interrupted while decoding ${v.name}`);
      for (const n of out.notes) ctx.log(`${v.name}: ${n}`, 'warn');
      ctx.command([...providers.shellArgv(boardOf(s)), formatArgv(out.run.argv)]);
      return out.result;
    },
    irqUnavailableReason: (s) => s.decoding?.unavailableReason('irq'),
  };
}
