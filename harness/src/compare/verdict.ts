import { completeChecks, type CheckResult, type Verdict } from '../model/verdict.ts';
import type { FrameInfo } from '../vectors/inspect.ts';
import type { CompareResult } from './frameCompare.ts';
import type { BitstreamCheckResult } from '../decode/visl/bitstreamCheck.ts';
import type { ControlsCheckResult } from '../decode/visl/controlsCheck.ts';

/** Everything the decode of one vector produced, as the verdict needs it. */
export interface DecodeFacts {
  /** `pixels`: frames compared with the libvpx reference; `visl`: controls + bitstream + count, no pixels. */
  mode: 'pixels' | 'visl';
  /** Remote decoder exit code (-1 when killed). */
  exitCode: number;
  timedOut: boolean;
  timeoutMs: number;
  /** Set when the driver/decoder refused the stream, with the driver's reason. */
  notSupported?: string;
  /** Set when the decode failed for another reason (decoder error, transport). */
  error?: string;
  /** First line of an oops/BUG/watchdog in the vector's kernel-log slice. */
  crash?: string;
  compare: CompareResult;
  /** Bytes after the last complete frame. */
  trailingBytes: number;
  controls?: ControlsCheckResult;
  bitstream?: BitstreamCheckResult;
  /** Inspector frames (decode order) to map decode-order problems to output frames. */
  frames?: readonly Pick<FrameInfo, 'index' | 'header' | 'outputIndex'>[];
}

/** Detail line stating that pixels were not verified (visl draws a test pattern). */
export const PIXELS_NOT_VERIFIED = 'pixels NOT verified: visl does not decode, it draws a test pattern into CAPTURE buffers';

/**
 * Output-order index of the first output frame that depends on decode-order
 * frame `decodeIndex` of the frames the driver received (show-existing frames
 * excluded): the frame's own output index when it is shown, else the next
 * shown frame in decode order (a hidden frame shows up through later frames).
 */
export function outputIndexForDecoded(frames: DecodeFacts['frames'], decodeIndex: number): number | undefined {
  if (!frames) return undefined;
  let di = -1;
  let found = false;
  for (const f of frames) {
    if (!found && !f.header.showExistingFrame) {
      di++;
      if (di === decodeIndex) found = true;
    }
    if (found && f.outputIndex !== null) return f.outputIndex;
  }
  return undefined;
}

function pixelsCheck(f: DecodeFacts): CheckResult {
  if (f.mode === 'visl') return { check: 'pixels', status: 'not-run', detail: PIXELS_NOT_VERIFIED };
  const c = f.compare;
  if (!c.pixelsCompared) return { check: 'pixels', status: 'not-run', detail: 'the reference has no per-frame hashes for this vector' };
  const bad = c.perFrame.filter((o) => o.problem === 'hash').length;
  if (bad === 0) return { check: 'pixels', status: 'pass', detail: `${c.perFrame.filter((o) => o.match).length} frames identical to the reference` };
  const fm = c.firstMismatch?.outcome;
  return {
    check: 'pixels',
    status: 'fail',
    detail: `${bad} frames differ; first frame ${fm?.index}: ${fm?.algo} ${fm?.produced} expected ${fm?.expected}`,
  };
}

function countCheck(f: DecodeFacts): CheckResult {
  const c = f.compare;
  const parts: string[] = [];
  if (c.framesProduced !== c.framesExpected) parts.push(`${c.framesProduced} frames produced, ${c.framesExpected} expected`);
  if (f.trailingBytes > 0) parts.push(`${f.trailingBytes} bytes after the last complete frame`);
  if (parts.length) return { check: 'frame-count', status: 'fail', detail: parts.join('; ') };
  const order = f.bitstream?.pass ? '; decode order confirmed by the bitstream dump sequence' : '';
  return { check: 'frame-count', status: 'pass', detail: `${c.framesProduced} frames${order}` };
}

