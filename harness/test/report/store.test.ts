import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReportStaging, findPreviousRun, listRuns, loadRun } from '../../src/report/store.ts';
import { diffIsEmpty, diffRuns, diffText } from '../../src/report/diff.ts';
import { irqVectorSummary } from '../../src/irq/summary.ts';
import { isWorkbenchError } from '../../src/core/errors.ts';
import type { RunRecord } from '../../src/model/record.ts';
import { sampleRecord, tinyPng } from './sampleRecord.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'wb-reports-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function write(r: RunRecord): string {
  const s = ReportStaging.create(root, r.runId);
  return s.finalize(r);
}

describe('report store', () => {
  it('writes the four files into reports/<run-id>/ and leaves no staging folder', () => {
    const r = sampleRecord();
    const s = ReportStaging.create(root, r.runId);
    const img = join(s.artifactsDir('vp90-2-08-tile-4x4'), 'frame3-decoded.png');
    writeFileSync(img, tinyPng());
    expect(s.relativePath(img)).toBe('artifacts/vp90-2-08-tile-4x4/frame3-decoded.png');
    const dir = s.finalize(r);
    expect(dir).toBe(join(root, r.runId));
    expect(readdirSync(dir).sort()).toEqual(['artifacts', 'index.html', 'junit.xml', 'run.json', 'summary.md']);
    expect(readdirSync(root)).toEqual([r.runId]);
    expect(readFileSync(join(dir, 'index.html'), 'utf8')).toContain('data:image/png;base64,');
    expect(loadRun(r.runId, root)).toMatchObject({ runId: r.runId, counts: r.counts });
  });

  it('never overwrites an earlier report, even when the id shows up during the run', () => {
    const r = sampleRecord();
    write(r);
    const before = readFileSync(join(root, r.runId, 'run.json'), 'utf8');
    expect(() => ReportStaging.create(root, r.runId)).toThrow(/already exists/);

    const other = sampleRecord({ runId: 'x-1' });
    const s = ReportStaging.create(root, other.runId);
    mkdirSync(join(root, other.runId));
    writeFileSync(join(root, other.runId, 'keep'), 'mine');
    try {
      s.finalize(sampleRecord({ runId: 'x-1', status: 'incomplete', incompleteReason: 'interrupted' }));
      expect.unreachable();
    } catch (e) {
      expect(isWorkbenchError(e, 'E_REPORT_EXISTS')).toBe(true);
    }
    expect(readFileSync(join(root, other.runId, 'keep'), 'utf8')).toBe('mine');
    expect(readFileSync(join(root, r.runId, 'run.json'), 'utf8')).toBe(before);
  });

  it('lists reports (not staging folders) and finds the previous complete run on the same board', () => {
    write(sampleRecord({ runId: 'r1', startedAt: '2026-11-14T10:00:00.000Z' }));
    write(sampleRecord({ runId: 'r2', startedAt: '2026-11-14T11:00:00.000Z', status: 'incomplete', incompleteReason: 'interrupted' }));
    write(sampleRecord({ runId: 'r3', startedAt: '2026-11-14T12:00:00.000Z', board: { ...sampleRecord().board!, name: 'rock5b' } }));
    ReportStaging.create(root, 'r4'); // a run in progress
    expect(listRuns(root).map((e) => e.runId)).toEqual(['r1', 'r2', 'r3']);
    expect(findPreviousRun('vboard', '2026-11-14T13:00:00.000Z', root)?.runId).toBe('r1');
    expect(findPreviousRun('rock5b', '2026-11-14T12:00:00.000Z', root)).toBeUndefined();
  });

  it('names the file and field of an invalid run.json', () => {
    mkdirSync(join(root, 'bad'));
    const doc = JSON.parse(JSON.stringify(sampleRecord()));
    doc.vectors[1].verdict.firstBadFrame = -1;
    writeFileSync(join(root, 'bad', 'run.json'), JSON.stringify(doc));
    expect(() => loadRun('bad', root)).toThrow(/bad\/run\.json: field vectors\.1\.verdict\.firstBadFrame/);
    expect(() => loadRun('nope', root)).toThrow(/no run.json/);
    expect(existsSync(join(root, 'bad'))).toBe(true);
  });
});

