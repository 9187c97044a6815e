import { tail } from '../core/text.ts';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureEntry } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { discoverDebianMirror } from '../core/mirror.ts';
import type { Runner } from '../core/runner.ts';
import { loadScript, scriptArgv } from '../core/scripts.ts';
import { toolboxExec } from '../toolbox/toolbox.ts';
import { toolboxIdentity } from '../toolbox/toolbox.ts';
import { arm64Release } from '../kernel/arm64Kernel.ts';
import { moduleLoadOrder } from '../vboard/image.ts';
import { arm64KernelPackages } from './image.ts';
import type { SimboardQemu } from './qemuBuild.ts';

/**
 * The simboard probe: Debian's arm64 kernel with a busybox initramfs (no
 * root filesystem) on the simboard QEMU, to check the device model and the
 * driver binding without the full guest image. /init is probe-init.sh.
 */

const FETCH = loadScript(import.meta.url, 'fetchArm64Debs.sh');
const PROBE_INIT = new URL('probe-init.sh', import.meta.url);

/** Bumped when the probe recipe changes (part of the cache key). */
export const SIMBOARD_PROBE_FORMAT = 1;

/** The module whose load order the probe initramfs carries (Debian's rkvdec, platform driver `rkvdec`). */
export const PROBE_MODULE = 'rockchip-vdec';

/** A built probe kernel + initramfs (cache entry `simboard-probe/<key>`). */
export interface SimboardProbeImage {
  dir: string;
  key: string;
  kernelRelease: string;
  kernel: string;
  initrd: string;
  /** Modules in load order. */
  modules: string[];
}

/**
 * Debian's arm64 kernel Image and the initramfs of the probe, built once:
 * linux-binary/linux-modules arm64 at the lock's version and busybox-static
 * (arm64) are downloaded inside the QEMU build chroot and unpacked on the
 * host (dpkg-deb -x: no foreign code runs), modules.dep comes from the
 * package or from `depmod -b`.
 * @throws WorkbenchError E_SIMBOARD_PROBE (download or layout).
 */
