import { simboardBoard } from '../../src/target/providers/simboard.ts';
import { describe, expect, it } from 'vitest';
import { verdictFrom } from '../../src/compare/verdict.ts';
import { builtinChecks } from '../../src/decode/plugins.ts';
import { judgeRegisters } from '../../src/decode/checks/registers.ts';
import type { RegDiffReport } from '../../src/registers/diff.ts';
import { runChecks } from '../../src/report/summarize.ts';
import type { VectorResult } from '../../src/model/record.ts';
import type { InspectResult } from '../../src/vectors/inspect.ts';

const report = (over: Partial<RegDiffReport>): RegDiffReport => ({
  frames: 3,
  mppJobs: 3,
  seriesJobs: 3,
  fieldsCompared: 900,
  addressesCompared: 60,
  contentsCompared: 0,
  contentsNotCompared: 6,
  perFrame: [0, 1, 2].map((frame) => ({
    frame,
    job: frame,
    frameKind: frame ? 'inter' : 'key',
    showFrame: true,
    width: 64,
    height: 64,
    fields: 300,
    addresses: 20,
    contents: 0,
    differences: 0,
    allowed: 0,
  })),
  differences: [],
  allowed: [],
  unusedAllow: [],
  allowList: null,
  notes: [],
  ...over,
});

// frame 1 is hidden: its difference shows in output frame 1 (frame 2 is the next shown)
const info = {
  frames: [0, 1, 2].map((index) => ({
    index,
    header: { frameType: index ? 'inter' : 'key', intraOnly: false, showFrame: index !== 1, showExistingFrame: false, width: 64, height: 64 },
  })),
} as unknown as InspectResult;

describe('the registers check', () => {
  it('is not chosen on the vboard (visl) nor on a board without captures, and the report lists it as not checked with the reason', () => {
    const checks = builtinChecks();
    for (const board of [
      { name: 'vboard', driver: 'visl' },
      { name: 'rock5b', driver: 'rkvdec' },
    ]) {
      const chosen = checks.forBoard(board);
      expect(chosen.checks.map((c) => c.name)).not.toContain('registers');
      expect(chosen.absent.registers).toMatch(/records no register programming/);
    }
    expect(checks.forBoard({ name: 'sim', driver: 'rkvdec', registerCaptures: true }).checks.map((c) => c.name)).toContain('registers');
  });

  it("on the simboard's profile: registers chosen, pixels not (its model writes no picture), with the reason recorded", () => {
    const chosen = builtinChecks().forBoard(simboardBoard());
    expect(chosen.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['registers', 'frame-count', 'kernel-log', 'irq']));
    expect(chosen.checks.map((c) => c.name)).not.toContain('pixels');
    expect(chosen.verifiesPixels).toBe(false);
    expect(chosen.absent.pixels).toMatch(/writes no picture/);
  });

  it('the not-checked reason reaches the run record', () => {
    const checks = builtinChecks();

    const chosen = checks.forBoard({ name: 'vboard', driver: 'visl' });
    const verdict = verdictFrom({
      run: { exitCode: 0, timedOut: false },
      timeoutMs: 1000,
      framesExpected: 1,
      framesProduced: 1,
      judgements: [],
      absent: chosen.absent,
    });
    const reg = verdict.checks.find((c) => c.check === 'registers');
    expect(reg).toMatchObject({ status: 'not-run', detail: expect.stringMatching(/records no register programming/) });
    const run = runChecks([{ verdict } as VectorResult]);
    expect(run.notRun).toContainEqual({ check: 'registers', reason: expect.stringMatching(/records no register programming/) });
  });

  it('passes with N/N frames equal and the counts', () => {
    const j = judgeRegisters(report({}), info);
    expect(j.results).toEqual([
      { check: 'registers', status: 'pass', detail: expect.stringMatching(/^3\/3 frames equal to MPP \(900 value fields, 60 address roles/) },
    ]);
  });

  it('fails naming the first frame, field, both values and the header summary; bad frames in output order', () => {
    const d = {
      frame: 1,
      job: 1,
      frameKind: 'inter' as const,
      series: 'cap.jsonl:2',
      reg: 103,
      field: 'vp9d_param.reg103.allow_high_precision_mv',
      kind: 'value' as const,
      mppValue: 1,
      seriesValue: 0,
    };
    const rep = report({ differences: [d, { ...d, frame: 2, job: 2 }] });
    rep.perFrame[1]!.differences = 1;
    rep.perFrame[2]!.differences = 1;
    const j = judgeRegisters(rep, info);
    expect(j.results![0]!.status).toBe('fail');
    expect(j.results![0]!.detail).toMatch(
      /^1\/3 frames equal to MPP; first difference: frame 1 \(inter, job 1\) reg103 vp9d_param\.reg103\.allow_high_precision_mv: MPP 1, series 0 \[frame 1: inter hidden 64x64\]; 2 differences in 2 frames/,
    );
    expect(j.badFrames).toEqual([1]);
  });

  it('fails on a different number of jobs even when the common frames agree', () => {
    const j = judgeRegisters(report({ seriesJobs: 2, frames: 2, perFrame: report({}).perFrame.slice(0, 2) }), info);
    expect(j.results![0]).toMatchObject({ status: 'fail', detail: expect.stringMatching(/series submitted 2 decode jobs, MPP 3/) });
  });
});
