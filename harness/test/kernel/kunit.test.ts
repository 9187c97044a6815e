import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordingRunner, type RunOptions } from '../../src/core/runner.ts';
import { chrootArgv } from '../../src/toolbox/chrootExec.ts';
import type { ToolboxExecOptions } from '../../src/toolbox/toolbox.ts';
import { BuildProgress, buildKunitKernel, kunitBuildCommands, type KunitBuildSpec, type KunitToolbox } from '../../src/kernel/kunitBuild.ts';
import { bootKunitKernel, kunitQemuArgv } from '../../src/kernel/kunitQemu.ts';

const KCFG = 'drivers/media/platform/rockchip/rkvdec';

describe('KUnit command construction', () => {
  it("configures with the kernel's kunit.py and builds with make, gcc-16, x86_64, in the build directory", () => {
    expect(kunitBuildCommands({ kunitconfig: KCFG, jobs: 2 })).toEqual({
      config: [
        'python3',
        'tools/testing/kunit/kunit.py',
        'config',
        '--arch=x86_64',
        `--kunitconfig=${KCFG}`,
        '--build_dir=/wb/kunit',
        '--make_options',
        'CC=gcc-16',
        '--make_options',
        'HOSTCC=gcc-16',
      ],
      make: ['make', 'ARCH=x86_64', 'O=/wb/kunit', '--jobs=2', 'CC=gcc-16', 'HOSTCC=gcc-16', 'all'],
    });
  });

  it('boots with the host QEMU: no disk, serial to a file, kunit.enable=1, reboot ends QEMU', () => {
    expect(kunitQemuArgv({ kernel: '/c/bzImage', serialLog: '/c/serial.log' })).toEqual([
      'qemu-system-x86_64',
      '-accel',
      'tcg',
      '-m',
      '1024',
      '-smp',
      '1',
      '-nodefaults',
      '-nographic',
      '-kernel',
      '/c/bzImage',
      '-append',
      'kunit.enable=1 console=ttyS0 kunit_shutdown=reboot panic=-1',
      '-serial',
      'file:/c/serial.log',
      '-monitor',
      'none',
      '-no-reboot',
    ]);
    expect(kunitQemuArgv({ kernel: 'k', serialLog: 's', accel: 'kvm' }).slice(1, 5)).toEqual(['-accel', 'kvm', '-cpu', 'host']);
    expect(kunitQemuArgv({ kernel: 'k', serialLog: 's' }).join(' ')).not.toMatch(/-drive|-hda|-netdev/);
  });
});

