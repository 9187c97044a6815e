import { WorkbenchError } from '../core/errors.ts';
import { loadSuite } from './suites.ts';
import { storeVector, type StoreOptions } from './store.ts';
import type { Runner } from '../core/runner.ts';

/** Outcome of fetching one vector. */
export interface FetchOutcome {
  name: string;
  status: 'fetched' | 'cached' | 'not-available' | 'checksum-mismatch' | 'unsafe-archive' | 'failed';
  /** Local path when stored. */
  path: string | null;
  /** Why it is not stored (error message), else ''. */
  detail: string;
}

/** Result of {@link fetchSuite}. */
export interface FetchReport {
  suite: string;
  outcomes: FetchOutcome[];
  /** Counts per status. */
  counts: Record<FetchOutcome['status'], number>;
}

/**
 * Fetches every vector of an imported (Fluster) suite into the store:
 * copies from `opts.mirror` or downloads, verifies `source_checksum` (MD5),
 * extracts archives safely. Every vector gets an outcome: a vector that
 * cannot be had is reported `not-available` with the reason, never
 * skipped silently.
 * @throws WorkbenchError `E_SUITE_UNKNOWN`; `E_SUITE_GENERATED` for
 *   vp9-features (use `workbench vectors generate`).
 */
export async function fetchSuite(name: string, opts: StoreOptions & { runner: Runner; only?: string[]; suitesDir?: string }): Promise<FetchReport> {
  if (name === 'vp9-features') {
    throw new WorkbenchError('E_SUITE_GENERATED', 'vp9-features is generated, not fetched', { hint: 'run `workbench vectors generate`' });
  }
  const suite = await loadSuite(name, {
    runner: opts.runner,
    ...(opts.cacheRoot ? { cacheRoot: opts.cacheRoot } : {}),
    ...(opts.suitesDir ? { suitesDir: opts.suitesDir } : {}),
  });
  const outcomes: FetchOutcome[] = [];
  for (const v of suite.vectors) {
    if (opts.only?.length && !opts.only.includes(v.name)) continue;
    try {
      const r = await storeVector({ name: v.name, url: v.source!, md5: v.sourceChecksum!, inputFile: v.inputFile }, opts);
      outcomes.push({ name: v.name, status: r.cached ? 'cached' : 'fetched', path: r.path, detail: '' });
    } catch (e) {
      if (!(e instanceof WorkbenchError)) throw e;
      const status: FetchOutcome['status'] =
        e.code === 'E_NOT_AVAILABLE'
          ? 'not-available'
          : e.code === 'E_CHECKSUM'
            ? 'checksum-mismatch'
            : e.code === 'E_ARCHIVE_UNSAFE'
              ? 'unsafe-archive'
              : 'failed';
      outcomes.push({ name: v.name, status, path: null, detail: e.message });
      opts.log?.(`${v.name}: ${status}: ${e.message}`);
    }
  }
  const counts = { fetched: 0, cached: 0, 'not-available': 0, 'checksum-mismatch': 0, 'unsafe-archive': 0, failed: 0 };
  for (const o of outcomes) counts[o.status]++;
  return { suite: suite.name, outcomes, counts };
}