describe('run diff', () => {
  it('lists new failures, fixes and changed first bad frame', () => {
    const base = sampleRecord({ runId: 'a' });
    const head = structuredClone(sampleRecord({ runId: 'b' }));
    // quantizer: pass -> fail (new failure); tile: fail frame 3 -> frame 5; yuv444: timeout -> pass (fix); svc removed
    head.vectors[0]!.verdict = { result: 'fail', checks: [], firstBadFrame: 0, mismatchingFrames: 10, framesExpected: 10, framesProduced: 10 };
    const t = head.vectors[1]!.verdict;
    if (t.result === 'fail') t.firstBadFrame = 5;
    head.vectors[3]!.verdict = { result: 'pass', checks: [] };
    head.vectors[2]!.verdict = { result: 'pass', checks: [] }; // not-supported -> pass: other change
    head.vectors.pop();
    const d = diffRuns(base, head);
    expect(d.newFailures).toEqual([{ vector: 'vp90-2-00-quantizer-00', before: 'pass', after: 'fail' }]);
    expect(d.fixes).toEqual([{ vector: 'vp91-2-04-yuv444', before: 'timeout', after: 'pass' }]);
    expect(d.changedFirstBadFrame).toEqual([{ vector: 'vp90-2-08-tile-4x4', before: 3, after: 5 }]);
    expect(d.otherChanges).toEqual([{ vector: 'vp90-2-02-size-08x08', before: 'not-supported', after: 'pass' }]);
    expect(d.missing).toEqual(['vp90-2-22-svc']);
    const text = diffText(d);
    expect(text).toContain('NEW FAILURE  vp90-2-00-quantizer-00: pass -> fail');
    expect(text).toContain('FIRST BAD    vp90-2-08-tile-4x4: frame 3 -> frame 5');
  });

  it('reports a changed output hash (same verdict) and changed IRQ status words', () => {
    const base = sampleRecord({ runId: 'a' });
    const head = structuredClone(sampleRecord({ runId: 'b' }));
    // tile-4x4 fails in both with the same first bad frame, but decodes to other bytes
    head.vectors[1]!.md5.actual = '00000000000000000000000000000001';
    // quantizer: its VP9 jobs ended with status 0x5 (irq | dec_rdy), now with 0x15 (irq | dec_rdy | error) on one job
    head.vectors[0]!.irq = irqVectorSummary([
      { status: 0x5, mode: 2 },
      { status: 0x15, mode: 2 },
    ]);
    const d = diffRuns(base, head);
    expect(d.changedHashes).toEqual([{ vector: 'vp90-2-08-tile-4x4', before: 'fedcba9876543210fedcba9876543210', after: '00000000000000000000000000000001' }]);
    expect(d.changedIrq).toEqual([{ vector: 'vp90-2-00-quantizer-00', before: ['0x00000005/2'], after: ['0x00000005/2', '0x00000015/2'] }]);
    expect(d.newFailures).toEqual([]);
    expect(diffIsEmpty(d)).toBe(false);
    const text = diffText(d);
    expect(text).toContain('HASH         vp90-2-08-tile-4x4: output MD5 fedcba9876543210fedcba9876543210 -> 00000000000000000000000000000001');
    expect(text).toContain('IRQ STATUS   vp90-2-00-quantizer-00: 0x00000005/2 -> 0x00000005/2 0x00000015/2');
  });

  it('says no change for identical runs', () => {
    const d = diffRuns(sampleRecord({ runId: 'a' }), sampleRecord({ runId: 'b' }));
    expect(diffText(d)).toContain('no change (6 vectors with the same verdict)');
  });
});