export async function ensureSimboardProbeImage(
  qemu: Pick<SimboardQemu, 'root'>,
  opts: { runner: Runner; log?: (s: string) => void; cacheRoot?: string },
): Promise<SimboardProbeImage> {
  const runner = opts.runner;
  const { lock } = toolboxIdentity();
  const rel = arm64Release(lock.kernel_release);
  const init = await readFile(PROBE_INIT);
  const e = await ensureEntry(
    'simboard-probe',
    {
      format: SIMBOARD_PROBE_FORMAT,
      kernel: arm64KernelPackages(lock),
      busybox: 'busybox-static',
      module: PROBE_MODULE,
      init: createHash('sha256').update(init).digest('hex'),
    },
    async (tmp) => {
      const debs = join(tmp, 'debs');
      await mkdir(debs);
      opts.log?.(`fetching Debian's arm64 kernel ${rel} and busybox-static`);
      const r = await toolboxExec(runner, qemu.root, scriptArgv(FETCH, [discoverDebianMirror(), lock.suite, ...arm64KernelPackages(lock), 'busybox-static']), {
        binds: [{ host: debs, inside: '/wb/out' }],
        timeoutMs: 20 * 60_000,
        allowFailure: true,
      });
      if (r.exitCode !== 0) {
        throw new WorkbenchError('E_SIMBOARD_PROBE', `could not download the arm64 kernel packages:\n${tail(r.stderr || r.stdout, 8)}`, {
          hint: 'check the mirror; the locked kernel version may have left it (`workbench toolbox update-lock`)',
        });
      }
      const x = join(tmp, 'x');
      for (const f of (await readdir(debs)).filter((f) => f.endsWith('.deb'))) await runner.run(['dpkg-deb', '-x', join(debs, f), x]);
      let modDir = join(x, 'usr/lib/modules', rel);
      if (!existsSync(modDir)) modDir = join(x, 'lib/modules', rel);
      const image = [join(modDir, 'vmlinuz'), join(x, 'boot', `vmlinuz-${rel}`)].find((p) => existsSync(p));
      if (!image) throw new WorkbenchError('E_SIMBOARD_PROBE', `no vmlinuz for ${rel} in the downloaded packages`);
      await copyFile(image, join(tmp, 'vmlinuz'));
      const decompress = async (rp: string): Promise<Buffer> => {
        const tool = rp.endsWith('.xz') ? 'xz' : rp.endsWith('.zst') ? 'zstd' : undefined;
        return tool ? (await runner.run([tool, '-dc', join(modDir, rp)], { binaryStdout: true })).stdoutBytes! : readFile(join(modDir, rp));
      };
      // Debian's linux-modules package ships no modules.dep (depmod runs at install): build the
      // part we need from each module's .modinfo `depends=` (what depmod and modinfo read too).
      const dep = existsSync(join(modDir, 'modules.dep'))
        ? await readFile(join(modDir, 'modules.dep'), 'utf8')
        : await modulesDepFromModinfo(await listModules(modDir), [PROBE_MODULE], decompress);
      const order = moduleLoadOrder(dep, [PROBE_MODULE]);
      const tree = join(tmp, 'initramfs');
      for (const d of ['bin', 'dev', 'proc', 'sys', 'lib/modules']) await mkdir(join(tree, d), { recursive: true });
      const bb = [join(x, 'bin/busybox'), join(x, 'usr/bin/busybox')].find((p) => existsSync(p));
      if (!bb) throw new WorkbenchError('E_SIMBOARD_PROBE', 'busybox-static (arm64) has no bin/busybox');
      await copyFile(bb, join(tree, 'bin/busybox'));
      await chmod(join(tree, 'bin/busybox'), 0o755);
      const names: string[] = [];
      for (const rp of order) {
        const name = rp.replace(/^.*\//, '').replace(/\.ko(\.\w+)?$/, '') + '.ko';
        await writeFile(join(tree, 'lib/modules', name), await decompress(rp));
        names.push(name);
      }
      await writeFile(join(tree, 'lib/modules/load-order'), names.join('\n') + '\n');
      await writeFile(join(tree, 'init'), init);
      await chmod(join(tree, 'init'), 0o755);
      await runner.run(['sh', '-c', 'cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet > "$2"', 'sh', tree, join(tmp, 'initrd.cpio')]);
      for (const d of [tree, x, debs]) await rm(d, { recursive: true, force: true });
      return { files: ['vmlinuz', 'initrd.cpio'], extra: { kernelRelease: rel, modules: names } };
    },
    { root: opts.cacheRoot, log: opts.log },
  );
  return {
    dir: e.dir,
    key: e.key,
    kernelRelease: rel,
    kernel: join(e.dir, 'vmlinuz'),
    initrd: join(e.dir, 'initrd.cpio'),
    modules: (e.meta.extra?.modules ?? []) as string[],
  };
}

/** Module paths (relative to `modDir`, as in modules.dep) of every `.ko*` under `modDir/kernel`. */
async function listModules(modDir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(modDir, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(r);
      else if (/\.ko(\.\w+)?$/.test(e.name)) out.push(r);
    }
  };
  await walk('kernel');
  return out;
}

/** The `depends=` value of a module's .modinfo section (NUL-separated `key=value` strings). */
export function modinfoDepends(ko: Buffer): string[] {
  const i = ko.indexOf('\0depends=');
  if (i < 0) return [];
  const end = ko.indexOf(0, i + 1);
  return ko
    .subarray(i + 9, end)
    .toString('utf8')
    .split(',')
    .filter(Boolean);
}

/**
 * A modules.dep text (`path: dep-path...`) for `wanted` and everything they
 * depend on, from the modules' own `depends=` lists.
 * @throws WorkbenchError E_SIMBOARD_PROBE when a module named as a dependency is not in `paths`.
 */
