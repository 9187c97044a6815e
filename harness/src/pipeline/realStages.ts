/**
 * The real stages of `workbench iterate`, on top of the stage modules
 * (kernel/, target/ + vboard/, deploy/, vectors/ + compare/, decode/).
 * `workbench iterate` only ever runs these (fakes live in harness/test/).
 */
import { WorkbenchError } from '../core/errors.ts';
import { ExecaRunner, formatArgv, type Runner } from '../core/runner.ts';
import { moduleDirFor, type Board } from '../target/boards.ts';
import type { BoardProviders } from '../target/provider.ts';
import { validateName } from '../target/quote.ts';
import { builtinProviders } from '../plugins/builtin.ts';
import { deployModules } from '../deploy/deploy.ts';
import { enableInstrumentation, type InstrumentationState } from '../irq/instrumentation.ts';
import { getDecoder, type Decoder, type DeviceProof } from '../decode/registry.ts';
import '../decode/gstV4l2sl.ts';
import { BoardLock } from '../target/boardLock.ts';
import { runVector } from '../decode/runVector.ts';
import { toRecordFinding } from '../irq/findings.ts';
import type { StageContext } from './graph.ts';
import type { BoardSession, IterateStages } from './stages.ts';
import { prepareVectors, type PreparedPlan } from './plan.ts';
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
  const loaded = new Set(r.stdout.split('\n').map((l) => l.trim()).filter(Boolean));
  return helpers.filter((n) => loaded.has(n.replace(/-/g, '_')));
}

