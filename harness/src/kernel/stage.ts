import { ensureToolbox, type Toolbox } from '../toolbox/toolbox.ts';
import { ensureBaseTree, type BaseTree } from './baseTree.ts';
import { buildApplied, type BuildOptions, type BuildResult } from './build.ts';
import { loadSeries, type Series, type SeriesPatch } from './series.ts';
import { applySeries, openWorkTree, type AppliedSeries, type WorkTree } from './workTree.ts';
import type { Runner } from '../core/runner.ts';

/** Options shared by the kernel stage's entry points. */
export interface StageOptions {
  /** Kernel manifest name (default debian-sid-7.2). */
  manifest?: string;
  /** Series: folder, mbox or git range (default `<repo>/patches`). */
  series?: string;
  log?: (m: string) => void;
  cacheRoot?: string;
  /** Runs every process of the stage (default: the real machine's). */
  runner: Runner;
}

/** What every kernel-stage command starts from. */
export interface StageContext {
  tb: Toolbox;
  base: BaseTree;
  series: Series;
  wt: WorkTree;
}

/**
 * Toolbox -> base tree -> series -> locked work tree; runs `fn` and releases
 * the work tree's lock whatever happens.
 */
export async function withStage<T>(opts: StageOptions, fn: (ctx: StageContext) => Promise<T>): Promise<T> {
  const runner = opts.runner;
  const tb = await ensureToolbox({ manifest: opts.manifest, log: opts.log, cacheRoot: opts.cacheRoot, runner });
  const base = await ensureBaseTree(tb, { log: opts.log, cacheRoot: opts.cacheRoot, runner });
  const series = await loadSeries(opts.series, runner);
  const wt = await openWorkTree(base, { log: opts.log, cacheRoot: opts.cacheRoot, runner });
  try {
    return await fn({ tb, base, series, wt });
  } finally {
    await wt.release();
  }
}

/** `workbench series apply`: the applied series. */
export async function seriesApply(opts: StageOptions): Promise<AppliedSeries & { series: Series; base: BaseTree; tree: string }> {
  return withStage(opts, async ({ base, series, wt }) => ({ ...(await applySeries(wt, series, { log: opts.log })), series, base, tree: wt.dir }));
}

/** Result of a bisecting build. */
export interface BisectResult {
  /** Build after each step: index 0 = base, i = after patch i (stops at the first failure). */
  steps: { patch?: SeriesPatch; result: BuildResult }[];
  /** First patch after which the build fails; undefined when all build. `base` when the base itself fails. */
  firstBad?: SeriesPatch | 'base';
}

/** `workbench build`: applies the series and builds (or bisects). */
export async function buildSeries(opts: StageOptions & Omit<BuildOptions, 'log' | 'cacheRoot'>): Promise<BuildResult> {
  return withStage(opts, async ({ tb, series, wt }) => {
    const applied = await applySeries(wt, series, { log: opts.log });
    return buildApplied(tb, wt, applied, { ...opts, log: opts.log, cacheRoot: opts.cacheRoot });
  });
}

/**
 * `workbench build --bisect`: builds the base, then after every patch in
 * order (incrementally, in the same build directory), and names the first
 * patch after which the build fails. The work tree is left with the full
 * series applied when every step builds, else at the first bad patch.
 */
export async function bisectSeries(opts: StageOptions & Omit<BuildOptions, 'log' | 'cacheRoot'>): Promise<BisectResult> {
  return withStage(opts, async ({ tb, series, wt }) => {
    const steps: BisectResult['steps'] = [];
    for (let i = 0; i <= series.patches.length; i++) {
      const patch = i === 0 ? undefined : series.patches[i - 1];
      opts.log?.(i === 0 ? 'bisect: building the base' : `bisect: building after patch ${i}/${series.patches.length}: ${patch!.subject}`);
      const applied = await applySeries(wt, series, { upTo: i, log: opts.log });
      const result = await buildApplied(tb, wt, applied, { ...opts, log: opts.log, cacheRoot: opts.cacheRoot });
      steps.push({ ...(patch ? { patch } : {}), result });
      if (!result.ok) return { steps, firstBad: patch ?? 'base' };
    }
    return { steps };
  });
}
