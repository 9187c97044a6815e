/**
 * The farm-rk3588 NFS root filesystem for real: built by the workbench with
 * mmdebstrap from the host's Debian mirror (cached: minutes the first time,
 * seconds after), then checked with real tools (xz, tar, readelf) against
 * independent sources:
 * - the commands the job's DUT script calls (each one checked to occur in
 *   the script's own text, as the job embeds it: farm/dut/wb-lava.sh with
 *   the module swapper and the GStreamer probe filled in);
 * - the GStreamer elements of the job's pipeline and the plugin each is in
 *   (GStreamer's plugin documentation: filesrc and capsfilter in
 *   coreelements, ivfparse, matroskademux in matroska, vp9parse in
 *   videoparsersbad, v4l2slvp9dec in v4l2codecs, videoconvert in
 *   videoconvertscale, videocodectestsink in debugutilsbad);
 * - the ELF headers of the programs and plugins (AArch64, every NEEDED
 *   library present in the image);
 * - LAVA's own `lava-run --validate` on a farm-rk3588 bundle carrying it.
 * With WORKBENCH_SIMBOARD_INT=1 (needs the simboard's QEMU and image, built
 * once: see simboard/README.md) the image also boots: Debian's arm64 kernel
 * in the simboard's QEMU (virt, no vdpu381 device), the image as a virtio
 * disk behind the simboard's initramfs, and the serial console is driven the
 * way LAVA's auto_login does: the job's login prompt, `root`, the job's
 * shell prompt, then the job's tools and elements looked up on the board.
 */
import { execFileSync, spawn } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecaRunner } from '../../src/core/runner.ts';
import { loadBundle } from '../../src/farm/bundle.ts';
import { ensureFarmChroot } from '../../src/farm/chroot.ts';
import { dutScript } from '../../src/farm/dutScript.ts';
import { DEFAULT_FARM_BOOT } from '../../src/farm/job.ts';
import { bundleBoard, farmBootFor, prepareBundle } from '../../src/farm/prepare.ts';
import { ensureFarmRootfs, type FarmRootfs } from '../../src/farm/rootfs.ts';
import { validateBundle } from '../../src/farm/validate.ts';
import { ensureSimboardImage } from '../../src/simboard/image.ts';
import { ensureSimboardQemu } from '../../src/simboard/qemuBuild.ts';
import { builtinProviders } from '../../src/target/providers/builtin.ts';
import { chrootArgv } from '../../src/toolbox/chrootExec.ts';
import { ensureToolbox } from '../../src/toolbox/toolbox.ts';
import { ensureVislModules } from '../../src/vboard/modules.ts';

const log = (m: string) => process.stderr.write(`[rootfs.int] ${m}\n`);
const runner = new ExecaRunner();
const work = mkdtempSync(join(tmpdir(), 'wb-rootfs-int-'));
const tree = join(work, 'tree');
let rootfs: FarmRootfs;
let listing: Map<string, { type: string; link?: string }>;

/**
 * Commands the DUT script runs on the board (farm/dut/wb-lava.sh, the
 * module swapper deploy/modswap.sh, the probe decode/backends/gstProbe.sh),
 * plus {@link NOT_NAMED}.
 */
const DUT_COMMANDS = [
  'mkdir',
  'rm',
  'mv',
  'cat',
  'cp',
  'tr',
  'cut',
  'ls',
  'grep',
  'sed',
  'awk',
  'head',
  'tail',
  'split',
  'paste',
  'stat',
  'sha256sum',
  'md5sum',
  'timeout',
  'uname',
  'readlink',
  'basename',
  'bash',
  'wget',
  'tar',
  'xz',
  'modinfo',
  'depmod',
  'modprobe',
  'rmmod',
  'gst-launch-1.0',
  'gst-inspect-1.0',
  'v4l2-ctl',
  'date',
];
/** Commands run without being named in the script: xz by `tar -J`, date by LAVA's own lava-test-runner. */
const NOT_NAMED = new Set(['xz', 'date']);
/** Element -> plugin file (GStreamer's plugin documentation), for every element of the job's pipeline. */
const PIPELINE_PLUGINS: Record<string, string> = {
  filesrc: 'libgstcoreelements.so',
  capsfilter: 'libgstcoreelements.so',
  ivfparse: 'libgstivfparse.so',
  matroskademux: 'libgstmatroska.so',
  vp9parse: 'libgstvideoparsersbad.so',
  v4l2slvp9dec: 'libgstv4l2codecs.so',
  videoconvert: 'libgstvideoconvertscale.so',
  videocodectestsink: 'libgstdebugutilsbad.so',
};
const PLUGIN_DIR = 'usr/lib/aarch64-linux-gnu/gstreamer-1.0';

