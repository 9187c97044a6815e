import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkEntry, cacheKey, ensureEntry, sha256File } from '../../core/cache.ts';
import { WorkbenchError } from '../../core/errors.ts';
import { requireTools } from '../../core/hostTools.ts';
import { cacheRoot } from '../../core/paths.ts';
import { formatArgv, type Runner } from '../../core/runner.ts';
import { tail } from '../../core/text.ts';
import { vpxencVersion } from '../decoders.ts';
import type { FeatureId } from '../features.ts';
import { inspectFile } from '../inspect.ts';
import { deriveIvf } from './derive.ts';
import { loadRecipes, type SuiteRecipes, type VectorRecipe } from './recipes.ts';
import { SYNTH_VERSION, writeY4m } from './synth.ts';

/** Cache kind of generated vectors. */
export const GENERATED_KIND = 'generated-vectors';
/** Bumped when the generator's handling of a recipe changes. */
const GENERATOR_VERSION = 1;

/** One generated vector. */
export interface GeneratedVector {
  name: string;
  /** Absolute path of the vector file in the cache. */
  path: string;
  container: 'ivf' | 'webm';
  sha256: string;
  bytes: number;
  /** Features the inspector found in the output. */
  features: FeatureId[];
  /** Features the recipe promised (all present, or generation fails). */
  covers: FeatureId[];
  /** vpxenc's VP9 encoder version string. */
  encoder: string;
  /** The vpxenc command line (source and output shown as file names). */
  command: string;
  /** The derivation applied after encoding, if any. */
  derive: VectorRecipe['derive'];
  notes: string;
  /** Time spent producing it (render + encode + derive + inspect), ms; 0 on a cache hit. */
  ms: number;
  /** True when it came from the cache. */
  cached: boolean;
}

/** Options of {@link generateSuite}. */
export interface GenerateOptions {
  recipesFile?: string;
  runner: Runner;
  /** Cache root override (tests). */
  cacheRoot?: string;
  /** Only these vector names. */
  only?: string[];
  force?: boolean;
  log?: (msg: string) => void;
}

/** Result of {@link generateSuite}. */
export interface GenerateResult {
  suite: string;
  encoder: string;
  recipes: SuiteRecipes;
  vectors: GeneratedVector[];
  /** Wall time of the whole call, ms. */
  ms: number;
}

/** The vpxenc argv of a recipe. */
export function vpxencArgv(r: VectorRecipe, src: string, out: string): string[] {
  return ['vpxenc', '--codec=vp9', '-D', '-q', '--disable-warning-prompt', `--${r.container}`, ...r.encoder, '-o', out, src];
}

function cacheInputs(r: VectorRecipe, encoder: string): unknown {
  return {
    generator: GENERATOR_VERSION,
    synth: SYNTH_VERSION,
    encoder,
    recipe: { name: r.name, container: r.container, encoder: r.encoder, derive: r.derive, source: r.source },
  };
}

/**
 * Generates (or finds in the cache) every vector of a generated suite:
 * renders the synthetic source, runs vpxenc, applies the derivation,
 * inspects the output and checks the recipe's `covers` list.
 *
 * @throws WorkbenchError `E_TOOL_MISSING` (vpxenc), `E_CONFIG` (recipes),
 *   `E_ENCODE` when vpxenc fails, `E_RECIPE_COVERAGE` when an output lacks a
 *   promised feature.
 */
