/**
 * The farm-rk3588 NFS root filesystem's recipe and build steps, with a
 * recording runner standing in for mmdebstrap, the fix-up scripts and tar
 * (the real build, its contents and LAVA's validation are in
 * rootfs.int.test.ts). What the image must hold comes from the DUT script's
 * own text (farm/dut/wb-lava.sh as the job embeds it), not from the recipe.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cacheKey } from '../../src/core/cache.ts';
import { RecordingRunner, type RunOptions } from '../../src/core/runner.ts';
import { scriptNameOf } from '../../src/core/scripts.ts';
import { dutScript } from '../../src/farm/dutScript.ts';
import { ensureFarmRootfs, FARM_ROOTFS_EXCLUDES, FARM_ROOTFS_PACKAGES, farmRootfsInputs, farmRootfsTarArgv } from '../../src/farm/rootfs.ts';
import { extractRootfsArgv, parseRootfsPackages, ROOTFS_PACKAGES_FILE } from '../../src/simboard/arm64Rootfs.ts';

/** A package record as debManifest.sh + gstPlugins.sh write it (dpkg-deb fields, tab-separated). */
const RECORD = 'bash\t5.3-4\tarm64\nwget\t1.25.0-2\tarm64\ngstreamer1.0-plugins-bad\t1.28.8-1\tarm64\tlibgstv4l2codecs.so libgstivfparse.so\n';

