import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheKey } from '../../src/core/cache.ts';
import { extractRootfsArgv } from '../../src/simboard/arm64Rootfs.ts';
import { arm64KernelPackages, modulesIn } from '../../src/simboard/image.ts';
import { GST_PLUGIN_FILES } from '../../src/vboard/image.ts';
import { hashTree, loadQemuSourceLock, qemuInputs, qemuWorkInputs, type QemuSourceLock } from '../../src/simboard/qemuBuild.ts';
import { qemuOptValue, simboardQemuArgv } from '../../src/simboard/simboard.ts';
import { chrootArgv } from '../../src/toolbox/chrootExec.ts';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'wb-simboard-'));
}

describe('QEMU source lock', () => {
  it('reads the repository lock (a Debian version of the qemu source package)', async () => {
    const l = await loadQemuSourceLock();
    expect(l.package).toBe('qemu');
    expect(l.version).toMatch(/^\d+:\d+\.\d+\.\d+\+ds-\d+$/);
  });

  it('names the file and the field when a field is missing or not a version', async () => {
    const d = tmp();
    writeFileSync(join(d, 'qemu-source.lock'), JSON.stringify({ package: 'qemu', suite: 'sid' }));
    await expect(loadQemuSourceLock(d)).rejects.toThrow(/qemu-source\.lock: field "version"/);
    writeFileSync(join(d, 'qemu-source.lock'), JSON.stringify({ package: 'qemu', suite: 'sid', version: '1:10 $(x)' }));
    await expect(loadQemuSourceLock(d)).rejects.toThrow(/is not a Debian version/);
    writeFileSync(join(d, 'qemu-source.lock'), '{ not json');
    await expect(loadQemuSourceLock(d)).rejects.toMatchObject({ code: 'E_CONFIG' });
  });
});

describe('QEMU cache keys', () => {
  const lock: QemuSourceLock = { package: 'qemu', version: '1:10.2.2+ds-1', suite: 'sid', resolved_at: 'x' };

  it('the binary key changes with the device source only through its hash, the work key with version or patches', async () => {
    const d = tmp();
    mkdirSync(join(d, 'hw/misc'), { recursive: true });
    writeFileSync(join(d, 'hw/misc/dev.c'), 'int a;\n');
    const h1 = await hashTree(d);
    expect(Object.keys(h1)).toEqual(['hw/misc/dev.c']);
    // sha256("int a;\n"), computed with sha256sum
    expect(h1['hw/misc/dev.c']).toBe('386593f1475dc210d45a5f3d4b6bb11c065fc6fe2e08ebdd00ab4cf3a0848744');
    const w = cacheKey(qemuWorkInputs(lock, 'root1', { 'p.patch': 'aa' }));
    expect(cacheKey(qemuWorkInputs(lock, 'root1', { 'p.patch': 'aa' }))).toBe(w);
    expect(cacheKey(qemuWorkInputs({ ...lock, version: '1:11.1.3+ds-1' }, 'root1', { 'p.patch': 'aa' }))).not.toBe(w);
    expect(cacheKey(qemuWorkInputs(lock, 'root1', { 'p.patch': 'ab' }))).not.toBe(w);
    const k1 = cacheKey(qemuInputs(w, h1));
    expect(cacheKey(qemuInputs(w, await hashTree(d)))).toBe(k1);
    writeFileSync(join(d, 'hw/misc/dev.c'), 'int b;\n');
    expect(cacheKey(qemuInputs(w, await hashTree(d)))).not.toBe(k1);
  });
});

describe('simboard image facts', () => {
  it("derives Debian's arm64 kernel packages of the locked upload", () => {
    const lock = {
      kernel_release: '7.2.13+deb14-amd64',
      packages: {
        'linux-source-7.2': '7.2.13-1',
        'linux-modules-7.2.13+deb14-amd64': '7.2.13-1',
        'linux-binary-7.2.13+deb14-amd64': '7.2.13-1',
        'linux-headers-7.2.13+deb14-amd64': '7.2.13-1',
      },
    };
    expect(arm64KernelPackages(lock)).toEqual(['linux-binary-7.2.13+deb14-arm64=7.2.13-1', 'linux-modules-7.2.13+deb14-arm64=7.2.13-1']);
  });

  it('keeps only modules present in modules.dep (built-in ones are skipped)', () => {
    const dep = ['kernel/drivers/block/virtio_blk.ko.xz: kernel/drivers/virtio/virtio.ko.xz', 'kernel/fs/ext4/ext4.ko.xz: kernel/fs/jbd2/jbd2.ko.xz', ''].join(
      '\n',
    );
    expect(modulesIn(dep, ['virtio_pci', 'virtio_blk', 'ext4', 'virtio_net'])).toEqual(['virtio_blk', 'ext4']);
  });
});