/** `tar -tv` lines: `perms owner size date time ./path[ -> target]`. */
function parseListing(text: string): Map<string, { type: string; link?: string }> {
  const out = new Map<string, { type: string; link?: string }>();
  for (const line of text.split('\n')) {
    const m = /^(\S)\S+\s+\S+\s+\d+\s+\S+\s+\S+\s+\.\/(.*?)(?: -> (.*))?$/.exec(line);
    if (m) out.set(m[2]!.replace(/\/$/, ''), { type: m[1]!, ...(m[3] !== undefined ? { link: m[3] } : {}) });
  }
  return out;
}

/** Follows symlinks of the listing (absolute ones from the image's root) to a regular file, or undefined. */
function resolveListed(p: string, hops = 0): string | undefined {
  if (hops > 16) return undefined;
  const parts = p.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const head = parts.slice(0, i).join('/');
    const e = listing.get(head);
    if (!e) return undefined;
    if (e.type === 'l') {
      const target = e.link!.startsWith('/') ? e.link!.slice(1) : posix.normalize(posix.join(posix.dirname(head), e.link!));
      return resolveListed([target, ...parts.slice(i)].join('/'), hops + 1);
    }
  }
  return listing.get(p)?.type === '-' ? p : undefined;
}

/** The same on the extracted tree: a host path inside `tree`. */
function resolveInTree(p: string, hops = 0): string | undefined {
  if (hops > 16) return undefined;
  const parts = p.replace(/^\/+/, '').split('/');
  for (let i = 1; i <= parts.length; i++) {
    const head = parts.slice(0, i).join('/');
    let st;
    try {
      st = lstatSync(join(tree, head));
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      const l = readlinkSync(join(tree, head));
      const target = isAbsolute(l) ? l.slice(1) : posix.normalize(posix.join(posix.dirname(head), l));
      return resolveInTree([target, ...parts.slice(i)].join('/'), hops + 1);
    }
  }
  return join(tree, ...parts);
}

function readelf(args: string[], file: string): string {
  return execFileSync('readelf', [...args, file], { encoding: 'utf8' });
}