describe('farm NFS root recipe', () => {
  it('holds what the DUT script calls beyond the Essential set: wget (its first download tool) and awk (mawk), and no SSH server', () => {
    const script = dutScript();
    // the script's own words: it downloads with wget when it has it, filters the probe with awk
    expect(script).toMatch(/command -v wget/);
    expect(script).toMatch(/\| awk /);
    expect(FARM_ROOTFS_PACKAGES).toContain('wget');
    expect(FARM_ROOTFS_PACKAGES).toContain('mawk');
    // tar -xJf needs xz; modinfo/depmod/modprobe come from kmod; gst-launch-1.0 from gstreamer1.0-tools
    expect(script).toMatch(/tar -xJf/);
    expect(script).toMatch(/\bmodinfo\b/);
    for (const p of ['xz-utils', 'kmod', 'gstreamer1.0-tools', 'libgstreamer-plugins-bad1.0-0', 'busybox-static']) expect(FARM_ROOTFS_PACKAGES).toContain(p);
    expect(FARM_ROOTFS_PACKAGES).not.toContain('openssh-server');
  });

  it('unpacks arm64 with the extract variant, leaving out only Mesa/LLVM files (dpkg path-exclude), the minimal excludes kept', () => {
    const argv = extractRootfsArgv('sid', '/t/root', 'http://mirror.invalid/debian', FARM_ROOTFS_PACKAGES, { pathExcludes: FARM_ROOTFS_EXCLUDES });
    expect(argv).toContain('--variant=extract');
    expect(argv).toContain('--architectures=arm64');
    expect(argv).toContain('--dpkgopt=path-exclude=/usr/share/man/*');
    expect(argv).toContain('--dpkgopt=path-exclude=/usr/lib/*/libLLVM*');
    expect(argv.filter((a) => a.startsWith('--dpkgopt=path-exclude=/usr/lib/'))).toHaveLength(FARM_ROOTFS_EXCLUDES.length);
    expect(argv).toContain(`--include=${FARM_ROOTFS_PACKAGES.join(',')}`);
    // nothing the job runs is excluded: GStreamer, its plugins, the tools
    for (const x of FARM_ROOTFS_EXCLUDES) expect(x).not.toMatch(/gst|bin\//);
  });

  it('is keyed on its recipe: the same inputs give the same key, another package list or suite another', () => {
    const a = farmRootfsInputs('sid');
    expect(cacheKey(a)).toBe(cacheKey(farmRootfsInputs('sid')));
    expect(cacheKey(farmRootfsInputs('trixie'))).not.toBe(cacheKey(a));
    expect(cacheKey({ ...a, packages: [...FARM_ROOTFS_PACKAGES, 'curl'] })).not.toBe(cacheKey(a));
    // every script that shapes the image is hashed into the key
    for (const k of ['fixup', 'init', 'coldplug', 'extractFixup', 'debManifest', 'gstPlugins']) expect(a[k]).toMatch(/^[0-9a-f]{64}$/);
  });

  it('packs every file as ./..., sorted, with numeric owners, xz-compressed', () => {
    expect(farmRootfsTarArgv('/t/root', '/t/out.tar.xz')).toEqual([
      'tar',
      '--sort=name',
      '--numeric-owner',
      '--use-compress-program=xz -T0 -6',
      '-C',
      '/t/root',
      '-cf',
      '/t/out.tar.xz',
      '.',
    ]);
  });

  it('reads the package record, the plugin packages with the files taken from them', () => {
    expect(parseRootfsPackages(RECORD)).toEqual([
      { name: 'bash', version: '5.3-4', architecture: 'arm64' },
      { name: 'wget', version: '1.25.0-2', architecture: 'arm64' },
      { name: 'gstreamer1.0-plugins-bad', version: '1.28.8-1', architecture: 'arm64', files: ['libgstv4l2codecs.so', 'libgstivfparse.so'] },
    ]);
    expect(() => parseRootfsPackages('bash 5.3-4 arm64\n')).toThrow(/NAME<TAB>VERSION<TAB>ARCH/);
  });
});

describe('ensureFarmRootfs (recording runner)', () => {
  let cache: string;
  let saved: { path?: string; mirror?: string };

  beforeEach(() => {
    cache = mkdtempSync(join(tmpdir(), 'wb-farm-rootfs-'));
    // requireTools looks the tools up on PATH: stand-ins, never run (the runner records instead)
    const bin = join(cache, 'bin');
    mkdirSync(bin);
    for (const t of ['mmdebstrap', 'dpkg-deb', 'tar', 'xz']) {
      writeFileSync(join(bin, t), '#!/bin/sh\nexit 99\n');
      chmodSync(join(bin, t), 0o755);
    }
    saved = { path: process.env.PATH, mirror: process.env.WORKBENCH_DEBIAN_MIRROR };
    process.env.PATH = `${bin}:${process.env.PATH}`;
    process.env.WORKBENCH_DEBIAN_MIRROR = 'http://mirror.invalid/debian';
    vi.spyOn(process, 'getuid').mockReturnValue(0);
  });
  afterEach(() => {
    process.env.PATH = saved.path;
    if (saved.mirror === undefined) delete process.env.WORKBENCH_DEBIAN_MIRROR;
    else process.env.WORKBENCH_DEBIAN_MIRROR = saved.mirror;
    vi.restoreAllMocks();
  });

  /** mmdebstrap unpacks (the target and the package record appear), the scripts succeed, tar writes its output. */
  function fakeBuild(mmdebstrapExit = 0): RecordingRunner {
    return new RecordingRunner((argv: string[], _opts: RunOptions) => {
      if (argv[0] === 'mmdebstrap') {
        if (mmdebstrapExit) return { exitCode: mmdebstrapExit, stderr: 'E: Unable to locate package wget\n' };
        const target = argv[argv.length - 2]!;
        mkdirSync(join(target, 'var/lib/workbench'), { recursive: true });
        writeFileSync(join(target, ROOTFS_PACKAGES_FILE), RECORD);
      }
      if (argv[0] === 'tar') writeFileSync(argv[argv.indexOf('-cf') + 1]!, 'a tarball\n');
      return {};
    });
  }

  it('unpacks, runs the shared fix-up then its own (with the init and coldplug scripts), packs, and records the packages; a second call is a cache hit', async () => {
    const runner = fakeBuild();
    const r = await ensureFarmRootfs({ runner, cacheRoot: cache });
    const steps = runner.calls.map((c) => scriptNameOf(c.argv) ?? c.argv[0]);
    expect(steps).toEqual(['mmdebstrap', 'extractFixup', 'nfsRootFixup', 'tar']);
    const root = runner.calls[0]!.argv.at(-2)!;
    expect(runner.calls[1]!.argv.slice(4)).toEqual([root]);
    const fix = runner.calls[2]!.argv.slice(4);
    expect(fix[0]).toBe(root);
    expect(fix[1]).toMatch(/\/farm\/dut\/farm-init$/);
    expect(fix[2]).toMatch(/\/simboard\/coldplug\.sh$/);
    // packed next to the tree, in the entry's temporary folder (renamed into place once complete)
    expect(runner.calls[3]!.argv).toEqual(farmRootfsTarArgv(root, join(root, '..', 'rootfs.tar.xz')));
    expect(r.path).toBe(join(cache, 'farm-rootfs', r.key, 'rootfs.tar.xz'));
    expect(r.sha256).toBe(createHash('sha256').update('a tarball\n').digest('hex'));
    expect(r.packages.map((p) => p.name)).toEqual(['bash', 'wget', 'gstreamer1.0-plugins-bad']);
    expect(r.suite).toBe('sid');
    // the unpacked tree is not kept in the entry
    expect(existsSync(root)).toBe(false);
    const again = fakeBuild();
    expect((await ensureFarmRootfs({ runner: again, cacheRoot: cache })).key).toBe(r.key);
    expect(again.calls).toEqual([]);
  });

  it('a failed unpack is E_FARM_ROOTFS naming what apt missed, and leaves no cache entry', async () => {
    const e = await ensureFarmRootfs({ runner: fakeBuild(100), cacheRoot: cache }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'E_FARM_ROOTFS' });
    expect((e as { hint?: string }).hint).toContain('wget');
    expect(readdirSync(join(cache, 'farm-rootfs')).filter((d) => !d.endsWith('.lock'))).toEqual([]);
  });
});
