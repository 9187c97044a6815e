import { describe, expect, it } from 'vitest';
import { moduleLoadOrder } from '../../src/vboard/image.ts';
import { fixTraceIncludePath, vislKbuild } from '../../src/vboard/modules.ts';
import { freePort, qemuArgv } from '../../src/vboard/qemu.ts';
import { isOurQemu } from '../../src/vboard/state.ts';

const spec = {
  kernel: '/c/vmlinuz',
  initrd: '/c/initrd.cpio',
  disk: '/s/disk.ext4',
  sshPort: 40022,
  accel: 'tcg' as const,
  memoryMiB: 2048,
  cpus: 2,
  serialLog: '/s/serial.log',
  pidFile: '/s/qemu.pid',
  append: ['vboard.authkey=ssh-ed25519:AAAA'],
};

describe('qemu argv', () => {
  it('TCG by default, SSH forwarded on 127.0.0.1 only, serial to file, PID file', () => {
    const a = qemuArgv(spec);
    expect(a.slice(1, 5)).toEqual(['-accel', 'tcg,thread=multi', '-cpu', 'max']);
    expect(a).toContain('user,id=n0,hostfwd=tcp:127.0.0.1:40022-:22');
    expect(a).toContain('file:/s/serial.log');
    expect(a.slice(-3)).toEqual(['-daemonize', '-pidfile', '/s/qemu.pid']);
    expect(a[a.indexOf('-append') + 1]).toContain('vboard.authkey=ssh-ed25519:AAAA');
  });
  it('KVM only when chosen', () => {
    expect(qemuArgv({ ...spec, accel: 'kvm' }).slice(1, 5)).toEqual(['-accel', 'kvm', '-cpu', 'host']);
  });
  it('freePort gives a bindable port', async () => {
    const p = await freePort();
    expect(p).toBeGreaterThan(1023);
  });
});

describe('initramfs module order', () => {
  const dep = [
    'kernel/fs/ext4/ext4.ko.xz: kernel/fs/jbd2/jbd2.ko.xz kernel/fs/mbcache.ko.xz kernel/lib/crc/crc16.ko.xz',
    'kernel/fs/jbd2/jbd2.ko.xz:',
    'kernel/fs/mbcache.ko.xz:',
    'kernel/lib/crc/crc16.ko.xz:',
    'kernel/drivers/block/virtio_blk.ko.xz:',
  ].join('\n');
  it('dependencies first, each once', () => {
    const o = moduleLoadOrder(dep, ['virtio_blk', 'ext4']);
    expect(o[0]).toBe('kernel/drivers/block/virtio_blk.ko.xz');
    expect(o.at(-1)).toBe('kernel/fs/ext4/ext4.ko.xz');
    expect(o).toHaveLength(5);
  });
  it('unknown module is an error', () => {
    expect(() => moduleLoadOrder(dep, ['nope'])).toThrow(/not in modules.dep/);
  });
});

describe('visl out-of-tree build', () => {
  it('Kbuild builds both modules with debugfs', () => {
    const k = vislKbuild(['visl-core.o', 'visl-dec.o']);
    expect(k).toContain('obj-m := v4l2-mem2mem.o visl.o');
    expect(k).toContain('visl-y := visl-core.o visl-dec.o');
    expect(k).toContain('-DCONFIG_VISL_DEBUGFS=1');
  });
  it('TRACE_INCLUDE_PATH points at the module directory', () => {
    const h = '#undef TRACE_INCLUDE_PATH\n#define TRACE_INCLUDE_PATH ../../drivers/media/test-drivers/visl\n';
    expect(fixTraceIncludePath(h)).toContain('#define TRACE_INCLUDE_PATH .\n');
  });
});

describe('PID ownership', () => {
  it('a live process that is not our QEMU is not ours (never killed)', () => {
    expect(isOurQemu(process.pid, '/s/qemu.pid')).toBe(false);
    expect(isOurQemu(1, '/s/qemu.pid')).toBe(false);
    expect(isOurQemu(999999999, '/s/qemu.pid')).toBe(false);
  });
});

describe('vboard ssh', () => {
  it('uses the board key, the workbench known_hosts and strict host-key checking', async () => {
    const { sshArgv } = await import('../../src/vboard/vboard.ts');
    const a = sshArgv({ host: '127.0.0.1', port: 40022, user: 'root', identityFile: '/s/id', hostKeyAlias: 'vboard', knownHostsFile: '/c/known_hosts' }, [
      'uname',
      '-r',
    ]);
    expect(a).toEqual(
      expect.arrayContaining(['-i', '/s/id', '-p', '40022', 'UserKnownHostsFile=/c/known_hosts', 'StrictHostKeyChecking=yes', 'HostKeyAlias=vboard']),
    );
    expect(a.join(' ')).not.toContain('StrictHostKeyChecking=no');
    expect(a.slice(-3)).toEqual(['root@127.0.0.1', 'uname', '-r']);
  });
});

describe('stale records', () => {
  it('a recorded QEMU PID that is gone is reported stale; down cleans it up without killing anything', async () => {
    const { mkdtempSync, writeFileSync, existsSync, mkdirSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { vboardDown, vboardStatus } = await import('../../src/vboard/vboard.ts');
    const saved = process.env.WORKBENCH_STATE_DIR;
    const dir = mkdtempSync(join(tmpdir(), 'wb-vb-stale-'));
    process.env.WORKBENCH_STATE_DIR = dir;
    try {
      const vb = join(dir, 'vboard');
      mkdirSync(vb);
      writeFileSync(join(vb, 'serial.log'), 'Kernel panic - not syncing: test\n');
      writeFileSync(join(vb, 'qemu.pid'), String(process.pid)); // alive, but not a QEMU: never ours
      writeFileSync(
        join(vb, 'vboard.json'),
        JSON.stringify({ pid: process.pid, port: 1, imageKey: 'k', kernelRelease: 'r', accel: 'tcg', startedAt: '', argv: [] }),
      );
      const st = await vboardStatus();
      expect(st.state).toBe('stale');
      expect(st.detail).toContain(`QEMU PID ${process.pid} is gone or is another process`);
      expect(st.detail).toContain('Kernel panic');
      const d = await vboardDown();
      expect(d.state).toBe('stopped');
      expect(d.detail).toContain('cleaned up a stale record');
      expect(existsSync(join(vb, 'vboard.json'))).toBe(false);
      expect(existsSync(join(vb, 'qemu.pid'))).toBe(false);
      expect((await vboardStatus()).state).toBe('stopped');
    } finally {
      if (saved === undefined) delete process.env.WORKBENCH_STATE_DIR;
      else process.env.WORKBENCH_STATE_DIR = saved;
    }
  });
});
