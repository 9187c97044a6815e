import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { loadToml } from '../core/config.ts';
import { WorkbenchError } from '../core/errors.ts';
import { diffRuns, diffText } from '../report/diff.ts';
import { loadRun } from '../report/store.ts';
import { newRunId } from '../report/summarize.ts';
import type { RunRecord } from '../model/record.ts';
import type { Bundle } from './bundle.ts';
import type { CollectResult } from './collect.ts';
import { PROFILES } from './job.ts';
import { listNights, nightlyRoot, type NightlyEntry, type NightlyKcidb, type NightlyKernel, type NightlyRecord } from './nightlyRecord.ts';
import { kcidbFromNight, kcidbSchemaFile, submitKcidb, validateKcidb, type KcidbRun } from './kcidb.ts';
import { writeNightlyIndex } from './nightlyIndex.ts';
import type { Fetch } from './rest.ts';

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
 * - The night's KCIDB v5.3 document (origin `vp9wb`, farm/kcidb.ts) is
 *   validated with ajv against the KCIDB schema, kept as `kcidb.json` in
 *   the night's folder, and POSTed to the plan's `[kcidb] url` when there
 *   is one (only when the schema accepted it).
 * - After the night is in place, the nightly index
 *   `reports/nightly/index.html` (farm/nightlyIndex.ts) is written again
 *   from every night on disk (temp file + rename: a night that failed to
 *   be written leaves the previous index as it was).
 *
 * Exit code ({@link nightlyExitCode}): 2 when a board could not be run or
 * collected or its job was not Complete (infrastructure), or the KCIDB
 * document was refused by the schema or by the endpoint; else 1 when a
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

/** nightly.toml `[kcidb]`: where each night's KCIDB document is POSTed (optional). */
export const NightlyKcidbSchema = z
  .object({
    url: z.url({ protocol: /^https?$/ }).describe('KCIDB submission endpoint, POSTed as JSON with a Bearer token'),
    token_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .default('KCIDB_TOKEN')
      .describe('environment variable holding the KCIDB token'),
  })
  .strict();

/** nightly.toml: `[[board]]` tables and an optional `[kcidb]` table. */
export const NightlyPlanSchema = z.object({ board: z.array(NightlyBoardSchema).min(1), kcidb: NightlyKcidbSchema.optional() }).strict();
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

