/**
 * `workbench iterate` as a graph of stages:
 *
 * ```
 * board ─────────────┐
 * build ─► check     ├─► deploy ─┐
 *       └────────────┘           ├─► decode (vector by vector) ─► report
 * plan (vectors + references) ───┘
 * ```
 *
 * board, build and plan start together (the vboard boots while the module
 * builds). Every stage emits events; the report is always written (complete
 * or marked incomplete) into a new `reports/<run-id>/`.
 */
import { WorkbenchError } from '../core/errors.ts';
import type { EventBus } from '../core/events.ts';
import { runGraph, failureExitCode, asWorkbenchError, type StageGraph } from './graph.ts';
import type { BoardSession, BuildOutcome, CheckOutcome, DeployOutcome, IterateRequest, IterateStages, VectorPlan } from './stages.ts';
import type { RunRecord, VectorResult } from '../model/record.ts';
import { RUN_SCHEMA_NAME, RUN_SCHEMA_VERSION } from '../model/record.ts';
import { summarizeIrq, summarizeSimulatedIrq, withSimulatedDevice } from '../irq/summary.ts';
import { countVerdicts, exitCodeFor, newRunId, runChecks, verdictLine, formatDuration } from '../report/summarize.ts';
import { ReportStaging, findPreviousRun, reportsRoot } from '../report/store.ts';
import { diffRuns, type RunDiff } from '../report/diff.ts';
import { workbenchVersion } from '../core/paths.ts';

/** Options of one iterate run. */
export interface IterateOptions extends IterateRequest {
  stages: IterateStages;
  bus: EventBus;
  /** Ctrl-C. */
  signal?: AbortSignal;
  /** The command line, for the record. */
  command: string;
  /** Reports root (default {@link reportsRoot}). */
  reportsRoot?: string;
  /** Workbench version facts for the record. */
  workbench?: RunRecord['workbench'];
  /** Clock (tests). */
  now?: () => Date;
}

/** How a run ended. */
export interface IterateResult {
  record: RunRecord;
  /** The report folder (absent only when writing the report itself failed). */
  reportDir?: string;
  /** Diff against the previous complete run on the same board. */
  diff?: RunDiff;
  exitCode: 0 | 1 | 2;
}

type Outputs = {
  board: BoardSession;
  build: BuildOutcome;
  check: CheckOutcome;
  deploy: DeployOutcome;
  plan: VectorPlan;
  decode: VectorResult[];
};