describe('buildKunitKernel (fake toolbox recording the chroot argv)', () => {
  let dir: string;
  let spec: KunitBuildSpec;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wb-kunit-'));
    spec = {
      srcHost: join(dir, 'tree'),
      outHost: join(dir, 'build-x86_64-tb'),
      kunitconfig: KCFG,
      jobs: 2,
      head: 'a'.repeat(40),
      buildTimestamp: '2026-10-28T15:01:55.000Z',
    };
    await mkdir(join(spec.srcHost, KCFG), { recursive: true });
    await writeFile(join(spec.srcHost, KCFG, '.kunitconfig'), 'CONFIG_KUNIT=y\nCONFIG_VIDEO_ROCKCHIP_VDEC_KUNIT_TEST=y\n');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A toolbox whose exec goes through a RecordingRunner; `make` "builds" a bzImage unless told to fail. */
  function fakeToolbox(behave: { configExit?: number; makeOut?: string; makeExit?: number } = {}): {
    tb: KunitToolbox;
    rec: RecordingRunner;
    execs: { argv: string[]; o: ToolboxExecOptions }[];
  } {
    const execs: { argv: string[]; o: ToolboxExecOptions }[] = [];
    const rec = new RecordingRunner(async (argv: string[], o: RunOptions) => {
      // chrootArgv ends with: env -i -C <cwd> VAR=value... <command argv>
      const afterCwd = argv.slice(argv.indexOf('-C') + 2);
      const inner = afterCwd.slice(afterCwd.findIndex((a) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(a)));
      if (inner[0] === 'python3')
        return {
          exitCode: behave.configExit ?? 0,
          stdout: behave.configExit ? 'ERROR:root:Not all Kconfig options selected in kunitconfig were in the generated .config.\nMissing: CONFIG_X=y\n' : '',
        };
      if (inner[0] === 'make') {
        const out =
          behave.makeOut ??
          '  CC      kernel/fork.o\n  CC      drivers/media/platform/rockchip/rkvdec/rkvdec-vdpu381-vp9-test.o\n  BUILD   arch/x86/boot/bzImage\n';
        o.onStdout?.(out);
        if (!behave.makeExit) {
          const k = join(spec.outHost, 'arch/x86/boot/bzImage');
          await mkdir(dirname(k), { recursive: true });
          await writeFile(k, `kernel ${spec.head}`);
          await writeFile(join(spec.outHost, 'vmlinux'), 'elf');
        }
        return { exitCode: behave.makeExit ?? 0, stdout: out };
      }
      return {};
    });
    const tb: KunitToolbox = {
      key: 'tb',
      exec: (argv, o = {}) => {
        execs.push({ argv, o });
        return rec.run(chrootArgv('/tb/root', argv, { cwd: o.cwd, binds: o.binds, env: o.env }), {
          timeoutMs: o.timeoutMs,
          onStdout: o.onStdout,
          onStderr: o.onStderr,
          allowFailure: o.allowFailure,
        });
      },
    };
    return { tb, rec, execs };
  }

  it('runs kunit.py config then make inside the toolbox, source read-only, build dir writable; then caches', async () => {
    const f = fakeToolbox();
    const logs: string[] = [];
    const r = await buildKunitKernel(f.tb, spec, { log: (m) => logs.push(m) });
    expect(r.ok).toBe(true);
    expect(r.cached).toBe(false);
    expect(r.steps).toBe(3);
    expect(f.execs.map((e) => e.argv[0])).toEqual(['python3', 'make']);
    for (const e of f.execs) {
      expect(e.o.cwd).toBe('/wb/src');
      expect(e.o.binds).toEqual([
        { host: spec.srcHost, inside: '/wb/src', readOnly: true },
        { host: spec.outHost, inside: '/wb/kunit' },
      ]);
      expect(e.o.env).toMatchObject({ LC_ALL: 'C', PYTHONDONTWRITEBYTECODE: '1', KBUILD_BUILD_TIMESTAMP: spec.buildTimestamp });
    }
    // The real chroot argv: binds as (host, inside, ro|rw) triples, then env -i -C cwd ... make.
    const makeArgv = f.rec.calls[1]!.argv;
    expect(makeArgv.slice(0, 5)).toEqual(['unshare', '-m', '-p', '-f', '--mount-proc=/tb/root/proc']);
    expect(makeArgv).toEqual(expect.arrayContaining([spec.srcHost, '/wb/src', 'ro', spec.outHost, '/wb/kunit', 'rw']));
    expect(makeArgv.slice(-7)).toEqual(['make', 'ARCH=x86_64', 'O=/wb/kunit', '--jobs=2', 'CC=gcc-16', 'HOSTCC=gcc-16', 'all']);
    expect(logs.some((l) => /empty build directory/.test(l))).toBe(true);
    expect(await readFile(r.logFile, 'utf8')).toContain('CC      kernel/fork.o');

    const again = await buildKunitKernel(f.tb, spec);
    expect(again).toMatchObject({ ok: true, cached: true, kernelSha256: r.kernelSha256 });
    expect(f.rec.calls).toHaveLength(2);

    // A new HEAD runs make again (incrementally: the log says so).
    const logs2: string[] = [];
    const third = await buildKunitKernel(f.tb, { ...spec, head: 'b'.repeat(40) }, { log: (m) => logs2.push(m) });
    expect(third.cached).toBe(false);
    expect(f.rec.calls).toHaveLength(4);
    expect(logs2.some((l) => /incrementally/.test(l))).toBe(true);

    // A damaged bzImage is not trusted.
    await writeFile(third.kernel, 'garbage');
    expect((await buildKunitKernel(f.tb, { ...spec, head: 'b'.repeat(40) })).cached).toBe(false);
  });

  it('no kunitconfig -> E_KUNIT_CONFIG naming the path; kunit.py config failure -> E_KUNIT_CONFIG with its message', async () => {
    await expect(buildKunitKernel(fakeToolbox().tb, { ...spec, kunitconfig: 'drivers/nothing' })).rejects.toMatchObject({
      code: 'E_KUNIT_CONFIG',
      message: expect.stringContaining('drivers/nothing'),
    });
    await expect(buildKunitKernel(fakeToolbox().tb, { ...spec, kunitconfig: '../../etc' })).rejects.toMatchObject({ code: 'E_KUNIT_CONFIG' });
    await expect(buildKunitKernel(fakeToolbox().tb, { ...spec, kunitconfig: '/etc' })).rejects.toMatchObject({ code: 'E_KUNIT_CONFIG' });
    await expect(buildKunitKernel(fakeToolbox({ configExit: 1 }).tb, spec)).rejects.toMatchObject({
      code: 'E_KUNIT_CONFIG',
      message: expect.stringContaining('Missing: CONFIG_X=y'),
    });
  });

  it('a compile error is ok:false with the diagnostic on the tree path, nothing recorded', async () => {
    const f = fakeToolbox({
      makeExit: 2,
      makeOut:
        "  CC      drivers/media/platform/rockchip/rkvdec/rkvdec-vdpu381-vp9-test.o\n/wb/src/drivers/media/platform/rockchip/rkvdec/rkvdec-vdpu381-vp9-test.c:12:5: error: expected ';' before '}' token\nmake[4]: *** [x] Error 1\n",
    });
    const r = await buildKunitKernel(f.tb, spec);
    expect(r.ok).toBe(false);
    expect(r.diagnostics[0]).toMatchObject({ file: `${KCFG}/rkvdec-vdpu381-vp9-test.c`, line: 12, severity: 'error' });
    expect(existsSync(join(spec.outHost, '.wb-kunit-build.json'))).toBe(false);
  });
});

