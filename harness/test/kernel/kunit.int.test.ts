/**
 * Integration tests of `workbench kunit`.
 *
 * Always: the host's real qemu-system-x86_64 through bootKunitKernel (a file
 * that is not a kernel: QEMU refuses it, no KTAP, the infrastructure path).
 *
 * The full command (toolbox, series, x86_64 KUnit kernel build, QEMU boot,
 * KTAP) only with WORKBENCH_KUNIT_INT=1: from an empty cache its build
 * compiles a whole kernel (~22 min on 2 cores), too long for `npm test`
 * (CI has 90 min for everything); with a cached build it takes ~1-2 min.
 *   WORKBENCH_KUNIT_INT=1 npx vitest run harness/test/kernel/kunit.int.test.ts
 */
import { execFileSync, spawnSync } from 'node:child_process';
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
  it("runs the series' suite: 6 cases pass, exit 0, kunit.py-style summary", () => {
    const r = spawnSync('node', [join(projectRoot(), 'harness/bin/workbench.js'), 'kunit'], { encoding: 'utf8', timeout: 90 * 60_000 });
    expect(r.stderr).not.toMatch(/^error\[/m);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('============= rkvdec-vdpu381-vp9 (6 subtests) ==============');
    expect(r.stdout).toContain('=============== [PASSED] rkvdec-vdpu381-vp9 ================');
    expect(r.stdout).toContain('Testing complete. Ran 6 tests: passed: 6');
    // Second run: nothing changed, no make.
    const again = execFileSync('node', [join(projectRoot(), 'harness/bin/workbench.js'), 'kunit', '--json'], { encoding: 'utf8', timeout: 30 * 60_000 });
    const j = JSON.parse(again) as { exitCode: number; build: { cached: boolean }; ktap: { totals: { passed: number } } };
    expect(j.build.cached).toBe(true);
    expect(j.exitCode).toBe(0);
    expect(j.ktap.totals.passed).toBe(6);
  });
});
