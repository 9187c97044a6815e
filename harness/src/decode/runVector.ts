import { createWriteStream, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { isWorkbenchError } from '../core/errors.ts';
import { formatArgv, type Runner } from '../core/runner.ts';
import { randomBytes } from 'node:crypto';
import { failures, kernelLogSince, MARKER_PREFIX, parseKernelLog, sliceBetween, writeMarker, type KernelLogMarker, type KernelLogSlice } from '../irq/kernelLog.ts';
import { withBoardLock, type BoardLock, type HeldLock } from '../target/boardLock.ts';
import { collectVectorIrq, type InstrumentationState, type VectorIrq } from '../irq/instrumentation.ts';
import type { Artifact, VectorResult } from '../model/record.ts';
import type { Verdict } from '../model/verdict.ts';
import type { Target } from '../target/types.ts';
import type { InspectResult } from '../vectors/inspect.ts';
import type { ReferenceSet } from '../vectors/references.ts';
import { formatMismatch } from './captureFormat.ts';
import { diagnosticLines } from './gstFailure.ts';
import { headerSummary, writeMismatchArtefacts, type MismatchArtefacts } from '../compare/artefacts.ts';
import { FrameComparer, type CompareResult, type ExpectedFrame } from '../compare/frameCompare.ts';
import { frameBytes, type FrameGeometry } from '../compare/geometry.ts';
import { Hashers } from '../compare/hash.ts';
import type { Decoder, DecoderRun, DeviceProof } from './registry.ts';
import { FrameSplitter } from '../compare/splitter.ts';
import { decideVerdict } from '../compare/verdict.ts';
import { checkBitstream, payloadDigest, type BitstreamCheckResult, type ExpectedPayload } from './visl/bitstreamCheck.ts';
import { checkControls, type ControlsCheckResult } from './visl/controlsCheck.ts';
import { VislSession } from './visl/session.ts';
import { vp9FrameEvents } from './visl/vp9FrameTrace.ts';
import { vpxdecFrame } from './vpxdecHost.ts';

import { CRASH_KINDS, toRecordFinding } from '../irq/findings.ts';

/** Inputs of {@link runVector}. */
export interface RunVectorOptions {
  /** The board (kernel log, visl mode); absent for host decoders. */
  target?: Target;
  decoder: Decoder;
  vector: { name: string; suite?: string; features?: string[]; file: string };
  /** Inspector result of the vector (frames in decode order, output geometry). */
  inspect: InspectResult;
  /** libvpx references (pixels mode); null in visl mode or when absent. */
  reference: ReferenceSet | null;
  /** `pixels`: compare with the reference; `visl`: controls + bitstream + frame count, pixels not verified. */
  mode: 'pixels' | 'visl';
  timeoutMs: number;
  /** Folder for mismatch artefacts (PNGs, header summary, trace); none written when absent. */
  artifactsDir?: string;
  /** Maps an artefact path to the report-relative path (default: unchanged). */
  relative?: (abs: string) => string;
  /** Also write the raw decoded stream to this host file. */
  keepRawPath?: string;
  /** Host runner (reference frame for PNGs via vpxdec). */
  runner?: Runner;
  /** Reference pixels of output frame `index` (default: vpxdec on the host). */
  referenceFrame?: (index: number, geometry: FrameGeometry) => Promise<Buffer>;
  /** Extra visl module parameters for this vector (e.g. `visl_transtime_ms`). */
  vislParams?: Record<string, string | number>;
  /** IRQ instrumentation state on the board (per-vector histogram when enabled). */
  irq?: InstrumentationState;
  log?: (msg: string) => void;
  /** Ctrl-C: kills the decoder on the board (the verdict then says timeout/error; the caller stops the run). */
  signal?: AbortSignal;
  /**
   * Hold the board lock (target/boardLock.ts) while
   * the vector runs, so a parallel `workbench deploy` cannot replace or
   * reload modules under it, nor it reload visl under a deploy (default
   * true when there is a target). The caller must not hold that lock itself.
   */
  boardLock?: boolean;
  /** The board lock when the caller holds it already (iterate holds it from its deploy to its last vector). */
  lock?: BoardLock;
}

/** Where one vector's time went, ms (wall clock; phases in the order they ran). */
export interface VectorTimings {
  /** Waiting for and taking the board lock. */
  lock?: number;
  /** visl reload + trace arming + marker (one round trip), or the marker alone. */
  prepare?: number;
  /** Decoder run, upload of a vector not yet on the board included. */
  decode: number;
  /** Trace + dump listing + kernel log (one round trip in visl mode). */
  collect?: number;
  /** Host-side checks, verdict and artefacts after the board work. */
  judge: number;
  total: number;
}

/** Everything {@link runVector} found. */
export interface VectorRunOutcome {
  result: VectorResult;
  verdict: Verdict;
  compare: CompareResult;
  run: DecoderRun;
  controls?: ControlsCheckResult;
  bitstream?: BitstreamCheckResult;
  irq?: VectorIrq;
  kernelLog?: KernelLogSlice;
  artefacts?: MismatchArtefacts;
  /** Notes for the person (lost trace events, transport cross-check...). */
  notes: string[];
  timings: VectorTimings;
}

/** `; frame N (decode order) changes the size 640x360 -> 320x180 on an inter frame` when it does. */
function resizeNote(info: InspectResult, decodeIndex: number): string {
  const decoded = info.frames.filter((f) => !f.header.showExistingFrame);
  const f = decoded[decodeIndex];
  const prev = decoded[decodeIndex - 1];
  if (!f || !prev) return '';
  const h = f.header;
  if (h.width === prev.header.width && h.height === prev.header.height) return '';
  const kind = h.frameType === 'key' ? 'a key frame' : h.intraOnly ? 'an intra-only frame' : 'an inter frame';
  return `; the next frame (decode order ${decodeIndex}) changes the size ${prev.header.width}x${prev.header.height} -> ${h.width}x${h.height} on ${kind}`;
}

/** Reference frames as the comparer wants them (I420 hashes, geometry). */
export function expectedFromReference(ref: ReferenceSet): ExpectedFrame[] {
  return ref.frames.map((f) => {
    const m = /^yuv4(\d\d)p/.exec(f.pixelFormat);
    const sub = m?.[1] === '44' ? [0, 0] : m?.[1] === '22' ? [1, 0] : m?.[1] === '40' ? [0, 1] : [1, 1];
    return {
      geometry: { width: f.width, height: f.height, bitDepth: f.bitDepth, subsamplingX: sub[0] as 0 | 1, subsamplingY: sub[1] as 0 | 1 },
      hashes: { xxh64: f.i420.xxh64, sha256: f.i420.sha256 },
    };
  });
}

/** Output geometry from the inspector, without hashes (visl mode: count and split only). */
export function expectedFromInspect(info: InspectResult): ExpectedFrame[] {
  return info.output.map((o) => ({
    geometry: { width: o.width, height: o.height, bitDepth: o.bitDepth, subsamplingX: o.subsamplingX, subsamplingY: o.subsamplingY },
    hashes: {},
  }));
}

/** SHA-256 of every frame the driver should receive (decode order, show-existing excluded). */
export async function expectedPayloads(file: string, info: InspectResult): Promise<ExpectedPayload[]> {
  const fh = await open(file, 'r');
  try {
    const out: ExpectedPayload[] = [];
    for (const f of info.frames) {
      if (f.header.showExistingFrame) continue;
      const b = Buffer.alloc(f.size);
      await fh.read(b, 0, f.size, f.offset);
      out.push(payloadDigest(f.index, b));
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** A kernel-log marker like irq/kernelLog.ts writeMarker's, for a script that writes it itself. */
function newMarker(label: string): KernelLogMarker {
  const id = randomBytes(6).toString('hex');
  const safe = label.replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, 200);
  return { id, label: safe, text: `${MARKER_PREFIX} ${id} ${safe}` };
}


/**
 * Decodes one vector and judges it: streams the decoder's frames through the
 * splitter and the comparer (nothing kept but the first bad frame), runs the
 * visl checks in visl mode, reads the vector's kernel-log slice (crash
 * findings, IRQ records), decides the verdict (verdict.ts) and writes
 * mismatch artefacts for the first bad frame.
 *
 * @throws WorkbenchError only for infrastructure failures (board unreachable,
 *   visl cannot be reloaded because a previous decoder is stuck); a decoder
 *   failure is a verdict.
 */
export async function runVector(o: RunVectorOptions): Promise<VectorRunOutcome> {
  const started = Date.now();
  if (!o.target || o.boardLock === false) return runVectorLocked(o, started, started);
  const target = o.target;
  return withBoardLock(target, target.name, (lock) => runVectorLocked(o, started, Date.now(), lock), { log: o.log, what: `decode ${o.vector.name}`, ...(o.lock ? { lock: o.lock } : {}) });
}

async function runVectorLocked(o: RunVectorOptions, started: number, locked: number, lock?: HeldLock): Promise<VectorRunOutcome> {
  const holdsLock = lock !== undefined;
  const notes: string[] = [];
  const log = o.log ?? (() => undefined);
  const timings: Partial<VectorTimings> = holdsLock ? { lock: locked - started } : {};
  let t = Date.now();
  const decodedCount = o.inspect.frames.filter((f) => !f.header.showExistingFrame).length;
  let visl: VislSession | undefined;
  let marker: KernelLogMarker | undefined;
  if (o.mode === 'visl') {
    if (!o.target) throw new Error('visl mode needs a target');
    visl = new VislSession(o.target);
    const m = newMarker(`decode ${o.vector.name}`);
    const p = await visl.prepare(decodedCount, o.vislParams, m.text);
    if (p.marked) marker = m;
    log(`visl reloaded (${visl.videoNode}), dumps for ${decodedCount} frames, trace armed${p.marked ? ', kernel-log marker written' : ''}`);
    const bound = (await o.decoder.probe()) as Partial<DeviceProof>;
    if (bound.videoDevice && bound.videoDevice !== visl.videoNode) {
      log(`visl moved from ${bound.videoDevice} to ${visl.videoNode}: probing the decoder again`);
      await o.decoder.refresh?.();
    }
  }
  if (o.target && marker === undefined) marker = await writeMarker(o.target, `decode ${o.vector.name}`);
  if (o.target) timings.prepare = Date.now() - t;
  t = Date.now();
  // host work that does not need the decode: runs while the board decodes
  const payloads = visl ? expectedPayloads(o.vector.file, o.inspect) : undefined;
  payloads?.catch(() => undefined);

  const expected = o.mode === 'pixels' && o.reference ? expectedFromReference(o.reference) : expectedFromInspect(o.inspect);
  const hashers = await Hashers.load();
  const comparer = new FrameComparer(hashers, expected, { comparePixels: o.mode === 'pixels' && !!o.reference });
  const splitter = new FrameSplitter(comparer.geometryOf, comparer);
  let raw: WriteStream | undefined;
  if (o.keepRawPath) raw = createWriteStream(o.keepRawPath);
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
  if (raw) await new Promise<void>((res, rej) => raw!.end((e?: Error | null) => (e ? rej(e) : res())));
  const split = splitter.end();
  const compare = comparer.finish();
  if (run.decoderMd5 && !run.timedOut && run.decoderMd5 !== compare.streamMd5) {
    run.error = `transport check failed: the board's videocodectestsink MD5 ${run.decoderMd5} differs from the received stream's ${compare.streamMd5}`;
  }

  timings.decode = Date.now() - t;
  t = Date.now();

  let controls: ControlsCheckResult | undefined;
  let bitstream: BitstreamCheckResult | undefined;
  let traceText: string | undefined;
  let kernelLogText: string | undefined;
  if (visl) {
    const c = await visl.collect({ kernelLog: !!marker, ...(lock?.remotePath ? { releaseLock: lock.remotePath } : {}) });
    if (c.lockReleased) lock?.releasedRemotely();
    kernelLogText = c.kernelLogText;
    timings.collect = Date.now() - t;
    traceText = c.traceText;
    if (c.trace.entriesWritten !== undefined && c.trace.entriesInBuffer !== undefined && c.trace.entriesWritten > c.trace.entriesInBuffer) {
      notes.push(`trace ring buffer overflowed: ${c.trace.entriesWritten - c.trace.entriesInBuffer} events lost`);
    }
    controls = checkControls(o.inspect.frames, vp9FrameEvents(c.trace.events));
    if (c.dumpsAvailable) bitstream = checkBitstream(await payloads!, c.dumps);
    else notes.push(`visl bitstream dumps unavailable (no ${'/sys/kernel/debug/visl/bitstream'})`);
  }

  // A CAPTURE format that cannot hold the stream (visl: NV12 only, for a 10-bit or 4:4:4 stream).
  const fmt = run.captureFormats?.at(-1);
  const mismatch = fmt ? formatMismatch(fmt, o.inspect) : undefined;
  if (mismatch && !run.notSupported) {
    const drv = run.proof?.driver || 'the driver';
    run.notSupported = `${drv} cannot output this stream: ${mismatch}${run.driverOffers ? `; ${drv} offers ${run.driverOffers}` : ''}`;
  }
  if (run.notSupported && controls && controls.framesTraced < controls.framesExpected) {
    run.notSupported += `; ${controls.framesTraced} of ${controls.framesExpected} frames reached the driver` + resizeNote(o.inspect, controls.framesTraced);
  }

  let slice: KernelLogSlice | undefined;
  let crash: string | undefined;
  let irq: VectorIrq | undefined;
  if (o.target && marker) {
    if (kernelLogText !== undefined) slice = sliceBetween(parseKernelLog(kernelLogText), marker.id);
    else {
      const tk = Date.now();
      slice = await kernelLogSince(o.target, marker);
      timings.collect = (timings.collect ?? 0) + Date.now() - tk;
    }
    if (!slice.markerFound) notes.push('kernel-log marker not found (ring buffer wrapped): the slice is the whole log');
    if (o.mode === 'visl') {
      // Our reload happened before the marker; one inside the slice was someone else's.
      const reload = slice.lines.find((l) => /\bvisl\b.*(Removing visl|Device registered as)/.test(l.text));
      if (reload && !run.error) run.error = `visl was reloaded while this vector decoded (another user of the board?): "${reload.text}"; the controls and bitstream checks cannot be trusted`;
    }
    const c = failures(slice.findings).find((f) => CRASH_KINDS.has(f.kind));
    if (c) crash = `${c.kind}: ${c.line}`;
    if (o.irq?.state === 'enabled') irq = collectVectorIrq(slice.lines.map((l) => l.text));
  }

  const verdict = decideVerdict({
    mode: o.mode,
    exitCode: run.exitCode,
    timedOut: run.timedOut,
    timeoutMs: o.timeoutMs,
    ...(run.notSupported ? { notSupported: run.notSupported } : {}),
    ...(run.error ? { error: run.error } : {}),
    ...(crash ? { crash } : {}),
    compare,
    trailingBytes: split.trailingBytes,
    ...(controls ? { controls } : {}),
    ...(bitstream ? { bitstream } : {}),
    frames: o.inspect.frames,
  });
  if (run.timedOut) {
    const last = diagnosticLines(run.stderrTail).at(-1);
    if (last) notes.push(`decoder's last diagnostic before the kill: ${last}`);
  }
  if (run.timedOut && run.releaseMs !== undefined) notes.push(`decoder killed; the device was released ${run.releaseMs} ms later`);
  for (const t of run.stuckThreads ?? []) notes.push(`stuck in the kernel when killed: ${t}`);
  if (run.releaseError) notes.push(`board not usable: ${run.releaseError}`);

  const rel = o.relative ?? ((p: string) => p);
  const artifacts: Artifact[] = [];
  let artefacts: MismatchArtefacts | undefined;
  let header: string | undefined;
  if (verdict.result === 'fail') {
    const bad = verdict.firstBadFrame;
    const out = o.inspect.output[bad];
    const fi = out ? o.inspect.frames[out.frameIndex] : undefined;
    if (fi) header = headerSummary(fi).join('\n');
    const fm = compare.firstMismatch;
    if (o.artifactsDir && fm && o.mode === 'pixels' && fm.outcome.index === bad && fm.expectedGeometry) {
      let reference: Buffer | undefined;
      let referenceMissing: string | undefined;
      try {
        if (o.referenceFrame) reference = await o.referenceFrame(bad, fm.expectedGeometry);
        else if (o.runner) reference = await vpxdecFrame(o.runner, o.vector.file, bad, expected.map((e) => frameBytes(e.geometry)));
        else referenceMissing = 'no host runner to decode the reference frame';
      } catch (e) {
        referenceMissing = isWorkbenchError(e) ? e.message : String(e);
      }
      artefacts = await writeMismatchArtefacts({
        dir: o.artifactsDir,
        vector: o.vector.name,
        frameIndex: bad,
        geometry: fm.expectedGeometry,
        decoded: fm.produced,
        ...(reference ? { reference } : {}),
        ...(referenceMissing ? { referenceMissing } : {}),
        ...(fi ? { frameInfo: fi } : {}),
        notes: [`${fm.outcome.algo} produced ${fm.outcome.produced} expected ${fm.outcome.expected}`],
      });
      artifacts.push({ kind: 'decoded', path: rel(artefacts.decodedPng), frame: bad });
      if (artefacts.referencePng) artifacts.push({ kind: 'reference', path: rel(artefacts.referencePng), frame: bad });
      if (artefacts.diffPng) artifacts.push({ kind: 'diff', path: rel(artefacts.diffPng), frame: bad, description: 'amplified |decoded - reference|' });
      artifacts.push({ kind: 'header', path: rel(artefacts.summaryTxt), frame: bad });
    }
    if (o.artifactsDir && traceText !== undefined && controls && !controls.pass) {
      const { mkdir, writeFile } = await import('node:fs/promises');
      const { join } = await import('node:path');
      await mkdir(o.artifactsDir, { recursive: true });
      const p = join(o.artifactsDir, 'visl-trace.txt');
      const mism = controls.mismatches.slice(0, 200).map((m) => `decode ${m.decodeIndex} (split ${m.splitIndex}) ${m.field}: expected ${m.expected} got ${m.got}`);
      await writeFile(p, ['# controls mismatches', ...mism, '', '# trace', traceText].join('\n'));
      artifacts.push({ kind: 'log', path: rel(p), description: 'visl trace and control mismatches' });
    }
  }

  const proof = run.proof;
  const result: VectorResult = {
    name: o.vector.name,
    suite: o.vector.suite ?? '',
    features: o.vector.features ?? o.inspect.features,
    verdict,
    md5: { expected: o.reference?.md5 ?? null, actual: o.mode === 'pixels' && !run.timedOut ? compare.streamMd5 : null },
    durationMs: Date.now() - started,
    command: formatArgv(run.argv),
    ...(proof
      ? {
          device: {
            ...(proof.opened.find((d) => d.startsWith('/dev/media')) ? { media: proof.opened.find((d) => d.startsWith('/dev/media'))! } : {}),
            ...(proof.opened.find((d) => d.startsWith('/dev/video')) ? { video: proof.opened.find((d) => d.startsWith('/dev/video'))! } : {}),
            driver: proof.driver,
          },
        }
      : {}),
    ...(header ? { header } : {}),
    ...(irq ? { irq: irq.summary } : {}),
    kernelLog: (slice?.findings ?? []).map((f) => toRecordFinding(f, 'decode', o.vector.name)),
    artifacts,
  };
  const total = Date.now() - started;
  const tm: VectorTimings = { ...timings, decode: timings.decode ?? 0, judge: Math.max(0, total - (timings.lock ?? 0) - (timings.prepare ?? 0) - (timings.decode ?? 0) - (timings.collect ?? 0)), total };
  log(`timing: ${Object.entries(tm).map(([k, v]) => `${k} ${v} ms`).join(', ')}`);
  return {
    timings: tm,
    result,
    verdict,
    compare,
    run,
    ...(controls ? { controls } : {}),
    ...(bitstream ? { bitstream } : {}),
    ...(irq ? { irq } : {}),
    ...(slice ? { kernelLog: slice } : {}),
    ...(artefacts ? { artefacts } : {}),
    notes,
  };
}
