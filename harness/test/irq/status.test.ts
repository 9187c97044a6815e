import { describe, expect, it } from 'vitest';
import { describeStatus, parseIrqLine, parseIrqLog, sequenceGaps, statusBits } from '../../src/irq/status.ts';
import { collectVectorIrq, interpretEnable, DEFAULT_INSTRUMENTATION } from '../../src/irq/instrumentation.ts';
import { summarizeIrq, withSimulatedDevice } from '../../src/irq/summary.ts';

/**
 * Kernel-log lines in the format patches/instrument/README.md documents
 * (dev_info prefix `rkvdec <device>: `, then
 * `rkvdec-irq: seq= variant= fourcc= mode= reg= status= src=`), as `dmesg`
 * prints them. The first line is the README's own example.
 */
const LOG = `[  812.402113] rkvdec fdc38100.video-codec: rkvdec-irq: seq=17 variant=vdpu381 fourcc=VP9F mode=2 reg=0x380 status=0x00000006 src=irq
[  812.435002] rkvdec fdc38100.video-codec: rkvdec-irq: seq=18 variant=vdpu381 fourcc=VP9F mode=2 reg=0x380 status=0x00000007 src=irq
[  812.466003] usb 1-1: new high-speed USB device number 2 using xhci-hcd
[  812.499004] rkvdec fdc38100.video-codec: rkvdec-irq: seq=20 variant=vdpu381 fourcc=VP9F mode=2 reg=0x380 status=0x00000052 src=irq
[  812.900005] rkvdec fdc38100.video-codec: rkvdec-irq: seq=21 variant=vdpu381 fourcc=VP9F mode=2 reg=0x380 status=0x00000000 src=watchdog
[  812.900105] rkvdec fdc38100.video-codec: rkvdec-irq: seq=21 variant=vdpu381 fourcc=VP9F mode=2 reg=0x380 status=0x00000024 src=irq
[  812.950006] rkvdec fdc38100.video-codec: rkvdec-irq: seq=22 variant=vdpu381 fourcc=S264 mode=1 reg=0x380 status=0x00000007 src=irq
[  813.000007] rkvdec fdc38100.video-codec: rkvdec-irq: seq=23 variant=none fourcc=VP9F mode=2 reg=0x000 status=0x00000000 src=run_error
[  813.100008] rkvdec ff660000.video-codec: rkvdec-irq: seq=5 variant=rk3399 fourcc=VP9F mode=2 reg=0x004 status=0x00001000 src=irq
[  813.200009] rkvdec fdc38100.video-codec: rkvdec-irq: seq=24 variant=vdpu381 fourcc=VP9F mode=2 reg=0x380 status=zz src=irq`.split('\n');

describe('status word', () => {
  it('names the reg224 bits', () => {
    expect(statusBits(0x207).bits).toEqual(['irq', 'irq_raw', 'dec_rdy', 'softreset_rdy']);
    expect(describeStatus(0x13)).toBe('0x00000013 (irq|irq_raw|error)');
    expect(describeStatus(0x52)).toBe('0x00000052 (irq_raw|error|buf_empty)');
    expect(describeStatus(0)).toBe('0x00000000 (none)');
    expect(describeStatus(0x1004)).toBe('0x00001004 (dec_rdy|+0x1000)');
  });
});

