import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { loadToml } from '../core/config.ts';
import { WorkbenchError } from '../core/errors.ts';
import { diffRuns, diffText, type RunDiff } from '../report/diff.ts';
import { loadRun } from '../report/store.ts';
import { newRunId } from '../report/summarize.ts';
import type { Counts } from '../model/record.ts';
import type { Bundle } from './bundle.ts';
import type { CollectResult } from './collect.ts';
import { PROFILES } from './job.ts';

/**
 * `workbench nightly`: the regression for a set of boards, run every night
 * by cron or CI, with a history and a diff per board.
 *
 * - The plan (`nightly.toml`, {@link NightlyPlanSchema}) lists the boards:
 *   each is run with the real lava-run on the vboard (`run = "local"`,
 *   profile `ssh`), or submitted to a LAVA server and collected
 *   (`run = "server"`).
 * - Each board's run is collected into an ordinary report folder
 *   (`reports/<run-id>/`, report/store.ts: written atomically, never
 *   overwritten).
 * - The night itself is one folder `reports/nightly/<nightly-id>/` with
 *   `nightly.json` ({@link NightlyRecord}) and `summary.txt`, written in a
 *   hidden staging folder and renamed into place (a failed night leaves no
 *   half folder and never replaces an earlier one).
 * - Each board is diffed (report/diff.ts, the same diff as `report diff`)
 *   against its run in the latest earlier night that has one: new
 *   failures, fixes, changed first bad frames, changed output hashes,
 *   changed IRQ statuses; the kernel base and series commit of both runs
 *   are printed next to it.
 *
 * Exit code ({@link nightlyExitCode}): 2 when a board could not be run or
 * collected or its job was not Complete (infrastructure); else 1 when a
 * vector failed (`failOn: 'any'`, the default) or a vector newly failed
 * since the previous night (`failOn: 'new'`); else 0.
 */

/** One board of the plan. */
export const NightlyBoardSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash, underscore'),
    profile: z.enum(PROFILES).default('ssh'),
    run: z.enum(['local', 'server']).default('local'),
    vectors: z.string().optional().describe('comma-separated globs over the vp9-features vectors'),
    modules: z.array(z.string()).optional().describe('built .ko files (or folders) instead of building the series'),
    server: z.string().optional().describe('LAVA server base URL (run = "server")'),
    token_env: z.string().default('LAVA_TOKEN').describe('environment variable holding the LAVA API token'),
    url_base: z.string().optional().describe('URL the board downloads the artefacts from (run = "server")'),
    publish: z
      .array(z.string())
      .optional()
      .describe(
        "argv run on the host before submitting, `{artefacts}` replaced by the bundle's artefacts folder (e.g. an rsync to the file server behind url_base)",
      ),
    tags: z.array(z.string()).default([]),
    timeout: z.number().int().positive().default(300).describe('per-vector decode limit, seconds'),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.run === 'server') {
      for (const k of ['server', 'url_base'] as const) if (!b[k]) ctx.addIssue({ code: 'custom', path: [k], message: `required when run = "server"` });
    } else if (b.profile !== 'ssh')
      ctx.addIssue({ code: 'custom', path: ['run'], message: `run = "local" runs ssh jobs on the vboard; ${b.profile} needs run = "server"` });
  });
export type NightlyBoard = z.infer<typeof NightlyBoardSchema>;

/** nightly.toml: `[[board]]` tables. */
export const NightlyPlanSchema = z.object({ board: z.array(NightlyBoardSchema).min(1) }).strict();
export type NightlyPlan = z.infer<typeof NightlyPlanSchema>;

/**
 * Reads a nightly plan.
 * @throws WorkbenchError E_CONFIG naming the file and line (syntax) or the field.
 */
export function loadNightlyPlan(file: string): NightlyPlan {
  const plan = loadToml(file, NightlyPlanSchema);
  const seen = new Set<string>();
  for (const b of plan.board) {
    if (seen.has(b.name)) throw new WorkbenchError('E_CONFIG', `${file}: board ${b.name} is listed twice`, { hint: 'one [[board]] per board name' });
    seen.add(b.name);
  }
  return plan;
}

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
}

