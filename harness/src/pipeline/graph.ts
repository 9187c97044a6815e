/**
 * A small stage graph: named stages with dependencies run as soon as their
 * inputs are ready (independent stages run concurrently: the board boots
 * while the module builds), emit `stage` events, record how long they took
 * and the shell commands that reproduce them, and stop together on Ctrl-C
 * (one AbortSignal) or when a stage fails.
 */
import { WorkbenchError, isWorkbenchError, ExitCode, asWorkbenchError } from '../core/errors.ts';
import { redact, type EventBus, type StageStatus } from '../core/events.ts';
import { formatArgv } from '../core/runner.ts';
import type { StageRecord } from '../model/record.ts';

/** What a running stage can do besides its work. */
export interface StageContext {
  /** Stage name. */
  readonly stage: string;
  /** Aborted on Ctrl-C or when another stage failed: stop, kill remote processes, leave things usable. */
  readonly signal: AbortSignal;
  /** Event bus (for `vector` events and the like). */
  readonly bus: EventBus;
  /** A `log` event tagged with this stage. */
  log(message: string, level?: 'debug' | 'info' | 'warn' | 'error'): void;
  /** Records a command that reproduces (part of) this stage: an argv (quoted with formatArgv) or a shell line. */
  command(cmd: readonly string[] | string): void;
  /** A `progress` event for this stage. */
  progress(done: number, total: number, unit?: string): void;
  /** A one-line note shown next to the stage (e.g. "3 patches, cached"). */
  detail(text: string): void;
}

/** A stage of a graph whose outputs are typed by `O` (stage name -> output). */
export interface StageNode<O, K extends keyof O> {
  /** Stages whose outputs this one needs. */
  deps: readonly (keyof O & string)[];
  /** Does the work. `get(dep)` returns a finished dependency's output. */
  run(ctx: StageContext, get: <D extends keyof O>(dep: D) => O[D]): Promise<O[K]>;
}

/** A graph: one node per key of `O`, in display order. */
export type StageGraph<O> = { [K in keyof O & string]: StageNode<O, K> };

/** How a graph run ended. */
export interface GraphResult<O> {
  /** Outputs of the stages that finished. */
  outputs: Partial<O>;
  /** One record per stage, in graph order. */
  stages: StageRecord[];
  /** The first stage that failed (not counting stages stopped by the abort), with its error. */
  failure?: { stage: string; error: WorkbenchError };
  /** True when the external signal (Ctrl-C) stopped the run. */
  interrupted: boolean;
}

/** Re-exported from core (one definition). */
export { asWorkbenchError } from '../core/errors.ts';

/**
 * Runs the graph. Never throws for a stage failure: the result says which
 * stage failed; its dependents are `skipped`, stages still running are
 * aborted. `signal` is the run's external abort (Ctrl-C).
 * @throws WorkbenchError E_PIPELINE when the graph has an unknown dependency or a cycle.
 */
export async function runGraph<O>(graph: StageGraph<O>, opts: { bus: EventBus; signal?: AbortSignal }): Promise<GraphResult<O>> {
  const names = Object.keys(graph) as (keyof O & string)[];
  for (const n of names)
    for (const d of graph[n].deps) if (!names.includes(d)) throw new WorkbenchError('E_PIPELINE', `stage ${n} depends on unknown stage ${d}`);
  const inner = new AbortController();
  const onOuter = () => inner.abort(opts.signal?.reason);
  if (opts.signal?.aborted) inner.abort(opts.signal.reason);
  opts.signal?.addEventListener('abort', onOuter, { once: true });

  const records = new Map<string, StageRecord>(names.map((n) => [n, { name: n, status: 'pending', commands: [] }]));
  const outputs: Partial<O> = {};
  const done = new Set<string>();
  let failure: GraphResult<O>['failure'];
  const emit = (name: string, status: StageStatus, durationMs?: number, detail?: string) => {
    const r = records.get(name)!;
    r.status = status;
    if (durationMs !== undefined) r.durationMs = durationMs;
    if (detail !== undefined) r.detail = detail;
    opts.bus.emit({ type: 'stage', stage: name, status, ...(durationMs !== undefined ? { durationMs } : {}), ...(r.detail ? { detail: r.detail } : {}) });
  };
  for (const n of names) emit(n, 'pending');

  const running = new Map<string, Promise<void>>();
  const start = (name: keyof O & string) => {
    const node = graph[name];
    const rec = records.get(name)!;
    const ctx: StageContext = {
      stage: name,
      signal: inner.signal,
      bus: opts.bus,
      log: (message, level = 'info') => opts.bus.log(level, redact(message), name),
      command: (cmd) => rec.commands.push(redact(typeof cmd === 'string' ? cmd : formatArgv(cmd))),
      progress: (d, total, unit) => opts.bus.emit({ type: 'progress', stage: name, done: d, total, ...(unit ? { unit } : {}) }),
      detail: (text) => {
        rec.detail = redact(text);
        if (rec.status === 'running') opts.bus.emit({ type: 'stage', stage: name, status: 'running', detail: rec.detail });
      },
    };
    const t0 = Date.now();
    emit(name, 'running');
    const p = (async () => {
      try {
        if (inner.signal.aborted) throw new WorkbenchError('E_ABORTED', 'stopped before it started');
        const out = await node.run(ctx, (d) => outputs[d] as O[typeof d]);
        outputs[name] = out;
        done.add(name);
        emit(name, 'done', Date.now() - t0);
      } catch (e) {
        const err = asWorkbenchError(e);
        const stoppedByAbort = inner.signal.aborted && (isWorkbenchError(err, 'E_ABORTED') || failure !== undefined || opts.signal?.aborted);
        if (stoppedByAbort) {
          rec.error = { code: 'E_ABORTED', message: opts.signal?.aborted ? 'interrupted' : `stopped: stage ${failure?.stage} failed` };
          emit(name, 'skipped', Date.now() - t0, rec.error.message);
        } else {
          rec.error = { code: err.code, message: redact(err.message), ...(err.hint ? { hint: redact(err.hint) } : {}) };
          failure ??= { stage: name, error: err };
          emit(name, 'failed', Date.now() - t0, `${err.code}: ${redact(err.message).split('\n')[0]}`);
          inner.abort(err);
        }
      } finally {
        running.delete(name);
      }
    })();
    running.set(name, p);
  };

  try {
    for (;;) {
      if (!inner.signal.aborted) {
        for (const n of names) {
          const st = records.get(n)!.status;
          if (st === 'pending' && graph[n].deps.every((d) => done.has(d))) start(n);
        }
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
  } finally {
    opts.signal?.removeEventListener('abort', onOuter);
  }
  const interrupted = Boolean(opts.signal?.aborted);
  for (const n of names) {
    const r = records.get(n)!;
    if (r.status === 'pending') {
      emit(n, 'skipped', undefined, interrupted ? 'interrupted' : failure ? `not run: stage ${failure.stage} failed` : 'not run: a dependency did not finish');
    }
  }
  if (!failure && !interrupted && names.some((n) => records.get(n)!.status !== 'done'))
    throw new WorkbenchError('E_PIPELINE', 'stage graph has a dependency cycle: ' + names.filter((n) => records.get(n)!.status !== 'done').join(', '));
  return { outputs, stages: names.map((n) => records.get(n)!), ...(failure ? { failure } : {}), interrupted };
}

/** Exit code a stage failure stands for: the error's own (1 = the patch is at fault, e.g. a compile error), else 2. */
export function failureExitCode(err: WorkbenchError): 1 | 2 {
  return err.exitCode === ExitCode.TestFailures ? 1 : 2;
}
