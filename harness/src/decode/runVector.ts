import { createWriteStream, type WriteStream } from 'node:fs';
import { formatArgv, type Runner } from '../core/runner.ts';
import { headerSummary } from '../compare/artifacts.ts';
import { FrameComparer, type CompareResult } from '../compare/frameCompare.ts';
import type { FrameGeometry } from '../compare/geometry.ts';
import { Hashers } from '../compare/hash.ts';
import { FrameSplitter } from '../compare/splitter.ts';
import { verdictFrom, type CheckJudgement } from '../compare/verdict.ts';
import type { VectorResult } from '../model/record.ts';
import type { Verdict } from '../model/verdict.ts';
import { withBoardLock, type BoardLock, type HeldLock } from '../target/boardLock.ts';
import type { Target } from '../target/types.ts';
import type { InspectResult } from '../vectors/inspect.ts';
import type { ReferenceSet } from '../vectors/references.ts';
import type { Decoder, DecoderRun } from './backend.ts';
import { diagnosticLines } from './backends/gstFailure.ts';
import type { ChosenChecks, SessionFacts, VectorRun } from './checks/check.ts';
import { expectedFromInspect, expectedFromReference } from './checks/expected.ts';

/** Inputs of {@link runVector}. */
export interface RunVectorOptions {
  /** The board (kernel log, driver checks); absent for host decoders. */
  target?: Target;
  decoder: Decoder;
  vector: { name: string; suite?: string; features?: string[]; file: string };
  /** Inspector result of the vector (frames in decode order, output geometry). */
  inspect: InspectResult;
  /** libvpx references (when a chosen check verifies pixels); null when absent. */
  reference: ReferenceSet | null;
  /** The checks chosen for the board (decode/checks/check.ts VectorChecks.forBoard). */
  checks: ChosenChecks;
  /** Facts of the board session the checks set up (IRQ instrumentation...). */
  session?: SessionFacts;
  timeoutMs: number;
  /** Folder for mismatch artifacts (PNGs, header summary, trace); none written when absent. */
  artifactsDir?: string;
  /** Maps an artifact path to the report-relative path (default: unchanged). */
  relative?: (abs: string) => string;
  /** Also write the raw decoded stream to this host file. */
  keepRawPath?: string;
  /** Host runner (reference frame for PNGs via vpxdec). */
  runner: Runner;
  /** Reference pixels of output frame `index` (default: vpxdec on the host). */
  referenceFrame?: (index: number, geometry: FrameGeometry) => Promise<Buffer>;
  /** Extra module parameters of the driver under test for this vector (e.g. visl's `visl_transtime_ms`). */
  driverParams?: Record<string, string | number>;
  /** visl boards: arm every visl_vp9_controls trace event and write the raw trace to this host file. */
  vislTracePath?: string;
  log?: (msg: string) => void;
  /** Ctrl-C: kills the decoder on the board (the verdict then says timeout/error; the caller stops the run). */
  signal?: AbortSignal;
  /**
   * Hold the board lock (target/boardLock.ts) while the vector runs, so a
   * parallel `workbench deploy` cannot replace or reload modules under it
   * (default true when there is a target).
   */
  boardLock?: boolean;
  /** The board lock when the caller holds it already (iterate holds it from its deploy to its last vector). */
  lock?: BoardLock;
}

/** Where one vector's time went, ms (wall clock; phases in the order they ran). */
export interface VectorTimings {
  /** Waiting for and taking the board lock. */
  lock?: number;
  /** The checks' board work before the decode (visl reload + trace arming + marker, or the marker alone). */
  prepare?: number;
  /** Decoder run, upload of a vector not yet on the board included. */
  decode: number;
  /** The checks' board work after the decode (trace + dumps + kernel log). */
  collect?: number;
  /** Host-side judgements, verdict and artifacts after the board work. */
  judge: number;
  total: number;
}

/** Everything {@link runVector} found. */
export interface VectorRunOutcome {
  result: VectorResult;
  verdict: Verdict;
  compare: CompareResult;
  /** The decoder's own result, as it returned it. */
  run: DecoderRun;
  /** Each chosen check's judgement, by check name. */
  judgements: Map<string, CheckJudgement>;
  /** Data the checks kept (visl controls / bitstream results...), by key. */
  details: ReadonlyMap<string, unknown>;
  /** Notes for the person (lost trace events, transport cross-check...). */
  notes: string[];
  timings: VectorTimings;
}

/**
 * Decodes one vector and judges it: the chosen checks prepare the board,
 * the decoder's frames stream through the compare stage (splitter +
 * comparer, nothing kept but the first bad frame), the checks collect and
 * judge, the verdict is computed from their judgements, and the checks
 * write their artifacts.
 *
 * @throws WorkbenchError only for infrastructure failures (board unreachable,
 *   a driver that cannot be reloaded because a previous decoder is stuck); a
 *   decoder failure is a verdict.
 */
export async function runVector(o: RunVectorOptions): Promise<VectorRunOutcome> {
  const started = Date.now();
  if (!o.target || o.boardLock === false) return runVectorLocked(o, started, started);
  const what = `decode ${o.vector.name}`;
  return withBoardLock(o.target, o.target.name, (lock) => runVectorLocked(o, started, Date.now(), lock), {
    ...(o.log ? { log: o.log } : {}),
    what,
    ...(o.lock ? { lock: o.lock } : {}),
  });
}

