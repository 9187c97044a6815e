/**
 * Integration tests of `workbench kunit`.
 *
 * Always: the host's real qemu-system-x86_64 through bootKunitKernel (a file
 * that is not a kernel: QEMU refuses it, no KTAP, the infrastructure path).
 *
 * The full command (toolbox, series, x86_64 KUnit kernel build, QEMU boot,
 * KTAP) only with WORKBENCH_KUNIT_INT=1: from an empty cache its build
 * compiles a whole kernel (~22 min on 2 cores), too long for `npm test`
 * (CI has 90 min for everything); with a cached build it takes ~1-2 min
 * per case. The broken-series case applies fixtures/broken-delta-probs.patch
 * on top of patches/ (one byte of ones missing before the MV probabilities).
 *   WORKBENCH_KUNIT_INT=1 npx vitest run harness/test/kernel/kunit.int.test.ts
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExecaRunner } from '../../src/core/runner.ts';
import { projectRoot } from '../../src/core/paths.ts';
import { parseKtap } from '../../src/kernel/ktap.ts';
import { bootKunitKernel } from '../../src/kernel/kunitQemu.ts';

describe('kunit: host QEMU', () => {
  it('a file that is not a kernel: QEMU exits non-zero, its message is kept, no KTAP', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wb-kunit-int-'));
    try {
      await writeFile(join(dir, 'bzImage'), 'not a kernel\n');
      const b = await bootKunitKernel(new ExecaRunner(), { kernel: join(dir, 'bzImage'), serialLog: join(dir, 'serial.log'), timeoutMs: 60_000, accel: 'tcg' });
      expect(b.exitCode).not.toBe(0);
      expect(b.timedOut).toBe(false);
      expect(b.stderr).toMatch(/kernel/i);
      expect(parseKtap(b.console).found).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(process.env.WORKBENCH_KUNIT_INT !== '1')('workbench kunit (full: build + boot; WORKBENCH_KUNIT_INT=1)', () => {
  it("runs the series' suite: 6 cases pass (the golden test once per recorded stream), exit 0, kunit.py-style summary", () => {
    const r = spawnSync('node', [join(projectRoot(), 'harness/bin/workbench.js'), 'kunit'], { encoding: 'utf8', timeout: 90 * 60_000 });
    expect(r.stderr).not.toMatch(/^error\[/m);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('============= rkvdec-vdpu381-vp9 (5 subtests) ==============');
    expect(r.stdout).toContain('[PASSED] p0-intra-only.ivf');
    expect(r.stdout).toContain('[PASSED] p0-odd-cif-aq-variance.ivf');
    expect(r.stdout).toContain('=============== [PASSED] rkvdec-vdpu381-vp9 ================');
    expect(r.stdout).toContain('Testing complete. Ran 6 tests: passed: 6');
    // Second run: nothing changed, no make.
    const again = execFileSync('node', [join(projectRoot(), 'harness/bin/workbench.js'), 'kunit', '--json'], { encoding: 'utf8', timeout: 30 * 60_000 });
    const j = JSON.parse(again) as { exitCode: number; build: { cached: boolean }; ktap: { totals: { passed: number } } };
    expect(j.build.cached).toBe(true);
    expect(j.exitCode).toBe(0);
    expect(j.ktap.totals.passed).toBe(6);
  });

  it("a series one byte wrong in the inter probability layout fails the golden test at each stream's first inter frame, naming the byte and MPP's value", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wb-kunit-broken-'));
    try {
      const names = readFileSync(join(projectRoot(), 'patches', 'series'), 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'));
      for (const n of names) copyFileSync(join(projectRoot(), 'patches', n), join(dir, n));
      copyFileSync(join(projectRoot(), 'harness/test/kernel/fixtures/broken-delta-probs.patch'), join(dir, '9999-broken-delta-probs.patch'));
      await writeFile(join(dir, 'series'), [...names, '9999-broken-delta-probs.patch', ''].join('\n'));
      const r = spawnSync('node', [join(projectRoot(), 'harness/bin/workbench.js'), 'kunit', '--series', dir], { encoding: 'utf8', timeout: 60 * 60_000 });
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/p0-intra-only\.ivf frame 1: delta probs differ from byte \d+ \(0x[0-9a-f]{2}, MPP 0x[0-9a-f]{2}\)/);
      expect(r.stdout).toMatch(/p0-odd-cif-aq-variance\.ivf frame 1: delta probs differ from byte/);
      expect(r.stdout).not.toMatch(/frame 0: delta probs differ/);
      expect(r.stdout).toContain('[FAILED] p0-intra-only.ivf');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