describe('simboard root filesystem (mmdebstrap --variant=extract)', () => {
  const argv = extractRootfsArgv('sid', '/t/rootfs', 'http://mirror.invalid/debian', ['openssh-server', 'linux-binary-7.2.13+deb14-arm64=7.2.13-1']);

  it('unpacks arm64 packages without running maintainer scripts: variant extract, the Essential set as an apt pattern of its own', () => {
    // mmdebstrap(1): "extract: Installs nothing by default (not even Essential:yes packages)"; an --include
    // holding an apt pattern is not split at commas, so `?essential` must be an option of its own.
    expect(argv.filter((a) => a.startsWith('--variant='))).toEqual(['--variant=extract']);
    expect(argv).toContain('--architectures=arm64');
    expect(argv.filter((a) => a.startsWith('--include='))).toEqual([
      '--include=?essential',
      '--include=openssh-server,linux-binary-7.2.13+deb14-arm64=7.2.13-1',
    ]);
    expect(argv.slice(-3)).toEqual(['sid', '/t/rootfs', 'http://mirror.invalid/debian']);
  });

  it("records the unpacked packages, then unpacks the vboard's selected GStreamer plugin files, in host-side extract hooks (mmdebstrap runs no customize hook for the extract variant; the chroot's $1 passed through)", () => {
    expect(argv.filter((a) => a.startsWith('--customize-hook='))).toEqual([]);
    const hooks = argv.filter((a) => a.startsWith('--extract-hook='));
    expect(hooks).toHaveLength(2);
    // the record first: gstPlugins.sh appends its packages to it
    expect(hooks[0]).toMatch(/^--extract-hook=sh '?[^ ']*\/simboard\/debManifest\.sh'? "\$1"$/);
    expect(hooks[1]).toMatch(/^--extract-hook=sh '?[^ ']*\/simboard\/gstPlugins\.sh'? "\$1" /);
    expect(hooks[1]!.split(' ').slice(3)).toEqual([...GST_PLUGIN_FILES]);
  });
});

describe('simboard QEMU argv', () => {
  it('doubles commas in option values', () => {
    expect(qemuOptValue('/a,b/c')).toBe('/a,,b/c');
  });

  it('runs QEMU in the chroot in a mount namespace only, with the entries bound at their host paths', () => {
    const argv = simboardQemuArgv({
      qemu: { root: '/c/root', dir: '/c/q', binary: '/c/q/qemu-system-aarch64' },
      image: { dir: '/c/i', kernel: '/c/i/vmlinuz', initrd: '/c/i/initrd.cpio' },
      stateDir: '/s',
      disk: '/s/disk.ext4',
      serialLog: '/s/serial.log',
      pidFile: '/s/qemu.pid',
      capture: '/s/cap,1.jsonl',
      faults: '/s/faults',
      qmp: '/s/qmp.sock',
      sshPort: 2222,
      memoryMiB: 2048,
      cpus: 2,
      append: ['vboard.authkey=ssh-ed25519:AAAA'],
      irqDelayUs: 500,
    });
    expect(argv.slice(0, 3)).toEqual(['unshare', '-m', 'sh']);
    expect(argv).not.toContain('-p');
    const q = argv.indexOf('/c/q/qemu-system-aarch64');
    expect(q).toBeGreaterThan(0);
    const qa = argv.slice(q);
    expect(qa[qa.indexOf('-M') + 1]).toBe('virt,gic-version=3');
    expect(qa[qa.indexOf('-cpu') + 1]).toBe('max,pauth-impdef=on');
    expect(qa).toContain('vdpu381-sim,id=vdpu381,capture=/s/cap,,1.jsonl,control=/s/faults,irq-delay-us=500');
    expect(qa[qa.indexOf('-qmp') + 1]).toBe('unix:/s/qmp.sock,server=on,wait=off');
    expect(qa).toContain('user,id=n0,hostfwd=tcp:127.0.0.1:2222-:22');
    expect(qa[qa.indexOf('-append') + 1]).toBe('console=ttyAMA0 quiet panic=-1 audit=0 vboard.authkey=ssh-ed25519:AAAA');
    // binds: /proc, then the QEMU entry (ro), the image (ro), the state dir (rw), at the same paths
    const n = argv.indexOf('/c/root');
    expect(argv.slice(n, n + 2 + 4 * 3)).toEqual(['/c/root', '4', '/proc', '/proc', 'rw', '/c/q', '/c/q', 'ro', '/c/i', '/c/i', 'ro', '/s', '/s', 'rw']);
  });

  it('chrootArgv keeps its PID namespace unless asked not to', () => {
    expect(chrootArgv('/r', ['true']).slice(0, 5)).toEqual(['unshare', '-m', '-p', '-f', '--mount-proc=/r/proc']);
  });
});

