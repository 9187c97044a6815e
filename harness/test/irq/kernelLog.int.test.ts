import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failures, kernelLogSince, readKernelLog, sliceBetween, writeMarker } from '../../src/irq/kernelLog.ts';
import { SshTarget } from '../../src/target/ssh.ts';
import { testSshOptions } from '../target/fixture.ts';

/**
 * Kernel log capture on the real vboard: markers through /dev/kmsg, slices
 * between them, and classification of a real kernel message (a module
 * refused for a bad parameter value: kernel/params.c "`%s' invalid for
 * parameter `%s'").
 * Uses the `dummy` network module, which nothing else on the board uses;
 * the failed load leaves nothing behind.
 */
let t: SshTarget;
beforeAll(async () => {
  t = new SshTarget(await testSshOptions());
});
afterAll(async () => {
  await t?.close();
});

describe('kernel log on the vboard', () => {
  it('slices between markers and classifies a real module load error', async () => {
    await t.exec(['sh', '-c', '[ -d /sys/module/dummy ] && rmmod dummy; true']);
    const a = await writeMarker(t, 'vector wb-test-a');
    const r = await t.exec(['modprobe', 'dummy', 'numdummies=wb-not-a-number'], { allowFailure: true });
    expect(r.exitCode).not.toBe(0);
    const b = await writeMarker(t, 'vector wb-test-b');
    const lines = await readKernelLog(t);
    const s = sliceBetween(lines, a.id, b.id);
    expect(s.markerFound).toBe(true);
    const errs = failures(s.findings);
    expect(errs.map((f) => f.kind)).toEqual(['module_error']);
    expect(errs[0]!.line).toBe("dummy: `wb-not-a-number' invalid for parameter `numdummies'");
    expect(errs[0]!.modules).toEqual(['dummy']);
    expect(errs[0]!.time).toBeGreaterThan(0);
    // Nothing after marker b (the ring buffer keeps the marker text itself).
    const after = await kernelLogSince(t, b);
    expect(failures(after.findings)).toEqual([]);
    expect(lines.some((l) => l.text === a.text && l.facility === 1)).toBe(true);
  });

  it('marker labels cannot inject extra log lines', async () => {
    const m = await writeMarker(t, 'evil\n<0>Kernel panic - not syncing: fake');
    const since = await kernelLogSince(t, m);
    expect(failures(since.findings)).toEqual([]);
    const lines = await readKernelLog(t);
    expect(lines.some((l) => l.text.startsWith('Kernel panic'))).toBe(false);
  });
});
