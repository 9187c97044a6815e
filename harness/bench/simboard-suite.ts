/**
 * Benchmark: the whole vp9-features suite on the simboard with the vdpu381
 * decoding model attached (issue 16, "Speed": the suite <= 15 min warm on
 * 2 cores), through `workbench iterate --board simboard`, the command a
 * developer runs.
 *
 *   node --import tsx harness/bench/simboard-suite.ts [--keep-board]
 *
 * 1. `workbench simboard down`, then `workbench simboard up --model`
 *    (QEMU, rootfs and model core from the cache when built before; the boot
 *    is timed on its own, not part of the suite figure).
 * 2. `workbench iterate --board simboard --suite vp9-features --json` (all
 *    19 vectors, not the quick six) once (warm-up: series
 *    applied and built or taken from the cache, deployed).
 * 3. The same again, timed from process start to exit (node start-up
 *    included): the warm figure. Its run record gives the per-stage times
 *    and each vector's verdict and decode time.
 * 4. `workbench simboard down` unless --keep-board.
 *
 * Prints the boot time, both iterate times, the stages of the timed run, one
 * line per vector (verdict, frames, ms) and the load average before and
 * after (2 cores shared with other work make the figure noisy).
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/core/paths.ts';
import { loadRun } from '../src/report/store.ts';
import type { RunRecord } from '../src/model/record.ts';

const root = projectRoot();
const keep = process.argv.includes('--keep-board');
const cli = join(root, 'harness/bin/workbench.js');

/** Runs the workbench CLI; returns wall ms, stdout and the exit code (stderr passes through). */
async function wb(args: string[]): Promise<{ ms: number; stdout: string; code: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [cli, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ ms: Date.now() - t0, stdout, code: code ?? -1 }));
  });
}

/** The run record of an `iterate --json` (its `result` event names the report). */
function recordOf(stdout: string): RunRecord {
  const result = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type?: string; reportDir?: string })
    .find((l) => l.type === 'result');
  if (!result?.reportDir) throw new Error(`iterate wrote no report:\n${stdout.slice(-2000)}`);
  return loadRun(result.reportDir);
}

const load0 = loadavg()[0]!.toFixed(1);
await wb(['simboard', 'down']);
const up = await wb(['simboard', 'up', '--model']);
if (up.code !== 0) throw new Error(`simboard up --model failed (exit ${up.code})`);
const iterateArgs = ['iterate', '--board', 'simboard', '--suite', 'vp9-features', '--json'];
const warm = await wb(iterateArgs);
const timed = await wb(iterateArgs);
const rec = recordOf(timed.stdout);
if (!keep) await wb(['simboard', 'down']);

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
console.log(`simboard up --model: ${s(up.ms)}`);
console.log(`iterate (warm-up): ${s(warm.ms)}, exit ${warm.code}`);
console.log(`iterate (timed, warm): ${s(timed.ms)}, exit ${timed.code}  (goal: 900 s)`);
for (const st of rec.stages ?? []) console.log(`  stage ${st.name}: ${st.durationMs !== undefined ? s(st.durationMs) : '-'} ${st.status}`);
for (const v of rec.vectors)
  console.log(`  ${v.name}: ${v.verdict.result}, ${v.verdict.framesProduced}/${v.verdict.framesExpected} frames, ${s(v.durationMs)}`);
console.log(`load average: ${load0} before, ${loadavg()[0]!.toFixed(1)} after (2 cores)`);
