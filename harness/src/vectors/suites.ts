import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { stringify } from 'smol-toml';
import { z } from 'zod';
import { loadToml, validate } from '../core/config.ts';
import { WorkbenchError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/cache.ts';
import { projectRoot, cacheRoot } from '../core/paths.ts';
import type { Runner } from '../core/runner.ts';
import { vpxencVersion } from './decoders.ts';
import type { FeatureId } from './features.ts';
import { findGenerated } from './generate/generate.ts';
import { loadRecipes, recipesPath } from './generate/recipes.ts';
import { storedVectorPath } from './store.ts';

/**
 * A vector name: it becomes a file and folder name on the host and on the
 * board (`/tmp/wb-decode/<sha256>/<name>`), so the same safe set as every
 * remote name (target/quote.ts validateName).
 */
const vectorName = z
  .string()
  .regex(
    /^[A-Za-z0-9_+][A-Za-z0-9._+-]{0,127}$/,
    'expected a vector name of letters, digits, . _ + - (at most 128, not starting with . or -; no spaces, slashes, NUL or shell metacharacters)',
  );

/**
 * The vector file inside its download (Fluster `input_file`): a relative
 * path that stays inside the store entry: no leading '/', no '.' or '..'
 * component, letters, digits and . _ + - / only, each component at most 255
 * bytes (NAME_MAX, limits.h).
 */
const inputFile = z
  .string()
  .max(1024, 'expected a path of at most 1024 characters')
  .regex(/^[A-Za-z0-9._+/-]+$/, 'expected a relative path of letters, digits, . _ + - / (no spaces, NUL or shell metacharacters)')
  .refine((p) => !p.startsWith('/') && p.split('/').every((c) => c !== '' && c !== '.' && c !== '..' && c.length <= 255), {
    message: 'expected a relative path inside the download (no leading /, no empty, . or .. component)',
  });

/** Download URL: http(s) only, printable, no whitespace. */
const sourceUrl = z
  .string()
  .max(2048, 'expected a URL of at most 2048 characters')
  .regex(/^https?:\/\/[\x21-\x7e]+$/, 'expected an http(s) URL without spaces or control characters');

/** Pixel format name as Fluster writes it (`yuv420p`, `yuv420p10le`, ...). */
const outputFormat = z.string().regex(/^[a-z0-9_]{0,32}$/, 'expected a pixel format name such as yuv420p');

/** Fluster's suite JSON (test_suites/<codec>/*.json), the fields the workbench uses. */
const flusterSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'expected a suite name of letters, digits, . _ - (it becomes a file name)'),
  codec: z.string().min(1).max(64),
  description: z.string().max(4096).default(''),
  test_vectors: z
    .array(
      z.object({
        name: vectorName,
        source: sourceUrl,
        source_checksum: z.string().regex(/^[0-9a-f]{32}$/, 'an MD5 (32 lower-case hex digits)'),
        input_file: inputFile,
        output_format: outputFormat.min(1),
        result: z.string().regex(/^([0-9a-f]{32})?$/, 'an MD5 (32 lower-case hex digits) or empty'),
      }),
    )
    .min(1),
});

/** Schema of a suite manifest in `vectors/suites/<name>.toml`. */
const manifestSchema = z.strictObject({
  suite: z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/),
    codec: z.string(),
    description: z.string(),
    origin: z.literal('fluster'),
    imported_from: z.string(),
  }),
  vectors: z.array(
    z.strictObject({
      name: vectorName,
      source: sourceUrl,
      source_checksum: z.string().regex(/^[0-9a-f]{32}$/),
      input_file: inputFile,
      output_format: outputFormat,
      result: z.string().regex(/^([0-9a-f]{32})?$/, 'an MD5 (32 lower-case hex digits) or empty'),
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

/**
 * Checks the name of a vector file given by path (e.g. on the command line):
 * its base name becomes a file name on the board, so it must be a safe name
 * (letters, digits, . _ + -, at most 128, not starting with . or -).
 * @returns the base name.
 * @throws WorkbenchError `E_BAD_NAME` naming the file and the field.
 */
export function checkVectorFileName(file: string): string {
  const name = basename(file);
  if (!vectorName.safeParse(name).success || file.includes('\0')) {
    throw new WorkbenchError('E_BAD_NAME', `${JSON.stringify(file.slice(0, 200))}: vector file name: ${JSON.stringify(name.slice(0, 80))} is not a safe name`, {
      hint: 'rename or copy the file to a name of letters, digits, . _ + - only (it becomes a file name on the board); nothing was run',
    });
  }
  return name;
}

/** Names of all suites: imported manifests plus the generated suite. */
export function listSuites(): string[] {
  const dir = suitesDir();
  const fl = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.toml'))
        .map((f) => f.slice(0, -5))
    : [];
  return ['vp9-features', ...fl.sort()];
}

/** Options of {@link loadSuite}. */
export interface LoadSuiteOptions {
  runner: Runner;
  cacheRoot?: string;
  /** Directory of the imported manifests (default {@link suitesDir}). */
  suitesDir?: string;
}

/**
 * Loads a suite by name: `vp9-features` (generated; vector paths are set
 * when `workbench vectors generate` has produced them with the installed
 * vpxenc) or an imported manifest `vectors/suites/<name>.toml` (paths set
 * for vectors already in the store, see `workbench vectors fetch`).
 * @throws WorkbenchError `E_SUITE_UNKNOWN` naming the known suites; `E_CONFIG`
 *   for a bad manifest, naming the file and the key (a vector name or
 *   input_file that is not a safe name, or a path leading outside the store).
 */
export async function loadSuite(name: string, opts: LoadSuiteOptions): Promise<Suite> {
  const root = opts.cacheRoot ?? cacheRoot();
  if (name === 'vp9-features') {
    const rec = loadRecipes(recipesPath(name));
    let encoder: string | null = null;
    try {
      encoder = await vpxencVersion(opts.runner);
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
  const file = join(opts.suitesDir ?? suitesDir(), `${name}.toml`);
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