/** The real {@link IterateStages}. */
export function realStages(opts: { runner?: Runner; skipChecks?: boolean; providers?: BoardProviders } = {}): IterateStages {
  const runner = opts.runner ?? new ExecaRunner();
  const providers = opts.providers ?? builtinProviders();
  const sshArgv = (b: Board) => providers.shellArgv(b);
  let board: Board | undefined;
  let prepared: PreparedPlan | undefined;
  let decoder: Decoder | undefined;
  let irq: InstrumentationState | undefined;
  // Held from the deploy to the last vector, so another run's deploy or decode never comes in between.
  let runLock: BoardLock | undefined;

  const boardStage = async (ctx: StageContext, name: string | undefined): Promise<BoardSession> => {
    const b = (board = providers.getBoard(name));
    const provider = providers.providerOf(b);
    const ready = await provider.ensureReady(b, { log: (m) => ctx.log(m) });
    for (const c of ready.commands) ctx.command(c);
    if (ready.detail) ctx.detail(ready.detail);
    const target = providers.targetFor(b);
    const kernelRelease = await target.kernelRelease();
    const driver = b.driver;
    return {
      info: { name: b.name, kind: provider.recordKind, kernelRelease, device: { driver }, pixelsDecoded: driver !== 'visl' },
      target,
      // the pooled connection is closed by the command (closeTargets) at exit; the vboard keeps running for the next run
      close: async () => {
        await runLock?.release();
        runLock = undefined;
      },
    };
  };

  return {
    board: (ctx, req) => boardStage(ctx, req.board),
    build: (ctx, req) => buildStage(ctx, providers.getBoard(req.board).arch),
    check: async (ctx, build) => {
      if (opts.skipChecks) {
        ctx.log('static checks skipped (--no-check)', 'warn');
        return { diagnostics: [], ran: [], skipped: [{ tool: 'checkpatch, sparse, W=1', reason: 'skipped with --no-check' }] };
      }
      return checkStage(ctx, build);
    },
    deploy: async (ctx, s, build) => {
      runLock ??= await BoardLock.acquire(s.target, board!.name, { log: (m) => ctx.log(m), what: 'iterate' });
      const keep = await loadedHelpers(s, build.modules.map((m) => m.name));
      if (keep.length) ctx.log(`keeping the board's own ${keep.join(', ')} (loaded, other drivers use them); deploying the rest`);
      const modules = build.modules.filter((m) => !keep.includes(m.name));
      const rec = await deployModules(
        s.target,
        board!,
        modules.map((m) => ({ name: m.name, path: m.path, vermagic: m.vermagic, sha256: m.sha256 })),
        { signal: ctx.signal, log: (m) => ctx.log(m), lock: runLock },
      );
      // the same steps by hand
      const ssh = sshArgv(board!);
      const dir = moduleDirFor(board!, rec.kernelRelease);
      const scp = ['scp', ...ssh.slice(1, -1).map((a) => (a === '-p' ? '-P' : a)), ...modules.map((m) => m.path), `${ssh.at(-1)}:${dir}/`];
      ctx.command(scp);
      ctx.command([...ssh, 'depmod', '-a', rec.kernelRelease]);
      for (const m of rec.loaded) ctx.command([...ssh, `modprobe -r ${m}; modprobe ${m}`]);
      if (s.info.device.driver !== 'visl') {
        irq = await enableInstrumentation(s.target);
        ctx.log(irq.state === 'enabled' ? `IRQ instrumentation on: ${irq.how.join(', ')}` : `IRQ instrumentation unavailable: ${irq.reason}`, irq.state === 'enabled' ? 'info' : 'warn');
      }
      return {
        info: { id: rec.id, backupDir: rec.backupDir, replaced: rec.replaced.map((r) => r.dest), loaded: rec.loaded, durationMs: rec.durationMs },
        kernelLog: rec.kernelLogFindings.map((f) => toRecordFinding(f, 'deploy')),
      };
    },
    plan: async (ctx, req) => {
      prepared = await prepareVectors(ctx, req, runner);
      return prepared.plan;
    },
    prepareDecode: async (ctx, s, plan) => {
      decoder = getDecoder('gst-v4l2sl-vp9').create({ target: s.target, driver: s.info.device.driver, runner });
      const proof = (await decoder.probe()) as DeviceProof;
      ctx.command([...sshArgv(board!), 'gst-inspect-1.0', proof.element]);
      // every vector onto the board at once (content-addressed: a second run uploads nothing)
      const t0 = Date.now();
      await decoder.stageInputs?.(new Map(plan.vectors.map((v) => [v.file, v.name])));
      ctx.log(`vectors on the board (${plan.vectors.length}) in ${Date.now() - t0} ms`, 'debug');
      const version = (decoder as { facts?: { gstVersion?: string } }).facts?.gstVersion ?? 'unknown';
      return {
        device: { driver: proof.driver || s.info.device.driver, media: proof.mediaDevice, video: proof.videoDevice },
        decoder: { name: 'gstreamer', version, detail: proof.element },
      };
    },
    decodeVector: async (ctx, s, _plan, v, artifacts) => {
      if (!prepared || !decoder) throw new WorkbenchError('E_INTERNAL', 'decode before plan/prepareDecode');
      const out = await runVector({
        target: s.target,
        decoder,
        vector: { name: v.name, suite: v.suite, features: v.features, file: v.file },
        inspect: prepared.inspect.get(v.name)!,
        reference: prepared.references.get(v.name) ?? null,
        mode: s.info.pixelsDecoded ? 'pixels' : 'visl',
        timeoutMs: VECTOR_TIMEOUT_MS,
        artifactsDir: artifacts.dir(false),
        relative: artifacts.relative,
        runner,
        ...(irq ? { irq } : {}),
        log: (m) => ctx.log(`${v.name}: ${m}`, 'debug'),
        signal: ctx.signal,
        ...(runLock ? { lock: runLock } : {}),
      });
      if (ctx.signal.aborted) throw new WorkbenchError('E_ABORTED', `interrupted while decoding ${v.name}`);
      for (const n of out.notes) ctx.log(`${v.name}: ${n}`, 'warn');
      ctx.command([...sshArgv(board!), formatArgv(out.run.argv)]);
      return out.result;
    },
    irqUnavailableReason: (s) =>
      s.info.device.driver === 'visl'
        ? 'the board uses visl, which has no vdpu381 interrupt to instrument'
        : irq?.state === 'unavailable'
          ? irq.reason
          : undefined,
  };
}
