import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeFileAtomic } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { generateSuite } from '../vectors/index.ts';
import { ensureReferences, type ReferenceOptions, type ReferenceSet } from '../vectors/references.ts';
import { loadSuite, type Suite } from '../vectors/suites.ts';
import { FLUSTER_NAME, FLUSTER_OUTPUT_FORMATS, validateFlusterSuite, type FlusterSuiteJson, type FlusterVectorJson } from './suiteJson.ts';
import type { Runner } from '../core/runner.ts';

/**
 * `workbench vectors export-fluster`: writes a workbench suite as a Fluster
 * test suite, so Fluster (and every decoder it knows) can run it and its
 * results are comparable with the workbench's.
 *
 * Layout of the output directory (Fluster reads a vector from
 * `<resources_dir>/<suite>/<vector>/<input_file>`, `fluster/test.py`):
 * ```
 * DIR/<suite>.json                         the suite (run with -tsd DIR -r DIR)
 * DIR/<suite>/<vector>/<input_file>        the vector files
 * ```
 * `result` is the whole-output MD5 of the workbench's libvpx references
 * ({@link ensureReferences}: all shown frames, planar, visible size, 16-bit
 * LE above 8 bits), i.e. `vpxdec --i420 FILE -o - | md5sum` for 4:2:0
 * vectors; `vpxdec --i420` refuses 4:4:4 (and 4:2:2) streams, for which the
 * result equals `vpxdec --rawvideo FILE -o - | md5sum`.
 */

/** Options of {@link exportFlusterSuite}. */
export interface ExportOptions {
  /**
   * `file-url` (default): `source` is the file:// URL of the exported copy
   * (so `fluster.py download` copies it); `relative`: the bare file name.
   */
  source?: 'file-url' | 'relative';
  /** Generate missing vp9-features vectors first (default true). */
  generate?: boolean;
  /** Runs vpxenc/vpxdec/ffmpeg (generation, references). */
  runner: Runner;
  /** Passed to ensureReferences (cacheRoot, crossCheck, log). */
  references?: Omit<ReferenceOptions, 'runner'>;
  /** Test seams: the suite and the reference function. */
  suite?: Suite;
  ensureReferences?: (path: string, opts: ReferenceOptions) => Promise<ReferenceSet>;
  log?: (m: string) => void;
}

/** One exported vector, with what the CLI prints. */
export interface ExportedVector {
  json: FlusterVectorJson;
  /** Where the copy is. */
  file: string;
  frames: number;
  /** The suite's own `result` when it differs from the libvpx reference (imported Fluster suites). */
  suiteResultDiffers?: string;
  /** ffmpeg's native decoder disagreed with libvpx on this vector (from the references). */
  crossCheckDisagrees?: boolean;
}

/** What {@link exportFlusterSuite} wrote. */
export interface ExportResult {
  jsonPath: string;
  suite: FlusterSuiteJson;
  vectors: ExportedVector[];
  ms: number;
}

