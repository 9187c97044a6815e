/**
 * Benchmark of the kernel stage: prints figures.
 *
 *   node --import tsx harness/bench/kernel-build.ts [--arm64]
 *
 * 1. `workbench build --for vboard` of a test series (warm-up, builds what is missing),
 * 2. the same again: unchanged tree (target < 5 s),
 * 3. the series plus one patch that changes one line of rkvdec.c (target < 60 s on 2 cores),
 * 4. with --arm64: `workbench build --for arm64`, then `modinfo -F vermagic` and
 *    `readelf -h` of rockchip-vdec.ko inside the toolbox.
 * Every step runs the real CLI (node harness/bin/workbench.js), wall time measured here.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { projectRoot } from '../src/core/paths.ts';
import { ensureToolbox } from '../src/toolbox/toolbox.ts';
import { ensureBaseTree } from '../src/kernel/baseTree.ts';
import { kgit } from '../src/kernel/git.ts';
import type { BuildResult } from '../src/kernel/build.ts';
import { buildSeries } from '../src/kernel/stage.ts';
import { ExecaRunner } from '../src/core/runner.ts';

const ROOT = projectRoot();
const FIXTURE = join(ROOT, 'harness/test/kernel/fixtures/series-good');
const RKVDEC_C = 'drivers/media/platform/rockchip/rkvdec/rkvdec.c';

async function cli(args: string[]): Promise<{ ms: number; result: BuildResult }> {
  const t0 = performance.now();
  const r = await execa('node', [join(ROOT, 'harness/bin/workbench.js'), ...args, '--json'], { reject: false, stderr: 'inherit' });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`workbench ${args.join(' ')} exited ${r.exitCode}:\n${r.stdout}`);
  return { ms, result: JSON.parse(r.stdout) as BuildResult };
}

/** A mail patch changing line `n` (1-based) of `file` from `before` text to `after`. */
function oneLinePatch(file: string, lines: string[], n: number, after: string): string {
  const from = Math.max(1, n - 3);
  const to = Math.min(lines.length, n + 3);
  const ctx = (i: number) => ` ${lines[i - 1]}`;
  const body: string[] = [];
  for (let i = from; i <= to; i++) {
    if (i === n) body.push(`-${lines[i - 1]}`, `+${after}`);
    else body.push(ctx(i));
  }
  const count = to - from + 1;
  return [
    'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001',
    'From: Workbench Bench <bench@localhost.invalid>',
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    'Subject: [PATCH] media: rkvdec: bench one-line change',
    '',
    'A one-line change made by harness/bench/kernel-build.ts.',
    '',
    'Signed-off-by: Workbench Bench <bench@localhost.invalid>',
    '---',
    `diff --git a/${file} b/${file}`,
    `--- a/${file}`,
    `+++ b/${file}`,
    `@@ -${from},${count} +${from},${count} @@`,
    ...body,
    '-- ',
    '2.47.0',
    '',
  ].join('\n');
}

const runner = new ExecaRunner();
const tb = await ensureToolbox({ log: (m) => console.error(`[bench] ${m}`), runner });
const base = await ensureBaseTree(tb, { log: (m) => console.error(`[bench] ${m}`), runner });
const figures: Record<string, string> = {};

const series = mkdtempSync(join(tmpdir(), 'wb-bench-series-'));
try {
  cpSync(FIXTURE, series, { recursive: true });
  const warm = await cli(['build', '--for', 'vboard', '--series', series]);
  figures['vboard warm-up build (whatever was missing)'] = `${(warm.ms / 1000).toFixed(1)} s, cached=${warm.result.cached}`;
  const same = await cli(['build', '--for', 'vboard', '--series', series]);
  figures['vboard build, unchanged tree (CLI)'] =
    `${(same.ms / 1000).toFixed(2)} s wall incl. node/tsx start-up (cached=${same.result.cached}; make step ${same.result.durationMs} ms)`;
  const t0 = performance.now();
  const inproc = await buildSeries({ target: 'amd64', series, runner });
  figures['vboard build, unchanged tree (in-process: toolbox check, base, series, apply check, build)'] =
    `${((performance.now() - t0) / 1000).toFixed(2)} s (cached=${inproc.cached})`;
  const st = performance.now();
  await execa('node', [join(ROOT, 'harness/bin/workbench.js'), '--help'], { reject: false });
  figures['CLI start-up alone (workbench --help)'] = `${((performance.now() - st) / 1000).toFixed(2)} s`;

  const text = await kgit(new ExecaRunner(), base.gitDir).raw(['show', `${base.commit}:${RKVDEC_C}`]);
  const lines = text.split('\n');
  const n = lines.findIndex((l) => /dev_info\(.*No sram node/.test(l)) + 1 || lines.findIndex((l) => /dev_info\(/.test(l)) + 1;
  const after = lines[n - 1]!.replace(/\\n"/, ` (bench ${Date.now()})\\n"`);
  writeFileSync(join(series, '0003-bench-one-line.patch'), oneLinePatch(RKVDEC_C, lines, n, after));
  writeFileSync(join(series, 'series'), readFileSync(join(series, 'series'), 'utf8') + '0003-bench-one-line.patch\n');
  const one = await cli(['build', '--for', 'vboard', '--series', series]);
  const ko = one.result.modules.find((m) => m.name === 'rockchip-vdec');
  figures[`vboard build after a one-line change in ${RKVDEC_C}:${n}`] =
    `${(one.ms / 1000).toFixed(1)} s wall (ok=${one.result.ok}, cached=${one.result.cached}; vermagic "${ko?.vermagic.trim()}")`;

  if (process.argv.includes('--arm64')) {
    const a = await cli(['build', '--for', 'arm64', '--series', series]);
    const k = a.result.modules.find((m) => m.name === 'rockchip-vdec')!;
    figures['arm64 build'] = `${(a.ms / 1000).toFixed(1)} s wall (ok=${a.result.ok}, cached=${a.result.cached})`;
    const bind = [{ host: k.path, inside: '/wb/ko/rockchip-vdec.ko', readOnly: true }];
    const vm = await tb.exec(['modinfo', '-F', 'vermagic', '/wb/ko/rockchip-vdec.ko'], { binds: bind });
    const elf = await tb.exec(['readelf', '-h', '/wb/ko/rockchip-vdec.ko'], { binds: bind });
    figures['arm64 rockchip-vdec.ko modinfo vermagic'] = vm.stdout.trim();
    figures['arm64 rockchip-vdec.ko readelf Machine'] = /Machine:\s+(.*)/.exec(elf.stdout)?.[1]?.trim() ?? '?';
    figures['arm64 rockchip-vdec.ko'] = `${k.size} bytes sha256 ${k.sha256}`;
  }
} finally {
  rmSync(series, { recursive: true, force: true });
}
console.log(`kernel-build bench (${new Date().toISOString()}, base-commit ${base.commit.slice(0, 12)}, ${tb.kernelRelease})`);
for (const [k, v] of Object.entries(figures)) console.log(`  ${k}: ${v}`);