/** Where nights are kept: `<reports>/nightly`. */
export function nightlyRoot(reportsRoot: string): string {
  return join(reportsRoot, 'nightly');
}

/** The kernel facts of a bundle, for the night's record. */
export function nightlyKernel(b: Pick<Bundle, 'kernel'>): NightlyKernel | undefined {
  const k = b.kernel;
  return k ? { baseCommit: k.baseCommit, seriesCommit: k.seriesCommit, seriesHash: k.seriesHash, patches: k.patches.length } : undefined;
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

/**
 * The board's run in the latest earlier night that has a report for it
 * (a night where the board could not run is skipped), or undefined.
 */
export function previousNightRun(reportsRoot: string, board: string, beforeId: string): { night: NightlyRecord; entry: NightlyEntry } | undefined {
  for (const night of listNights(reportsRoot)) {
    if (night.nightlyId >= beforeId) continue;
    const entry = night.boards.find((b) => b.board === board && b.runId);
    if (entry?.runId && existsSync(join(reportsRoot, entry.runId, 'run.json'))) return { night, entry };
  }
  return undefined;
}

/** The entry of a board that was run and collected, diffed against the previous night. */
export function collectedEntry(o: {
  board: NightlyBoard;
  via: string;
  collected: Pick<CollectResult, 'record' | 'reportDir' | 'exitCode' | 'health'>;
  bundle: Pick<Bundle, 'kernel' | 'kernelRelease'>;
  jobId?: string;
  jobUrl?: string;
  reportsRoot: string;
  nightlyId: string;
}): NightlyEntry {
  const r = o.collected.record;
  const kernel = nightlyKernel(o.bundle);
  const e: NightlyEntry = {
    board: o.board.name,
    profile: o.board.profile,
    via: o.via,
    exitCode: o.collected.exitCode,
    runId: r.runId,
    reportDir: o.collected.reportDir,
    health: o.collected.health,
    counts: r.counts,
    kernelRelease: o.bundle.kernelRelease,
    ...(kernel ? { kernel } : {}),
    ...(o.jobId !== undefined ? { jobId: o.jobId } : {}),
    ...(o.jobUrl ? { jobUrl: o.jobUrl } : {}),
  };
  const prev = previousNightRun(o.reportsRoot, o.board.name, o.nightlyId);
  if (prev) {
    e.previous = { nightlyId: prev.night.nightlyId, runId: prev.entry.runId!, ...(prev.entry.kernel ? { kernel: prev.entry.kernel } : {}) };
    e.diff = diffRuns(loadRun(prev.entry.runId!, o.reportsRoot), r);
  }
  return e;
}

/** See the module doc. */
export function nightlyExitCode(entries: readonly NightlyEntry[], failOn: 'any' | 'new'): 0 | 1 | 2 {
  if (entries.some((e) => e.exitCode === 2)) return 2;
  if (failOn === 'any') return entries.some((e) => e.exitCode === 1) ? 1 : 0;
  // new: a failing board without a previous night counts as new
  return entries.some((e) => e.exitCode === 1 && (!e.diff || e.diff.newFailures.length > 0)) ? 1 : 0;
}

function kernelText(k: NightlyKernel | undefined): string {
  return k
    ? `base ${k.baseCommit.slice(0, 12)}, series commit ${k.seriesCommit.slice(0, 12)} (${k.patches} patches, series sha256 ${k.seriesHash.slice(0, 12)})`
    : 'modules given as files (no series)';
}

/** The night as text (printed, and summary.txt). */
export function nightlyText(n: NightlyRecord): string {
  const out = [`nightly ${n.nightlyId}: exit code ${n.exitCode} (fail on ${n.failOn})`];
  for (const e of n.boards) {
    out.push('');
    const k = e.counts;
    out.push(
      `${e.board} (${e.profile} via ${e.via}): ${e.error ? `NOT RUN: ${e.error}` : `${e.health ?? '?'}; ${k ? `${k.pass} pass, ${k.fail} fail, ${k.timeout} timeout, ${k.error} error, ${k.crash} crash, ${k['not-supported']} not supported (of ${k.total})` : ''}; exit ${e.exitCode}`}`,
    );
    if (e.runId) out.push(`  run ${e.runId}: ${e.reportDir ?? ''}${e.jobUrl ? ` (${e.jobUrl})` : ''}`);
    out.push(`  kernel ${e.kernelRelease ?? '?'}: ${kernelText(e.kernel)}`);
    if (e.previous) {
      out.push(`  previous ${e.previous.runId} (night ${e.previous.nightlyId}): ${kernelText(e.previous.kernel)}`);
      if (e.diff)
        out.push(
          ...diffText(e.diff)
            .split('\n')
            .map((l) => `  ${l}`),
        );
    } else if (!e.error) out.push('  no earlier night for this board: nothing to compare');
  }
  return out.join('\n') + '\n';
}

/**
 * Writes the night `<reports>/nightly/<id>/{nightly.json,summary.txt}`
 * through a hidden staging folder renamed into place.
 * @throws WorkbenchError E_REPORT_EXISTS when the folder exists (ids are unique; never overwritten).
 */
export function writeNight(reportsRoot: string, n: NightlyRecord): string {
  const root = nightlyRoot(reportsRoot);
  const final = join(root, n.nightlyId);
  if (existsSync(final)) throw new WorkbenchError('E_REPORT_EXISTS', `${final} already exists`, { hint: 'nights are never overwritten; run again' });
  const tmp = join(root, `.staging-${n.nightlyId}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'nightly.json'), JSON.stringify(n, null, 2) + '\n');
  writeFileSync(join(tmp, 'summary.txt'), nightlyText(n));
  renameSync(tmp, final);
  return final;
}

/** How one board is run (the real steps in cli/commands/nightly.ts; tests pass their own). */
export type RunBoard = (
  board: NightlyBoard,
  nightlyId: string,
) => Promise<{
  collected: Pick<CollectResult, 'record' | 'reportDir' | 'exitCode' | 'health'>;
  bundle: Pick<Bundle, 'kernel' | 'kernelRelease'>;
  via: string;
  jobId?: string;
  jobUrl?: string;
}>;

/**
 * Runs a night: every board of the plan in turn (one at a time: boards
 * share the host), each collected and diffed, then the night written.
 * A board that throws is recorded with exit code 2 and the night goes on.
 */
export async function runNight(o: {
  plan: NightlyPlan;
  reportsRoot: string;
  runBoard: RunBoard;
  failOn?: 'any' | 'new';
  now?: () => Date;
  log?: (m: string) => void;
}): Promise<{ record: NightlyRecord; dir: string }> {
  const now = o.now ?? (() => new Date());
  const started = now();
  const nightlyId = newRunId('nightly', started);
  const boards: NightlyEntry[] = [];
  for (const b of o.plan.board) {
    o.log?.(`${b.name}: ${b.profile} via ${b.run}`);
    try {
      const r = await o.runBoard(b, nightlyId);
      boards.push(collectedEntry({ board: b, ...r, reportsRoot: o.reportsRoot, nightlyId }));
    } catch (e) {
      const err = e as Error & { code?: string };
      o.log?.(`${b.name}: ${err.message}`);
      boards.push({
        board: b.name,
        profile: b.profile,
        via: b.run === 'server' ? (b.server ?? '?') : 'lava-run (local)',
        exitCode: 2,
        error: `${err.code ? `${err.code}: ` : ''}${err.message.split('\n')[0]}`,
      });
    }
  }
  const failOn = o.failOn ?? 'any';
  const record: NightlyRecord = {
    schema: 'vp9-workbench/nightly',
    version: 1,
    nightlyId,
    startedAt: started.toISOString(),
    finishedAt: now().toISOString(),
    exitCode: nightlyExitCode(boards, failOn),
    failOn,
    boards,
  };
  return { record, dir: writeNight(o.reportsRoot, record) };
}