async function runVectorLocked(o: RunVectorOptions, started: number, locked: number, lock?: HeldLock): Promise<VectorRunOutcome> {
  const v: VectorRun = {
    ...(o.target ? { target: o.target } : {}),
    decoder: o.decoder,
    vector: o.vector,
    inspect: o.inspect,
    reference: o.reference,
    timeoutMs: o.timeoutMs,
    runner: o.runner,
    ...(o.artifactsDir ? { artifactsDir: o.artifactsDir } : {}),
    relative: o.relative ?? ((p) => p),
    ...(o.referenceFrame ? { referenceFrame: o.referenceFrame } : {}),
    ...(o.driverParams ? { driverParams: o.driverParams } : {}),
    ...(o.vislTracePath ? { vislTracePath: o.vislTracePath } : {}),
    session: o.session ?? {},
    log: o.log ?? (() => undefined),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(lock?.remotePath ? { releaseLock: lock.remotePath } : {}),
    lockReleased: false,
    shared: new Map(),
    notes: [],
    artifacts: [],
    collectMs: 0,
  };
  const checks = o.checks.checks;
  const timings: Partial<VectorTimings> = lock ? { lock: locked - started } : {};
  let t = Date.now();
  for (const c of checks) await c.prepare?.(v);
  if (o.target) timings.prepare = Date.now() - t;
  t = Date.now();
  for (const c of checks) c.background?.(v); // host work that does not need the decode: runs while the board decodes

  const comparePixels = o.checks.verifiesPixels && !!o.reference;
  const expected = comparePixels ? expectedFromReference(o.reference!) : expectedFromInspect(o.inspect);
  const comparer = new FrameComparer(await Hashers.load(), expected, { comparePixels });
  const splitter = new FrameSplitter(comparer.geometryOf, comparer);
  const raw: WriteStream | undefined = o.keepRawPath ? createWriteStream(o.keepRawPath) : undefined;
  const run = await o.decoder.decode({
    vectorPath: o.vector.file,
    vectorName: o.vector.name,
    timeoutMs: o.timeoutMs,
    ...(o.signal ? { signal: o.signal } : {}),
    onFrameBytes: (b) => {
      splitter.push(b);
      raw?.write(b);
    },
  });
  if (raw) await new Promise<void>((res, rej) => raw.end((e?: Error | null) => (e ? rej(e) : res())));
  const split = splitter.end();
  const compare = comparer.finish();
  v.decoded = { run, compare, split };
  timings.decode = Date.now() - t;

  for (const c of checks) await c.collect?.(v);
  if (v.lockReleased) lock?.releasedRemotely();
  if (v.collectMs) timings.collect = v.collectMs;
  const judgements = new Map<string, CheckJudgement>();
  for (const c of checks) judgements.set(c.name, await c.judge(v));
  const verdict = verdictFrom({
    run,
    timeoutMs: o.timeoutMs,
    framesExpected: compare.framesExpected,
    framesProduced: compare.framesProduced,
    judgements: [...judgements.values()],
    absent: o.checks.absent,
  });
  v.notes.push(...decoderNotes(run));
  for (const c of checks) await c.report?.(v, verdict);
  const result = vectorResult(o, v, verdict, [...judgements.values()], Date.now() - started);
  const total = Date.now() - started;
  const tm: VectorTimings = {
    ...timings,
    decode: timings.decode ?? 0,
    judge: Math.max(0, total - (timings.lock ?? 0) - (timings.prepare ?? 0) - (timings.decode ?? 0) - (timings.collect ?? 0)),
    total,
  };
  v.log(
    `timing: ${Object.entries(tm)
      .map(([k, x]) => `${k} ${x} ms`)
      .join(', ')}`,
  );
  return { timings: tm, result, verdict, compare, run, judgements, details: v.shared, notes: v.notes };
}

/** Notes about how the decoder ended (its last words before a kill, a device that stayed busy). */
function decoderNotes(run: DecoderRun): string[] {
  const notes: string[] = [];
  if (run.timedOut) {
    const last = diagnosticLines(run.stderrTail).at(-1);
    if (last) notes.push(`decoder's last diagnostic before the kill: ${last}`);
  }
  if (run.timedOut && run.releaseMs !== undefined) notes.push(`decoder killed; the device was released ${run.releaseMs} ms later`);
  for (const s of run.stuckThreads ?? []) notes.push(`stuck in the kernel when killed: ${s}`);
  if (run.releaseError) notes.push(`board not usable: ${run.releaseError}`);
  return notes;
}

/** The run-record entry of the vector. */
function vectorResult(o: RunVectorOptions, v: VectorRun, verdict: Verdict, judgements: readonly CheckJudgement[], durationMs: number): VectorResult {
  const { run, compare } = v.decoded!;
  let header: string | undefined;
  if (verdict.result === 'fail') {
    const out = o.inspect.output[verdict.firstBadFrame];
    const fi = out ? o.inspect.frames[out.frameIndex] : undefined;
    if (fi) header = headerSummary(fi).join('\n');
  }
  const irq = judgements.find((j) => j.record?.irq)?.record?.irq;
  const captures = judgements.find((j) => j.record?.captures)?.record?.captures;
  const proof = run.proof;
  const media = proof?.opened.find((d) => d.startsWith('/dev/media'));
  const video = proof?.opened.find((d) => d.startsWith('/dev/video'));
  return {
    name: o.vector.name,
    suite: o.vector.suite ?? '',
    features: o.vector.features ?? o.inspect.features,
    verdict,
    md5: { expected: o.reference?.md5 ?? null, actual: o.checks.verifiesPixels && !run.timedOut ? compare.streamMd5 : null },
    durationMs,
    command: formatArgv(run.argv),
    ...(proof ? { device: { ...(media ? { media } : {}), ...(video ? { video } : {}), driver: proof.driver } } : {}),
    ...(header ? { header } : {}),
    ...(irq ? { irq } : {}),
    ...(captures ? { captures } : {}),
    kernelLog: judgements.flatMap((j) => j.record?.kernelLog ?? []),
    artifacts: v.artifacts,
  };
}
