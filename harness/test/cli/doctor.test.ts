import { describe, expect, it } from 'vitest';
import { RecordingRunner } from '../../src/core/runner.ts';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { ensureHostTools } from '../../src/cli/commands/doctor.ts';
import { RUN_TOOLS } from '../../src/core/hostTools.ts';

describe('ensureHostTools', () => {
  it('does nothing when every tool is present', async () => {
    const runner = new RecordingRunner();
    await ensureHostTools(['sh'], { install: true, runner, out: () => undefined });
    expect(runner.calls).toHaveLength(0);
  });

  it('without install, fails with the apt command naming the package', async () => {
    const e = await ensureHostTools(['sh', 'wb-no-such-tool'], { install: false }).catch((x: unknown) => x);
    expect(isWorkbenchError(e, 'E_TOOL_MISSING')).toBe(true);
    expect((e as Error).message).toContain('wb-no-such-tool');
    expect((e as { hint: string }).hint).toContain('apt-get install -y --no-install-recommends wb-no-such-tool');
  });

  it.skipIf(process.getuid?.() !== 0)('as root, runs apt-get update then install, and re-checks', async () => {
    const runner = new RecordingRunner();
    const lines: string[] = [];
    const e = await ensureHostTools(['wb-no-such-tool'], { install: true, runner, out: (s) => lines.push(s) }).catch((x: unknown) => x);
    expect(runner.calls.map((c) => c.argv)).toEqual([
      ['apt-get', '-o', 'DPkg::Lock::Timeout=600', 'update', '-q'],
      ['apt-get', '-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '-q', '--no-install-recommends', 'wb-no-such-tool'],
    ]);
    // the fake apt installed nothing, so the re-check must fail
    expect(isWorkbenchError(e, 'E_TOOL_MISSING')).toBe(true);
    expect(lines[0]).toContain('installing host tools wb-no-such-tool');
  });

  it('iterate needs no test-only tool', () => {
    expect(RUN_TOOLS).toContain('qemu-system-x86_64');
    expect(RUN_TOOLS).not.toContain('chromium');
  });
});
