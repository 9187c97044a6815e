import { existsSync } from 'node:fs';
import { copyFile, mkdir, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  cachedMppRecords,
  diffCaptureText,
  ensureMppRig,
  formatDifference,
  formatReport,
  loadAllowList,
  summarizeCapture,
  type RegDiffReport,
} from '../../registers/index.ts';
import { REGISTER_FRAMES_FILE, type CaptureSummary, type FrameTable, type RegisterFrames } from '../../model/captures.ts';
import type { InspectResult } from '../../vectors/inspect.ts';
import type { CheckJudgement, SessionFacts, VectorCheck, VectorRun } from './check.ts';
import { modelFailuresIn } from '../../registers/modelFailures.ts';

/**
 * The Target side of a board whose profile says `registerCaptures: true`
 * (the simboard: vdpu381-sim's capture file): the host path of the capture
 * file (JSON lines appended per job, registers/capture.ts).
 */
export interface RegisterCaptureTarget {
  registerCaptureFile(): string;
  /** Has the device write the job it still has open (one no interrupt will close), before the capture is read. */
  flushRegisterCapture?(): Promise<void>;
}

/** Asks the target to write its open job; a failure is a note, not an error (the capture is read as it is). */
async function flushCapture(v: VectorRun): Promise<void> {
  const t = v.target as Partial<RegisterCaptureTarget> | undefined;
  try {
    await t?.flushRegisterCapture?.();
  } catch (e) {
    v.notes.push(`register capture not flushed: ${(e as Error).message}`);
  }
}

const NO_CAPTURES = 'the board records no register programming (only boards with register captures, the simboard, do)';

interface State {
  file?: string;
  /** Byte length of the capture before the decode, and its line count (the vector's jobs follow). */
  start?: { bytes: number; lines: number };
  text?: string;
  mpp?: Promise<Awaited<ReturnType<typeof cachedMppRecords>>>;
  report?: RegDiffReport;
  /** Per-frame register tables of the differential (written as registers-frames.json). */
  tables?: FrameTable[];
  captures?: CaptureSummary;
  error?: string;
}

/**
 * The device model keeps every input buffer's bytes once per content in
 * `<capture>.bytes/<sha256>.bin` (vdpu381_sim.c, vdpu381_spool); the check
 * empties it before each vector and keeps the bytes of the buffers whose
 * contents differ from MPP's (full bytes on mismatch).
 */
export const spoolDirOf = (captureFile: string): string => `${captureFile}.bytes`;

/** At most this many differing buffers' bytes are kept per vector. */
const MAX_KEPT_BUFFERS = 16;

/** Removes the spooled buffers (`*.bin`) of earlier vectors; a missing folder is fine. */
async function emptySpool(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.endsWith('.bin')).map((n) => rm(join(dir, n), { force: true })));
}

/**
 * Copies the series' bytes of every buffer whose contents differ from MPP's
 * (at most {@link MAX_KEPT_BUFFERS}) from the spool into
 * `<artifacts>/registers-bytes/frame<F>-reg<R>-<role>.bin`.
 * @returns one line per difference: the file kept, or why not.
 */
async function keepDifferingBytes(v: VectorRun, s: State): Promise<string[]> {
  const diffs = (s.report?.differences ?? []).filter((d) => d.kind === 'content' && d.seriesSha256);
  if (!diffs.length || !s.file || !v.artifactsDir) return [];
  const dir = join(v.artifactsDir, 'registers-bytes');
  await mkdir(dir, { recursive: true });
  const lines: string[] = [];
  for (const d of diffs.slice(0, MAX_KEPT_BUFFERS)) {
    const src = join(spoolDirOf(s.file), `${d.seriesSha256}.bin`);
    const name = `frame${d.frame}-reg${String(d.reg).padStart(3, '0')}-${(d.role ?? d.field).replace(/[^A-Za-z0-9_.-]+/g, '_')}.bin`;
    if (!existsSync(src)) {
      lines.push(`frame ${d.frame} reg${d.reg} ${d.field}: the device model kept no bytes for sha256 ${d.seriesSha256} (spool ${spoolDirOf(s.file)})`);
      continue;
    }
    await copyFile(src, join(dir, name));
    const description = `the series' ${d.role ?? d.field} bytes at decode-order frame ${d.frame} (reg${d.reg}; ${d.seriesValue}, MPP ${d.mppValue})`;
    v.artifacts.push({ kind: 'other', path: v.relative(join(dir, name)), frame: d.frame, description });
    lines.push(`frame ${d.frame} reg${d.reg} ${d.field}: registers-bytes/${name}`);
  }
  if (diffs.length > MAX_KEPT_BUFFERS) lines.push(`(${diffs.length - MAX_KEPT_BUFFERS} more differing buffers; their bytes were not kept)`);
  return lines;
}

/** The vector's capture lines, as the report's download. */
const CAPTURE_FILE = 'registers-capture.jsonl';

