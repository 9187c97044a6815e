import { createHash } from 'node:crypto';
import type { RunRecord } from '../model/record.ts';
import type { VerdictResult } from '../model/verdict.ts';
import { lavaName } from './job.ts';

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
