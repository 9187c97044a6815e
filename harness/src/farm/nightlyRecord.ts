/**
 * The record of a night (`reports/nightly/<id>/nightly.json`, written by
 * farm/nightly.ts, read by the nightly index farm/nightlyIndex.ts) and
 * where nights are kept.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Counts } from '../model/record.ts';
import type { RunDiff } from '../report/diff.ts';

/** Kernel base and series of a run (from its bundle). */
export interface NightlyKernel {
  baseCommit: string;
  /** HEAD of the work tree the modules were built in (the series applied on the base). */
  seriesCommit: string;
  seriesHash: string;
  patches: number;
}

/** One board's result in a night. */
export interface NightlyEntry {
  board: string;
  profile: string;
  /** `lava-run (local)` or the server URL. */
  via: string;
  /** 0 pass, 1 failing vectors, 2 infrastructure (collect's exit code, or 2 when the board could not be run). */
  exitCode: 0 | 1 | 2;
  runId?: string;
  reportDir?: string;
  jobId?: string;
  jobUrl?: string;
  health?: string;
  counts?: Counts;
  kernelRelease?: string;
  /** Absent when the modules were given as files (no series was built). */
  kernel?: NightlyKernel;
  /** The error when the board could not be run or collected. */
  error?: string;
  /** The run this one was diffed against. */
  previous?: { nightlyId: string; runId: string; kernel?: NightlyKernel };
  diff?: RunDiff;
}

/** The night's KCIDB document (`kcidb.json` in the night's folder). */
export interface NightlyKcidb {
  /** File name inside the night's folder. */
  file: 'kcidb.json';
  checkouts: number;
  builds: number;
  tests: number;
  /** The JSON Schema file it was validated against. */
  schema: string;
  /** true: accepted by the schema; false: refused (see errors); null: not validated (no schema file). */
  valid: boolean | null;
  errors: string[];
  /** The POST to the plan's `[kcidb] url`, when there is one: its HTTP status, or the error. */
  submitted?: { url: string; status?: number; error?: string };
}

/** nightly.json. */
export interface NightlyRecord {
  schema: 'vp9-workbench/nightly';
  version: 1;
  nightlyId: string;
  startedAt: string;
  finishedAt: string;
  exitCode: 0 | 1 | 2;
  failOn: 'any' | 'new';
  boards: NightlyEntry[];
  /** Absent in nights written before the KCIDB export. */
  kcidb?: NightlyKcidb;
}

/** Where nights are kept: `<reports>/nightly`. */
export function nightlyRoot(reportsRoot: string): string {
  return join(reportsRoot, 'nightly');
}

/** Earlier nights, newest first (folders whose nightly.json parses; staging folders skipped). */
export function listNights(reportsRoot: string): NightlyRecord[] {
  const root = nightlyRoot(reportsRoot);
  if (!existsSync(root)) return [];
  const out: NightlyRecord[] = [];
  for (const d of readdirSync(root).sort().reverse()) {
    if (d.startsWith('.')) continue;
    try {
      const r = JSON.parse(readFileSync(join(root, d, 'nightly.json'), 'utf8')) as NightlyRecord;
      if (r.schema === 'vp9-workbench/nightly' && r.nightlyId === d) out.push(r);
    } catch {
      // not a night (or unreadable): skipped
    }
  }
  return out;
}
