import { workbenchVersion } from '../core/paths.ts';
import { join } from 'node:path';
import { ExitCode } from '../core/errors.ts';
import { shellQuote } from '../target/quote.ts';
import { frameBytes, geometryOf, type FrameGeometry } from '../compare/layout.ts';
import type { CompareResult, FrameOutcome } from '../compare/frameCompare.ts';
import { verdictFrom, type CheckJudgement } from '../compare/verdict.ts';
import { selectedCaptureFormats } from '../decode/captureFormat.ts';
import { builtinChecks, classifyGstFailure, droppedAtSizeChange, judgeFrameStream, judgePixels, pipelineArgv, type VectorChecks } from '../decode/plugins.ts';
import { diffRuns, type RunDiff } from '../report/diff.ts';
import { RUN_SCHEMA_NAME, RUN_SCHEMA_VERSION, type RunRecord, type StageRecord, type VectorResult } from '../model/record.ts';
import { findPreviousRun, ReportStaging } from '../report/store.ts';
import { countVerdicts, exitCodeFor, newRunId, runChecks } from '../report/summarize.ts';
import { completeChecks, type Check, type Verdict } from '../model/verdict.ts';
import { summarizeIrq } from '../irq/summary.ts';
import type { InspectResult } from '../vectors/inspect.ts';
import type { ReferenceSet } from '../vectors/references.ts';
import type { Bundle, BundleVector } from './bundle.ts';
import { infraCases } from './job.ts';
import {
  jobHealth,
  lavaCases,
  parseDutLines,
  targetLines,
  type DutFacts,
  type DutVector,
  type LavaCase,
  type LavaHealth,
  type LavaLogEntry,
} from './results.ts';

/**
 * `lava collect`: turns a LAVA job's log (lava-run's logs.yaml or a server's
 * job log) into the workbench's run record and its four reports. The
 * analysis is the workbench's own: per-frame SHA-256 printed by the board
 * against the libvpx references, verdicts by decode/verdict.ts (the same
 * rules as `workbench iterate`). LAVA's own test-case results are kept for
 * the record but never decide a verdict, and neither does lava-run's or
 * lavacli's exit code.
 *
 * Exit code: 2 when the job is not Complete (Incomplete, Canceled) or an
 * infrastructure case (modules-install, decoder-probe) failed; else 1 when
 * a vector failed; else 0. A vector the board never reported (the job died
 * mid-suite) is a fail.
 */

/** Where the job ran, for the record. */
export interface JobSource {
  /** LAVA job id. */
  jobId: number | string;
  /** Job page on a server, when there is one. */
  url?: string;
  /** Health reported by the server (wins over the log's). */
  serverHealth?: string;
  /** How the job ran, e.g. `lava-run (local)` or the server URL. */
  via: string;
  /** Commands that reproduce the run (for the report). */
  commands: string[];
}

/** Inputs of {@link collectJob}. */
export interface CollectInput {
  bundle: Bundle;
  /** Folder of the bundle (vectors under artefacts/vectors). */
  bundleDir: string;
  log: readonly LavaLogEntry[];
  source: JobSource;
  /** References per vector name (libvpx, ensureReferences). */
  references: ReadonlyMap<string, ReferenceSet>;
  /** Inspector results per vector name (for the CAPTURE-format check); optional. */
  inspections?: ReadonlyMap<string, InspectResult>;
  /** The workbench command line. */
  command: string;
  /** Reports root (default reports/). */
  reportsRoot: string;
  now?: () => Date;
}

/** What {@link collectJob} returns. */
export interface CollectResult {
  record: RunRecord;
  reportDir: string;
  diff?: RunDiff;
  exitCode: 0 | 1 | 2;
  health: LavaHealth;
  /** LAVA's own case results (for display). */
  lavaCases: LavaCase[];
}

function refGeometry(ref: ReferenceSet, i: number): FrameGeometry | undefined {
  const f = ref.frames[i];
  return f ? (geometryOf(f.pixelFormat, f.width, f.height) ?? undefined) : undefined;
}

/**
 * Compares the frames the board hashed with the references: a frame whose
 * size is not the reference frame's size is a geometry mismatch; in pixels
 * mode a frame whose SHA-256 differs from the reference's I420 SHA-256 is a
 * hash mismatch; frames past the reference are extra; a last frame cut
 * short is trailing bytes. In visl mode frames are only counted.
 */
