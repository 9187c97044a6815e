/**
 * Report folders: `reports/<run-id>/{run.json,junit.xml,summary.md,index.html,artifacts/}`.
 *
 * A run writes into a hidden staging folder (`reports/.staging-<run-id>`)
 * from its start (stages drop mismatch images there), and {@link ReportStaging.finalize}
 * writes the four files and renames the folder into place in one step. So a
 * report folder is always whole, a failed or interrupted run never overwrites
 * an earlier report (run ids are unique and the rename refuses an existing
 * target), and a run killed outright leaves only a hidden staging folder.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { WorkbenchError } from '../core/errors.ts';
import { projectRoot } from '../core/paths.ts';
import { RunRecordSchema, RunIdSchema, type RunRecord } from '../model/record.ts';
import { redactDeep } from './summarize.ts';
import { junitXml } from './junit.ts';
import { summaryMarkdown } from './markdown.ts';
import { htmlReport } from './html/page.ts';
import type { RunDiff } from './diff.ts';

/** Where reports go: `WORKBENCH_REPORTS_DIR`, default `<repo>/reports`. */
export function reportsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.WORKBENCH_REPORTS_DIR ? resolve(env.WORKBENCH_REPORTS_DIR) : join(projectRoot(), 'reports');
}

/** File names inside a report folder. */
export const REPORT_FILES = { json: 'run.json', junit: 'junit.xml', markdown: 'summary.md', html: 'index.html' } as const;

/** run.json text: redacted, `$schema` pointing at the checked-in schema, 2-space indent. */
export function runJsonText(r: RunRecord): string {
  const { $schema: _ignored, ...rest } = redactDeep(r);
  return JSON.stringify({ $schema: '../schema/run.schema.json', ...rest }, null, 2) + '\n';
}

/** Turns a vector name into a folder name (letters, digits, dot, dash, underscore). */
export function safeName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return s.slice(0, 120) || '_';
}

/** A report being written. Create with {@link ReportStaging.create}. */
export class ReportStaging {
  private finalized = false;
  private constructor(
    /** Reports root folder. */
    readonly root: string,
    readonly runId: string,
    /** The hidden folder written to until {@link finalize}. */
    readonly dir: string,
  ) {}

  /** Creates `<root>/.staging-<runId>`. @throws E_REPORT_EXISTS when the run id is taken. */
  static create(root: string, runId: string): ReportStaging {
    if (!RunIdSchema.safeParse(runId).success) throw new WorkbenchError('E_REPORT_RUN_ID', `invalid run id ${JSON.stringify(runId)}`);
    if (existsSync(join(root, runId)))
      throw new WorkbenchError('E_REPORT_EXISTS', `report folder ${join(root, runId)} already exists`, { hint: 'run ids are unique; pick another id' });
    const dir = join(root, `.staging-${runId}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return new ReportStaging(root, runId, dir);
  }

  /** Absolute folder for a vector's artifacts (created unless `create` is false); record paths with {@link relativePath}. */
  artifactsDir(vector: string, create = true): string {
    const d = join(this.dir, 'artifacts', safeName(vector));
    if (create) mkdirSync(d, { recursive: true });
    return d;
  }

  /** Path of `abs` relative to the report folder, forward slashes. @throws E_INTERNAL when outside it. */
  relativePath(abs: string): string {
    const rel = relative(this.dir, isAbsolute(abs) ? abs : join(this.dir, abs));
    if (rel.startsWith('..') || isAbsolute(rel)) throw new WorkbenchError('E_INTERNAL', `${abs} is not inside the report folder ${this.dir}`);
    return rel.split(sep).join('/');
  }

  /**
   * Writes run.json, junit.xml, summary.md and index.html, then renames the
   * staging folder to `<root>/<runId>`. Returns the final folder.
   * @throws E_REPORT_EXISTS when the target appeared meanwhile (the staging folder is kept).
   */
  finalize(record: RunRecord, opts: { diff?: RunDiff } = {}): string {
    if (this.finalized) throw new WorkbenchError('E_INTERNAL', `report ${this.runId} already finalized`);
    const r = redactDeep(record);
    writeFileSync(join(this.dir, REPORT_FILES.json), runJsonText(r));
    writeFileSync(join(this.dir, REPORT_FILES.junit), junitXml(r));
    writeFileSync(join(this.dir, REPORT_FILES.markdown), summaryMarkdown(r, opts.diff));
    const readArtifact = (p: string): Buffer | undefined => {
      const abs = resolve(this.dir, p);
      if (!abs.startsWith(this.dir + sep)) return undefined;
      try {
        return readFileSync(abs);
      } catch {
        return undefined;
      }
    };
    writeFileSync(join(this.dir, REPORT_FILES.html), htmlReport(r, { readArtifact, ...(opts.diff ? { diff: opts.diff } : {}) }));
    const final = join(this.root, this.runId);
    if (existsSync(final)) throw new WorkbenchError('E_REPORT_EXISTS', `report folder ${final} already exists; the new report stays in ${this.dir}`);
    renameSync(this.dir, final);
    this.finalized = true;
    return final;
  }

  /** Removes the staging folder (when nothing is worth keeping). */
  discard(): void {
    if (!this.finalized) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Reads and validates a run.json (a run id under `root`, a report folder, or
 * the file itself).
 * @throws E_REPORT_NOT_FOUND, E_REPORT_INVALID (names the file and the field).
 */
export function loadRun(ref: string, root: string = reportsRoot()): RunRecord {
  const candidates = [ref, join(ref, REPORT_FILES.json), join(root, ref, REPORT_FILES.json)];
  const file = candidates.find((p) => existsSync(p) && statSync(p).isFile());
  if (!file)
    throw new WorkbenchError('E_REPORT_NOT_FOUND', `no run.json for ${JSON.stringify(ref)} (looked in ${candidates.join(', ')})`, {
      hint: 'give a run id (see `workbench report list`), a report folder, or a run.json path',
    });
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new WorkbenchError('E_REPORT_INVALID', `${file}: not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const parsed = RunRecordSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new WorkbenchError('E_REPORT_INVALID', `${file}: field ${issue.path.join('.') || '(root)'}: ${issue.message}`, {
      hint: 'the file does not follow reports/schema/run.schema.json (schemaVersion 1); was it written by another workbench version?',
    });
  }
  return parsed.data;
}

/** A report folder found under the root. */
export interface RunEntry {
  runId: string;
  dir: string;
  board: string | undefined;
  startedAt: string;
  status: RunRecord['status'];
  exitCode: number;
}

/** Every valid report under `root`, oldest first (staging and unreadable folders are skipped). */
export function listRuns(root: string = reportsRoot()): RunEntry[] {
  if (!existsSync(root)) return [];
  const out: RunEntry[] = [];
  for (const name of readdirSync(root)) {
    if (name.startsWith('.') || name === 'schema') continue;
    const dir = join(root, name);
    try {
      const r = loadRun(dir, root);
      out.push({ runId: r.runId, dir, board: r.board?.name, startedAt: r.startedAt, status: r.status, exitCode: r.exitCode });
    } catch {
      /* not a report folder */
    }
  }
  return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.runId.localeCompare(b.runId));
}

/** The latest complete run on `board` that started before `before` (ISO time), if any. */
export function findPreviousRun(board: string, before: string, root: string = reportsRoot()): RunRecord | undefined {
  const prev = listRuns(root)
    .filter((e) => e.board === board && e.status === 'complete' && e.startedAt < before)
    .pop();
  return prev ? loadRun(prev.dir, root) : undefined;
}
