/**
 * The plan stage of iterate: which vectors to decode, made ready on the host
 * (generated and cached by vectors/generate, inspected, libvpx references
 * computed and cached by vectors/references).
 */
import { globMatcher } from '../core/glob.ts';
import { WorkbenchError } from '../core/errors.ts';
import type { Runner } from '../core/runner.ts';
import { generateSuite, type GeneratedVector, loadRecipes } from '../vectors/index.ts';
import { inspectFile } from '../vectors/inspect.ts';
import { checkVectorFileName } from '../vectors/suites.ts';
import { ensureReferences, type ReferenceSet } from '../vectors/references.ts';
import type { StageContext } from './graph.ts';
import type { IterateRequest, PlannedVector, VectorPlan } from './stages.ts';

/** The suite iterate decodes by default. */
export const DEFAULT_SUITE = 'vp9-features';

/**
 * The default quick run (no --suite, no --vectors): six vp9-features vectors
 * with few frames that still cover keyframes, intra-only + show-existing,
 * odd sizes + segmentation, 1080p tiles, loop-filter sharpness + delta-q,
 * and profile 2 superframes; about a minute on the vboard. The whole suite
 * runs with `--suite vp9-features`, any subset with `--vectors GLOB`.
 */
export const QUICK_VECTORS: readonly string[] = [
  'p0-keyframe-only',
  'p0-intra-only',
  'p0-odd-cif-aq-variance',
  'p0-1080p-tiles',
  'p0-lf-sharpness-deltaq',
  'p2-10bit',
];

/**
 * Resolves and prepares the vectors of `req` (with their libvpx references
 * unless `opts.references` is false).
 * @throws WorkbenchError `E_SUITE_UNKNOWN`, `E_NO_VECTORS` (the glob matched
 *   nothing), and the generator's / reference errors.
 */
export async function prepareVectors(ctx: StageContext, req: IterateRequest, runner: Runner, opts: { references?: boolean } = {}): Promise<VectorPlan> {
  const withReferences = opts.references ?? true;
  const suite = req.suite ?? DEFAULT_SUITE;
  if (suite !== DEFAULT_SUITE) {
    throw new WorkbenchError('E_SUITE_UNKNOWN', `suite ${suite} cannot be run by iterate yet (its vector files are not in the vector store)`, {
      hint: `use --suite ${DEFAULT_SUITE} (generated locally), or --vectors GLOB within it`,
    });
  }
  const recipes = loadRecipes();
  let names = recipes.vectors.map((v) => v.name);
  if (req.vectors) {
    const m = globMatcher(req.vectors);
    names = names.filter(m);
    if (!names.length)
      throw new WorkbenchError('E_NO_VECTORS', `--vectors ${req.vectors} matches no vector of ${suite}`, {
        hint: `vectors: ${recipes.vectors.map((v) => v.name).join(', ')}`,
      });
  } else if (!req.suite) {
    const quick = names.filter((n) => QUICK_VECTORS.includes(n));
    // a recipe file without them (renamed vectors): fall back to the whole suite
    if (quick.length) names = quick;
  }
  const gen = await generateSuite({ only: names, runner, log: (m) => ctx.log(m, 'debug') });
  const byName = new Map<string, GeneratedVector>(gen.vectors.map((v) => [v.name, v]));
  const references: ReferenceSet[] = [];
  const vectors: PlannedVector[] = [];
  let i = 0;
  for (const name of names) {
    if (ctx.signal.aborted) throw new WorkbenchError('E_ABORTED', 'interrupted');
    const g = byName.get(name);
    if (!g) throw new WorkbenchError('E_INTERNAL', `generator returned no vector ${name}`);
    ctx.command(g.command);
    const inspect = await inspectFile(g.path);
    const ref = withReferences ? await ensureReferences(g.path, { runner, log: (m) => ctx.log(m, 'debug') }) : null;
    if (ref) {
      references.push(ref);
      ctx.command(ref.command);
    }
    vectors.push({
      name,
      suite,
      features: g.features,
      file: g.path,
      expectedMd5: ref?.md5 ?? null,
      ...(ref ? { frames: ref.frames.length } : {}),
      inspect,
      reference: ref,
    });
    ctx.progress(++i, names.length, 'vectors prepared');
  }
  return {
    suite,
    ...(req.vectors ? { filter: req.vectors } : {}),
    vectors,
    reference: { name: 'libvpx vpxdec', version: references[0]?.decoder ?? 'unknown' },
  };
}

/**
 * Vector files given by path (`workbench decode FILE...`), made ready like
 * the plan stage's: named after the file (a safe name, vectors/suites.ts), inspected, with their libvpx
 * references when `references` is set.
 */
export async function prepareFiles(
  files: readonly string[],
  opts: { runner: Runner; references: boolean; log?: (m: string) => void },
): Promise<PlannedVector[]> {
  const out: PlannedVector[] = [];
  for (const file of files) {
    const inspect = await inspectFile(file);
    const ref = opts.references ? await ensureReferences(file, { runner: opts.runner, ...(opts.log ? { log: opts.log } : {}) }) : null;
    out.push({
      name: checkVectorFileName(file),
      suite: '',
      features: inspect.features,
      file,
      expectedMd5: ref?.md5 ?? null,
      ...(ref ? { frames: ref.frames.length } : {}),
      inspect,
      reference: ref,
    });
  }
  return out;
}