export function compareFrameHashes(dut: DutVector, ref: ReferenceSet, mode: 'pixels' | 'visl'): { compare: CompareResult; trailingBytes: number } {
  const perFrame: FrameOutcome[] = [];
  let trailingBytes = 0;
  let firstBad: number | undefined;
  const last = ref.frames.length ? refGeometry(ref, ref.frames.length - 1) : undefined;
  for (const f of dut.frames) {
    const g = refGeometry(ref, f.index);
    const expBytes = g ? frameBytes(g) : last ? frameBytes(last) : f.bytes;
    if (f.index === dut.frames.length - 1 && f.bytes < expBytes && g) {
      trailingBytes = f.bytes;
      continue;
    }
    const o: FrameOutcome = { index: f.index, geometry: g ?? last ?? { width: 0, height: 0, bitDepth: 8 } };
    if (!g) {
      o.problem = 'extra';
      o.match = false;
    } else if (f.bytes !== expBytes) {
      o.problem = 'geometry';
      o.match = false;
    } else if (mode === 'pixels') {
      o.algo = 'sha256';
      o.produced = f.sha256;
      o.expected = ref.frames[f.index]!.i420.sha256;
      o.match = o.produced === o.expected;
      if (!o.match) o.problem = 'hash';
    }
    if (o.match === false && firstBad === undefined) firstBad = o.index;
    perFrame.push(o);
  }
  const produced = perFrame.length;
  const missing = Math.max(0, ref.frames.length - produced);
  if (firstBad === undefined && missing > 0) firstBad = produced;
  const compare: CompareResult = {
    framesExpected: ref.frames.length,
    framesProduced: produced,
    mismatchingFrames: perFrame.filter((o) => o.match === false).length + missing,
    missingFrames: missing,
    extraFrames: perFrame.filter((o) => o.problem === 'extra').length,
    pixelsCompared: mode === 'pixels',
    streamMd5: dut.md5 ?? '',
    perFrame,
    ...(firstBad !== undefined ? { firstBadFrame: firstBad } : {}),
  };
  return { compare, trailingBytes };
}

/** The per-vector checks a LAVA job performs itself: the board counts, sizes and (in pixels mode) hashes the frames. */
const RUN_IN_LAVA: ReadonlySet<string> = new Set(['frame-count', 'pixels']);
const NOT_COLLECTED = 'not collected in LAVA jobs';

/** What a bundle's job leaves unchecked, and why: from the checks chosen for its board's profile (decode/checks), as `workbench iterate` records them. */
export interface LavaUnchecked {
  /** Verdict check -> detail, for the checks the job does not fill. */
  absent: Partial<Record<Check, string>>;
  /** Why the run has no IRQ summary. */
  irq: string;
}

/**
 * The checks the bundle's board would get in `workbench iterate`
 * ({@link VectorChecks.forBoard} of its driver): those excluded or not
 * applying keep their reason; those chosen but not run by the LAVA test
 * shell (visl traces, kernel log) are "not collected in LAVA jobs"; pixels
 * are unchecked unless the job ran in pixels mode.
 */
export function lavaUnchecked(b: Pick<Bundle, 'board' | 'driver' | 'mode'>, checks: VectorChecks = builtinChecks()): LavaUnchecked {
  const chosen = checks.forBoard({ name: b.board, driver: b.driver });
  const absent: Partial<Record<Check, string>> = { ...chosen.absent };
  for (const c of chosen.checks) {
    if (RUN_IN_LAVA.has(c.name)) continue;
    for (const k of Object.keys(c.absentDetail ?? {}) as Check[]) absent[k] = NOT_COLLECTED;
  }
  if (b.mode === 'pixels') delete absent.pixels;
  else absent.pixels = chosen.excluded['pixels'] ?? `pixels NOT verified: the job ran in ${b.mode} mode (frames counted, not compared)`;
  return { absent, irq: chosen.excluded['irq'] ?? 'IRQ instrumentation is not collected in LAVA jobs' };
}

/** coreutils `timeout` exits 124 when it killed the command. */
const TIMEOUT_EXIT = 124;

