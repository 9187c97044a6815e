/**
 * The farm-rk3588 initramfs for real: built by the workbench (cached: about
 * 35 s the first time, from Debian's arm64 linux-modules and busybox-static),
 * then checked with real tools against independent sources:
 * - `cpio -t` lists /init, busybox and every module the build reports, and
 *   nothing else under lib/modules;
 * - `readelf -h`: busybox and every module are AArch64 ELF files;
 * - the module set is closed under the kernel's own dependencies: every
 *   `depends=` of every module in it (modinfo's field, read by the host's
 *   `modinfo -F depends`) is in it; the NFS client, r8169 and its PHY
 *   driver, virtio_net are in it (the locked kernel's arm64 config has them
 *   `=m`);
 * - a farm-rk3588 bundle with it, Debian's rockchip-vdec as the series'
 *   module and a stand-in root filesystem passes the real
 *   `lava-run --validate`; its modules tarball holds rockchip-vdec's
 *   dependencies (v4l2-mem2mem, videobuf2-dma-contig, v4l2-vp9: the
 *   `depends=` of Debian's own rockchip-vdec, read by the host's modinfo).
 * With WORKBENCH_SIMBOARD_INT=1 (needs the simboard's QEMU, built once, and
 * nfs-ganesha with its VFS backend on the host: `workbench doctor --fix`
 * installs nfs-ganesha-vfs) it also boots: Debian's arm64 Image with this initramfs
 * in the simboard's QEMU (virt, virtio-net on QEMU's user network), the farm
 * root filesystem exported by nfs-ganesha (NFSv3 and NFSv4 on free ports
 * of 127.0.0.1, the guest's 10.0.2.2) with the kernel command line LAVA's
 * rk3588-rock-5b nfs commands write (with the ports), up to the root
 * filesystem's `farm-rk3588 login:`, once over NFSv4 and once with no
 * version named (as LAVA writes it: /init mounts NFSv3); and with a path
 * the server does not export, up to /init's error and its rescue shell.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecaRunner } from '../../src/core/runner.ts';
import { requireTools } from '../../src/core/hostTools.ts';
import { ensureFarmBoot, type FarmBootArtefacts } from '../../src/farm/bootArtefacts.ts';
import { ensureFarmChroot, type FarmChroot } from '../../src/farm/chroot.ts';
import { ensureFarmInitramfs, type FarmInitramfs } from '../../src/farm/initramfs.ts';
import { loadBundle } from '../../src/farm/bundle.ts';
import { bundleBoard, farmBootFor, prepareBundle } from '../../src/farm/prepare.ts';
import { ensureFarmRootfs } from '../../src/farm/rootfs.ts';
import { validateBundle } from '../../src/farm/validate.ts';
import { ensureSimboardQemu } from '../../src/simboard/qemuBuild.ts';
import { builtinProviders } from '../../src/target/providers/builtin.ts';
import { chrootArgv } from '../../src/toolbox/chrootExec.ts';

const log = (m: string) => process.stderr.write(`[initramfs.int] ${m}\n`);
const runner = new ExecaRunner();
const work = mkdtempSync(join(tmpdir(), 'wb-initramfs-int-'));
const tree = join(work, 'tree');
let chroot: FarmChroot;
let boot: FarmBootArtefacts;
let initrd: FarmInitramfs;
let listing: string[];

const modinfoDepends = (file: string) =>
  execFileSync('modinfo', ['-F', 'depends', file], { encoding: 'utf8' })
    .trim()
    .split(',')
    .filter(Boolean)
    .map((d) => d.replace(/-/g, '_'));
const nameOf = (p: string) =>
  p
    .replace(/^.*\//, '')
    .replace(/\.ko(\.\w+)?$/, '')
    .replace(/-/g, '_');

beforeAll(async () => {
  chroot = await ensureFarmChroot({ runner, log });
  boot = await ensureFarmBoot(chroot, { runner, log });
  const t0 = Date.now();
  initrd = await ensureFarmInitramfs(chroot, { runner, dtb: boot.dtb, log });
  log(`initramfs ${initrd.path}: ${initrd.modules.length} modules, ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  mkdirSync(tree);
  execFileSync('sh', ['-c', 'cd "$1" && gzip -dc "$2" | cpio -id --quiet', 'sh', tree, initrd.path]);
  listing = execFileSync('sh', ['-c', 'gzip -dc "$1" | cpio -t --quiet', 'sh', initrd.path], { encoding: 'utf8' }).trim().split('\n');
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('the built initramfs (real cpio, readelf, modinfo)', () => {
  it('holds /init, busybox and exactly the modules the build reports, every one an AArch64 ELF file', () => {
    expect(listing).toContain('init');
    expect(listing).toContain('bin/busybox');
    expect(listing).toContain('etc/udhcpc.script');
    const mods = listing.filter((p) => p.endsWith('.ko'));
    const rel = initrd.kernelRelease;
    expect(mods.sort()).toEqual(initrd.modules.map((p) => `lib/modules/${rel}/${p.replace(/\.ko\.\w+$/, '.ko')}`).sort());
    for (const f of ['bin/busybox', ...mods]) expect(execFileSync('readelf', ['-h', join(tree, f)], { encoding: 'utf8' }), f).toMatch(/Machine:\s+AArch64/);
    expect(readFileSync(join(tree, 'init'), 'utf8')).toMatch(/^#!\/bin\/busybox sh\n/);
    for (const f of ['modules.dep', 'modules.alias']) expect(listing).toContain(`lib/modules/${rel}/${f}`);
  });

  it("has the network and NFS client modules (=m in the locked kernel's arm64 config), the board's PCIe PHY, and every module's depends= inside", () => {
    const rel = initrd.kernelRelease;
    const mods = listing.filter((p) => p.endsWith('.ko'));
    const names = new Set(mods.map(nameOf));
    for (const m of ['r8169', 'realtek', 'virtio_net', 'sunrpc', 'nfs', 'nfsv3', 'nfsv4', 'lockd', 'grace', 'phy_rockchip_naneng_combphy', 'gpio_rockchip'])
      expect(names.has(m), m).toBe(true);
    const missing: string[] = [];
    for (const m of mods) for (const d of modinfoDepends(join(tree, m))) if (!names.has(d)) missing.push(`${nameOf(m)} needs ${d}`);
    expect(missing).toEqual([]);
    // its own modules.dep (depmod over these files) names only files that are in it
    const dep = readFileSync(join(tree, 'lib/modules', rel, 'modules.dep'), 'utf8');
    for (const p of dep.split(/[\s:]+/).filter(Boolean)) expect(existsSync(join(tree, 'lib/modules', rel, p)), p).toBe(true);
  });
});

describe('a farm-rk3588 bundle carrying it', () => {
  it("passes the real lava-run --validate; modules.tar.xz holds rockchip-vdec's Debian dependencies at their Debian paths", async () => {
    const rel = initrd.kernelRelease;
    // Debian's own rockchip-vdec (built for the same kernel) stands in for the series' module
    const vdec = join(work, 'rockchip-vdec.ko');
    const src = execFileSync('sh', ['-c', 'find "$1" -name "rockchip-vdec.ko*"', 'sh', initrd.moduleTree], { encoding: 'utf8' }).trim();
    writeFileSync(vdec, execFileSync('xz', ['-dc', src]));
    const deps = modinfoDepends(vdec);
    expect(deps).toEqual(expect.arrayContaining(['v4l2_mem2mem', 'videobuf2_dma_contig', 'v4l2_vp9']));
    const rootfs = join(work, 'rootfs.tar.xz');
    writeFileSync(rootfs, 'stand-in\n');
    const farmBoot = await farmBootFor({ chroot, rootfs, runner, log });
    expect(farmBoot.ramdisk).toBe(initrd.path);
    const dir = join(work, 'bundle');
    const { bundle } = await prepareBundle({
      dir,
      profile: 'farm-rk3588',
      urlBase: 'http://127.0.0.1:1',
      board: bundleBoard(builtinProviders(), 'rk3588-rock-5b'),
      glob: 'p0-odd-tiny',
      modules: [vdec],
      farmBoot,
      runner,
      log,
    });
    const sha = execFileSync('sha256sum', [join(dir, 'artefacts/farm/initrd.cpio.gz')], { encoding: 'utf8' }).split(' ')[0]!;
    expect(sha).toBe(initrd.sha256);
    expect(readFileSync(join(dir, 'job.yaml'), 'utf8')).toMatch(
      new RegExp(`ramdisk:\\n\\s+url: http://127\\.0\\.0\\.1:1/farm/initrd\\.cpio\\.gz\\n\\s+compression: gz\\n\\s+sha256sum: ${sha}\\n`),
    );
    const loaded = await loadBundle(dir);
    expect(loaded.farm?.files.ramdisk?.sha256).toBe(sha);
    expect(loaded.farm?.initramfs).toMatchObject({ cacheEntry: `farm-initramfs/${initrd.key}`, modules: initrd.modules });
    const inTar = execFileSync('tar', ['-tJf', join(dir, 'artefacts/modules.tar.xz')], { encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(inTar).toContain(`lib/modules/${rel}/updates/rockchip-vdec.ko`);
    const depFiles = inTar.filter((p) => p.startsWith(`lib/modules/${rel}/kernel/`));
    const depNames = new Set(depFiles.map(nameOf));
    for (const d of deps) expect(depNames.has(d), d).toBe(true);
    // ...and theirs: closed under modinfo's depends= of the files themselves
    const x = join(work, 'modtar');
    mkdirSync(x);
    execFileSync('tar', ['-xJf', join(dir, 'artefacts/modules.tar.xz'), '-C', x]);
    for (const f of depFiles) for (const d of modinfoDepends(join(x, f))) expect(depNames.has(d), `${f} needs ${d}`).toBe(true);
    expect(bundle.farm?.moduleDeps?.files.map((f) => f.file.slice(1)).sort()).toEqual(depFiles.sort());
    const t0 = Date.now();
    const v = await validateBundle(chroot, dir, work, { log, keepDir: join(dir, 'validate') });
    log(`lava-run --validate: ${v.durationMs} ms (${Date.now() - t0} ms in all)`);
    expect(v.error).toBeUndefined();
    expect(v.ok).toBe(true);
  });
});

/** A free TCP port of 127.0.0.1. */
async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