function controlsCheck(f: DecodeFacts): CheckResult {
  const c = f.controls;
  if (!c) return { check: 'controls', status: 'not-run', detail: f.mode === 'visl' ? 'no trace collected' : 'visl mode only' };
  if (c.pass) {
    return { check: 'controls', status: 'pass', detail: `${c.framesCompared} v4l2_ctrl_vp9_frame records, ${c.fieldsCompared} fields equal the inspector; not compared: ${c.notCompared.join('; ')}` };
  }
  const m = c.mismatches[0];
  const count = c.framesTraced !== c.framesExpected ? `${c.framesTraced} records traced, ${c.framesExpected} expected; ` : '';
  return {
    check: 'controls',
    status: 'fail',
    detail: `${count}${c.mismatches.length} field mismatches` + (m ? `; first: decode frame ${m.decodeIndex} ${m.field} expected ${m.expected} got ${m.got}` : ''),
  };
}

function bitstreamCheck(f: DecodeFacts): CheckResult {
  const b = f.bitstream;
  if (!b) return { check: 'bitstream', status: 'not-run', detail: f.mode === 'visl' ? 'no dumps collected' : 'visl mode only' };
  if (b.pass) return { check: 'bitstream', status: 'pass', detail: `${b.framesCompared} debugfs dumps equal the input frames (superframes split)` };
  const m = b.mismatches[0];
  return {
    check: 'bitstream',
    status: 'fail',
    detail:
      `${b.mismatches.length} frames differ or are missing` +
      (b.extraDumps.length ? `, ${b.extraDumps.length} extra dumps` : '') +
      (m ? `; first: decode frame ${m.decodeIndex} ${m.problem}: expected ${m.expected} got ${m.got}` : ''),
  };
}

/**
 * The verdict of one vector (model/verdict.ts), precedence: crash >
 * timeout > not-supported > error > fail > pass. A fail names the first bad
 * frame (0-based, output order) over all checks, and the number of frames
 * that failed any check (missing frames included).
 */
export function decideVerdict(f: DecodeFacts): Verdict {
  const checks = completeChecks([pixelsCheck(f), countCheck(f), controlsCheck(f), bitstreamCheck(f)]);
  const framesExpected = f.compare.framesExpected;
  const framesProduced = f.compare.framesProduced;
  const common = { checks, framesExpected, framesProduced };
  if (f.crash) return { result: 'crash', ...common, message: f.crash };
  if (f.timedOut) {
    return { result: 'timeout', ...common, timeoutMs: f.timeoutMs, message: `decoder killed after ${f.timeoutMs} ms (${framesProduced} of ${framesExpected} frames received)` };
  }
  if (f.notSupported) return { result: 'not-supported', ...common, reason: f.notSupported, message: f.notSupported };
  if (f.error || f.exitCode !== 0) {
    return { result: 'error', ...common, message: f.error ?? `decoder exited with ${f.exitCode} after ${framesProduced} of ${framesExpected} frames` };
  }
  if (checks.some((c) => c.status === 'fail')) {
    const bad = new Set<number>();
    for (const o of f.compare.perFrame) if (o.match === false) bad.add(o.index);
    for (let i = framesProduced; i < framesExpected; i++) bad.add(i);
    for (const m of f.controls?.mismatches ?? []) {
      const o = outputIndexForDecoded(f.frames, m.decodeIndex);
      if (o !== undefined) bad.add(o);
    }
    for (const m of f.bitstream?.mismatches ?? []) {
      const o = outputIndexForDecoded(f.frames, m.decodeIndex);
      if (o !== undefined) bad.add(o);
    }
    if (f.controls && f.controls.framesTraced < f.controls.framesExpected) {
      const o = outputIndexForDecoded(f.frames, f.controls.framesTraced);
      if (o !== undefined) bad.add(o);
    }
    const firstBadFrame = bad.size ? Math.min(...bad) : Math.min(framesProduced, framesExpected);
    const failed = checks.filter((c) => c.status === 'fail').map((c) => c.check);
    return {
      result: 'fail',
      ...common,
      firstBadFrame,
      mismatchingFrames: Math.max(bad.size, 1),
      message: `${failed.join(', ')} failed; first bad frame ${firstBadFrame} (output order), ${Math.max(bad.size, 1)} bad frames, ${framesProduced} produced / ${framesExpected} expected`,
    };
  }
  const ran = checks.filter((c) => c.status === 'pass').map((c) => c.check);
  const notRun = f.mode === 'visl' ? '; pixels NOT verified (visl)' : '';
  return { result: 'pass', ...common, message: `${ran.join(', ')} passed${notRun}` };
}
