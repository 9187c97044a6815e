/**
 * What the simboard's register capture costs: decodes vectors on the running
 * simboard (`workbench simboard up` and a deployed series first) and prints,
 * per vector, the jobs captured, the host time the device model spent per job
 * on its capture (`host_us`: function-block snapshot, SHA-256 of the input
 * buffers, building the JSON record; vdpu381_sim.c) and the record sizes.
 * Targets of the simboard issue: <= 50 ms per job, <= 16 KiB per record
 * without buffer bytes.
 *
 *   node --import tsx harness/bench/capture-overhead.ts [--vectors a,b] [--full-buffers]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../src/core/paths.ts';
import { writeFaultPlan } from '../src/simboard/faults.ts';
import { simboardPaths } from '../src/simboard/simboard.ts';

const { values } = parseArgs({
  options: {
    vectors: { type: 'string', default: 'p0-odd-tiny,p0-odd-cif-aq-variance,p0-1080p-tiles' },
    'full-buffers': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (values.help) {
  console.log('usage: node --import tsx harness/bench/capture-overhead.ts [--vectors a,b] [--full-buffers]');
  process.exit(0);
}

const lines = (): string[] => {
  const f = simboardPaths().capture;
  return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
};
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? { min: s[0]!, median: s[s.length >> 1]!, max: s.at(-1)! } : { min: NaN, median: NaN, max: NaN };
};

await writeFaultPlan(simboardPaths().faults, { rules: [], fullBuffers: values['full-buffers'] });
console.log(`simboard capture cost${values['full-buffers'] ? ' (with buffer bytes)' : ''}: host µs per job and record bytes (min / median / max)`);
for (const v of values.vectors.split(',')) {
  const before = lines().length;
  execFileSync(process.execPath, [join(projectRoot(), 'harness/bin/workbench.js'), 'decode', '--board', 'simboard', '--vectors', v, '--json'], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const recs = lines().slice(before);
  const us = stats(recs.map((l) => (JSON.parse(l) as { host_us?: number }).host_us ?? NaN));
  const bytes = stats(recs.map((l) => Buffer.byteLength(l) + 1));
  console.log(
    `${v.padEnd(26)} ${String(recs.length).padStart(4)} jobs  ${us.min} / ${us.median} / ${us.max} µs  ${bytes.min} / ${bytes.median} / ${bytes.max} bytes`,
  );
}
await writeFaultPlan(simboardPaths().faults, { rules: [] });