beforeAll(async () => {
  const t0 = Date.now();
  rootfs = await ensureFarmRootfs({ runner, log });
  log(
    `rootfs ${rootfs.path}: ${(rootfs.size / 2 ** 20).toFixed(1)} MiB, ${rootfs.packages.length} packages, ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  execFileSync('xz', ['-t', rootfs.path]);
  listing = parseListing(execFileSync('tar', ['-tvJf', rootfs.path], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 }));
  mkdirSync(tree);
  execFileSync('tar', ['-xJf', rootfs.path, '-C', tree]);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('the built NFS root filesystem (real tar, xz, readelf)', () => {
  it("holds every command the job's DUT script calls, each a file of the image after its links", () => {
    const script = dutScript();
    const missing: string[] = [];
    for (const c of DUT_COMMANDS) {
      // the list is the script's: every name occurs in it as a command word
      if (!NOT_NAMED.has(c)) expect(script, c).toMatch(new RegExp(`(^|[\\s;|&($])${c.replace(/[.]/g, '\\.')}(\\s|$)`, 'm'));
      if (!resolveListed(`usr/bin/${c}`) && !resolveListed(`usr/sbin/${c}`) && !resolveListed(`bin/${c}`)) missing.push(c);
    }
    expect(missing).toEqual([]);
    // /bin/sh is what LAVA's test shell scripts name in their #! line
    expect(resolveListed('bin/sh')).toBeDefined();
  });

  it("holds the plugin of every element of the job's pipeline, and no kernel module (the job brings the modules as an overlay)", () => {
    for (const [element, plugin] of Object.entries(PIPELINE_PLUGINS)) expect(listing.get(`${PLUGIN_DIR}/${plugin}`)?.type, `${element}: ${plugin}`).toBe('-');
    expect([...listing.keys()].filter((p) => p.startsWith('usr/lib/modules/') || /\.ko(\.(xz|zst|gz))?$/.test(p))).toEqual([]);
    expect([...listing.keys()].filter((p) => /^(boot\/vmlinu|usr\/lib\/linux-image)/.test(p))).toEqual([]);
  });

  it('every program and plugin the job runs is an AArch64 ELF whose libraries are all in the image', () => {
    const libDirs = ['usr/lib/aarch64-linux-gnu', 'usr/lib', 'lib/aarch64-linux-gnu', 'lib'];
    const files = [
      ...['gst-launch-1.0', 'gst-inspect-1.0', 'wget', 'kmod', 'xz', 'v4l2-ctl', 'busybox', 'bash', 'dash'].map((b) => `usr/bin/${b}`),
      ...Object.values(PIPELINE_PLUGINS).map((p) => `${PLUGIN_DIR}/${p}`),
    ];
    const seen = new Set<string>();
    const unresolved: string[] = [];
    const queue = files.map((f) => resolveInTree(f)!);
    for (const f of files) expect(resolveInTree(f), f).toBeDefined();
    while (queue.length) {
      const f = queue.shift()!;
      if (seen.has(f)) continue;
      seen.add(f);
      expect(readelf(['-h'], f), f).toMatch(/Machine:\s+AArch64/);
      for (const m of readelf(['-d'], f).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)) {
        const lib = libDirs.map((d) => resolveInTree(`${d}/${m[1]}`)).find((p) => p && lstatSync(p, { throwIfNoEntry: false })?.isFile());
        if (lib) queue.push(lib);
        else unresolved.push(`${f.slice(tree.length + 1)} needs ${m[1]}`);
      }
      const interp = /\[Requesting program interpreter: ([^\]]+)\]/.exec(execFileSync('readelf', ['-l', f], { encoding: 'utf8' }));
      if (interp) expect(resolveInTree(interp[1]!), `${f}: interpreter ${interp[1]}`).toBeDefined();
    }
    expect(unresolved).toEqual([]);
    log(`${seen.size} ELF files checked (programs, plugins and their libraries)`);
  });

  it("boots to its own init and lets root in on the console without a password, with nothing in fstab and the build host's apt sources gone", () => {
    expect(readlinkSync(join(tree, 'usr/sbin/init'))).toBe('wb-farm-init');
    expect(readFileSync(join(tree, 'usr/sbin/wb-farm-init'), 'utf8')).toMatch(/busybox getty -L -l \/usr\/local\/sbin\/login/);
    expect(readlinkSync(join(tree, 'usr/local/sbin/login'))).toBe('/usr/bin/busybox');
    const field = (file: string, user: string) =>
      readFileSync(join(tree, file), 'utf8')
        .split('\n')
        .find((l) => l.startsWith(`${user}:`))!
        .split(':')[1];
    expect(field('etc/passwd', 'root')).toBe('x');
    expect(field('etc/shadow', 'root')).toBe('');
    expect(field('etc/shadow', 'daemon')).toBe('*');
    expect(readFileSync(join(tree, 'etc/passwd'), 'utf8')).toMatch(/^root:x:0:0:[^:]*:\/root:\/bin\/bash$/m);
    expect(
      readFileSync(join(tree, 'etc/fstab'), 'utf8')
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('#')),
    ).toEqual([]);
    expect(listing.has('etc/apt/sources.list')).toBe(false);
    expect(readFileSync(join(tree, 'etc/resolv.conf'), 'utf8')).toBe('');
    // the packages record of the image is what the cache entry reports
    expect(readFileSync(join(tree, 'var/lib/workbench/rootfs-packages'), 'utf8').trim().split('\n')).toHaveLength(rootfs.packages.length);
    expect(rootfs.packages.find((p) => p.name === 'gstreamer1.0-plugins-bad')?.files).toContain('libgstv4l2codecs.so');
  });
});

describe('boot (simboard QEMU, serial console driven like LAVA auto_login)', () => {
  it.runIf(process.env.WORKBENCH_SIMBOARD_INT === '1')(
    "shows the job's login prompt, takes `root`, shows the job's shell prompt; the job's tools and elements are there",
    async () => {
      const [qemu, image] = await Promise.all([ensureSimboardQemu({ runner, log }), ensureSimboardImage({ runner, log })]);
      // the simboard initramfs mounts /dev/vda and switches to /sbin/vboard-init: a link to the image's own init, on this test disk only
      symlinkSync('wb-farm-init', join(tree, 'usr/sbin/vboard-init'));
      const disk = join(work, 'disk.ext4');
      execFileSync('mkfs.ext4', ['-q', '-F', '-d', tree, disk, '1G']);
      rmSync(join(tree, 'usr/sbin/vboard-init'));
      const argv = chrootArgv(
        qemu.root,
        [
          qemu.binary,
          ...['-M', 'virt,gic-version=3', '-cpu', 'max,pauth-impdef=on', '-accel', 'tcg,thread=multi', '-m', '1024', '-smp', '2', '-nodefaults'],
          ...['-kernel', image.kernel, '-initrd', image.initrd, '-append', 'console=ttyAMA0 panic=-1'],
          ...['-drive', `file=${disk},format=raw,if=none,id=d0`, '-device', 'virtio-blk-pci,drive=d0,romfile='],
          ...['-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot'],
        ],
        {
          pidNamespace: false,
          binds: [
            { host: qemu.dir, inside: qemu.dir, readOnly: true },
            { host: image.dir, inside: image.dir, readOnly: true },
            { host: work, inside: work },
          ],
        },
      );
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
      child.stderr.on('data', (d: Buffer) => (out += d.toString('latin1')));
      let from = 0;
      const expectOut = async (re: RegExp, ms: number): Promise<string> => {
        const end = Date.now() + ms;
        for (;;) {
          const m = re.exec(out.slice(from));
          if (m) {
            const got = out.slice(from, from + m.index + m[0].length);
            from += m.index + m[0].length;
            return got;
          }
          if (Date.now() > end || child.exitCode !== null) throw new Error(`no ${re} within ${ms} ms; console:\n${out.slice(-3000)}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      const t0 = Date.now();
      try {
        const boot = await expectOut(new RegExp(DEFAULT_FARM_BOOT.loginPrompt), 300_000);
        expect(boot).toMatch(/wb-farm-init: kernel \S+-arm64, modules: none; login on ttyAMA0 at 115200 baud/);
        log(`login prompt ${((Date.now() - t0) / 1000).toFixed(1)} s after QEMU start`);
        child.stdin.write('root\n');
        await expectOut(new RegExp(DEFAULT_FARM_BOOT.shellPrompt), 60_000);
        const run = async (cmd: string) => {
          child.stdin.write(`${cmd}; echo "WB-RC=$?"\n`);
          const got = await expectOut(/WB-RC=(\d+)/, 120_000);
          return { text: got, rc: Number(/WB-RC=(\d+)/.exec(got)![1]) };
        };
        // v4l2codecs registers its decoders per stateless decoder device it finds (none on QEMU's virt): the plugin itself is checked below
        for (const e of Object.keys(PIPELINE_PLUGINS).filter((x) => x !== 'v4l2slvp9dec')) expect((await run(`gst-inspect-1.0 --exists ${e}`)).rc, e).toBe(0);
        const found = await run(`for c in ${DUT_COMMANDS.join(' ')}; do command -v "$c" >/dev/null || echo "NOCMD $c"; done`);
        // the output lines the loop printed (the echoed command line holds `NOCMD $c"`, which this does not match)
        expect(found.text.match(/^NOCMD [\w.+-]+\r?$/gm) ?? []).toEqual([]);
        // the v4l2codecs plugin loads (its libraries resolve at run time on arm64): gst-inspect names its file and source module
        const v4l2codecs = await run('gst-inspect-1.0 --no-colors v4l2codecs');
        expect(v4l2codecs.rc).toBe(0);
        expect(v4l2codecs.text).toMatch(/Filename +\/usr\/lib\/aarch64-linux-gnu\/gstreamer-1\.0\/libgstv4l2codecs\.so/);
        expect(v4l2codecs.text).toMatch(/Source module +gst-plugins-bad/);
        log(
          `shell prompt, the pipeline's elements, v4l2codecs and ${DUT_COMMANDS.length} commands checked ${((Date.now() - t0) / 1000).toFixed(1)} s after QEMU start`,
        );
      } finally {
        child.kill('SIGKILL');
      }
    },
  );
});