/** Runs the pipeline once and writes the report. Never throws for a stage failure (see the result's exit code). */
export async function runIterate(opts: IterateOptions): Promise<IterateResult> {
  const now = opts.now ?? (() => new Date());
  const started = now();
  const boardName = opts.board ?? 'vboard';
  const root = opts.reportsRoot ?? reportsRoot();
  const runId = newRunId(boardName, started);
  const staging = ReportStaging.create(root, runId);
  const { bus, stages } = opts;
  const req: IterateRequest = {
    ...(opts.board ? { board: opts.board } : {}),
    ...(opts.suite ? { suite: opts.suite } : {}),
    ...(opts.vectors ? { vectors: opts.vectors } : {}),
  };
  bus.emit({ type: 'run', status: 'started', runId });

  // results survive an abort in the middle of the decode stage
  const results: VectorResult[] = [];
  let session: BoardSession | undefined;
  const graph: StageGraph<Outputs> = {
    board: {
      deps: [],
      run: async (ctx) => {
        session = await stages.board(ctx, req);
        ctx.detail(
          `${session.info.name}: ${session.info.device.driver}${session.info.device.media ? ` on ${session.info.device.media}` : ''}, ${session.info.kernelRelease}`,
        );
        return session;
      },
    },
    build: {
      deps: [],
      run: async (ctx) => {
        const b = await stages.build(ctx, req);
        ctx.detail(`${b.kernel.series.patches.length} patch(es), ${b.modules.map((m) => m.name).join(', ')}`);
        return b;
      },
    },
    check: {
      deps: ['build'],
      run: async (ctx, get) => {
        const c = await stages.check(ctx, get('build'));
        const errors = c.diagnostics.filter((d) => d.severity === 'error').length;
        const warnings = c.diagnostics.filter((d) => d.severity === 'warning').length;
        ctx.detail(
          `${c.ran.join(', ') || 'no checks'}: ${errors} error(s), ${warnings} warning(s)` +
            (c.skipped.length ? `; not run: ${c.skipped.map((x) => `${x.tool} (${x.reason})`).join(', ')}` : ''),
        );
        return c;
      },
    },
    deploy: {
      deps: ['board', 'build'],
      run: async (ctx, get) => {
        const d = await stages.deploy(ctx, get('board'), get('build'));
        ctx.detail(`loaded ${d.info.loaded.join(', ')}`);
        return d;
      },
    },
    plan: {
      deps: [],
      run: async (ctx) => {
        const p = await stages.plan(ctx, req);
        ctx.detail(`${p.suite}: ${p.vectors.length} vector(s)`);
        return p;
      },
    },
    decode: {
      deps: ['deploy', 'plan'],
      run: async (ctx, get) => {
        const s = get('board');
        const plan = get('plan');
        if (stages.prepareDecode) {
          const p = await stages.prepareDecode(ctx, s, plan);
          if (p.device) s.info = { ...s.info, device: p.device };
          if (p.decoder) s.decoder = p.decoder;
          ctx.detail(
            `${s.decoder ? `${s.decoder.name} ${s.decoder.version}${s.decoder.detail ? ` ${s.decoder.detail}` : ''}` : 'decoder'} on ${s.info.device.driver}${s.info.device.media ? ` (${s.info.device.media})` : ''}`,
          );
        }
        ctx.progress(0, plan.vectors.length, 'vectors');
        const decoderDetail = s.decoder
          ? `${s.decoder.name} ${s.decoder.version}${s.decoder.detail ? ` ${s.decoder.detail}` : ''} on ${s.info.device.driver}${s.info.device.media ? ` (${s.info.device.media})` : ''}`
          : undefined;
        for (const v of plan.vectors) {
          if (ctx.signal.aborted) throw new WorkbenchError('E_ABORTED', 'interrupted');
          ctx.detail(`${results.length + 1}/${plan.vectors.length} ${v.name}`);
          const sink = {
            dir: (create = true) => staging.artifactsDir(v.name, create),
            relative: (abs: string) => staging.relativePath(abs),
          };
          const r = await stages.decodeVector(ctx, s, plan, v, sink);
          results.push(r);
          bus.emit({ type: 'vector', vector: r.name, verdict: r.verdict.result, detail: verdictLine(r), durationMs: r.durationMs });
          ctx.progress(results.length, plan.vectors.length, 'vectors');
        }
        if (decoderDetail) ctx.detail(decoderDetail);
        return results;
      },
    },
  };

  let graphResult: Awaited<ReturnType<typeof runGraph<Outputs>>>;
  try {
    graphResult = await runGraph(graph, { bus, ...(opts.signal ? { signal: opts.signal } : {}) });
  } finally {
    await session?.close().catch(() => undefined);
  }
  const { outputs: o, failure, interrupted } = graphResult;

  const plan = o.plan;
  const planned = plan?.vectors.map((v) => v.name) ?? [];
  const board = o.board?.info;
  const diagnostics = [...(o.build?.diagnostics ?? []), ...(o.check?.diagnostics ?? [])];
  const patchFailed = (failure ? failureExitCode(failure.error) === 1 : false) || diagnostics.some((d) => d.severity === 'error');
  const infraFailed = failure ? failureExitCode(failure.error) === 2 : false;
  const exitCode = exitCodeFor({ vectors: results, infraFailed, patchFailed, interrupted });
  const complete = !interrupted && !failure && results.length === planned.length;
  const finished = now();
  const kernel = o.build?.kernel
    ? {
        ...o.build.kernel,
        diagnostics: {
          errors: diagnostics.filter((d) => d.severity === 'error').length,
          warnings: diagnostics.filter((d) => d.severity === 'warning').length,
        },
      }
    : undefined;
  const record: RunRecord = {
    schema: RUN_SCHEMA_NAME,
    schemaVersion: RUN_SCHEMA_VERSION,
    runId,
    status: complete ? 'complete' : 'incomplete',
    ...(complete
      ? {}
      : {
          incompleteReason: interrupted
            ? `interrupted (Ctrl-C) after ${results.length} of ${planned.length} vector(s)`
            : failure
              ? `stage ${failure.stage} failed: ${failure.error.code}: ${failure.error.message.split('\n')[0]}`
              : `${results.length} of ${planned.length} vector(s) ran`,
        }),
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: Math.max(0, finished.getTime() - started.getTime()),
    exitCode,
    command: opts.command,
    workbench: opts.workbench ?? { version: workbenchVersion() },
    ...(kernel ? { kernel } : {}),
    ...(board ? { board } : {}),
    ...(o.deploy ? { deploy: o.deploy.info } : {}),
    ...(o.board?.decoder ? { decoder: o.board.decoder } : {}),
    ...(plan ? { reference: plan.reference } : {}),
    suite: { name: plan?.suite ?? opts.suite ?? 'vp9-features', ...(opts.vectors ? { filter: opts.vectors } : {}), vectors: planned },
    stages: graphResult.stages,
    checks: runChecks(results, board),
    counts: countVerdicts(results, planned.length),
    vectors: results,
    irq: withSimulatedDevice(
      summarizeIrq(
        results.map((r) => r.irq),
        o.board && stages.irqUnavailableReason ? stages.irqUnavailableReason(o.board) : undefined,
      ),
      summarizeSimulatedIrq(results.map((r) => r.captures)),
    ),
    ...(diagnostics.length ? { diagnostics } : {}),
    kernelLog: (o.deploy?.kernelLog ?? []).map((f) => ({ ...f, stage: f.stage ?? 'deploy' })),
  };

  let previous: RunRecord | undefined;
  try {
    previous = findPreviousRun(board?.name ?? boardName, record.startedAt, root);
  } catch {
    previous = undefined;
  }
  const diff = previous ? diffRuns(previous, record) : undefined;
  if (previous) record.previousRunId = previous.runId;

  let reportDir: string | undefined;
  try {
    reportDir = staging.finalize(record, diff ? { diff } : {});
  } catch (e) {
    const err = asWorkbenchError(e);
    bus.log('error', `could not write the report: ${err.code}: ${err.message}`, 'report');
  }
  bus.emit({ type: 'run', status: interrupted ? 'interrupted' : 'finished', runId, ...(reportDir ? { reportDir } : {}) });
  return { record, ...(reportDir ? { reportDir } : {}), ...(diff ? { diff } : {}), exitCode: reportDir ? exitCode : 2 };
}

/** The closing lines a person reads after a run (counts, report folder, diff). */
export function closingLines(res: IterateResult): string[] {
  const r = res.record;
  const c = r.counts;
  const lines = [
    `${r.status === 'complete' ? 'finished' : 'INCOMPLETE'} ${r.runId} in ${formatDuration(r.durationMs)}: ${c.pass} pass, ${c.fail} fail, ${c.timeout} timeout, ${c.error} error, ${c['not-supported']} not supported, ${c.crash} crash${c.notRun ? `, ${c.notRun} not run` : ''} (of ${c.total})`,
  ];
  if (r.incompleteReason) lines.push(`  ${r.incompleteReason}`);
  if (!r.checks.pixelsVerified) lines.push(`  checks: ${r.checks.ran.join(', ') || 'none'}; pixels NOT verified`);
  if (r.irq.answer !== 'unknown') lines.push(`  BIT(2) question: ${r.irq.answer}. ${r.irq.explanation}`);
  if (r.irq.simulated) lines.push(`  IRQ: ${r.irq.simulated.line}`);
  if (res.reportDir) lines.push(`  report: ${res.reportDir}/index.html`);
  lines.push(`  exit code ${res.exitCode}`);
  return lines;
}
