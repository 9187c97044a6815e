import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { statusBitNames } from '../../src/registers/captureSummary.ts';
import { FAULT_MODES, faultControlText, parseFaultRule, writeFaultPlan } from '../../src/simboard/faults.ts';

describe('simboard fault modes', () => {
  it("each mode's STA_INT word has the bits MPP's reg224 map names for it (model/irq.ts IRQ_BITS)", () => {
    const bits = Object.fromEntries(Object.entries(FAULT_MODES).map(([m, f]) => [m, statusBitNames(f.status)]));
    expect(bits).toEqual({
      ready: ['irq', 'irq_raw', 'dec_rdy'],
      'bus-error': ['irq', 'irq_raw', 'bus_err'],
      error: ['irq', 'irq_raw', 'error'],
      timeout: ['irq', 'irq_raw', 'timeout'],
      'buf-empty': ['irq', 'irq_raw', 'buf_empty'],
      'colmv-ref-error': ['irq', 'irq_raw', 'colmv_ref_err'],
      'softreset-ready': ['irq', 'irq_raw', 'softreset_rdy'],
      'raw-without-ready': ['irq', 'irq_raw'],
      'no-irq': [],
      'late-irq': ['irq', 'irq_raw', 'dec_rdy'],
      'double-irq': ['irq', 'irq_raw', 'dec_rdy'],
      'long-delay': ['irq', 'irq_raw', 'dec_rdy'],
      'irq-storm': ['irq', 'irq_raw', 'dec_rdy'],
    });
  });

  it('JOB:MODE rules: a job from 1 or *, a known mode; anything else is refused naming the rule and the modes', () => {
    expect(parseFaultRule('2:error')).toEqual({ job: 2, mode: 'error' });
    expect(parseFaultRule('*:no-irq')).toEqual({ job: '*', mode: 'no-irq' });
    for (const bad of ['0:error', '2:explode', '2', 'x:error', '2:error;reboot', '-1:error']) {
      expect(() => parseFaultRule(bad), bad).toThrow(new RegExp(`fault rule "${bad.replace(/[*;]/g, '\\$&')}".*ready, bus-error`));
    }
  });

  describe('control file', () => {
    let dir: string;
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("is written in vdpu381_sim.c's line format; an empty plan removes it", async () => {
      dir = mkdtempSync(join(tmpdir(), 'wb-faults-'));
      const f = join(dir, 'faults');
      await writeFaultPlan(f, {
        rules: [
          { job: 3, mode: 'late-irq' },
          { job: '*', mode: 'ready' },
        ],
        fullBuffers: true,
        lateIrqMs: 2500,
      });
      expect(
        readFileSync(f, 'utf8')
          .split('\n')
          .filter((l) => !l.startsWith('#')),
      ).toEqual(['3 late-irq', '* ready', 'buffers full', 'late-irq-ms 2500', '']);
      await writeFaultPlan(f, { rules: [] });
      expect(existsSync(f)).toBe(false);
      expect(() => faultControlText({ rules: [], longDelayMs: 1.5 })).toThrow(/long-delay-ms 1.5/);
    });
  });
});
