import { describe, expect, it } from 'vitest';
import { summarizeCapture } from '../../src/registers/captureSummary.ts';
import { CaptureSummarySchema, FrameTableSchema } from '../../src/model/captures.ts';
import { summarizeSimulatedIrq } from '../../src/irq/summary.ts';
import { CAPTURE_FILE, captureText, fixtureTables } from './simboardFixture.ts';

// Expected values: read off the fixture's JSON lines with another tool
// (python3 json: status_set 0x7 on each line, end "ack", t_irq_ns - t_start_ns
// = 305140, 307184, 937352 ns, t_ack_ns - t_irq_ns = 5787879, 358641,
// 3147562 ns), bit names of 0x7 from Linux rkvdec-vdpu381-regs.h / MPP reg224
// (bit 0 irq, 1 irq_raw, 2 dec_rdy), and the per-frame counts the real run's
// registers-diff.txt printed (fixtures/simboard-p0-intra-only/README.md).
describe('the capture summary of real simboard capture lines', () => {
  it('counts jobs against frames, names the status words and gives the IRQ latencies in µs', () => {
    const c = summarizeCapture(captureText(), CAPTURE_FILE, 59, 3, 'artifacts/p0-intra-only/registers-capture.jsonl');
    expect(CaptureSummarySchema.parse(c)).toEqual(c);
    expect(c).toMatchObject({ source: 'simulated', jobs: 3, frames: 3, equal: true, ends: { ack: 3 } });
    expect(c.statuses).toEqual([{ status: '0x00000007', bits: ['irq', 'irq_raw', 'dec_rdy'], count: 3 }]);
    expect(c.bits).toMatchObject({ irq: 3, irq_raw: 3, dec_rdy: 3, bus_err: 0, error: 0, timeout: 0 });
    expect(c.latencyUs.irq).toEqual({ min: 305.14, median: 307.184, max: 937.352, jobs: 3 });
    expect(c.latencyUs.ack).toEqual({ min: 358.641, median: 3147.562, max: 5787.879, jobs: 3 });
    expect(c.download).toBe('artifacts/p0-intra-only/registers-capture.jsonl');
  });

  it('says when jobs and frames differ, and leaves out a job that never raised its interrupt', () => {
    const lines = captureText().trim().split('\n');
    const silent = JSON.parse(lines[2]!) as Record<string, unknown>;
    Object.assign(silent, { t_irq_ns: -1, t_ack_ns: -1, status_set: 0, end: 'next-dec-e' });
    const c = summarizeCapture([lines[0], lines[1], JSON.stringify(silent)].join('\n'), CAPTURE_FILE, 59, 4);
    expect(c.equal).toBe(false);
    expect(c.statuses).toEqual([
      { status: '0x00000007', bits: ['irq', 'irq_raw', 'dec_rdy'], count: 2 },
      { status: '0x00000000', bits: [], count: 1 },
    ]);
    expect(c.ends).toEqual({ ack: 2, 'next-dec-e': 1 });
    expect(c.latencyUs.irq).toEqual({ min: 305.14, median: 306.162, max: 307.184, jobs: 2 });
  });

  it('names the file and line of a cut capture line', () => {
    const text = captureText().trim().split('\n')[0]!.slice(0, 500);
    expect(() => summarizeCapture(text, CAPTURE_FILE, 59, 1)).toThrow(/capture\.jsonl:59: not JSON/);
  });

  it('states the run-level dec_rdy count of a simulated device, and the other words when some job lacked it', () => {
    const c = summarizeCapture(captureText(), CAPTURE_FILE, 59, 3);
    expect(summarizeSimulatedIrq([undefined, c, c])!.line).toBe('dec_rdy on 6/6 jobs — simulated device; hardware still unverified');
    // 0x19: irq | bus_err | error (bits 0, 3, 4)
    const bad = { ...c, jobs: 1, statuses: [{ status: '0x00000019', bits: ['irq', 'bus_err', 'error'], count: 1 }], bits: { ...c.bits, dec_rdy: 0 } };
    expect(summarizeSimulatedIrq([c, bad])).toEqual({
      jobs: 4,
      decRdy: 3,
      line: 'dec_rdy on 3/4 jobs (others: 0x00000019 ×1) — simulated device; hardware still unverified',
    });
    expect(summarizeSimulatedIrq([undefined])).toBeUndefined();
  });
});

describe('the per-frame register tables of the differential', () => {
  it("hold every compared field with both values, and mark exactly the run's differences", () => {
    const { tables, report } = fixtureTables();
    for (const t of tables) expect(FrameTableSchema.parse(t)).toEqual(t);
    // registers-diff.txt of the run: frame 0 key 370 fields + 26 addresses, 40 differences; frames 1, 2: 370 + 46, 38 and 40
    expect(tables.map((t) => [t.frame, t.frameKind, t.showFrame, t.rows.length])).toEqual([
      [0, 'key', true, 396],
      [1, 'inter', false, 416],
      [2, 'inter', true, 416],
    ]);
    expect(tables.map((t) => t.rows.filter((r) => r.state === 'differs').length)).toEqual([40, 38, 40]);
    expect(report.differences.length).toBe(118);
    const row = (frame: number, field: string) => tables[frame]!.rows.find((r) => r.field === field);
    expect(row(0, 'common.reg016_str_len')).toMatchObject({ reg: 16, kind: 'value', mpp: 28816, series: 28683, state: 'differs' });
    expect(row(0, 'common.reg018.y_hor_virstride')).toMatchObject({ reg: 18, mpp: 48, series: 24, state: 'differs' });
    expect(row(1, 'common.reg016_str_len')).toMatchObject({ mpp: 768, series: 633, state: 'differs' });
    expect(row(0, 'common.reg012.colmv_compress_en')).toMatchObject({ mpp: 1, series: 0, state: 'differs' });
    expect(tables[0]!.rows.filter((r) => r.state === 'equal').length).toBe(396 - 40);
    expect(row(0, 'statistic.reg256.axi_perf_work_e')).toMatchObject({ mpp: 1, series: 0, notWritten: true });
  });
});