/** The verdict of one vector from what the board printed (decode/verdict.ts rules), or a fail when it printed nothing. */
export function vectorVerdict(
  v: BundleVector,
  dut: DutVector | undefined,
  ref: ReferenceSet,
  facts: DutFacts,
  mode: 'pixels' | 'visl',
  timeoutS: number,
  why: string,
  inspect: InspectResult | undefined,
  unchecked: LavaUnchecked,
): Verdict {
  if (!dut || dut.exitCode === undefined) {
    const errors = dut?.errors.length ? `: ${dut.errors.join('; ')}` : '';
    return {
      result: 'fail',
      checks: completeChecks([{ check: 'frame-count', status: 'fail', detail: `0 frames reported, ${ref.frames.length} expected` }]),
      framesExpected: ref.frames.length,
      framesProduced: 0,
      firstBadFrame: 0,
      mismatchingFrames: Math.max(1, ref.frames.length),
      message: `not decoded: the board never reported ${v.caseName} (${why})${errors}`,
    };
  }
  const { compare, trailingBytes } = compareFrameHashes(dut, ref, mode);
  const timedOut = dut.exitCode === TIMEOUT_EXIT;
  const run: { exitCode: number; timedOut: boolean; notSupported?: string; error?: string } = { exitCode: timedOut ? -1 : dut.exitCode, timedOut };
  if (!timedOut && dut.exitCode !== 0) {
    const el = facts.element
      ? { element: facts.element.element, mediaDevice: facts.element.media, videoDevice: facts.element.video, driver: facts.element.driver }
      : { element: '?', mediaDevice: '', videoDevice: '', driver: '' };
    const c = classifyGstFailure(dut.gst.join('\n'), el);
    if (c.kind === 'not-supported') run.notSupported = c.reason;
    else run.error = c.reason;
  } else if (!timedOut) {
    const dropped = droppedAtSizeChange(dut.gst.join('\n'));
    if (dropped) run.notSupported = dropped;
  }
  // the same judges as decode/checks: the frame stream (count, order, a CAPTURE format that cannot hold the stream) and, when decoded, the pixels
  const decoderRun = {
    argv: [],
    exitCode: run.exitCode,
    timedOut,
    durationMs: 0,
    stderrTail: '',
    captureFormats: selectedCaptureFormats(dut.gst.join('\n')),
    ...(facts.element
      ? {
          proof: {
            element: facts.element.element,
            mediaDevice: facts.element.media,
            videoDevice: facts.element.video,
            driver: facts.element.driver,
            opened: [],
          },
        }
      : {}),
  };
  const judgements: CheckJudgement[] = [judgeFrameStream(compare, trailingBytes, decoderRun, inspect)];
  if (mode === 'pixels') judgements.unshift(judgePixels(compare));
  return verdictFrom({
    run,
    timeoutMs: timeoutS * 1000,
    framesExpected: compare.framesExpected,
    framesProduced: compare.framesProduced,
    judgements,
    absent: unchecked.absent,
  });
}

function msBetween(a?: string, b?: string): number {
  if (!a || !b) return 0;
  const d = Date.parse(b) - Date.parse(a);
  return Number.isFinite(d) && d > 0 ? d : 0;
}

/**
 * Builds the run record and writes the report folder (report/store.ts: all
 * four files, atomically). See the module doc for the exit code.
 */
