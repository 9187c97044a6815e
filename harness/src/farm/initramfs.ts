import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ensureEntry, sha256File } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { requireTools, which } from '../core/hostTools.ts';
import { discoverDebianMirror } from '../core/mirror.ts';
import type { Runner } from '../core/runner.ts';
import { loadScript, scriptArgv } from '../core/scripts.ts';
import { tail } from '../core/text.ts';
import { arm64Release } from '../kernel/arm64Kernel.ts';
import { arm64KernelPackages, modulesIn } from '../simboard/image.ts';
import { modinfoDepends } from '../simboard/probe.ts';
import { scriptHash } from '../simboard/arm64Rootfs.ts';
import { toolboxIdentity } from '../toolbox/toolbox.ts';
import { moduleLoadOrder, parseModulesDep } from '../vboard/image.ts';
import type { FarmChroot } from './chroot.ts';

/**
 * The farm-rk3588 initramfs (`farm/initrd.cpio.gz`, the job's `ramdisk:`):
 * Debian's arm64 kernel builds the NFS client, SUNRPC and the ROCK 5B's
 * Ethernet driver (RTL8125 on PCIe: r8169) as modules and has no kernel IP
 * autoconfiguration (`CONFIG_IP_PNP` unset; the locked kernel's arm64
 * config), so `root=/dev/nfs nfsroot=... ip=dhcp` needs an early userspace:
 * this one is an arm64 busybox-static, the kernel modules below
 * (decompressed, with their own modules.dep/modules.alias written by the
 * host's depmod) and farm-initramfs-init.sh as /init, which loads them,
 * does DHCP with busybox udhcpc, mounts the NFS root the kernel command line
 * names and switch_roots to the root filesystem's own init.
 *
 * The modules, all from Debian's `linux-modules-<rel>` at the lock's
 * version (the same upload as the job's Image):
 * - {@link FARM_INITRAMFS_MODULES}, loaded by name;
 * - the board's: every module whose `of:` alias matches the compatible of an
 *   enabled node of the ROCK 5B device tree (`linux-base`'s
 *   rk3588-rock-5b.dtb, the job's dtb) and that lives under one of
 *   {@link FARM_BOARD_DRIVER_DIRS} (the gpio banks, regulators, PCIe/USB
 *   PHYs, SPI/I2C buses, PMIC cells the PCIe link to the RTL8125 hangs on:
 *   Debian builds gpio-rockchip, regulator-fixed, the Naneng combo PHY and
 *   spi-rockchip as modules), plus {@link FARM_MFD_CELL_MODULES}; /init loads
 *   them by the modalias of each device as it appears (udev's coldplug, by
 *   hand);
 * - everything those depend on (modules.dep of the whole package).
 *
 * The unpacked package's module tree is kept in the same cache entry
 * (`modules/<rel>/`, 100 MB): the modules overlay of a farm job takes the
 * Debian modules the series' modules depend on from it
 * ({@link farmModuleDeps}). Cached under `<cache>/farm-initramfs/<key>`.
 */

/** Bumped when the recipe changes in a way the inputs do not show (part of the cache key). */
export const FARM_INITRAMFS_FORMAT = 1;

/** The initramfs's file name in the cache entry and in a bundle (`artefacts/farm/initrd.cpio.gz`). */
export const FARM_INITRAMFS_FILE = 'initrd.cpio.gz';

/**
 * Modules /init loads by name (besides the board's, by modalias): the
 * Realtek PHY driver before r8169 (r8169 refuses the generic PHY driver for
 * the RTL8125's internal PHY; Debian's modules.softdep says `r8169 pre:
 * realtek`, which busybox modprobe does not read), virtio_net and
 * virtio_pci for QEMU's virt machine (virtio_pci is built in: skipped), and
 * the NFS client for both mount versions (nfsv3, nfsv4; sunrpc, lockd,
 * grace, netfs come as their dependencies).
 */
export const FARM_INITRAMFS_MODULES: readonly string[] = ['realtek', 'r8169', 'virtio_net', 'virtio_pci', 'nfs', 'nfsv3', 'nfsv4'];