describe('BuildProgress', () => {
  it('counts kbuild steps across chunk boundaries and reports every 30 s', () => {
    let t = 0;
    const lines: string[] = [];
    const p = new BuildProgress(
      (m) => lines.push(m),
      0,
      1000,
      30_000,
      () => t,
    );
    p.feed('  CC      kernel/fo');
    p.feed('rk.o\n  LD [M]  drivers/x.ko\nsome warning text\n');
    expect(p.steps).toBe(2);
    expect(lines).toEqual([]);
    t = 31_000;
    p.feed('  AR      kernel/built-in.a\n');
    expect(lines).toEqual(["kunit build: 3 kbuild steps (~0% of the last full build's 1000), 0m31s, last: AR kernel/built-in.a"]);
  });
});

describe('bootKunitKernel (RecordingRunner as the host)', () => {
  it('runs QEMU with the timeout and returns the serial console text', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wb-kunit-boot-'));
    try {
      const serial = join(dir, 'serial.log');
      const rec = new RecordingRunner(async (argv) => {
        const f = argv[argv.indexOf('-serial') + 1]!.slice('file:'.length);
        await writeFile(f, 'Linux version 7.2.13+\r\nKTAP version 1\r\n1..0\r\n');
        return { exitCode: 0 };
      });
      const b = await bootKunitKernel(rec, { kernel: '/k/bzImage', serialLog: serial, timeoutMs: 5000, accel: 'tcg' });
      expect(rec.calls[0]!.argv).toEqual(kunitQemuArgv({ kernel: '/k/bzImage', serialLog: serial }));
      expect(rec.calls[0]!.opts).toMatchObject({ timeoutMs: 5000, allowFailure: true });
      expect(b.console).toBe('Linux version 7.2.13+\nKTAP version 1\n1..0\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
