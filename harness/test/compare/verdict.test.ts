import { describe, expect, it } from 'vitest';
import type { CompareResult } from '../../src/compare/frameCompare.ts';
import { decideVerdict, outputIndexForDecoded, PIXELS_NOT_VERIFIED, type DecodeFacts } from '../../src/compare/verdict.ts';
import { i420 } from '../../src/compare/geometry.ts';

const g = i420(64, 64);
function compare(produced: number, expected: number, bad: number[] = []): CompareResult {
  const perFrame = Array.from({ length: produced }, (_, i) => ({
    index: i,
    geometry: g,
    algo: 'xxh64' as const,
    produced: bad.includes(i) ? 'bad' : 'ok',
    expected: i < expected ? 'ok' : undefined,
    match: i < expected ? !bad.includes(i) : false,
    ...(bad.includes(i) ? { problem: 'hash' as const } : i >= expected ? { problem: 'extra' as const } : {}),
  }));
  return {
    framesExpected: expected,
    framesProduced: produced,
    mismatchingFrames: bad.length + Math.max(0, expected - produced),
    missingFrames: Math.max(0, expected - produced),
    extraFrames: Math.max(0, produced - expected),
    pixelsCompared: true,
    streamMd5: '0'.repeat(32),
    perFrame,
    ...(bad.length ? { firstMismatch: { outcome: perFrame[bad[0]!]!, expectedGeometry: g, produced: Buffer.alloc(0) }, firstBadFrame: bad[0] } : {}),
  };
}
const base: DecodeFacts = { mode: 'pixels', exitCode: 0, timedOut: false, timeoutMs: 1000, compare: compare(5, 5), trailingBytes: 0 };

describe('verdict', () => {
  it('pass', () => {
    const v = decideVerdict(base);
    expect(v.result).toBe('pass');
    expect(v.checks.find((c) => c.check === 'pixels')?.status).toBe('pass');
  });
  it('fail names the first bad frame and counts bad + missing frames', () => {
    const v = decideVerdict({ ...base, compare: compare(4, 6, [2, 3]) });
    expect(v).toMatchObject({ result: 'fail', firstBadFrame: 2, mismatchingFrames: 4, framesExpected: 6, framesProduced: 4 });
  });
  it('precedence: crash > timeout > not-supported > error > fail', () => {
    const bad = { ...base, compare: compare(4, 6, [1]) };
    expect(decideVerdict({ ...bad, crash: 'oops: Oops: 0000', timedOut: true }).result).toBe('crash');
    expect(decideVerdict({ ...bad, timedOut: true, exitCode: -1, notSupported: 'x' })).toMatchObject({ result: 'timeout', timeoutMs: 1000 });
    expect(decideVerdict({ ...bad, exitCode: 1, notSupported: 'visl refused' })).toMatchObject({ result: 'not-supported', reason: 'visl refused' });
    expect(decideVerdict({ ...bad, exitCode: 1 }).result).toBe('error');
    expect(decideVerdict(bad).result).toBe('fail');
  });
  it('visl mode states that pixels were not verified', () => {
    const v = decideVerdict({ ...base, mode: 'visl', compare: { ...compare(5, 5), pixelsCompared: false } });
    expect(v.result).toBe('pass');
    expect(v.checks.find((c) => c.check === 'pixels')).toEqual({ check: 'pixels', status: 'not-run', detail: PIXELS_NOT_VERIFIED });
    expect(v.message).toMatch(/pixels NOT verified/);
  });
  it('maps a decode-order problem to the first output frame that depends on it', () => {
    const h = (showExistingFrame: boolean) => ({ showExistingFrame }) as never;
    // decode order: 0 shown(out 0), 1 hidden, 2 shown(out 1), show-existing(out 2)
    const frames = [
      { index: 0, header: h(false), outputIndex: 0 },
      { index: 1, header: h(false), outputIndex: null },
      { index: 2, header: h(false), outputIndex: 1 },
      { index: 3, header: h(true), outputIndex: 2 },
    ];
    expect(outputIndexForDecoded(frames, 0)).toBe(0);
    expect(outputIndexForDecoded(frames, 1)).toBe(1);
    expect(outputIndexForDecoded(frames, 2)).toBe(1);
  });
});