/**
 * Kernel folders (under `kernel/`) whose modules the board's device tree
 * may pull into the initramfs: what lies between the SoC and the Ethernet
 * chip (GPIO, regulators, PHYs, buses, the PMIC, pin control, PCI, network).
 * Display, sound, media, USB gadgets stay out (some load firmware that is
 * not in the initramfs and would not load again after switch_root).
 */
export const FARM_BOARD_DRIVER_DIRS: readonly string[] = [
  'drivers/gpio/',
  'drivers/regulator/',
  'drivers/phy/',
  'drivers/spi/',
  'drivers/i2c/',
  'drivers/mfd/',
  'drivers/pinctrl/',
  'drivers/pci/',
  'drivers/net/',
];

/**
 * Modules of devices the RK806 PMIC's MFD driver (rk8xx, built in) creates
 * as platform cells, which have no device-tree compatible of their own
 * (modalias `platform:rk808-regulator`): the ROCK 5B's 3.3 V rails are its
 * regulators.
 */
export const FARM_MFD_CELL_MODULES: readonly string[] = ['rk808-regulator'];

/** /init of the initramfs (busybox sh; also its udhcpc script). */
const INIT = loadScript(import.meta.url, 'farm-initramfs-init.sh');
const FETCH = loadScript(import.meta.url, '../simboard/fetchArm64Debs.sh');

/** One node of a flattened device tree. */
export interface FdtNode {
  /** `/` for the root, else `/soc/pcie@fe190000`-style. */
  path: string;
  props: Map<string, Buffer>;
  children: FdtNode[];
}

const FDT_MAGIC = 0xd00dfeed;

/**
 * Parses a flattened device tree blob (Devicetree Specification v0.4,
 * chapter 5: big-endian header, structure block of BEGIN_NODE 1 / END_NODE
 * 2 / PROP 3 / NOP 4 / END 9 tokens, strings block).
 * @throws WorkbenchError E_FARM_INITRAMFS when the blob is not an FDT or is truncated.
 */
export function parseFdt(b: Buffer): FdtNode {
  const bad = (why: string) => new WorkbenchError('E_FARM_INITRAMFS', `not a device tree blob: ${why}`);
  if (b.length < 40 || b.readUInt32BE(0) !== FDT_MAGIC) throw bad('no 0xd00dfeed magic');
  const offStruct = b.readUInt32BE(8);
  const offStrings = b.readUInt32BE(12);
  const sizeStruct = b.readUInt32BE(36);
  const end = offStruct + sizeStruct;
  if (end > b.length || offStrings > b.length) throw bad('blocks out of range');
  const str = (off: number) => b.toString('latin1', offStrings + off, b.indexOf(0, offStrings + off));
  let p = offStruct;
  const align = () => (p = (p + 3) & ~3);
  const stack: FdtNode[] = [];
  let root: FdtNode | undefined;
  while (p < end) {
    const tok = b.readUInt32BE(p);
    p += 4;
    if (tok === 1) {
      const z = b.indexOf(0, p);
      const name = b.toString('latin1', p, z);
      p = z + 1;
      align();
      const parent = stack[stack.length - 1];
      const node: FdtNode = { path: parent ? `${parent.path === '/' ? '' : parent.path}/${name}` : '/', props: new Map(), children: [] };
      if (parent) parent.children.push(node);
      else root = node;
      stack.push(node);
    } else if (tok === 2) {
      stack.pop();
    } else if (tok === 3) {
      const len = b.readUInt32BE(p);
      const nameoff = b.readUInt32BE(p + 4);
      p += 8;
      const node = stack[stack.length - 1];
      if (!node) throw bad('property outside a node');
      node.props.set(str(nameoff), b.subarray(p, p + len));
      p += len;
      align();
    } else if (tok === 4) {
      continue;
    } else if (tok === 9) {
      break;
    } else {
      throw bad(`unknown token ${tok} at ${p - 4}`);
    }
  }
  if (!root) throw bad('no root node');
  return root;
}

