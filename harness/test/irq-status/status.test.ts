import { describe, expect, it } from 'vitest';
import { describeStatus, parseIrqLine, parseIrqLog, sequenceGaps, statusBits } from '../../src/irq/status.ts';
import { collectVectorIrq, interpretEnable, DEFAULT_INSTRUMENTATION } from '../../src/irq/instrumentation.ts';
import { summarizeIrq } from '../../src/report/irqTypes.ts';

/**
 * Recorded-style kernel-log lines (dmesg with timestamps and the device
 * prefix) in the format this parser reads until patches/instrument/README.md
 * documents the patch's own: `rkvdec-irq: seq=<n> mode=<name|num> status=0x<hex>`.
 */
const LOG = `[  101.200001] rkvdec fdc38100.video-codec: rkvdec-irq: seq=41 mode=vp9 status=0x00000007
[  101.233002] rkvdec fdc38100.video-codec: rkvdec-irq: seq=42 mode=vp9 status=0x00000107
[  101.266003] some other driver: unrelated line
[  101.299004] rkvdec fdc38100.video-codec: rkvdec-irq: seq=44 mode=2 status=0x00000013
[  101.300005] rkvdec fdc38100.video-codec: rkvdec-irq: seq=45 mode=h264 status=0x4
[  101.300006] rkvdec fdc38100.video-codec: rkvdec-irq: seq=46 mode=vp9 status=zz
[  101.300007] rkvdec fdc38100.video-codec: rkvdec-irq: seq=47 mode=vp9 status=0x00000007 cycles=123456`.split('\n');

describe('status word', () => {
  it('names the reg224 bits', () => {
    expect(statusBits(0x207).bits).toEqual(['irq', 'irq_raw', 'dec_rdy', 'softreset_rdy']);
    expect(describeStatus(0x13)).toBe('0x00000013 (irq|irq_raw|error)');
    expect(describeStatus(0)).toBe('0x00000000 (none)');
    expect(describeStatus(0x1004)).toBe('0x00001004 (dec_rdy|+0x1000)');
  });
});

describe('kernel-log parser', () => {
  it('parses jobs, keeps malformed lines and extra fields', () => {
    const p = parseIrqLog(LOG);
    expect(p.jobs.map((j) => [j.seq, j.mode, j.status])).toEqual([
      [41, 2, 0x7],
      [42, 2, 0x107],
      [44, 2, 0x13],
      [45, 1, 0x4],
      [47, 2, 0x7],
    ]);
    expect(p.jobs[4]!.extra).toEqual({ cycles: '123456' });
    expect(p.malformed).toHaveLength(1);
    expect(p.malformed[0]!.reason).toMatch(/status 'zz'/);
    expect(sequenceGaps(p.jobs)).toEqual([43, 46]);
  });

  it('ignores lines without the tag and rejects a missing status', () => {
    expect(parseIrqLine('[ 1.0] rkvdec: ready')).toBeUndefined();
    expect(parseIrqLine('rkvdec-irq: seq=1 mode=vp9')).toBe('no status= field');
    expect(parseIrqLine('rkvdec-irq: seq=1 mode=mpeg9 status=0x4')).toMatch(/mode 'mpeg9'/);
  });

  it('builds the per-vector histogram and the run-level BIT(2) answer', () => {
    const v = collectVectorIrq(LOG);
    expect(v.summary.jobs).toBe(5);
    expect(v.summary.vp9Jobs).toBe(4);
    expect(v.summary.bits.dec_rdy).toBe(4);
    expect(v.summary.bits.error).toBe(1);
    expect(v.summary.statuses[0]).toEqual({ status: '0x00000007', mode: 2, count: 2 });
    const run = summarizeIrq([v.summary]);
    expect(run.answer).toBe('partly');
    expect(run.vp9JobsWithDecRdy).toBe(3);
    expect(run.vp9JobsWithErrorBits).toBe(1);
  });

  it('says unknown plainly when no rkvdec job was observed (vboard)', () => {
    const st = interpretEnable('NOT-LOADED\n', DEFAULT_INSTRUMENTATION, 'vboard');
    expect(st.state).toBe('unavailable');
    const reason = st.state === 'unavailable' ? st.reason : '';
    const run = summarizeIrq([collectVectorIrq([]).summary], 'no rkvdec jobs observed: ' + reason);
    expect(run.answer).toBe('unknown');
    expect(run.explanation).toMatch(/no rkvdec jobs observed/);
  });

  it('reports what was enabled', () => {
    expect(interpretEnable('ENABLED param:irq_status_trace=1 dyndbg:module rockchip_vdec +p', DEFAULT_INSTRUMENTATION, 'b')).toEqual({
      state: 'enabled',
      how: ['param:irq_status_trace=1', 'dyndbg:module rockchip_vdec +p'],
    });
  });
});