const KEY = 'registers';

/** Per board session: why MPP cannot record here (its build failed), checked once in setup. */
const mppUnavailable = new WeakMap<SessionFacts, string>();
const stateOf = (v: VectorRun): State => {
  let s = v.shared.get(KEY) as State | undefined;
  if (!s) v.shared.set(KEY, (s = {}));
  return s;
};

async function readFrom(file: string, from: number): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.alloc(Math.max(0, size - from));
    await fh.read(buf, 0, buf.length, from);
    return buf.toString('utf8');
  } finally {
    await fh.close();
  }
}

/** Output-order index of the first output frame at or after decode-order frame `d` (a hidden frame is seen in the next output). */
function outputIndex(info: InspectResult, d: number): number {
  return info.frames.filter((f) => f.index < d && (f.header.showFrame || f.header.showExistingFrame)).length;
}

/** The check's judgement of a differential (exported for tests). */
export function judgeRegisters(rep: RegDiffReport, info: InspectResult): CheckJudgement {
  const equal = rep.perFrame.filter((f) => f.differences === 0).length;
  const counts = `${rep.fieldsCompared} value fields, ${rep.addressesCompared} address roles, ${rep.contentsCompared} buffer contents`;
  const allowed = rep.allowed.length ? `, ${rep.allowed.length} allowed differences` : '';
  const unused = rep.unusedAllow.length ? `, ${rep.unusedAllow.length} unused allow-list entries` : '';
  if (!rep.differences.length && rep.mppJobs === rep.seriesJobs) {
    return { results: [{ check: 'registers', status: 'pass', detail: `${equal}/${rep.frames} frames equal to MPP (${counts}${allowed}${unused})` }] };
  }
  if (!rep.differences.length) {
    const detail = `the series submitted ${rep.seriesJobs} decode jobs, MPP ${rep.mppJobs}; the first ${rep.frames} are equal`;
    return { results: [{ check: 'registers', status: 'fail', detail }], badFrames: [outputIndex(info, rep.perFrame.at(-1)?.frame ?? 0)] };
  }
  const d = rep.differences[0]!;
  const f = info.frames[d.frame];
  const h = f
    ? ` [frame ${d.frame}: ${f.header.frameType}${f.header.intraOnly ? ' intra-only' : ''}${f.header.showFrame ? '' : ' hidden'} ${f.header.width}x${f.header.height}]`
    : '';
  const detail = `${equal}/${rep.frames} frames equal to MPP; first difference: ${formatDifference(d)}${h}; ${rep.differences.length} differences in ${rep.frames - equal} frames${allowed}${unused}`;
  const bad = [...new Set(rep.differences.map((x) => outputIndex(info, x.frame)))];
  return { results: [{ check: 'registers', status: 'fail', detail }], badFrames: bad };
}

/** Frames the hardware is asked to decode: decode-order frames that are not show_existing_frame (one job each). */
function framesDecoded(info: InspectResult): number {
  return info.frames.filter((f) => !f.header.showExistingFrame).length;
}

/** The capture summary (always, when the capture reads) and the differential against MPP. */
async function judgeDifferential(v: VectorRun, s: State): Promise<CheckJudgement> {
  const fromLine = s.start!.lines + 1;
  try {
    const download = v.artifactsDir ? v.relative(join(v.artifactsDir, CAPTURE_FILE)) : undefined;
    s.captures = summarizeCapture(s.text!, s.file!, fromLine, framesDecoded(v.inspect), download);
  } catch (e) {
    v.notes.push(`register captures not summarized: ${(e as Error).message}`);
  }
  const noMpp = mppUnavailable.get(v.session);
  if (noMpp) return { results: [{ check: 'registers', status: 'not-run', detail: `MPP unavailable on this host: ${noMpp}` }] };
  try {
    const mpp = await (s.mpp ?? cachedMppRecords(v.vector.file, { log: v.log, runner: v.runner }));
    const tables: FrameTable[] = [];
    s.report = await diffCaptureText(mpp.records, s.text!, s.file!, { fromLine, allow: loadAllowList(), log: v.log, tables });
    s.tables = tables;
  } catch (e) {
    s.error = (e as Error).message;
    return { results: [{ check: 'registers', status: 'not-run', detail: `no differential: ${s.error}` }] };
  }
  return judgeRegisters(s.report, v.inspect);
}

/**
 * The series' register programming of every frame against Rockchip MPP's
 * for the same frame (registers/diff.ts), on boards that capture it (see
 * {@link RegisterCaptureTarget}); inert elsewhere, with the reason in the
 * report's "not checked" list. MPP's records come from the cache (recorded
 * once per vector and MPP build, on the host, while the board decodes).
 */