describe('boot (simboard QEMU, NFS root from nfs-ganesha)', () => {
  it.runIf(process.env.WORKBENCH_SIMBOARD_INT === '1')(
    "loads its modules, gets a DHCP lease, mounts the NFS root LAVA's command line names and reaches the root filesystem's login prompt; an unexported path ends in /init's rescue shell",
    async () => {
      requireTools(['ganesha.nfsd']); // E_TOOL_MISSING names `workbench doctor --fix` (nfs-ganesha-vfs, test-only)
      const [qemu, rootfs] = await Promise.all([ensureSimboardQemu({ runner, log }), ensureFarmRootfs({ runner, log })]);
      const exp = join(work, 'export');
      mkdirSync(exp);
      execFileSync('tar', ['-xJf', rootfs.path, '-C', exp]);
      const port = await freePort();
      const mountPort = await freePort();
      const gdir = join(work, 'ganesha');
      mkdirSync(gdir);
      // NFSv3 (ganesha must register it with rpcbind; the guest names both ports) and NFSv4; no NLM (/init mounts with nolock);
      // QEMU's user network reaches it from 127.0.0.1 with unprivileged source ports. rpcbind, ganesha and QEMU run in a
      // network namespace of their own, so rpcbind's port 111 and the server never show on the host's network.
      const ns = `wb-initramfs-${process.pid}`;
      execFileSync('ip', ['netns', 'add', ns]);
      const inNs = (argv: string[]): string[] => ['ip', 'netns', 'exec', ns, ...argv];
      try {
        execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      } catch (e) {
        execFileSync('ip', ['netns', 'delete', ns]);
        throw e;
      }
      const rpcbind = spawn('ip', inNs(['rpcbind', '-f', '-w']).slice(1), { stdio: 'ignore' });
      writeFileSync(
        join(gdir, 'ganesha.conf'),
        [
          `NFS_CORE_PARAM { Protocols = 3, 4; NFS_Port = ${port}; MNT_Port = ${mountPort}; Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false; }`,
          'NFSV4 { Graceless = true; RecoveryBackend = fs; Allow_Numeric_Owners = true; Only_Numeric_Owners = true; }',
          'NFS_KRB5 { Active_krb5 = false; }',
          `EXPORT { Export_Id = 1; Path = ${exp}; Pseudo = /export; Access_Type = RW; Squash = No_Root_Squash; Protocols = 3, 4; Transports = TCP; SecType = sys; PrivilegedPort = false; FSAL { Name = VFS; } }`,
          'LOG { Default_Log_Level = EVENT; }',
        ].join('\n') + '\n',
      );
      const ganesha = spawn(
        'ip',
        inNs([
          'ganesha.nfsd',
          '-F',
          '-f',
          join(gdir, 'ganesha.conf'),
          '-L',
          join(gdir, 'ganesha.log'),
          '-p',
          join(gdir, 'ganesha.pid'),
          '-N',
          'NIV_EVENT',
        ]).slice(1),
        { stdio: 'ignore' },
      );
      const boots: ChildProcess[] = [];
      try {
        for (
          let i = 0;
          i < 50 && !/NFS SERVER INITIALIZED/.test(existsSync(join(gdir, 'ganesha.log')) ? readFileSync(join(gdir, 'ganesha.log'), 'utf8') : '');
          i++
        )
          await new Promise((r) => setTimeout(r, 200));
        expect(readFileSync(join(gdir, 'ganesha.log'), 'utf8')).toMatch(/NFS SERVER INITIALIZED/);
        // LAVA's rk3588-rock-5b nfs bootargs (base.jinja2: `nfsroot={NFS_SERVER_IP}:{NFSROOTFS},tcp,hard` + extra_nfsroot_args),
        // with QEMU's console; `extra` carries the server's ports (and a version)
        const bootTo = async (nfsroot: string, extra: string, until: RegExp): Promise<{ out: string; ms: number }> => {
          const append = `console=ttyAMA0 root=/dev/nfs rw nfsroot=${nfsroot},tcp,hard${extra}  ip=dhcp panic=-1`;
          const argv = inNs(
            chrootArgv(
              qemu.root,
              [
                qemu.binary,
                ...['-M', 'virt,gic-version=3', '-cpu', 'max,pauth-impdef=on', '-accel', 'tcg,thread=multi', '-m', '1024', '-smp', '2', '-nodefaults'],
                ...['-kernel', boot.kernel, '-initrd', initrd.path, '-append', append],
                ...['-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0,romfile='],
                ...['-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot'],
              ],
              {
                pidNamespace: false,
                binds: [
                  { host: qemu.dir, inside: qemu.dir, readOnly: true },
                  { host: dirname(boot.kernel), inside: dirname(boot.kernel), readOnly: true },
                  { host: dirname(initrd.path), inside: dirname(initrd.path), readOnly: true },
                ],
              },
            ),
          );
          const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
          boots.push(child);
          let out = '';
          child.stdout!.on('data', (d: Buffer) => (out += d.toString('latin1')));
          child.stderr!.on('data', (d: Buffer) => (out += d.toString('latin1')));
          const t0 = Date.now();
          try {
            while (!until.test(out)) {
              if (Date.now() - t0 > 300_000 || child.exitCode !== null) throw new Error(`no ${until} within 300 s; console:\n${out.slice(-4000)}`);
              await new Promise((r) => setTimeout(r, 200));
            }
            return { out, ms: Date.now() - t0 };
          } finally {
            child.kill('SIGKILL');
          }
        };
        const good = await bootTo('10.0.2.2:/export', `,vers=4.0,port=${port}`, /farm-rk3588 login:/);
        log(`login prompt over NFS ${(good.ms / 1000).toFixed(1)} s after QEMU start`);
        expect(good.out).toMatch(/wb-initramfs: modules loaded: [^\n]*\bvirtio_net\b[^\n]*\bnfsv4\b/);
        expect(good.out).not.toMatch(/FAILED:/);
        // slirp's DHCP server: 10.0.2.15 for the guest, 10.0.2.2 the router and server
        expect(good.out).toMatch(/wb-initramfs: DHCP lease on eth0: 10\.0\.2\.15\/255\.255\.255\.0 router 10\.0\.2\.2/);
        expect(good.out).toMatch(
          new RegExp(`wb-initramfs: mounting 10\\.0\\.2\\.2:/export on /root \\(nfs, rw,tcp,hard,vers=4\\.0,port=${port},nolock,addr=10\\.0\\.2\\.2\\)`),
        );
        expect(good.out).toMatch(/wb-initramfs: switching to \/sbin\/init on 10\.0\.2\.2:\/export/);
        expect(good.out).toMatch(/wb-farm-init: kernel \S+-arm64, modules: none; login on ttyAMA0 at 115200 baud/);
        // no version in the options, as LAVA writes them: /init mounts NFSv3 (what a LAVA worker's kernel nfsd serves by default)
        const v3 = await bootTo(`10.0.2.2:${exp}`, `,port=${port},mountport=${mountPort},mountproto=tcp`, /farm-rk3588 login:/);
        log(`login prompt over NFSv3 ${(v3.ms / 1000).toFixed(1)} s after QEMU start`);
        expect(v3.out).toMatch(
          new RegExp(
            `wb-initramfs: mounting 10\\.0\\.2\\.2:${exp.replace(/[.]/g, '\\.')} on /root \\(nfs, rw,vers=3,tcp,hard,port=${port},mountport=${mountPort},mountproto=tcp,nolock,addr=10\\.0\\.2\\.2\\)`,
          ),
        );
        expect(v3.out).toMatch(/wb-farm-init: kernel \S+-arm64, modules: none; login on ttyAMA0 at 115200 baud/);
        const bad = await bootTo('10.0.2.2:/not-exported', `,vers=4.0,port=${port}`, /wb-initramfs: opening a shell/);
        log(`rescue shell ${(bad.ms / 1000).toFixed(1)} s after QEMU start`);
        expect(bad.out).toMatch(
          /wb-initramfs: ERROR: mount -t nfs -o rw,tcp,hard,vers=4\.0,port=\d+,nolock,addr=10\.0\.2\.2 10\.0\.2\.2:\/not-exported \/root failed/,
        );
        expect(bad.out).not.toMatch(/Kernel panic/);
      } finally {
        for (const b of boots) b.kill('SIGKILL');
        ganesha.kill('SIGTERM');
        await new Promise((r) => setTimeout(r, 1000));
        if (ganesha.exitCode === null) ganesha.kill('SIGKILL');
        rpcbind.kill('SIGKILL');
        await new Promise((r) => setTimeout(r, 200));
        execFileSync('ip', ['netns', 'delete', ns]);
      }
    },
  );
});