export async function modulesDepFromModinfo(paths: readonly string[], wanted: readonly string[], read: (rel: string) => Promise<Buffer>): Promise<string> {
  const norm = (n: string) => n.replace(/-/g, '_');
  const byName = new Map(paths.map((p) => [norm(p.replace(/^.*\//, '').replace(/\.ko(\.\w+)?$/, '')), p]));
  const lines: string[] = [];
  const seen = new Set<string>();
  const visit = async (name: string): Promise<void> => {
    if (seen.has(norm(name))) return;
    seen.add(norm(name));
    const p = byName.get(norm(name));
    if (!p) throw new WorkbenchError('E_SIMBOARD_PROBE', `module ${name} is not in the kernel's module tree`);
    const deps = modinfoDepends(await read(p));
    for (const d of deps) await visit(d);
    lines.push(`${p}: ${deps.map((d) => byName.get(norm(d))!).join(' ')}`);
  };
  for (const w of wanted) await visit(w);
  return lines.join('\n') + '\n';
}

/** What the probe saw (parsed from its PROBE- lines). */
export interface ProbeResult {
  /** The device-tree node path the guest found, or undefined. */
  node?: string;
  /** STA_INT read 1 s after DEC_E, and after the guest wrote 0. */
  staAfterDecE?: number;
  staAfterAck?: number;
  /** Devices bound to the platform driver `rkvdec`. */
  bound: string[];
  /** `videoN driver name` for each video device. */
  video: { dev: string; driver: string; name: string }[];
  media: string[];
  insmodFailed: string[];
  irqLines: string[];
  dmesg: string[];
  done: boolean;
  /** Guest uptime at the end, s. */
  uptimeS?: number;
}

/** Parses the probe's console output (lines starting with PROBE-). */
export function parseProbeOutput(text: string): ProbeResult {
  const r: ProbeResult = { bound: [], video: [], media: [], insmodFailed: [], irqLines: [], dmesg: [], done: false };
  for (const raw of text.replace(/\r/g, '').split('\n')) {
    const m = /^PROBE-([A-Z-]+)\s?(.*)$/.exec(raw.trim());
    if (!m) continue;
    const [, tag, rest] = m as unknown as [string, string, string];
    if (tag === 'NODE' && rest !== 'none') r.node = rest;
    else if (tag === 'STA-AFTER-DEC-E') r.staAfterDecE = Number(rest);
    else if (tag === 'STA-AFTER-ACK') r.staAfterAck = Number(rest);
    else if (tag === 'BOUND') r.bound.push(rest);
    else if (tag === 'VIDEO') {
      const [dev = '', driver = '', ...name] = rest.split(' ');
      r.video.push({ dev, driver, name: name.join(' ') });
    } else if (tag === 'MEDIA') r.media.push(rest);
    else if (tag === 'INSMOD-FAILED') r.insmodFailed.push(rest);
    else if (tag === 'IRQ') r.irqLines.push(rest);
    else if (tag === 'DMESG') r.dmesg.push(rest);
    else if (tag === 'DONE') {
      r.done = true;
      r.uptimeS = Number(/uptime\s+([\d.]+)/.exec(rest)?.[1]);
    }
  }
  return r;
}

/**
 * Boots the probe on the simboard QEMU (TCG, foreground, console on stdout)
 * with the device model writing its capture records to `capture`.
 * @returns the parsed result, the raw console text and the wall time.
 * @throws WorkbenchError E_SIMBOARD_PROBE when QEMU fails or the guest does not finish within `timeoutMs` (console tail included).
 */
export async function runSimboardProbe(
  qemu: Pick<SimboardQemu, 'root' | 'dir' | 'binary'>,
  img: Pick<SimboardProbeImage, 'dir' | 'kernel' | 'initrd'>,
  outDir: string,
  opts: { runner: Runner; timeoutMs?: number; irqDelayUs?: number },
): Promise<{ result: ProbeResult; console: string; wallMs: number; capture: string }> {
  const runner = opts.runner;
  const capture = join(outDir, 'capture.jsonl');
  const dev = ['vdpu381-sim', `capture=${capture.replace(/,/g, ',,')}`, ...(opts.irqDelayUs !== undefined ? [`irq-delay-us=${opts.irqDelayUs}`] : [])].join(
    ',',
  );
  const argv = [
    qemu.binary,
    '-M',
    'virt,gic-version=3',
    '-cpu',
    'max,pauth-impdef=on',
    '-accel',
    'tcg,thread=multi',
    '-smp',
    '2',
    '-m',
    '1024',
    '-nodefaults',
    '-display',
    'none',
    '-monitor',
    'none',
    '-serial',
    'stdio',
    '-no-reboot',
    '-kernel',
    img.kernel,
    '-initrd',
    img.initrd,
    '-append',
    'console=ttyAMA0 rdinit=/init panic=-1 loglevel=4',
    '-device',
    dev,
  ];
  const t0 = Date.now();
  const r = await toolboxExec(runner, qemu.root, argv, {
    binds: [
      { host: qemu.dir, inside: qemu.dir, readOnly: true },
      { host: img.dir, inside: img.dir, readOnly: true },
      { host: outDir, inside: outDir },
    ],
    timeoutMs: opts.timeoutMs ?? 300_000,
    allowFailure: true,
  });
  const wallMs = Date.now() - t0;
  const result = parseProbeOutput(r.stdout);
  await writeFile(join(outDir, 'console.log'), r.stdout);
  if (!result.done) {
    throw new WorkbenchError(
      'E_SIMBOARD_PROBE',
      `the simboard probe did not finish (${r.timedOut ? 'timed out' : `QEMU exit ${r.exitCode}`}):\n${tail(r.stdout + r.stderr, 25)}`,
      {
        hint: `full console in ${join(outDir, 'console.log')}`,
      },
    );
  }
  return { result, console: r.stdout, wallMs, capture };
}
