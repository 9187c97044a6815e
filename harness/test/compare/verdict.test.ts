import { describe, expect, it } from 'vitest';
import type { CompareResult } from '../../src/compare/frameCompare.ts';
import { verdictFrom, type VerdictInput } from '../../src/compare/verdict.ts';
import { i420 } from '../../src/compare/geometry.ts';
import { judgeFrameStream } from '../../src/decode/checks/frameCount.ts';
import { judgePixels } from '../../src/decode/checks/pixels.ts';
import { outputIndexForDecoded } from '../../src/decode/checks/expected.ts';
import { judgeControls } from '../../src/decode/checks/vislControls.ts';
import { PIXELS_NOT_VERIFIED } from '../../src/decode/plugins.ts';
import { builtinChecks } from '../../src/decode/plugins.ts';

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

/** The verdict of a pixels board (pixels + frame-count judged) or a visl board (controls passing, pixels absent). */
function decide(o: { mode?: 'pixels' | 'visl'; compare?: CompareResult; run?: Partial<VerdictInput['run']>; crash?: string }): ReturnType<typeof verdictFrom> {
  const c = o.compare ?? compare(5, 5);
  const mode = o.mode ?? 'pixels';
  const chosen = builtinChecks().forBoard({ name: 'b', driver: mode === 'visl' ? 'visl' : 'rkvdec' });
  const judgements = [
    ...(mode === 'pixels' ? [judgePixels(c)] : []),
    judgeFrameStream(c, 0),
    ...(mode === 'visl'
      ? [judgeControls({ pass: true, framesCompared: 5, fieldsCompared: 50, notCompared: [], mismatches: [], framesTraced: 5, framesExpected: 5 } as never, [])]
      : []),
    ...(o.crash ? [{ conclusions: [{ kind: 'crash' as const, message: o.crash }] }] : []),
  ];
  return verdictFrom({
    run: { exitCode: 0, timedOut: false, ...o.run },
    timeoutMs: 1000,
    framesExpected: c.framesExpected,
    framesProduced: c.framesProduced,
    judgements,
    absent: chosen.absent,
  });
}

describe('verdict', () => {
  it('pass', () => {
    const v = decide({});
    expect(v.result).toBe('pass');
    expect(v.checks.find((c) => c.check === 'pixels')?.status).toBe('pass');
    expect(v.checks.find((c) => c.check === 'controls')).toEqual({ check: 'controls', status: 'not-run', detail: 'visl mode only' });
  });
  it('fail names the first bad frame and counts bad + missing frames', () => {
    const v = decide({ compare: compare(4, 6, [2, 3]) });
    expect(v).toMatchObject({ result: 'fail', firstBadFrame: 2, mismatchingFrames: 4, framesExpected: 6, framesProduced: 4 });
  });
  it('precedence: crash > timeout > not-supported > error > fail', () => {
    const bad = { compare: compare(4, 6, [1]) };
    expect(decide({ ...bad, crash: 'oops: Oops: 0000', run: { timedOut: true } }).result).toBe('crash');
    expect(decide({ ...bad, run: { timedOut: true, exitCode: -1, notSupported: 'x' } })).toMatchObject({ result: 'timeout', timeoutMs: 1000 });
    expect(decide({ ...bad, run: { exitCode: 1, notSupported: 'visl refused' } })).toMatchObject({ result: 'not-supported', reason: 'visl refused' });
    expect(decide({ ...bad, run: { exitCode: 1 } }).result).toBe('error');
    expect(decide(bad).result).toBe('fail');
  });
  it('a check conclusion never rewrites the decoder result: the decoder refusal comes first, a check detail is appended', () => {
    const run = { exitCode: 1, timedOut: false, notSupported: 'driver refused' };
    const v = verdictFrom({
      run,
      timeoutMs: 1000,
      framesExpected: 5,
      framesProduced: 0,
      judgements: [
        { conclusions: [{ kind: 'not-supported', message: 'from a check' }] },
        { conclusions: [{ kind: 'not-supported-detail', message: '; 0 of 5 frames reached the driver' }] },
      ],
    });
    expect(v).toMatchObject({ result: 'not-supported', reason: 'driver refused; 0 of 5 frames reached the driver' });
    expect(run).toEqual({ exitCode: 1, timedOut: false, notSupported: 'driver refused' });
  });
  it('visl mode states that pixels were not verified', () => {
    const v = decide({ mode: 'visl', compare: { ...compare(5, 5), pixelsCompared: false } });
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