export const registersCheck: VectorCheck = {
  name: 'registers',
  appliesTo: (b) => b.registerCaptures === true,
  absentDetail: { registers: NO_CAPTURES },
  async setup(_target, session, log, runner) {
    // Once per session, before any decode: the MPP build (cached; ~40 min from an empty cache on a loaded host) must not stall a vector.
    try {
      await ensureMppRig({ log: (m) => log(m), runner });
    } catch (e) {
      mppUnavailable.set(session, (e as Error).message);
      log(`registers: MPP unavailable, the check will not run: ${(e as Error).message}`, 'warn');
    }
  },
  async prepare(v) {
    const s = stateOf(v);
    const t = v.target as Partial<RegisterCaptureTarget> | undefined;
    s.file = t?.registerCaptureFile?.();
    if (!s.file) return;
    await flushCapture(v); // a job left open by an earlier decode is not this vector's
    await emptySpool(spoolDirOf(s.file));
    const text = existsSync(s.file) ? await readFrom(s.file, 0) : '';
    s.start = { bytes: Buffer.byteLength(text), lines: text.split('\n').length - 1 };
  },
  background(v) {
    const s = stateOf(v);
    if (mppUnavailable.has(v.session)) return;
    s.mpp = cachedMppRecords(v.vector.file, { log: v.log, runner: v.runner });
    s.mpp.catch(() => undefined); // awaited in judge
  },
  async collect(v) {
    const s = stateOf(v);
    if (s.file) await flushCapture(v); // a job of this decode that no interrupt closed
    if (s.file && s.start && existsSync(s.file) && (await stat(s.file)).size >= s.start.bytes) s.text = await readFrom(s.file, s.start.bytes);
  },
  async judge(v) {
    const s = stateOf(v);
    if (!s.file || s.text === undefined) {
      return { results: [{ check: 'registers', status: 'not-run', detail: s.file ? `no capture file at ${s.file} after the decode` : NO_CAPTURES }] };
    }
    const j = await judgeDifferential(v, s);
    if (s.captures) j.record = { ...j.record, captures: s.captures };
    const mf = modelFailuresIn(s.text);
    if (mf.length) {
      // The simboard's decoding model did not decode every job: the pixels say nothing of the driver (an infrastructure error).
      const said = `the vdpu381 model failed on ${mf.length} job(s); first: job ${mf[0]!.job}: ${mf[0]!.why} (see the model server's log, <state>/simboard/model.log)`;
      v.notes.push(said);
      j.conclusions = [...(j.conclusions ?? []), { kind: 'error', message: said }];
    }
    const faults = s.captures?.faults;
    if (faults?.length) {
      // Say first that the device model was told to fail: the differential and the frame checks read differently then.
      const said = `device model injected ${faults.map((f) => `${f.mode} on frame ${f.frame} (job ${f.job}, STA_INT ${f.status})`).join(', ')}`;
      v.notes.push(said);
      j.results = j.results?.map((r) => ({ ...r, detail: `${said}; ${r.detail ?? ''}` }));
    }
    return j;
  },
  async report(v) {
    const s = stateOf(v);
    if (!v.artifactsDir) return;
    if (s.captures?.download && s.text !== undefined) {
      await mkdir(v.artifactsDir, { recursive: true });
      const file = join(v.artifactsDir, CAPTURE_FILE);
      await writeFile(file, s.text);
      v.artifacts.push({ kind: 'log', path: v.relative(file), description: "the device model's capture lines of this vector (vdpu381_sim.c format 1)" });
    }
    if (!s.report) return;
    await mkdir(v.artifactsDir, { recursive: true });
    if (s.tables) {
      const frames: RegisterFrames = { format: 1, frames: s.tables };
      const file = join(v.artifactsDir, REGISTER_FRAMES_FILE);
      await writeFile(file, JSON.stringify(frames) + '\n');
      v.artifacts.push({ kind: 'other', path: v.relative(file), description: "per-frame register tables: every compared field, the series value and MPP's" });
    }
    const perFrame = s.report.perFrame.map(
      (f) =>
        `frame ${f.frame} (job ${f.job}, ${f.frameKind}${f.showFrame ? '' : ' hidden'} ${f.width}x${f.height}): ${f.fields} fields, ${f.addresses} addresses, ${f.contents} contents; ${f.differences} differences, ${f.allowed} allowed`,
    );
    const kept = await keepDifferingBytes(v, s);
    const txt = join(v.artifactsDir, 'registers-diff.txt');
    await writeFile(
      txt,
      [
        ...formatReport(s.report, loadAllowList(), 1000),
        '',
        '# per frame',
        ...perFrame,
        ...(kept.length ? ['', '# bytes of the differing buffers (the series side)', ...kept] : []),
        '',
      ].join('\n'),
    );
    await writeFile(join(v.artifactsDir, 'registers-diff.json'), JSON.stringify(s.report, null, 2) + '\n');
    v.artifacts.push({ kind: 'log', path: v.relative(txt), description: "per-frame register differential against MPP's vdpu34x VP9 HAL" });
  },
};