export async function collectJob(inp: CollectInput): Promise<CollectResult> {
  const now = inp.now ?? (() => new Date());
  const b = inp.bundle;
  const { health, errorType, errorMsg } = jobHealth(inp.log, inp.source.serverHealth);
  const cases = lavaCases(inp.log);
  const lines = targetLines(inp.log);
  const facts = parseDutLines(lines);
  const caseByName = new Map(cases.filter((c) => c.definition !== 'lava').map((c) => [c.case, c]));
  const infraFailed = infraCases(b).filter((n) => caseByName.get(n)?.result !== 'pass');
  const why =
    health !== 'Complete'
      ? `job ${health}${errorType ? ` (${errorType}: ${errorMsg ?? ''})` : ''}`
      : infraFailed.length
        ? `${infraFailed.join(', ')} did not pass`
        : 'the test shell ended early';
  const timeoutS = 300;
  const unchecked = lavaUnchecked(b);
  const vectors: VectorResult[] = [];
  for (const v of b.vectors) {
    const ref = inp.references.get(v.name);
    if (!ref) throw new Error(`internal: no reference for ${v.name}`);
    const dut = facts.vectors.get(v.caseName);
    const verdict = vectorVerdict(v, dut, ref, facts, b.mode, timeoutS, why, inp.inspections?.get(v.name), unchecked);
    const el = facts.element;
    const input = `/tmp/wb-lava/v/${v.file}`;
    vectors.push({
      name: v.name,
      suite: v.suite,
      features: v.features,
      verdict,
      md5: { expected: ref.md5, actual: b.mode === 'pixels' && dut?.exitCode === 0 ? (dut.md5 ?? null) : null },
      durationMs: msBetween(dut?.startedAt, dut?.decodedAt),
      command: pipelineArgv(el?.element ?? 'v4l2slvp9dec', v.demuxer, input, '/tmp/wb-lava/out.yuv')
        .map(shellQuote)
        .join(' '),
      ...(el ? { device: { media: el.media, video: el.video, driver: el.driver } } : {}),
      kernelLog: [],
      artifacts: [],
    });
  }
  const jobComplete = health === 'Complete';
  const exitCode = exitCodeFor({ vectors, infraFailed: !jobComplete || infraFailed.length > 0, patchFailed: false, interrupted: false });
  const startedAt = inp.log[0]?.dt ? new Date(inp.log[0].dt) : now();
  const finishedAt = inp.log.at(-1)?.dt ? new Date(inp.log.at(-1)!.dt) : now();
  const stage: StageRecord = {
    name: 'lava',
    status: jobComplete && !infraFailed.length ? 'done' : 'failed',
    durationMs: Math.max(0, finishedAt.getTime() - startedAt.getTime()),
    detail: `LAVA job ${inp.source.jobId} via ${inp.source.via}: ${health}${inp.source.url ? ` (${inp.source.url})` : ''}; LAVA cases: ${cases
      .filter((c) => c.definition !== 'lava')
      .map((c) => `${c.case}=${c.result}`)
      .join(' ')}`,
    commands: inp.source.commands,
    ...(health !== 'Complete' || infraFailed.length
      ? {
          error: {
            code: health !== 'Complete' ? `E_LAVA_${health.toUpperCase()}` : 'E_LAVA_INFRA',
            message: why,
            hint: 'see the LAVA job log (logs.yaml or the job page)',
          },
        }
      : {}),
  };
  const board = {
    name: b.board,
    kind: b.recordKind,
    kernelRelease: b.kernelRelease,
    device: { driver: facts.element?.driver ?? b.driver, ...(facts.element ? { media: facts.element.media, video: facts.element.video } : {}) },
    pixelsDecoded: b.mode === 'pixels',
  };
  const runId = newRunId(b.board, startedAt);
  const record: RunRecord = {
    schema: RUN_SCHEMA_NAME,
    schemaVersion: RUN_SCHEMA_VERSION,
    runId,
    status: jobComplete && !infraFailed.length ? 'complete' : 'incomplete',
    ...(jobComplete && !infraFailed.length ? {} : { incompleteReason: `LAVA job ${inp.source.jobId}: ${why}` }),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: Math.max(0, finishedAt.getTime() - startedAt.getTime()),
    exitCode,
    command: inp.command,
    workbench: { version: workbenchVersion() },
    ...(b.kernel
      ? {
          kernel: {
            manifest: b.kernel.manifest,
            baseCommit: b.kernel.baseCommit,
            series: { hash: b.kernel.seriesHash, patches: b.kernel.patches },
            modules: b.modules.map((m) => ({ name: m.name, path: m.file, vermagic: m.vermagic, size: m.size, sha256: m.sha256 })),
            diagnostics: b.kernel.diagnostics,
          },
        }
      : {}),
    board,
    deploy: {
      id: `lava-${inp.source.jobId}`,
      replaced: facts.modules === 'installed' ? b.modules.map((m) => m.file) : [],
      loaded: facts.modules === 'installed' ? b.modules.map((m) => m.name) : [],
      durationMs: 0,
    },
    ...(facts.element ? { decoder: { name: 'gstreamer', version: 'unknown', detail: facts.element.element } } : {}),
    ...(b.reference ? { reference: b.reference } : {}),
    suite: { name: b.suite, vectors: b.vectors.map((v) => v.name) },
    stages: [stage],
    checks: runChecks(vectors, board),
    counts: countVerdicts(vectors, b.vectors.length),
    vectors,
    irq: summarizeIrq(
      vectors.map(() => undefined),
      unchecked.irq,
    ),
    kernelLog: [],
  };
  if (unchecked.absent.pixels && !record.checks.notRun.some((n) => n.check === 'pixels'))
    record.checks.notRun.push({ check: 'pixels', reason: unchecked.absent.pixels });
  let previous: RunRecord | undefined;
  try {
    previous = findPreviousRun(b.board, record.startedAt, inp.reportsRoot);
  } catch {
    previous = undefined;
  }
  const diff = previous ? diffRuns(previous, record) : undefined;
  if (previous) record.previousRunId = previous.runId;
  const staging = ReportStaging.create(inp.reportsRoot, runId);
  const reportDir = staging.finalize(record, diff ? { diff } : {});
  return { record, reportDir, ...(diff ? { diff } : {}), exitCode: exitCode === ExitCode.Ok ? 0 : exitCode, health, lavaCases: cases };
}

/** Host path of a bundle vector. */
export function bundleVectorPath(bundleDir: string, v: Pick<BundleVector, 'file'>): string {
  return join(bundleDir, 'artefacts', 'vectors', v.file);
}
