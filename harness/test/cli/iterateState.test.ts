import { describe, expect, it } from 'vitest';
import type { WorkbenchEvent } from '../../src/core/events.ts';
import { clock, countsLine, etaMs, initialState, plainLine, reduce } from '../../src/cli/views/iterateState.ts';

function play(events: [number, WorkbenchEvent][]) {
  let s = initialState(0);
  const lines: string[] = [];
  for (const [t, e] of events) {
    s = reduce(s, e, t);
    const l = plainLine(e, t - s.startedAt, s);
    if (l) lines.push(l);
  }
  return { s, lines };
}

describe('iterate view state', () => {
  const events: [number, WorkbenchEvent][] = [
    [1000, { type: 'run', status: 'started', runId: 'r1' }],
    [1000, { type: 'stage', stage: 'build', status: 'pending' }],
    [1000, { type: 'stage', stage: 'build', status: 'running' }],
    [2000, { type: 'stage', stage: 'build', status: 'running', detail: 'applying 3 patches' }],
    [5000, { type: 'stage', stage: 'build', status: 'done', durationMs: 4000, detail: '3 patch(es)' }],
    [5000, { type: 'progress', stage: 'decode', done: 0, total: 4 }],
    [7000, { type: 'vector', vector: 'a', verdict: 'pass', durationMs: 2000 }],
    [9000, { type: 'vector', vector: 'b', verdict: 'fail', detail: 'first bad frame 3', durationMs: 2000 }],
    [9000, { type: 'log', level: 'warn', stage: 'decode', message: 'slow board' }],
    [9000, { type: 'log', level: 'debug', message: 'noise' }],
  ];

  it('tracks stages, vectors, counts and ETA from events alone', () => {
    const { s } = play(events);
    expect(s.runId).toBe('r1');
    expect(s.stages).toEqual([{ name: 'build', status: 'done', startedAt: 1000, durationMs: 4000, detail: '3 patch(es)' }]);
    expect(countsLine(s)).toBe('2/4 vectors: 1 pass, 1 fail');
    // 4 s for 2 vectors since decode started at 5 s: 2 s each, 2 left
    expect(etaMs(s, 9000)).toBe(4000);
    expect(s.notes).toEqual([{ level: 'warn', stage: 'decode', message: 'slow board' }]);
  });

  it('has no ETA before the first vector', () => {
    const { s } = play(events.slice(0, 6));
    expect(etaMs(s, 6000)).toBeUndefined();
  });

  it('plain lines: one per meaningful event, elapsed-stamped', () => {
    expect(play(events).lines).toEqual([
      '[0:00] run r1 started',
      '[0:00] stage build: running',
      '[0:04] stage build: done (4.0 s) 3 patch(es)',
      '[0:06] vector 1/4 a: pass 2.0 s',
      '[0:08] vector 2/4 b: fail (first bad frame 3) 2.0 s',
      '[0:08] WARN decode: slow board',
    ]);
  });

  it('formats clocks', () => {
    expect(clock(0)).toBe('0:00');
    expect(clock(65_000)).toBe('1:05');
    expect(clock(3_723_000)).toBe('1:02:03');
  });
});