/** MD5 (hex) of a file's bytes, streamed: Fluster's `source_checksum`. */
export async function md5File(path: string): Promise<string> {
  const h = createHash('md5');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/**
 * The pixel format every output frame of a reference set has, as a Fluster
 * `output_format`.
 * @throws WorkbenchError `E_FLUSTER_FORMAT` when frames differ in format, the
 *   stream shows no frame, or the format is not one Fluster knows.
 */
export function outputFormatOf(refs: ReferenceSet, vector: string): FlusterVectorJson['output_format'] {
  const formats = [...new Set(refs.frames.map((f) => f.pixelFormat))];
  if (formats.length !== 1) {
    throw new WorkbenchError(
      'E_FLUSTER_FORMAT',
      `${vector}: ${formats.length ? `output frames mix pixel formats ${formats.join(', ')}` : 'libvpx output no frame'}; a Fluster vector has one output_format`,
      {
        hint: 'leave this vector out of the export (it cannot be described to Fluster)',
      },
    );
  }
  const f = formats[0]!;
  if (!(FLUSTER_OUTPUT_FORMATS as readonly string[]).includes(f)) {
    throw new WorkbenchError('E_FLUSTER_FORMAT', `${vector}: output pixel format ${f} is not one of Fluster's output formats`, {
      hint: `known: ${FLUSTER_OUTPUT_FORMATS.join(', ')}`,
    });
  }
  return f as FlusterVectorJson['output_format'];
}

/**
 * Exports suite `name` to `outDir` (see the module comment for the layout).
 * Vectors are copied first (each through a temporary name), the JSON is
 * written last and atomically, so a failed export never leaves a suite JSON
 * that names missing files.
 *
 * @throws WorkbenchError `E_SUITE_UNKNOWN`; `E_VECTOR_MISSING` naming the
 *   vectors not available here (fetch/generate them); `E_FLUSTER_NAME` for a
 *   name Fluster cannot use; `E_FLUSTER_FORMAT`; the references' errors
 *   (`E_REF_DECODE`...); `E_CONFIG` if the result fails the suite schema.
 */
export async function exportFlusterSuite(name: string, outDir: string, opts: ExportOptions): Promise<ExportResult> {
  const started = Date.now();
  const log = opts.log ?? (() => {});
  const refsOf = opts.ensureReferences ?? ensureReferences;
  if (!opts.suite && name === 'vp9-features' && (opts.generate ?? true)) await generateSuite({ log, runner: opts.runner });
  const suite = opts.suite ?? (await loadSuite(name, { runner: opts.runner }));
  if (!FLUSTER_NAME.test(suite.name)) {
    throw new WorkbenchError('E_FLUSTER_NAME', `suite name "${suite.name}" cannot be a Fluster suite name (it becomes a directory)`, {
      hint: 'use letters, digits, ".", "_" and "-" only',
    });
  }
  const missing = suite.vectors.filter((v) => !v.path);
  if (missing.length) {
    throw new WorkbenchError(
      'E_VECTOR_MISSING',
      `${suite.name}: ${missing.length} of ${suite.vectors.length} vectors are not available here: ${missing
        .slice(0, 8)
        .map((v) => v.name)
        .join(', ')}${missing.length > 8 ? ', ...' : ''}`,
      {
        hint: suite.origin === 'generated' ? 'run `workbench vectors generate`' : `run \`workbench vectors fetch ${suite.name}\``,
      },
    );
  }
  const seen = new Map<string, string>();
  for (const v of suite.vectors) {
    for (const [what, n] of [
      ['vector name', v.name],
      ['input file', v.inputFile],
    ] as const) {
      if (!FLUSTER_NAME.test(n)) {
        throw new WorkbenchError('E_FLUSTER_NAME', `${suite.name}: ${what} "${n}" cannot be used by Fluster (it becomes a path component)`, {
          hint: 'use letters, digits, ".", "_" and "-" only',
        });
      }
    }
    const prev = seen.get(v.name.toLowerCase());
    if (prev)
      throw new WorkbenchError('E_FLUSTER_NAME', `${suite.name}: vectors "${prev}" and "${v.name}" differ only in case; Fluster compares names ignoring case`, {
        hint: 'rename one of them',
      });
    seen.set(v.name.toLowerCase(), v.name);
  }

  const root = resolve(outDir);
  const vectors: ExportedVector[] = [];
  for (const v of suite.vectors) {
    const refs = await refsOf(v.path!, { ...(opts.references ?? {}), runner: opts.runner, log });
    const dir = join(root, suite.name, v.name);
    const file = join(dir, v.inputFile);
    await mkdir(dir, { recursive: true });
    const tmp = `${file}.part-${process.pid}`;
    try {
      await copyFile(v.path!, tmp);
      await rename(tmp, file);
    } finally {
      await rm(tmp, { force: true });
    }
    const json: FlusterVectorJson = {
      name: v.name,
      source: opts.source === 'relative' ? v.inputFile : pathToFileURL(file).href,
      source_checksum: await md5File(file),
      input_file: v.inputFile,
      output_format: outputFormatOf(refs, v.name),
      result: refs.md5,
    };
    const e: ExportedVector = { json, file, frames: refs.frames.length };
    if (v.expectedMd5 && v.expectedMd5.toLowerCase() !== refs.md5) e.suiteResultDiffers = v.expectedMd5;
    if (refs.crossCheck && !refs.crossCheck.agreed) e.crossCheckDisagrees = true;
    vectors.push(e);
    log(`export-fluster: ${v.name} ${json.output_format} ${refs.frames.length} frames result ${refs.md5}`);
  }
  const data = validateFlusterSuite(
    {
      name: suite.name,
      codec: 'VP9',
      description: `${suite.description} (exported by \`workbench vectors export-fluster\`; result = MD5 of libvpx's planar output)`,
      test_vectors: vectors.map((v) => v.json),
    },
    `${suite.name}.json`,
  );
  const jsonPath = join(root, `${suite.name}.json`);
  await writeFileAtomic(jsonPath, JSON.stringify(data, null, 4) + '\n');
  return { jsonPath, suite: data, vectors, ms: Date.now() - started };
}
