import type { CompareResult } from '../../compare/frameCompare.ts';
import type { DecoderRun } from '../backend.ts';
import { formatMismatch } from '../captureFormat.ts';
import type { InspectResult } from '../../vectors/inspect.ts';
import type { CheckJudgement, Conclusion, VectorCheck } from './check.ts';

/**
 * The frame stream: number of output frames and their order (frame-count),
 * every bad frame the comparison found (hash, geometry, extra, missing),
 * and two conclusions about the stream itself: the transport cross-check
 * (the decoder's own MD5 of its output against the MD5 of the bytes that
 * arrived) and a CAPTURE format that cannot hold the stream (the driver
 * cannot output it: not supported).
 */
export function judgeFrameStream(c: CompareResult, trailingBytes: number, run?: DecoderRun, inspect?: InspectResult): CheckJudgement {
  const parts: string[] = [];
  if (c.framesProduced !== c.framesExpected) parts.push(`${c.framesProduced} frames produced, ${c.framesExpected} expected`);
  if (trailingBytes > 0) parts.push(`${trailingBytes} bytes after the last complete frame`);
  const result = parts.length
    ? { check: 'frame-count' as const, status: 'fail' as const, detail: parts.join('; ') }
    : { check: 'frame-count' as const, status: 'pass' as const, detail: `${c.framesProduced} frames` };
  const badFrames: number[] = [];
  for (const o of c.perFrame) if (o.match === false) badFrames.push(o.index);
  for (let i = c.framesProduced; i < c.framesExpected; i++) badFrames.push(i);
  const conclusions: Conclusion[] = [];
  if (run?.decoderMd5 && !run.timedOut && run.decoderMd5 !== c.streamMd5) {
    conclusions.push({
      kind: 'error',
      message: `transport check failed: the board's videocodectestsink MD5 ${run.decoderMd5} differs from the received stream's ${c.streamMd5}`,
    });
  }
  // A CAPTURE format that cannot hold the stream (e.g. NV12 only, for a 10-bit or 4:4:4 stream).
  const fmt = run?.captureFormats?.at(-1);
  const mismatch = fmt && inspect ? formatMismatch(fmt, inspect) : undefined;
  if (run && mismatch) {
    const drv = run.proof?.driver || 'the driver';
    conclusions.push({
      kind: 'not-supported',
      message: `${drv} cannot output this stream: ${mismatch}${run.driverOffers ? `; ${drv} offers ${run.driverOffers}` : ''}`,
    });
  }
  return { results: [result], badFrames, conclusions };
}

/** The frame-count check (every board). */
export const frameCountCheck: VectorCheck = {
  name: 'frame-count',
  appliesTo: () => true,
  judge: (v) => judgeFrameStream(v.decoded!.compare, v.decoded!.split.trailingBytes, v.decoded!.run, v.inspect),
};
