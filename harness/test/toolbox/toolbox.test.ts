import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordingRunner } from '../../src/core/runner.ts';
import { chrootArgv, ENTER_SCRIPT } from '../../src/toolbox/chrootExec.ts';
import { missingPackagesFromAptOutput, mmdebstrapArgv } from '../../src/toolbox/mmdebstrap.ts';
import { TOOLCHAIN_PACKAGES, toolboxPackages } from '../../src/toolbox/packages.ts';
import { ensureToolbox } from '../../src/toolbox/toolbox.ts';
import { loadLock, loadManifest } from '../../src/toolbox/manifest.ts';

describe('chroot exec argv', () => {
  it('new mount+PID namespace with /proc, binds as positional args, clean env, cwd', () => {
    const argv = chrootArgv('/c/root', ['make', '-C', '/usr/src/h', 'M=/work/m'], {
      cwd: '/work/m',
      binds: [
        { host: '/host/m', inside: '/work/m' },
        { host: '/host/ro', inside: '/ro', readOnly: true },
      ],
    });
    expect(argv.slice(0, 8)).toEqual(['unshare', '-m', '-p', '-f', '--mount-proc=/c/root/proc', 'sh', '-c', ENTER_SCRIPT.text]);
    expect(argv.slice(8, 17)).toEqual(['enterChroot', '/c/root', '2', '/host/m', '/work/m', 'rw', '/host/ro', '/ro', 'ro']);
    expect(argv.slice(17, 21)).toEqual(['/usr/bin/env', '-i', '-C', '/work/m']);
    expect(argv).toContain('HOME=/root');
    expect(argv.slice(-4)).toEqual(['make', '-C', '/usr/src/h', 'M=/work/m']);
  });

  it('the enter script takes everything as positional arguments', () => {
    expect(ENTER_SCRIPT.text).toContain('exec chroot "$root" "$@"');
  });

  it('the enter script is a file of its own: run without arguments it prints its usage with its own name', () => {
    const r = spawnSync('sh', [ENTER_SCRIPT.path], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^usage: .*enterChroot\.sh ROOT N /);
  });

  it('refuses relative or escaping inside paths and option-like commands', () => {
    expect(() => chrootArgv('/r', ['true'], { binds: [{ host: '/h', inside: 'rel' }] })).toThrow(/absolute path inside/);
    expect(() => chrootArgv('/r', ['true'], { binds: [{ host: '/h', inside: '/a/../../etc' }] })).toThrow(/without "\.\."/);
    expect(() => chrootArgv('/r', ['true'], { binds: [{ host: 'h', inside: '/a' }] })).toThrow(/absolute host path/);
    expect(() => chrootArgv('/r', ['-rf'])).toThrow(/program name/);
    expect(() => chrootArgv('/r', [])).toThrow(/needs a command/);
  });
});

describe('mmdebstrap', () => {
  it('argv: root mode, apt options incl. Check-Valid-Until false, explicit mirror last', () => {
    const a = mmdebstrapArgv({ suite: 'sid', target: '/t', mirror: 'http://m.example.org/debian', include: ['a', 'b=1'] });
    expect(a[0]).toBe('mmdebstrap');
    expect(a).toContain('--mode=root');
    expect(a).toContain('--aptopt=Acquire::Check-Valid-Until "false"');
    expect(a).toContain('--include=a,b=1');
    expect(a.slice(-3)).toEqual(['sid', '/t', 'http://m.example.org/debian']);
  });

  it('finds missing pinned versions in apt output', () => {
    const out = "E: Version '7.2.12-1' for 'linux-source-7.2' was not found\nE: Unable to locate package linux-kbuild-7.2.12+deb14\n";
    expect(missingPackagesFromAptOutput(out)).toEqual(['linux-source-7.2=7.2.12-1', 'linux-kbuild-7.2.12+deb14']);
  });

  it('package list holds the toolchain and the pinned kernel packages', () => {
    const lock = loadLock(loadManifest());
    const pk = toolboxPackages(lock);
    for (const p of ['gcc-16', 'dwarves', 'gcc-16-aarch64-linux-gnu', 'binutils-aarch64-linux-gnu', 'sparse']) expect(pk).toContain(p);
    expect(pk).toContain(`linux-headers-${lock.kernel_release}=${lock.packages[`linux-headers-${lock.kernel_release}`]}`);
    expect(pk.some((p) => p.startsWith('linux-modules-'))).toBe(false);
    expect(new Set(TOOLCHAIN_PACKAGES).size).toBe(TOOLCHAIN_PACKAGES.length);
  });
});

describe('ensureToolbox with a recording runner', () => {
  let cache: string;
  const env = { ...process.env };
  beforeEach(() => {
    cache = mkdtempSync(join(tmpdir(), 'wb-tbcache-'));
    process.env.WORKBENCH_DEBIAN_MIRROR = 'http://m.example.org/debian';
  });
  afterEach(() => {
    process.env = { ...env };
  });
  const rootOnly = process.getuid?.() === 0 ? it : it.skip;

  rootOnly('a locked version gone from the mirror becomes E_LOCK_STALE with the update-lock hint; nothing is cached', async () => {
    const runner = new RecordingRunner((argv) =>
      argv[0] === 'mmdebstrap' ? { exitCode: 1, stderr: "E: Version '7.2.13-1' for 'linux-source-7.2' was not found\n" } : {},
    );
    await expect(ensureToolbox({ runner, cacheRoot: cache })).rejects.toMatchObject({
      code: 'E_LOCK_STALE',
      hint: expect.stringContaining('workbench toolbox update-lock'),
    });
    expect(runner.calls[0]!.argv).toContain('http://m.example.org/debian');
  });

  rootOnly('builds once (mmdebstrap + dpkg-query), records versions, hits afterwards', async () => {
    const lock = loadLock(loadManifest());
    const runner = new RecordingRunner((argv) => {
      if (argv[0] === 'mmdebstrap') {
        const target = argv[argv.length - 2]!;
        mkdirSync(join(target, 'usr/src'), { recursive: true });
        writeFileSync(join(target, 'usr/src/linux-source-7.2.tar.xz'), 'x');
        return {};
      }
      if (argv[0] === 'chroot') {
        return {
          stdout:
            Object.entries(lock.packages)
              .map(([p, v]) => `${p}\t${v}`)
              .join('\n') + '\ngcc-16\t16.2.0-4\n',
        };
      }
      return {};
    });
    const tb = await ensureToolbox({ runner, cacheRoot: cache });
    expect(tb.kernelRelease).toBe(lock.kernel_release);
    expect(tb.headersDir).toBe(`/usr/src/linux-headers-${lock.kernel_release}`);
    expect(tb.versions['gcc-16']).toBe('16.2.0-4');
    expect(existsSync(join(tb.root, 'usr/src/linux-source-7.2.tar.xz'))).toBe(true);
    const n = runner.calls.length;
    const again = await ensureToolbox({ runner, cacheRoot: cache });
    expect(again.key).toBe(tb.key);
    expect(runner.calls.length).toBe(n);
  });
});
