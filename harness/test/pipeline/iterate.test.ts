import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus, type WorkbenchEvent } from '../../src/core/events.ts';
import { WorkbenchError } from '../../src/core/errors.ts';
import { runIterate, closingLines } from '../../src/pipeline/iterate.ts';
import { loadRun } from '../../src/report/store.ts';
import { fakeStages, type FakeOptions } from './fakeStages.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'wb-iter-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function run(o: FakeOptions, signal?: AbortSignal) {
  const bus = new EventBus();
  const events: WorkbenchEvent[] = [];
  bus.on((e) => events.push(e));
  const res = await runIterate({ stages: fakeStages(o), bus, command: 'workbench iterate', reportsRoot: root, ...(signal ? { signal } : {}) });
  return { res, events };
}

describe('runIterate', () => {
  it('all vectors pass (or not supported): exit 0, complete report in reports/<run-id>/', async () => {
    let closed = 0;
    const { res, events } = await run({ vectors: { 'vp90-a': 'pass', 'vp90-b': 'not-supported' }, onClose: () => closed++ });
    expect(res.exitCode).toBe(0);
    expect(closed).toBe(1);
    expect(res.record.status).toBe('complete');
    expect(res.reportDir).toBe(join(root, res.record.runId));
    expect(readdirSync(res.reportDir!).sort()).toEqual(['index.html', 'junit.xml', 'run.json', 'summary.md']);
    const r = loadRun(res.reportDir!);
    expect(r.counts).toMatchObject({ total: 2, ran: 2, pass: 1, 'not-supported': 1 });
    expect(r.checks).toMatchObject({ ran: ['controls', 'bitstream', 'frame-count'], pixelsVerified: false });
    expect(r.irq.answer).toBe('unknown');
    expect(r.irq.reason).toMatch(/visl/);
    expect(r.stages.map((s) => [s.name, s.status])).toEqual([
      ['board', 'done'],
      ['build', 'done'],
      ['check', 'done'],
      ['deploy', 'done'],
      ['plan', 'done'],
      ['decode', 'done'],
    ]);
    expect(r.stages[1]!.commands).toEqual([`echo build 'step with "quotes"'`]);
    expect(r.diagnostics?.[0]?.tool).toBe('checkpatch');
    // events: run started first, run finished last with the report folder, one vector event per vector
    expect(events[0]).toMatchObject({ type: 'run', status: 'started' });
    expect(events.at(-1)).toMatchObject({ type: 'run', status: 'finished', reportDir: res.reportDir });
    expect(events.filter((e) => e.type === 'vector').map((e) => (e as { vector: string }).vector)).toEqual(['vp90-a', 'vp90-b']);
    expect(events.filter((e) => e.type === 'progress').at(-1)).toMatchObject({ stage: 'decode', done: 2, total: 2 });
  });

  it('a failing vector: exit 1, its artifacts are in the report', async () => {
    const { res } = await run({ vectors: { 'vp90-a': 'pass', 'vp90-b': 'fail' } });
    expect(res.exitCode).toBe(1);
    const b = res.record.vectors[1]!;
    expect(b.verdict).toMatchObject({ result: 'fail', firstBadFrame: 3 });
    expect(b.artifacts[0]!.path).toBe('artifacts/vp90-b/frame3-header.txt');
    expect(readFileSync(join(res.reportDir!, b.artifacts[0]!.path), 'utf8')).toBe('frame 3 header');
  });

  it('a patch that does not compile: exit 1, incomplete, decode skipped, report still written', async () => {
    const { res } = await run({ fail: { stage: 'build', error: new WorkbenchError('E_BUILD_FAILED', 'rkvdec-vp9.c:12: error: expected ;', { exitCode: 1 }) } });
    expect(res.exitCode).toBe(1);
    expect(res.record.status).toBe('incomplete');
    expect(res.record.incompleteReason).toMatch(/stage build failed: E_BUILD_FAILED/);
    expect(res.record.stages.find((s) => s.name === 'decode')!.status).toBe('skipped');
    expect(existsSync(join(res.reportDir!, 'index.html'))).toBe(true);
  });

  it('the board unreachable: exit 2 (infrastructure)', async () => {
    const { res } = await run({ fail: { stage: 'board', error: new WorkbenchError('E_UNREACHABLE', 'vboard: connection refused') } });
    expect(res.exitCode).toBe(2);
    expect(res.record.stages.find((s) => s.name === 'board')!.error?.code).toBe('E_UNREACHABLE');
  });

  it('the board lost in the middle of the suite: exit 2, the vectors done so far are kept', async () => {
    const { res } = await run({
      vectors: { a: 'pass', b: 'pass', c: 'pass' },
      fail: { stage: 'decode', afterVectors: 2, error: new WorkbenchError('E_CONNECTION_LOST', 'ssh connection lost') },
    });
    expect(res.exitCode).toBe(2);
    expect(res.record.counts).toMatchObject({ total: 3, ran: 2, notRun: 1 });
    expect(res.record.status).toBe('incomplete');
  });

  it('Ctrl-C during decode: partial report marked incomplete, session closed, exit 2', async () => {
    const ac = new AbortController();
    let closed = 0;
    const bus = new EventBus();
    let seen = 0;
    bus.on((e) => {
      if (e.type === 'vector' && ++seen === 2) ac.abort();
    });
    const res = await runIterate({
      stages: fakeStages({ vectors: { a: 'pass', b: 'fail', c: 'pass', d: 'pass' }, vectorMs: 20, onClose: () => closed++ }),
      bus,
      signal: ac.signal,
      command: 'workbench iterate',
      reportsRoot: root,
    });
    expect(res.exitCode).toBe(2);
    expect(closed).toBe(1);
    expect(res.record.status).toBe('incomplete');
    expect(res.record.incompleteReason).toMatch(/interrupted \(Ctrl-C\) after 2 of 4/);
    expect(res.record.vectors.map((v) => v.name)).toEqual(['a', 'b']);
    const junit = readFileSync(join(res.reportDir!, 'junit.xml'), 'utf8');
    expect(junit).toContain('type="not-run"');
    expect(closingLines(res)[0]).toMatch(/^INCOMPLETE/);
  });

  it('the second run on the same board is diffed against the first', async () => {
    const first = await run({ vectors: { a: 'pass', b: 'fail' } });
    await new Promise((r) => setTimeout(r, 5));
    const second = await run({ vectors: { a: 'fail', b: 'pass' } });
    expect(second.res.record.previousRunId).toBe(first.res.record.runId);
    expect(second.res.diff?.newFailures.map((x) => x.vector)).toEqual(['a']);
    expect(second.res.diff?.fixes.map((x) => x.vector)).toEqual(['b']);
    expect(readFileSync(join(second.res.reportDir!, 'summary.md'), 'utf8')).toContain('NEW FAILURE a: pass -> fail');
    // other boards are not compared
    const other = await run({ board: 'rock5b', vectors: { a: 'pass' } });
    expect(other.res.diff).toBeUndefined();
  });
});