describe('simboard probe', () => {
  it('parses the PROBE- lines of the console (other lines ignored)', async () => {
    const { parseProbeOutput } = await import('../../src/simboard/probe.ts');
    const text = [
      '[    1.0] Booting Linux',
      'PROBE-NODE /proc/device-tree/platform-bus@c000000/video-codec@0',
      'PROBE-STA-AFTER-DEC-E 0x00000007\r',
      'PROBE-STA-AFTER-ACK 0x00000000',
      'PROBE-INSMOD-FAILED v4l2-vp9.ko',
      'PROBE-BOUND c000000.video-codec',
      'PROBE-VIDEO video0 rkvdec rkvdec',
      'PROBE-MEDIA /dev/media0',
      'PROBE-DONE uptime 7.25',
    ].join('\n');
    expect(parseProbeOutput(text)).toEqual({
      node: '/proc/device-tree/platform-bus@c000000/video-codec@0',
      staAfterDecE: 7,
      staAfterAck: 0,
      bound: ['c000000.video-codec'],
      video: [{ dev: 'video0', driver: 'rkvdec', name: 'rkvdec' }],
      media: ['/dev/media0'],
      insmodFailed: ['v4l2-vp9.ko'],
      irqLines: [],
      dmesg: [],
      done: true,
      uptimeS: 7.25,
    });
    expect(parseProbeOutput('no markers').done).toBe(false);
  });

  it('builds a modules.dep for a module and its dependencies from .modinfo depends=', async () => {
    const { modinfoDepends, modulesDepFromModinfo } = await import('../../src/simboard/probe.ts');
    const ko = (deps: string) => Buffer.from(`\x7fELF....\0license=GPL\0depends=${deps}\0name=x\0`);
    expect(modinfoDepends(ko('mc,videodev'))).toEqual(['mc', 'videodev']);
    expect(modinfoDepends(ko(''))).toEqual([]);
    const files: Record<string, Buffer> = {
      'kernel/a/rockchip-vdec.ko.xz': ko('videodev,v4l2-vp9'),
      'kernel/b/videodev.ko.xz': ko('mc'),
      'kernel/b/mc.ko.xz': ko(''),
      'kernel/b/v4l2-vp9.ko.xz': ko(''),
      'kernel/c/unrelated.ko.xz': ko(''),
    };
    const dep = await modulesDepFromModinfo(Object.keys(files), ['rockchip_vdec'], async (p) => files[p]!);
    expect(dep.trim().split('\n')).toEqual([
      'kernel/b/mc.ko.xz: ',
      'kernel/b/videodev.ko.xz: kernel/b/mc.ko.xz',
      'kernel/b/v4l2-vp9.ko.xz: ',
      'kernel/a/rockchip-vdec.ko.xz: kernel/b/videodev.ko.xz kernel/b/v4l2-vp9.ko.xz',
    ]);
    await expect(modulesDepFromModinfo(['kernel/a/x.ko'], ['y'], async () => ko(''))).rejects.toThrow(/module y is not in/);
  });
});