describe('a farm-rk3588 bundle carrying it', () => {
  it('passes the real lava-run --validate; the job names its SHA-256 and bundle.json records where it came from', async () => {
    const chroot = await ensureFarmChroot({ runner, log });
    const visl = join((await ensureVislModules(await ensureToolbox({ runner, log }), { log })).dir, 'visl.ko');
    const farmBoot = await farmBootFor({ chroot, runner, log });
    expect(farmBoot.nfsrootfs).toBe(rootfs.path);
    const dir = join(work, 'bundle');
    await prepareBundle({
      dir,
      profile: 'farm-rk3588',
      urlBase: 'http://127.0.0.1:1',
      board: bundleBoard(builtinProviders(), 'rk3588-rock-5b'),
      glob: 'p0-odd-tiny',
      modules: [visl],
      farmBoot,
      runner,
      log,
    });
    // the tarball in the bundle, hashed by sha256sum, is the one the job names
    const served = join(dir, 'artefacts', 'farm', 'rootfs.tar.xz');
    const sha = execFileSync('sha256sum', [served], { encoding: 'utf8' }).split(' ')[0]!;
    expect(sha).toBe(rootfs.sha256);
    expect(await readFile(join(dir, 'job.yaml'), 'utf8')).toMatch(
      new RegExp(`nfsrootfs:\\n\\s+url: http://127\\.0\\.0\\.1:1/farm/rootfs\\.tar\\.xz\\n\\s+compression: xz\\n\\s+sha256sum: ${sha}`),
    );
    const bundle = await loadBundle(dir);
    expect(bundle.farm?.files.nfsrootfs?.sha256).toBe(sha);
    expect(bundle.farm?.rootfs).toMatchObject({ origin: 'workbench', cacheEntry: `farm-rootfs/${rootfs.key}`, suite: 'sid', architecture: 'arm64' });
    if (bundle.farm?.rootfs?.origin !== 'workbench') throw new Error('not built by the workbench');
    expect(bundle.farm.rootfs.include).toContain('wget');
    expect(bundle.farm.rootfs.packages.find((p) => p.name === 'gstreamer1.0-plugins-bad')?.files).toContain('libgstv4l2codecs.so');
    const t0 = Date.now();
    const v = await validateBundle(chroot, dir, work, { log, keepDir: join(dir, 'validate') });
    log(`lava-run --validate: ${v.durationMs} ms (${Date.now() - t0} ms with the device rendering and the artefact server)`);
    expect(v.error).toBeUndefined();
    expect(v.ok).toBe(true);
    expect(v.deviceType).toBe('rk3588-rock-5b');
  });
});
