/**
 * What the register differential costs per vector, beyond MPP's own run:
 * for each vector of a simboard run's report (its `registers-capture.jsonl`
 * artifacts), times the comparison the `registers` check does with MPP's
 * cached records (records loaded from the cache, capture parsed, field
 * table and allow-list loaded, every frame compared, the per-frame tables
 * built). MPP's run itself is cached per vector (registers/compareRun.ts
 * cachedMppRecords) and not counted. Target of the MPP issue: <= 1 s per
 * vector on the quick subset.
 *
 *   node --import tsx harness/bench/registers-compare.ts REPORT_DIR [--repeat N]
 *
 * REPORT_DIR: a `workbench iterate --board simboard` report (reports/<run-id>).
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { ExecaRunner } from '../src/core/runner.ts';
import { cachedMppRecords, diffCaptureText } from '../src/registers/compareRun.ts';
import type { FrameTable } from '../src/model/captures.ts';
import { resolveVector } from '../src/registers/mppRecord.ts';

const { values, positionals } = parseArgs({
  options: { repeat: { type: 'string', default: '3' }, help: { type: 'boolean', default: false } },
  allowPositionals: true,
  strict: true,
});
if (values.help || positionals.length !== 1) {
  console.log('usage: node --import tsx harness/bench/registers-compare.ts REPORT_DIR [--repeat N]');
  process.exit(values.help ? 0 : 2);
}
const dir = join(positionals[0]!, 'artifacts');
if (!existsSync(dir)) {
  console.error(`${dir} does not exist: give a simboard report folder (reports/<run-id>)`);
  process.exit(2);
}
const repeat = Number(values.repeat);
const runner = new ExecaRunner();
const rows: string[] = [];
for (const name of readdirSync(dir).sort()) {
  const cap = join(dir, name, 'registers-capture.jsonl');
  // a vector the driver refused (p1-444) has no jobs, hence no capture lines
  if (!existsSync(cap) || !readFileSync(cap, 'utf8').trim()) continue;
  const text = readFileSync(cap, 'utf8');
  const path = await resolveVector(name, runner);
  const times: number[] = [];
  let frames = 0;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    const { records } = await cachedMppRecords(path, { runner });
    const tables: FrameTable[] = [];
    const rep = await diffCaptureText(records, text, cap, { tables });
    times.push(performance.now() - t0);
    frames = rep.frames;
  }
  times.sort((a, b) => a - b);
  rows.push(
    `${name.padEnd(28)} ${String(frames).padStart(4)} frames  median ${times[Math.floor(times.length / 2)]!.toFixed(0).padStart(5)} ms  (min ${times[0]!.toFixed(0)}, max ${times.at(-1)!.toFixed(0)})`,
  );
}
console.log(`register differential per vector (MPP records cached; ${repeat} runs each; load ${(await import('node:os')).loadavg()[0]!.toFixed(1)})`);
for (const r of rows) console.log(r);