export async function generateSuite(opts: GenerateOptions): Promise<GenerateResult> {
  const started = Date.now();
  const runner = opts.runner;
  requireTools(['vpxenc']);
  const recipes = loadRecipes(opts.recipesFile);
  const encoder = await vpxencVersion(runner);
  const wanted = opts.only?.length ? recipes.vectors.filter((v) => opts.only!.includes(v.name)) : recipes.vectors;
  const unknown = (opts.only ?? []).filter((n) => !recipes.vectors.some((v) => v.name === n));
  if (unknown.length) {
    throw new WorkbenchError('E_VECTOR_UNKNOWN', `no recipe named ${unknown.join(', ')} in ${recipes.file}`, {
      hint: `known: ${recipes.vectors.map((v) => v.name).join(', ')}`,
    });
  }
  const work = await mkdtemp(join(tmpdir(), 'workbench-synth-'));
  const sources = new Map<string, Promise<string>>();
  const sourceFor = (r: VectorRecipe) => {
    let p = sources.get(r.sourceName);
    if (!p) {
      const path = join(work, `${r.sourceName}.y4m`);
      p = writeY4m(r.source, path).then(() => path);
      sources.set(r.sourceName, p);
    }
    return p;
  };
  const vectors: GeneratedVector[] = [];
  try {
    for (const r of wanted) vectors.push(await generateOne(r, encoder, runner, sourceFor, opts));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { suite: recipes.name, encoder, recipes, vectors, ms: Date.now() - started };
}

async function generateOne(
  r: VectorRecipe,
  encoder: string,
  runner: Runner,
  sourceFor: (r: VectorRecipe) => Promise<string>,
  opts: GenerateOptions,
): Promise<GeneratedVector> {
  const file = `${r.name}.${r.container}`;
  let built: { ms: number; command: string } | null = null;
  const entry = await ensureEntry(
    GENERATED_KIND,
    cacheInputs(r, encoder),
    async (tmp) => {
      const t0 = Date.now();
      const src = await sourceFor(r);
      const out = join(tmp, r.derive ? `${r.name}.base.ivf` : file);
      const argv = vpxencArgv(r, src, out);
      opts.log?.(`generate ${r.name}: ${formatArgv(argv)}`);
      const res = await runner.run(argv, { cwd: tmp, allowFailure: true, timeoutMs: 1_800_000 });
      if (res.exitCode !== 0) {
        throw new WorkbenchError('E_ENCODE', `vpxenc failed for ${r.name} (exit ${res.exitCode}): ${tail(res.stderr, 3, ' | ')}`, {
          hint: `reproduce with: ${formatArgv(argv)}`,
        });
      }
      if (r.derive) {
        const derived = deriveIvf(new Uint8Array(await readFile(out)), r.derive, r.name);
        await writeFile(join(tmp, file), derived);
        await rm(out);
      }
      const info = await inspectFile(join(tmp, file));
      const missing = r.covers.filter((f) => !info.features.includes(f));
      if (missing.length) {
        throw new WorkbenchError('E_RECIPE_COVERAGE', `${r.name}: the output does not exercise ${missing.join(', ')} (it has: ${info.features.join(', ')})`, {
          hint: 'the encoder behaves differently from when the recipe was written; adjust the recipe in vectors/vp9-features/recipes.toml',
        });
      }
      built = {
        ms: Date.now() - t0,
        command: formatArgv(argv.map((a) => (a === src ? `${r.sourceName}.y4m` : a === out ? (r.derive ? `${r.name}.base.ivf` : file) : a))),
      };
      return { files: [file], extra: { features: info.features, command: built.command, encoder, ms: built.ms } };
    },
    { ...(opts.cacheRoot ? { root: opts.cacheRoot } : {}), ...(opts.log ? { log: opts.log } : {}), force: opts.force ?? false },
  );
  const extra = (entry.meta.extra ?? {}) as { features: FeatureId[]; command: string; ms: number };
  const path = join(entry.dir, file);
  return {
    name: r.name,
    path,
    container: r.container,
    sha256: entry.meta.files?.[file]?.sha256 ?? (await sha256File(path)),
    bytes: (await stat(path)).size,
    features: extra.features,
    covers: r.covers,
    encoder,
    command: extra.command,
    derive: r.derive,
    notes: r.notes,
    ms: entry.hit ? 0 : extra.ms,
    cached: entry.hit,
  };
}

/**
 * Path of an already generated vector in the cache, or null when it has not
 * been generated with this encoder version (does not build anything).
 */
export async function findGenerated(r: VectorRecipe, encoder: string, root = cacheRoot()): Promise<string | null> {
  const key = cacheKey(cacheInputs(r, encoder));
  const dir = join(root, GENERATED_KIND, key);
  const st = await checkEntry(dir, GENERATED_KIND, key, 'size');
  return st.state === 'complete' ? join(dir, `${r.name}.${r.container}`) : null;
}
