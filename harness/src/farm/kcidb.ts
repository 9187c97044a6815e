import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { WorkbenchError } from '../core/errors.ts';
import { projectRoot } from '../core/paths.ts';
import type { RunRecord } from '../model/record.ts';
import type { VerdictResult } from '../model/verdict.ts';
import { lavaName } from './job.ts';
import type { Fetch } from './rest.ts';

/**
 * KCIDB I/O v5.3 (KernelCI's common results format, kcidb-io
 * `kcidb_io/schema/v05_03.py`) from a run record: one checkout (the kernel
 * base + the series as a patchset), one build (the modules), one test per
 * vector. Facts of the schema used here: `origin` matches `^[a-z0-9_]+$`;
 * every id is `<origin>:<unique>`; a test `path` is dot-separated parts of
 * `[a-zA-Z0-9_-]`, so vector names go through {@link lavaName} (KernelCI
 * replaces dots with `-` in its Fluster results too); statuses are FAIL,
 * ERROR, MISS, PASS, DONE, SKIP; `patchset_hash` is the SHA-256 over the
 * newline-terminated SHA-256 of each patch in order.
 */

/** Our KCIDB origin. */
export const KCIDB_ORIGIN = 'vp9wb';

/** Root of our tests in the KCIDB test tree. */
export const KCIDB_TEST_ROOT = 'vp9wb.v4l2.gstreamer_vp9';

/** KCIDB status of a workbench verdict: a refused stream is SKIP, a decoder or infrastructure problem ERROR, a wrong or missing frame and a kernel crash FAIL. */
export function kcidbStatus(v: VerdictResult): 'PASS' | 'FAIL' | 'ERROR' | 'SKIP' {
  switch (v) {
    case 'pass':
      return 'PASS';
    case 'fail':
    case 'crash':
      return 'FAIL';
    case 'not-supported':
      return 'SKIP';
    case 'timeout':
    case 'error':
      return 'ERROR';
  }
}

/** `sha256sum *.patch | cut -c-64 | sha256sum` over the patch SHA-256s, in series order. */
export function patchsetHash(patchSha256s: readonly string[]): string {
  return createHash('sha256')
    .update(patchSha256s.map((h) => `${h}\n`).join(''))
    .digest('hex');
}

/** Options of {@link kcidbFromRun}. */
export interface KcidbOptions {
  /** Page of the LAVA job (log_url of the tests). */
  jobUrl?: string;
  /** Build architecture (`arm64`, `x86_64`). */
  architecture?: string;
  /** Tree name (default `rkvdec-vp9`). */
  treeName?: string;
}

/** The KCIDB v5.3 document of one run. */
export function kcidbFromRun(r: RunRecord, o: KcidbOptions = {}): Record<string, unknown> {
  const run = r.runId.replace(/[^A-Za-z0-9_.-]/g, '_');
  const k = r.kernel;
  const checkoutId = `${KCIDB_ORIGIN}:${k ? `${k.series.hash.slice(0, 16)}-${run}` : run}`;
  const buildId = `${KCIDB_ORIGIN}:${run}-modules`;
  const checkout: Record<string, unknown> = {
    id: checkoutId,
    origin: KCIDB_ORIGIN,
    tree_name: o.treeName ?? 'rkvdec-vp9',
    start_time: r.startedAt,
    valid: true,
    ...(k?.baseCommit ? { git_commit_hash: k.baseCommit } : {}),
    ...(k ? { patchset_hash: patchsetHash(k.series.patches.map((p) => p.sha256)) } : {}),
  };
  const build: Record<string, unknown> = {
    id: buildId,
    checkout_id: checkoutId,
    origin: KCIDB_ORIGIN,
    start_time: r.startedAt,
    status: 'PASS',
    ...(o.architecture ? { architecture: o.architecture } : {}),
    ...(k ? { output_files: k.modules.map((m) => ({ name: `${m.name}.ko`, url: `file:///${m.name}.ko` })) } : {}),
    misc: { kernel_release: r.board?.kernelRelease, modules: (k?.modules ?? []).map((m) => ({ name: m.name, sha256: m.sha256 })) },
  };
  const suite = lavaName(r.suite.name).replace(/-/g, '_');
  const tests = r.vectors.map((v) => {
    const verdict = v.verdict;
    return {
      id: `${KCIDB_ORIGIN}:${run}-${lavaName(v.name)}`,
      build_id: buildId,
      origin: KCIDB_ORIGIN,
      path: `${KCIDB_TEST_ROOT}.${suite}.${lavaName(v.name)}`,
      status: kcidbStatus(verdict.result),
      start_time: r.startedAt,
      duration: v.durationMs / 1000,
      environment: {
        comment: `${r.board?.name ?? 'board'} (${r.board?.device.driver ?? '?'})`,
        misc: { board: r.board?.name, driver: r.board?.device.driver, pixels_verified: r.checks.pixelsVerified },
      },
      ...(o.jobUrl ? { log_url: o.jobUrl } : {}),
      ...(verdict.result === 'fail' ? { number: { value: verdict.firstBadFrame, unit: 'frame' } } : {}),
      misc: { verdict: verdict.result, message: verdict.message ?? '', md5: v.md5.actual, md5_expected: v.md5.expected, run_id: r.runId },
    };
  });
  return { version: { major: 5, minor: 3 }, checkouts: [checkout], builds: [build], tests };
}

/** One board's run of a night, as {@link kcidbFromNight} takes it. */
export interface KcidbRun {
  record: RunRecord;
  /** Page of the LAVA job, when the run has one. */
  jobUrl?: string;
}

