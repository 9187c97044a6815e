import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { stringify } from 'smol-toml';
import { z } from 'zod';
import { loadToml, validate } from '../core/config.ts';
import { WorkbenchError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/cache.ts';
import { projectRoot, cacheRoot } from '../core/paths.ts';
import { ExecaRunner, type Runner } from '../core/runner.ts';
import { vpxencVersion } from './decoders.ts';
import type { FeatureId } from './features.ts';
import { findGenerated } from './generate/generate.ts';
import { loadRecipes, recipesPath } from './generate/recipes.ts';
import { storedVectorPath } from './store.ts';

/** Fluster's suite JSON (test_suites/<codec>/*.json), the fields the workbench uses. */
const flusterSchema = z.object({
  name: z.string().min(1),
  codec: z.string().min(1),
  description: z.string().default(''),
  test_vectors: z
    .array(
      z.object({
        name: z.string().min(1),
        source: z.string().min(1),
        source_checksum: z.string().regex(/^[0-9a-f]{32}$/, 'an MD5 (32 lower-case hex digits)'),
        input_file: z.string().min(1),
        output_format: z.string().min(1),
        result: z.string().regex(/^([0-9a-f]{32})?$/, 'an MD5 (32 lower-case hex digits) or empty'),
      }),
    )
    .min(1),
});

/** Schema of a suite manifest in `vectors/suites/<name>.toml`. */
const manifestSchema = z.strictObject({
  suite: z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
    codec: z.string(),
    description: z.string(),
    origin: z.literal('fluster'),
    imported_from: z.string(),
  }),
  vectors: z.array(
    z.strictObject({
      name: z.string().min(1),
      source: z.string().min(1),
      source_checksum: z.string().regex(/^[0-9a-f]{32}$/),
      input_file: z.string().min(1),
      output_format: z.string(),
      result: z.string(),
    }),
  ),
});

/** A suite manifest as stored in vectors/suites/ (Fluster's data, kept as-is). */
export type SuiteManifest = z.infer<typeof manifestSchema>;

/** One vector of a suite, with where it is on this machine. */
export interface SuiteVector {
  name: string;
  /** File name of the vector (Fluster `input_file`). */
  inputFile: string;
  /** Expected output pixel format (`yuv420p`, `yuv420p10le`...), null when unknown. */
  outputFormat: string | null;
  /** Expected whole-output MD5 (Fluster `result`), null when not known in advance. */
  expectedMd5: string | null;
  /** Download URL and its MD5 (Fluster suites). */
  source: string | null;
  sourceChecksum: string | null;
  /** Local path when the vector is in the store / generated, else null. */
  path: string | null;
  /** Features the vector exercises when known (generated suites). */
  features: FeatureId[] | null;
}

/** A suite: Fluster-imported or generated. */
export interface Suite {
  name: string;
  codec: string;
  description: string;
  origin: 'fluster' | 'generated';
  /** The manifest / recipe file it came from. */
  file: string;
  vectors: SuiteVector[];
}

/** Directory of imported suite manifests. */
export function suitesDir(): string {
  return join(projectRoot(), 'vectors', 'suites');
}

/**
 * Converts a Fluster suite JSON file into a manifest (validated).
 * @throws WorkbenchError `E_CONFIG` naming the file and the bad key.
 */
export function importFlusterJson(file: string): SuiteManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new WorkbenchError('E_CONFIG', `${file}: cannot read Fluster suite JSON: ${(e as Error).message}`, { cause: e });
  }
  const j = validate(raw, file, flusterSchema);
  return {
    suite: { name: j.name, codec: j.codec, description: j.description, origin: 'fluster', imported_from: basename(file) },
    vectors: j.test_vectors.map((v) => ({
      name: v.name,
      source: v.source,
      source_checksum: v.source_checksum,
      input_file: v.input_file,
      output_format: v.output_format,
      result: v.result,
    })),
  };
}

/** Writes a manifest to `dir/<name>.toml` atomically; returns the path. */
export async function writeManifest(m: SuiteManifest, dir = suitesDir()): Promise<string> {
  const path = join(dir, `${m.suite.name}.toml`);
  const head = `# Imported from Fluster's ${m.suite.imported_from} by \`workbench vectors import-fluster\`; do not edit by hand.\n`;
  await writeFileAtomic(path, head + stringify(m) + '\n');
  return path;
}

/** Names of all suites: imported manifests plus the generated suite. */
export function listSuites(): string[] {
  const dir = suitesDir();
  const fl = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.toml')).map((f) => f.slice(0, -5)) : [];
  return ['vp9-features', ...fl.sort()];
}

/** Options of {@link loadSuite}. */
export interface LoadSuiteOptions {
  runner?: Runner;
  cacheRoot?: string;
}

/**
 * Loads a suite by name: `vp9-features` (generated; vector paths are set
 * when `workbench vectors generate` has produced them with the installed
 * vpxenc) or an imported manifest `vectors/suites/<name>.toml` (paths set
 * for vectors already in the store, see `workbench vectors fetch`).
 * @throws WorkbenchError `E_SUITE_UNKNOWN` naming the known suites; `E_CONFIG` for a bad manifest.
 */
export async function loadSuite(name: string, opts: LoadSuiteOptions = {}): Promise<Suite> {
  const root = opts.cacheRoot ?? cacheRoot();
  if (name === 'vp9-features') {
    const rec = loadRecipes(recipesPath(name));
    let encoder: string | null = null;
    try {
      encoder = await vpxencVersion(opts.runner ?? new ExecaRunner());
    } catch {
      encoder = null;
    }
    const vectors: SuiteVector[] = [];
    for (const r of rec.vectors) {
      vectors.push({
        name: r.name,
        inputFile: `${r.name}.${r.container}`,
        outputFormat: null,
        expectedMd5: null,
        source: null,
        sourceChecksum: null,
        path: encoder ? await findGenerated(r, encoder, root) : null,
        features: r.covers,
      });
    }
    return { name: rec.name, codec: 'VP9', description: rec.description, origin: 'generated', file: rec.file, vectors };
  }
  const file = join(suitesDir(), `${name}.toml`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || !existsSync(file)) {
    throw new WorkbenchError('E_SUITE_UNKNOWN', `no suite named ${name}`, { hint: `known suites: ${listSuites().join(', ')}` });
  }
  const m = loadToml(file, manifestSchema);
  const vectors: SuiteVector[] = [];
  for (const v of m.vectors) {
    vectors.push({
      name: v.name,
      inputFile: v.input_file,
      outputFormat: v.output_format,
      expectedMd5: v.result || null,
      source: v.source,
      sourceChecksum: v.source_checksum,
      path: await storedVectorPath(v.source_checksum, v.input_file, root),
      features: null,
    });
  }
  return { name: m.suite.name, codec: m.suite.codec, description: m.suite.description, origin: 'fluster', file, vectors };
}