describe('kernel-log parser', () => {
  it('parses every field of the documented format and keeps malformed lines', () => {
    const p = parseIrqLog(LOG);
    expect(p.jobs).toHaveLength(8);
    expect(p.jobs[0]).toMatchObject({ seq: 17, variant: 'vdpu381', fourcc: 'VP9F', mode: 2, reg: 0x380, status: 6, src: 'irq', extra: {} });
    expect(p.malformed).toHaveLength(1);
    expect(p.malformed[0]!.reason).toMatch(/status 'zz'/);
    expect(sequenceGaps(p.jobs.filter((j) => j.variant === 'vdpu381'))).toEqual([19]);
  });

  it('ignores lines without the tag and names what is wrong', () => {
    expect(parseIrqLine('[ 1.0] rkvdec fdc38100.video-codec: ready')).toBeUndefined();
    expect(parseIrqLine('rkvdec-irq: seq=1 mode=2')).toBe('no status= field');
    expect(parseIrqLine('rkvdec-irq: seq=1 mode=2 status=0x4 src=oops')).toMatch(/src 'oops'/);
    expect(parseIrqLine('rkvdec-irq: seq=1 mode=-1 status=0x4')).toMatchObject({ mode: -1 });
  });

  it('histogram: one record per vdpu381 job (irq line wins over watchdog), run_error and rk3399 lines left out', () => {
    const v = collectVectorIrq(LOG);
    expect(v.jobs.map((j) => j.seq)).toEqual([17, 18, 20, 21, 22]);
    expect(v.jobs.find((j) => j.seq === 21)!.status).toBe(0x24);
    expect(v.other.map((j) => `${j.seq}/${j.src}/${j.variant}`)).toEqual(['21/watchdog/vdpu381', '23/run_error/none', '5/irq/rk3399']);
    expect(v.summary.jobs).toBe(5);
    expect(v.summary.vp9Jobs).toBe(4);
    expect(v.summary.bits.dec_rdy).toBe(4); // 17, 18, 21 (VP9) and 22 (H.264)
    expect(v.summary.bits.error).toBe(1);
    expect(v.summary.bits.buf_empty).toBe(1);
    expect(v.summary.statuses).toContainEqual({ status: '0x00000006', mode: 2, count: 1 });
    const run = summarizeIrq([v.summary]);
    // VP9 jobs: 17 (0x6), 18 (0x7), 21 (0x24 dec_rdy|timeout) have dec_rdy; 20 (0x52 error|buf_empty) has not
    expect(run.vp9Jobs).toBe(4);
    expect(run.vp9JobsWithDecRdy).toBe(3);
    expect(run.answer).toBe('partly');
  });

  it('on a simulated device the instrumentation answers nothing about hardware: the answer is unknown, the counts stay', () => {
    const run = summarizeIrq([collectVectorIrq(LOG).summary]);
    expect(run.answer).toBe('partly');
    // The fixture's VP9 jobs: 0x6, 0x7 and 0x24 (dec_rdy|timeout) have dec_rdy; 0x52 (error|buf_empty) and 0x24 have an error bit.
    const sim = withSimulatedDevice(run, { jobs: 4, decRdy: 3, line: 'dec_rdy on 3/4 jobs — simulated device; hardware still unverified' });
    expect(sim.answer).toBe('unknown');
    expect(sim.explanation).toMatch(/4 VP9 jobs \(3 with BIT\(2\) dec_rdy, 2 with an error bit\), all on a simulated device/);
    expect(sim.simulated?.line).toMatch(/simulated device/);
    expect(withSimulatedDevice(run, undefined)).toBe(run);
  });

  it('says unknown plainly when no rkvdec job was observed (vboard)', () => {
    const st = interpretEnable('NOT-LOADED\n', DEFAULT_INSTRUMENTATION, 'vboard');
    expect(st.state).toBe('unavailable');
    const reason = st.state === 'unavailable' ? st.reason : '';
    expect(reason).toMatch(/rockchip_vdec is not loaded on vboard/);
    const run = summarizeIrq([collectVectorIrq([]).summary], 'no rkvdec jobs observed: ' + reason);
    expect(run.answer).toBe('unknown');
    expect(run.explanation).toMatch(/no rkvdec jobs observed/);
  });

  it('enables the documented parameter (irq_trace) and reports what was done', () => {
    expect(DEFAULT_INSTRUMENTATION).toEqual({ module: 'rockchip_vdec', param: 'irq_trace', dynamicDebug: false });
    expect(interpretEnable('ENABLED param:irq_trace=1', DEFAULT_INSTRUMENTATION, 'b')).toEqual({ state: 'enabled', how: ['param:irq_trace=1'] });
    expect(interpretEnable('NO-PARAM', DEFAULT_INSTRUMENTATION, 'b')).toMatchObject({
      state: 'unavailable',
      reason: expect.stringMatching(/built without patches\/instrument/),
    });
  });
});
