/**
 * Benchmark: one deploy + verify + rollback cycle of visl.ko on the vboard.
 *
 *   node --import tsx harness/bench/deploy-cycle.ts [cycles=3]
 *
 * Boots the vboard if needed and builds visl.ko in the toolbox (both cached),
 * then per cycle deploys a byte-different visl.ko (preflight, backup,
 * upload, install, reload, verify) and rolls it back, on one SSH connection.
 * Prints the time of each phase, of the deploy, of the rollback and of the
 * cycle (goal: cycle < 10 s), plus the connect time and the machine load.
 */
import { loadavg } from 'node:os';
import { deployModules, rollback } from '../src/deploy/deploy.ts';
import type { DeployPhase } from '../src/deploy/types.ts';
import { vboardBoard } from '../src/target/providers/vboard.ts';
import { SshTarget } from '../src/target/ssh.ts';
import { testSshOptions } from '../test/target/fixture.ts';
import { artifact, loadableVariant, vislBuild } from '../test/deploy/testModules.ts';

const cycles = Number(process.argv[2] ?? 3);
const board = vboardBoard();
const t = new SshTarget(await testSshOptions());
const { visl } = await vislBuild();
const c0 = Date.now();
await t.exec(['true']);
console.log(
  `connect + first command: ${Date.now() - c0} ms; load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
const r0 = Date.now();
await t.exec(['true']);
console.log(`one round trip: ${Date.now() - r0} ms`);

const totals: number[] = [];
for (let i = 0; i < cycles; i++) {
  const a = artifact(loadableVariant(visl, String.fromCharCode(65 + (i % 26))));
  const marks: [DeployPhase | 'start', number][] = [['start', Date.now()]];
  const start = Date.now();
  const rec = await deployModules(t, board, [a], { onPhase: (p) => void marks.push([p, Date.now()]) });
  const deployed = Date.now();
  await rollback(t, board, rec.id);
  const end = Date.now();
  const phases = marks
    .slice(1)
    .map(([p, at], k) => `${p} ${((marks[k + 2]?.[1] ?? deployed) - at).toString().padStart(5)} ms`)
    .join(' | ');
  console.log(`cycle ${i + 1}: deploy ${deployed - start} ms + rollback ${end - deployed} ms = ${end - start} ms   [${phases}]`);
  totals.push(end - start);
}
totals.sort((x, y) => x - y);
const median = totals[Math.floor(totals.length / 2)]!;
console.log(
  `deploy+verify+rollback cycle: median ${(median / 1000).toFixed(2)} s, min ${(totals[0]! / 1000).toFixed(2)} s, max ${(totals.at(-1)! / 1000).toFixed(2)} s over ${cycles} cycle(s) (goal < 10 s); load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
await t.close();