/**
 * The KCIDB v5.3 document of a night: the documents of its runs
 * ({@link kcidbFromRun}) merged, each checkout, build and test once (their
 * ids embed the run id, so runs never collide).
 */
export function kcidbFromNight(runs: readonly KcidbRun[]): Record<string, unknown> {
  const out = { checkouts: new Map<string, unknown>(), builds: new Map<string, unknown>(), tests: new Map<string, unknown>() };
  for (const r of runs) {
    const doc = kcidbFromRun(r.record, r.jobUrl ? { jobUrl: r.jobUrl } : {}) as Record<'checkouts' | 'builds' | 'tests', { id: string }[]>;
    for (const k of ['checkouts', 'builds', 'tests'] as const) for (const o of doc[k]) if (!out[k].has(o.id)) out[k].set(o.id, o);
  }
  return { version: { major: 5, minor: 3 }, checkouts: [...out.checkouts.values()], builds: [...out.builds.values()], tests: [...out.tests.values()] };
}

/**
 * Where the KCIDB v5.3 JSON Schema is read from: `WORKBENCH_KCIDB_SCHEMA`,
 * else `../shared/reference/kcidb/kcidb-v5.3.schema.json` beside the
 * checkout (kcidb-io's `v05_03.py` exported as draft-07; kcidb is not
 * packaged in Debian and PyPI is not reachable, so ajv validates).
 */
export function kcidbSchemaFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.WORKBENCH_KCIDB_SCHEMA
    ? resolve(env.WORKBENCH_KCIDB_SCHEMA)
    : resolve(projectRoot(), '..', 'shared', 'reference', 'kcidb', 'kcidb-v5.3.schema.json');
}

/** What {@link validateKcidb} found. */
export interface KcidbValidation {
  /** The schema file used. */
  schema: string;
  /** true: the schema accepts the document; false: it refuses it (see errors); null: not validated (no schema file). */
  valid: boolean | null;
  /** ajv's errors as `<instancePath> <message>` (at most 20), or why it was not validated. */
  errors: string[];
}

const validators = new Map<string, (doc: unknown) => { ok: boolean; errors: string[] }>();

/**
 * Validates a KCIDB document with ajv (draft-07, every error, the `uri`,
 * `email` and `date-time` formats of ajv-formats) against the schema file.
 * A missing schema file, or ajv missing (it is a devDependency, installed
 * by `npm ci`), is not an error: the result says `valid: null` and why.
 * @throws WorkbenchError E_KCIDB_SCHEMA when the schema file is not valid JSON or not a schema ajv compiles.
 */
export async function validateKcidb(doc: unknown, schema: string = kcidbSchemaFile()): Promise<KcidbValidation> {
  if (!existsSync(schema)) return { schema, valid: null, errors: [`no schema file at ${schema} (set WORKBENCH_KCIDB_SCHEMA)`] };
  let v = validators.get(schema);
  if (!v) {
    let mods;
    try {
      mods = await Promise.all([import('ajv'), import('ajv-formats')]);
    } catch (e) {
      // ajv is a devDependency: absent after `npm ci --omit=dev`; the night is still written
      return { schema, valid: null, errors: [`ajv cannot be loaded (${(e as Error).message.split('\n')[0]}): run npm ci`] };
    }
    const { Ajv } = mods[0];
    const addFormats = mods[1].default as unknown as (a: InstanceType<typeof Ajv>) => void;
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    let fn;
    try {
      fn = ajv.compile(JSON.parse(readFileSync(schema, 'utf8')) as object);
    } catch (e) {
      throw new WorkbenchError('E_KCIDB_SCHEMA', `${schema}: not a JSON Schema ajv compiles: ${(e as Error).message}`, {
        hint: 'the file should be kcidb-io v05_03 exported as JSON (../shared/reference/kcidb/)',
      });
    }
    v = (d: unknown) => {
      const ok = fn(d);
      return { ok, errors: (fn.errors ?? []).slice(0, 20).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`.trim()) };
    };
    validators.set(schema, v);
  }
  const r = v(doc);
  return { schema, valid: r.ok, errors: r.errors };
}

/**
 * POSTs a KCIDB document as JSON to `url` (a KCIDB REST submission
 * endpoint; kci-dev posts to `<base>/submit`) with `Authorization: Bearer
 * <token>`. The token is never part of an error message.
 * @returns the HTTP status (2xx).
 * @throws WorkbenchError E_KCIDB_SUBMIT when the request fails or the endpoint answers outside 2xx (status and at most 300 characters of its body).
 */
export async function submitKcidb(url: string, token: string, doc: unknown, f: Fetch = fetch as unknown as Fetch): Promise<number> {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new WorkbenchError('E_USAGE', `KCIDB url ${url}: http or https only`);
  const mask = (s: string) => s.slice(0, 300).split(token).join('<token>');
  let r;
  try {
    r = await f(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(doc) });
  } catch (e) {
    throw new WorkbenchError('E_KCIDB_SUBMIT', `POST ${url} failed: ${mask(String((e as Error).message))}`, { hint: 'is the KCIDB endpoint reachable?' });
  }
  const text = await r.text();
  if (r.status < 200 || r.status > 299)
    throw new WorkbenchError('E_KCIDB_SUBMIT', `POST ${url} answered ${r.status}: ${mask(text)}`, {
      hint: r.status === 401 || r.status === 403 ? 'check the KCIDB token' : 'see the endpoint logs',
    });
  return r.status;
}