/** The strings of a `compatible`-style property (NUL-separated). */
function stringList(v: Buffer | undefined): string[] {
  return v ? v.toString('latin1').split('\0').filter(Boolean) : [];
}

/**
 * Compatible strings of every enabled node of a device tree (Devicetree
 * Specification 2.3.4: `status` absent, `okay` or `ok`; a disabled node's
 * children count as disabled too), in tree order, without repeats.
 */
export function enabledCompatibles(root: FdtNode): string[] {
  const out = new Set<string>();
  const walk = (n: FdtNode) => {
    const status = stringList(n.props.get('status'))[0];
    if (status !== undefined && status !== 'okay' && status !== 'ok') return;
    for (const c of stringList(n.props.get('compatible'))) out.add(c);
    for (const c of n.children) walk(c);
  };
  walk(root);
  return [...out];
}

/**
 * Modules whose `of:` aliases (modules.alias lines `alias PATTERN MODULE`,
 * the forms file2alias writes for an of_device_id with a compatible only:
 * `of:N*T*C<compatible>` and `of:N*T*C<compatible>C*`) match one of
 * `compatibles`. Module names as modules.alias writes them (`_` for `-`).
 * @returns module -> the compatibles that matched it (sorted by module).
 */
export function ofAliasModules(modulesAlias: string, compatibles: readonly string[]): Map<string, string[]> {
  const want = new Set(compatibles);
  const out = new Map<string, string[]>();
  for (const line of modulesAlias.split('\n')) {
    const m = /^alias of:N\*T\*C(.+?)(?:C\*)? (\S+)$/.exec(line.trim());
    if (!m || !want.has(m[1]!)) continue;
    const list = out.get(m[2]!) ?? [];
    if (!list.includes(m[1]!)) list.push(m[1]!);
    out.set(m[2]!, list);
  }
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

/** The module name of a module path (`kernel/fs/nfs/nfsv4.ko.xz` -> `nfsv4`), `-` as `_` (what the kernel and modules.alias call it). */
export function moduleName(path: string): string {
  return path
    .replace(/^.*\//, '')
    .replace(/\.ko(\.\w+)?$/, '')
    .replace(/-/g, '_');
}

/** What goes into the initramfs ({@link farmInitramfsModules}). */
export interface InitramfsModuleSet {
  /** {@link FARM_INITRAMFS_MODULES} that are modules of this kernel (built-in ones left out), loaded by name in this order. */
  byName: string[];
  /** Board modules (module -> the device-tree compatibles or the reason that brought it), loaded by modalias. */
  board: Map<string, string[]>;
  /** Every module file to put in (paths relative to the release folder, as in modules.dep), dependencies first. */
  paths: string[];
}

/**
 * The initramfs's modules (see the module doc) from the kernel's
 * modules.dep and modules.alias (the host's depmod over Debian's package)
 * and the board's device tree.
 * @throws WorkbenchError E_FARM_INITRAMFS when an MFD cell module is not in modules.dep.
 */
export function farmInitramfsModules(o: { modulesDep: string; modulesAlias: string; dtb: Buffer }): InitramfsModuleSet {
  const deps = parseModulesDep(o.modulesDep);
  const pathOf = new Map([...deps.keys()].map((p) => [moduleName(p), p]));
  const byName = modulesIn(o.modulesDep, FARM_INITRAMFS_MODULES).map((m) => m.replace(/-/g, '_'));
  const board = new Map<string, string[]>();
  for (const [mod, compat] of ofAliasModules(o.modulesAlias, enabledCompatibles(parseFdt(o.dtb)))) {
    const p = pathOf.get(mod);
    if (p && FARM_BOARD_DRIVER_DIRS.some((d) => p.startsWith(`kernel/${d}`))) board.set(mod, compat);
  }
  for (const m of FARM_MFD_CELL_MODULES) {
    if (!pathOf.has(moduleName(m))) throw new WorkbenchError('E_FARM_INITRAMFS', `module ${m} is not in the kernel's modules.dep`);
    board.set(moduleName(m), ['platform cell of the RK806 PMIC (rk8xx MFD)']);
  }
  const paths = moduleLoadOrder(o.modulesDep, [...byName, ...board.keys()]);
  return { byName, board, paths };
}

/**
 * The Debian modules a set of out-of-tree (series) modules needs that are
 * not among them: their `depends=` (modinfo, what depmod reads) closed under
 * the kernel's modules.dep, dependencies first.
 * @param series the series' modules: name (`rockchip_vdec` or `rockchip-vdec`) and `depends=` list each.
 * @returns paths relative to the release folder, as in modules.dep.
 * @throws WorkbenchError E_FARM_INITRAMFS when a dependency is in neither the series nor the kernel's modules.
 */
export function seriesDependencies(series: readonly { name: string; depends: readonly string[] }[], modulesDep: string): string[] {
  const own = new Set(series.map((s) => moduleName(s.name)));
  const deps = parseModulesDep(modulesDep);
  const pathOf = new Map([...deps.keys()].map((p) => [moduleName(p), p]));
  const wanted: string[] = [];
  for (const s of series)
    for (const d of s.depends) {
      const n = moduleName(d);
      if (own.has(n) || wanted.includes(n)) continue;
      if (!pathOf.has(n))
        throw new WorkbenchError('E_FARM_INITRAMFS', `${s.name} depends on ${d}, which is neither a module of the series nor of the kernel`, {
          hint: 'the modules are built for another kernel than the lock pins: rebuild them (`workbench build --for arm64`)',
        });
      wanted.push(n);
    }
  return wanted.length ? moduleLoadOrder(modulesDep, wanted) : [];
}

/** A built farm initramfs (cache entry `farm-initramfs/<key>`). */
export interface FarmInitramfs {
  /** Host path of the gzip-compressed newc cpio. */
  path: string;
  sha256: string;
  /** Cache key (`farm-initramfs/<key>`). */
  key: string;
  /** `7.2.13+deb14-arm64`. */
  kernelRelease: string;
  /** The Debian packages it was made from, `name=version`. */
  packages: string[];
  /** Modules loaded by name, and the board's (loaded by modalias). */
  byName: string[];
  board: string[];
  /** Every module file in it (relative to the release folder). */
  modules: string[];
  /** Host folder of Debian's module tree of the release (with modules.dep from the host's depmod). */
  moduleTree: string;
}

/** The Debian modules the series' modules depend on ({@link farmModuleDeps}). */
export interface FarmModuleDeps {
  /** Where they came from (`linux-modules-<rel>=<version>`). */
  source: string;
  /** Host path and board path (`/lib/modules/<rel>/kernel/...ko.xz`) of each. */
  files: { src: string; file: string }[];
}

/**
 * The Debian modules the given module files need on the board (their
 * `depends=` closed under the kernel's modules.dep: for the series'
 * rockchip-vdec, v4l2-mem2mem, videobuf2-dma-contig, v4l2-vp9 and theirs),
 * taken from the initramfs entry's module tree at their Debian paths
 * (xz-compressed as Debian ships them: the board's kmod and the kernel
 * read them).
 * @param modules host paths of the series' `.ko` files (uncompressed, or xz).
 * @throws WorkbenchError E_FARM_INITRAMFS (a dependency the kernel does not have), E_BAD_MODULE.
 */
export async function farmModuleDeps(
  initramfs: Pick<FarmInitramfs, 'moduleTree' | 'kernelRelease' | 'packages'>,
  modules: readonly string[],
  runner: Runner,
): Promise<FarmModuleDeps> {
  const series: { name: string; depends: string[] }[] = [];
  for (const m of modules) {
    let b: Buffer = await readFile(m);
    if (b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])))
      b = (await runner.run(['xz', '-dc', m], { binaryStdout: true })).stdoutBytes!;
    series.push({ name: m.replace(/^.*\//, ''), depends: modinfoDepends(b) });
  }
  const paths = seriesDependencies(series, await readFile(join(initramfs.moduleTree, 'modules.dep'), 'utf8'));
  return {
    source: `Debian ${initramfs.packages.filter((p) => p.startsWith('linux-modules-')).join(' ')}`,
    files: paths.map((p) => ({ src: join(initramfs.moduleTree, p), file: `/lib/modules/${initramfs.kernelRelease}/${p}` })),
  };
}

async function decompress(runner: Runner, src: string): Promise<Buffer> {
  if (src.endsWith('.xz')) return (await runner.run(['xz', '-dc', src], { binaryStdout: true })).stdoutBytes!;
  if (src.endsWith('.zst')) return (await runner.run(['zstd', '-dc', src], { binaryStdout: true })).stdoutBytes!;
  return readFile(src);
}

/**
 * Returns the farm initramfs (see the module doc), building it once: Debian's
 * `linux-modules-<rel>` (arm64, the lock's version) and `busybox-static`
 * (arm64, the mirror's current one) downloaded inside the farm chroot
 * (simboard/fetchArm64Debs.sh: a private apt state), unpacked on the host
 * with dpkg-deb -x (no foreign code runs), modules.dep/modules.alias by the
 * host's `depmod -b` (the package ships none), packed with cpio (newc,
 * owner 0:0, sorted names) and `gzip -9 -n`. About 35 s on this 2-core
 * machine (download 20 s, depmod 14 s).
 * @param o.dtb host path of the board's device tree (the job's dtb: bootArtefacts.ts ensureFarmBoot).
 * @throws WorkbenchError E_FARM_INITRAMFS (download, layout, a module missing), E_TOOL_MISSING (depmod, cpio, gzip, xz), E_LOCK_STALE.
 */
export async function ensureFarmInitramfs(
  chroot: Pick<FarmChroot, 'exec'>,
  o: { runner: Runner; dtb: string; log?: (m: string) => void; cacheRoot?: string; manifest?: string; force?: boolean },
): Promise<FarmInitramfs> {
  const { lock } = toolboxIdentity(o.manifest);
  const rel = arm64Release(lock.kernel_release);
  const modulesPkg = arm64KernelPackages(lock).find((p) => p.startsWith('linux-modules-'));
  if (!modulesPkg)
    throw new WorkbenchError('E_FARM_INITRAMFS', `the kernel lock names no linux-modules package for ${lock.kernel_release}`, {
      hint: 'run `workbench toolbox update-lock`',
    });
  const e = await ensureEntry(
    'farm-initramfs',
    {
      format: FARM_INITRAMFS_FORMAT,
      suite: lock.suite,
      packages: [modulesPkg, 'busybox-static'],
      modules: FARM_INITRAMFS_MODULES,
      boardDirs: FARM_BOARD_DRIVER_DIRS,
      mfdCells: FARM_MFD_CELL_MODULES,
      dtb: await sha256File(o.dtb),
      init: scriptHash(INIT),
    },
    async (tmp) => {
      requireTools(['cpio', 'dpkg-deb', 'xz', 'depmod']);
      if (!which('gzip')) throw new WorkbenchError('E_TOOL_MISSING', "the farm initramfs needs the host's gzip", { hint: 'apt-get install gzip' });
      const debs = join(tmp, 'debs');
      await mkdir(debs);
      o.log?.(`fetching Debian's arm64 ${modulesPkg} and busybox-static for the farm initramfs, once`);
      const r = await chroot.exec(scriptArgv(FETCH, [discoverDebianMirror(), lock.suite, modulesPkg, 'busybox-static']), {
        binds: [{ host: debs, inside: '/wb/out' }],
        timeoutMs: 30 * 60_000,
        allowFailure: true,
      });
      if (r.exitCode !== 0)
        throw new WorkbenchError('E_FARM_INITRAMFS', `could not download ${modulesPkg}, busybox-static (arm64):\n${tail(r.stderr || r.stdout, 8)}`, {
          hint: 'check the mirror; if the locked version left it, move the lock with `workbench toolbox update-lock`',
        });
      const packages: string[] = [];
      const x = join(tmp, 'x');
      for (const f of (await readdir(debs)).filter((f) => f.endsWith('.deb')).sort()) {
        await o.runner.run(['dpkg-deb', '-x', join(debs, f), x]);
        const name = (await o.runner.run(['dpkg-deb', '-f', join(debs, f), 'Package', 'Version'])).stdout;
        packages.push(name.replace(/^Package: (\S+)\nVersion: (\S+)\s*$/, '$1=$2'));
      }
      const tree = join(x, 'usr/lib/modules', rel);
      if (!existsSync(join(tree, 'kernel'))) throw new WorkbenchError('E_FARM_INITRAMFS', `${modulesPkg} has no usr/lib/modules/${rel}/kernel`);
      // depmod -b reads <base>/lib/modules/<rel>: Debian's packages install under usr/lib (merged /usr)
      await symlink('usr/lib', join(x, 'lib'));
      await o.runner.run(['depmod', '-b', x, rel], { timeoutMs: 10 * 60_000 });
      const set = farmInitramfsModules({
        modulesDep: await readFile(join(tree, 'modules.dep'), 'utf8'),
        modulesAlias: await readFile(join(tree, 'modules.alias'), 'utf8'),
        dtb: await readFile(o.dtb),
      });
      const bb = [join(x, 'usr/bin/busybox'), join(x, 'bin/busybox')].find((p) => existsSync(p));
      if (!bb) throw new WorkbenchError('E_FARM_INITRAMFS', 'busybox-static (arm64) has no usr/bin/busybox');
      const root = join(tmp, 'initramfs');
      for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'dev', 'proc', 'sys', 'run', 'etc', 'root', `lib/modules/${rel}`])
        await mkdir(join(root, d), { recursive: true });
      await copyFile(bb, join(root, 'bin/busybox'));
      await chmod(join(root, 'bin/busybox'), 0o755);
      for (const p of set.paths) {
        const dst = join(root, 'lib/modules', rel, p.replace(/\.ko\.\w+$/, '.ko'));
        await mkdir(dirname(dst), { recursive: true });
        await writeFile(dst, await decompress(o.runner, join(tree, p)));
      }
      // modules.dep and modules.alias of just these files (busybox modprobe reads the text files)
      await o.runner.run(['depmod', '-b', root, rel]);
      for (const f of await readdir(join(root, 'lib/modules', rel)))
        if (f.startsWith('modules.') && !['modules.dep', 'modules.alias', 'modules.softdep'].includes(f)) await rm(join(root, 'lib/modules', rel, f));
      await writeFile(join(root, 'etc/wb-initramfs-modules'), set.byName.join('\n') + '\n');
      await writeFile(join(root, 'init'), INIT.text);
      await chmod(join(root, 'init'), 0o755);
      await symlink('../init', join(root, 'etc/udhcpc.script'));
      await o.runner.run([
        'sh',
        '-c',
        'cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -9 -n > "$2"',
        'sh',
        root,
        join(tmp, FARM_INITRAMFS_FILE),
      ]);
      // keep Debian's module tree (with the host depmod's modules.dep) for the jobs' modules overlays
      await rename(tree, join(tmp, 'modules'));
      for (const d of [root, x, debs]) await rm(d, { recursive: true, force: true });
      o.log?.(`farm initramfs: ${set.paths.length} modules (${set.byName.length} by name, ${set.board.size} of the board's device tree)`);
      return {
        files: [FARM_INITRAMFS_FILE],
        extra: { kernelRelease: rel, packages, byName: set.byName, board: [...set.board.keys()], modules: set.paths },
      };
    },
    { ...(o.log ? { log: o.log } : {}), ...(o.cacheRoot ? { root: o.cacheRoot } : {}), ...(o.force ? { force: true } : {}) },
  );
  const path = join(e.dir, FARM_INITRAMFS_FILE);
  const x = e.meta.extra ?? {};
  return {
    path,
    sha256: e.meta.files?.[FARM_INITRAMFS_FILE]?.sha256 ?? (await sha256File(path)),
    key: e.key,
    kernelRelease: rel,
    packages: (x.packages ?? []) as string[],
    byName: (x.byName ?? []) as string[],
    board: (x.board ?? []) as string[],
    modules: (x.modules ?? []) as string[],
    moduleTree: join(e.dir, 'modules'),
  };
}
