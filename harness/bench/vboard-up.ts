/**
 * Benchmark: how long `workbench vboard up` takes to reach SSH.
 *
 *   node --import tsx harness/bench/vboard-up.ts [--warm-only] [--keep-cache]
 *
 * cold: an empty WORKBENCH_CACHE_DIR (a fresh directory next to the normal
 *   cache, same filesystem), so it includes the toolbox (mmdebstrap), the
 *   visl module build, the image build and the KVM probe, then the boot.
 * warm: the same command again after `vboard down` (everything cached).
 * Each run uses its own state/config directories, so the vboard other
 * people use is not touched. Needs root (image build). Prints both figures.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { ExecaRunner } from '../src/core/runner.ts';
import { cacheRoot, projectRoot } from '../src/core/paths.ts';

const args = new Set(process.argv.slice(2));
const cli = join(projectRoot(), 'harness/bin/workbench.js');
const runner = new ExecaRunner();

const base = join(dirname(cacheRoot()), 'workbench-bench');
mkdirSync(base, { recursive: true });
const work = mkdtempSync(join(base, 'run-'));
const env: Record<string, string> = {
  WORKBENCH_STATE_DIR: join(work, 'state'),
  WORKBENCH_CONFIG_DIR: join(work, 'config'),
};
if (!args.has('--warm-only')) env.WORKBENCH_CACHE_DIR = join(work, 'cache');

async function wb(argv: string[], label: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  let pending = '';
  const r = await runner.run(['node', cli, ...argv], {
    env,
    allowFailure: true,
    timeoutMs: 30 * 60_000,
    onStderr: (s) => {
      const lines = (pending + s).split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) process.stderr.write(`  ${label} | ${l}\n`);
    },
  });
  if (pending) process.stderr.write(`  ${label} | ${pending}\n`);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.exitCode !== 0) throw new Error(`${label}: workbench ${argv.join(' ')} exited ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
  return s;
}

const results: Record<string, number> = {};
try {
  if (args.has('--warm-only')) {
    await wb(['vboard', 'up'], 'prime'); // make sure the state disk exists
    await wb(['vboard', 'down'], 'down');
  } else {
    results.cold = await wb(['vboard', 'up'], 'cold');
    await wb(['vboard', 'down'], 'down');
  }
  results.warm = await wb(['vboard', 'up'], 'warm');
  await wb(['vboard', 'down'], 'down');
} finally {
  await runner.run(['node', cli, 'vboard', 'down'], { env, allowFailure: true });
  if (!args.has('--keep-cache')) rmSync(work, { recursive: true, force: true }); // our own mkdtemp
}
const load = (await runner.run(['cat', '/proc/loadavg'])).stdout.trim();
if (results.cold !== undefined) console.log(`vboard up, cold cache (toolbox + modules + image + boot): ${results.cold.toFixed(1)} s (budget 360 s)`);
console.log(`vboard up, warm cache: ${results.warm!.toFixed(1)} s (budget 20 s)`);
console.log(`host load average at the end: ${load}`);
