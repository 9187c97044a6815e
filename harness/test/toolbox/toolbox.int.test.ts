import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheRoot, projectRoot } from '../../src/core/paths.ts';
import { ensureToolbox } from '../../src/toolbox/toolbox.ts';
import { ExecaRunner } from '../../src/core/runner.ts';

/** The real toolbox (built from the Debian mirror when not cached; needs root). */
describe('toolbox (real sid chroot)', () => {
  const work = mkdtempSync(join(cacheRoot(), '..', 'wb-toolbox-int-'));
  afterAll(() => rmSync(work, { recursive: true, force: true })); // our own mkdtemp directory

  it('has the pinned headers, the source tarball, gcc-16, pahole and the arm64 cross compiler', async () => {
    const tb = await ensureToolbox({ runner: new ExecaRunner(), log: (s) => process.stderr.write(`[toolbox-int] ${s}\n`) });
    expect(tb.kernelRelease).toBe(tb.lock.kernel_release);
    const r = await tb.exec([
      'sh',
      '-c',
      `test -f ${tb.headersDir}/Makefile && test -f ${tb.sourceTarball} && ls ${tb.configDir} && gcc-16 -dumpversion && pahole --version && aarch64-linux-gnu-gcc -dumpversion && ld --version`,
    ]);
    expect(r.stdout).toMatch(/^16\b/m);
    expect(r.stdout).toMatch(/config\.amd64_none_amd64/);
    expect(r.stdout).toMatch(/^v1\.\d+/m);
    expect(tb.versions[`linux-headers-${tb.kernelRelease}`]).toBe(tb.lock.packages[`linux-headers-${tb.kernelRelease}`]);
  });

  it('runs in its own PID namespace with /proc mounted, binds work dirs, reports exit codes', async () => {
    const tb = await ensureToolbox({ runner: new ExecaRunner() });
    writeFileSync(join(work, 'in.txt'), 'from host\n');
    const r = await tb.exec(['sh', '-c', 'echo $$; cat in.txt; test -r /proc/self/status && echo proc-ok; echo out > out.txt'], {
      cwd: '/work/x',
      binds: [{ host: work, inside: '/work/x' }],
    });
    const [pid, line, proc] = r.stdout.trim().split('\n');
    expect(Number(pid)).toBeLessThan(10); // a fresh PID namespace
    expect(line).toBe('from host');
    expect(proc).toBe('proc-ok');
    expect(readFileSync(join(work, 'out.txt'), 'utf8')).toBe('out\n');
    const f = await tb.exec(['sh', '-c', 'exit 7'], { allowFailure: true });
    expect(f.exitCode).toBe(7);
    await expect(tb.exec(['false'])).rejects.toMatchObject({ code: 'E_COMMAND_FAILED' });
    // The bind was private to the command's mount namespace.
    const mounts = readFileSync('/proc/self/mounts', 'utf8');
    expect(mounts).not.toContain(`${tb.root}/work/x`);
  });

  it('a locked version the mirror no longer has fails with E_LOCK_STALE and says how to move', async () => {
    const dir = join(work, 'manifests');
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(projectRoot(), 'kernel-src-manifest/debian-sid-7.2.toml'), join(dir, 'debian-sid-7.2.toml'));
    const lock = readFileSync(join(projectRoot(), 'kernel-src-manifest/debian-sid-7.2.lock'), 'utf8');
    // A version sid never had: what a lock looks like after sid moved on.
    writeFileSync(join(dir, 'debian-sid-7.2.lock'), lock.replace(/^("linux-source-7\.2" = )".*"$/m, '$1"7.2.0-0"'));
    const saved = process.env.WORKBENCH_MANIFEST_DIR;
    process.env.WORKBENCH_MANIFEST_DIR = dir;
    try {
      await expect(ensureToolbox({ runner: new ExecaRunner(), cacheRoot: join(work, 'cache') })).rejects.toMatchObject({
        code: 'E_LOCK_STALE',
        message: expect.stringContaining('linux-source-7.2=7.2.0-0'),
        hint: expect.stringContaining('workbench toolbox update-lock'),
      });
    } finally {
      if (saved === undefined) delete process.env.WORKBENCH_MANIFEST_DIR;
      else process.env.WORKBENCH_MANIFEST_DIR = saved;
    }
  });
});