/** The kernel facts of a bundle, for the night's record. */
export function nightlyKernel(b: Pick<Bundle, 'kernel'>): NightlyKernel | undefined {
  const k = b.kernel;
  return k ? { baseCommit: k.baseCommit, seriesCommit: k.seriesCommit, seriesHash: k.seriesHash, patches: k.patches.length } : undefined;
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
export function nightlyExitCode(entries: readonly NightlyEntry[], failOn: 'any' | 'new', kcidb?: NightlyKcidb): 0 | 1 | 2 {
  if (entries.some((e) => e.exitCode === 2)) return 2;
  if (kcidb && (kcidb.valid === false || kcidb.submitted?.error)) return 2;
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
  const kc = n.kcidb;
  if (kc) {
    out.push('');
    const what = `${kc.checkouts} checkout(s), ${kc.builds} build(s), ${kc.tests} test(s)`;
    out.push(
      kc.valid === true
        ? `KCIDB v5.3: ${kc.file} (${what}) valid against ${kc.schema}`
        : kc.valid === false
          ? `KCIDB v5.3: ${kc.file} (${what}) REFUSED by ${kc.schema}: ${kc.errors.join('; ')}`
          : `KCIDB v5.3: ${kc.file} (${what}) not validated: ${kc.errors.join('; ')}`,
    );
    if (kc.submitted) out.push(`  POST ${kc.submitted.url}: ${kc.submitted.error ?? `HTTP ${kc.submitted.status}`}`);
  }
  return out.join('\n') + '\n';
}

/**
 * Writes the night `<reports>/nightly/<id>/{nightly.json,summary.txt}`
 * through a hidden staging folder renamed into place.
 * @throws WorkbenchError E_REPORT_EXISTS when the folder exists (ids are unique; never overwritten).
 */
export function writeNight(reportsRoot: string, n: NightlyRecord, kcidbDoc?: unknown): string {
  const root = nightlyRoot(reportsRoot);
  const final = join(root, n.nightlyId);
  if (existsSync(final)) throw new WorkbenchError('E_REPORT_EXISTS', `${final} already exists`, { hint: 'nights are never overwritten; run again' });
  const tmp = join(root, `.staging-${n.nightlyId}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'nightly.json'), JSON.stringify(n, null, 2) + '\n');
  writeFileSync(join(tmp, 'summary.txt'), nightlyText(n));
  if (kcidbDoc !== undefined) writeFileSync(join(tmp, 'kcidb.json'), JSON.stringify(kcidbDoc, null, 2) + '\n');
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
  /** The KCIDB schema file (default {@link kcidbSchemaFile}). */
  kcidbSchema?: string;
  /** `fetch` for the KCIDB POST (tests pass their own). */
  fetch?: Fetch;
  env?: NodeJS.ProcessEnv;
}): Promise<{ record: NightlyRecord; dir: string; index: string }> {
  const now = o.now ?? (() => new Date());
  const started = now();
  const nightlyId = newRunId('nightly', started);
  const boards: NightlyEntry[] = [];
  const runs: KcidbRun[] = [];
  for (const b of o.plan.board) {
    o.log?.(`${b.name}: ${b.profile} via ${b.run}`);
    try {
      const r = await o.runBoard(b, nightlyId);
      boards.push(collectedEntry({ board: b, ...r, reportsRoot: o.reportsRoot, nightlyId }));
      runs.push({ record: r.collected.record as RunRecord, ...(r.jobUrl ? { jobUrl: r.jobUrl } : {}) });
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
  const { doc, kcidb } = await nightKcidb(runs, o);
  const record: NightlyRecord = {
    schema: 'vp9-workbench/nightly',
    version: 1,
    nightlyId,
    startedAt: started.toISOString(),
    finishedAt: now().toISOString(),
    exitCode: nightlyExitCode(boards, failOn, kcidb),
    failOn,
    boards,
    kcidb,
  };
  const dir = writeNight(o.reportsRoot, record, doc);
  return { record, dir, index: writeNightlyIndex(o.reportsRoot) };
}

/** The night's KCIDB document, validated, and POSTed when the plan names an endpoint and the schema accepted it. */
async function nightKcidb(
  runs: readonly KcidbRun[],
  o: { plan: NightlyPlan; kcidbSchema?: string; fetch?: Fetch; env?: NodeJS.ProcessEnv; log?: (m: string) => void },
): Promise<{ doc: Record<string, unknown>; kcidb: NightlyKcidb }> {
  const doc = kcidbFromNight(runs);
  const schema = o.kcidbSchema ?? kcidbSchemaFile(o.env);
  // the boards have run: a schema that cannot be read never loses the night
  const v = await validateKcidb(doc, schema).catch((e: Error) => ({ schema, valid: null, errors: [e.message] }));
  const n = (k: string) => (doc[k] as unknown[]).length;
  const kcidb: NightlyKcidb = { file: 'kcidb.json', checkouts: n('checkouts'), builds: n('builds'), tests: n('tests'), ...v };
  o.log?.(`KCIDB v5.3: ${kcidb.tests} test(s), ${v.valid === true ? 'valid' : v.valid === false ? `REFUSED: ${v.errors.join('; ')}` : 'not validated'}`);
  const k = o.plan.kcidb;
  if (k) {
    if (v.valid !== true) kcidb.submitted = { url: k.url, error: 'not submitted: the document was not validated against the schema' };
    else
      try {
        const token = (o.env ?? process.env)[k.token_env];
        if (!token)
          throw new WorkbenchError('E_KCIDB_TOKEN', `the environment variable ${k.token_env} holding the KCIDB token is not set`, {
            hint: `export ${k.token_env}=<token> (never in nightly.toml)`,
          });
        kcidb.submitted = { url: k.url, status: await submitKcidb(k.url, token, doc, o.fetch) };
      } catch (e) {
        const err = e as Error & { code?: string };
        kcidb.submitted = { url: k.url, error: `${err.code ? `${err.code}: ` : ''}${err.message}` };
      }
    o.log?.(`KCIDB POST ${k.url}: ${kcidb.submitted.error ?? `HTTP ${kcidb.submitted.status}`}`);
  }
  return { doc, kcidb };
}
