import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheKey, ensureEntry } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { requireTools, which } from '../core/hostTools.ts';
import { discoverDebianMirror } from '../core/mirror.ts';
import { shellQuote } from '../core/quote.ts';
import type { Runner } from '../core/runner.ts';
import type { KernelLock, KernelManifest } from '../model/manifest.ts';
import { MINIMAL_DPKG_OPTIONS, mmdebstrapArgv, mmdebstrapFailure, requireRoot } from '../toolbox/mmdebstrap.ts';
import { ensureToolbox, toolboxIdentity } from '../toolbox/toolbox.ts';
import { ensureVislModules, vislModulesInputs, type VislModules } from './modules.ts';

/** Bumped when the image recipe changes (part of the cache key). */
export const VBOARD_IMAGE_FORMAT = 3;

/** Guest scripts shipped with the workbench (harness/src/vboard/guest/). */
export const GUEST_DIR = join(dirname(fileURLToPath(import.meta.url)), 'guest');

/** Size of the guest disk (sparse): room for deploy backups and decoded output. */
export const IMAGE_SIZE = '3G';

/** Packages of the guest root filesystem (Debian sid names). */
export const ROOTFS_PACKAGES: readonly string[] = [
  'openssh-server',
  'kmod',
  'iproute2',
  'procps',
  'util-linux',
  'v4l-utils',
  'gstreamer1.0-tools',
  'gstreamer1.0-plugins-base',
  'libgstreamer-plugins-bad1.0-0',
  'libgudev-1.0-0',
  'zlib1g',
  'libbz2-1.0',
  'xz-utils',
  'zstd',
];

/**
 * GStreamer plugin files taken from the big plugin packages (`package:file`):
 * v4l2codecs (v4l2slvp9dec), videoparsersbad (vp9parse), ivfparse,
 * debugutilsbad (videocodectestsink, Fluster's sink), matroska (webm
 * vectors), multifile and y4m (per-frame / raw output).
 */
export const GST_PLUGIN_FILES: readonly string[] = [
  'gstreamer1.0-plugins-bad:libgstv4l2codecs.so',
  'gstreamer1.0-plugins-bad:libgstvideoparsersbad.so',
  'gstreamer1.0-plugins-bad:libgstivfparse.so',
  'gstreamer1.0-plugins-bad:libgstdebugutilsbad.so',
  'gstreamer1.0-plugins-good:libgstmatroska.so',
  'gstreamer1.0-plugins-good:libgstmultifile.so',
  'gstreamer1.0-plugins-good:libgsty4m.so',
];

/** Modules the initramfs loads (plus their dependencies): the root disk, and the network (so init needs no modprobe). */
export const INITRAMFS_MODULES: readonly string[] = ['virtio_blk', 'ext4', 'virtio_net'];

/** A built vboard image (cache entry). */
export interface VboardImage {
  /** Entry directory. */
  dir: string;
  key: string;
  kernelRelease: string;
  /** Host paths. */
  kernel: string;
  initrd: string;
  disk: string;
  /** `ssh-ed25519 AAAA...` host key of the image. */
  hostKey: string;
}

/**
 * Parses a `modules.dep` text (kmod's format: `path: dep dep...`, one line
 * per module, paths relative to the release folder).
 * @returns module path -> the paths it depends on.
 */
export function parseModulesDep(modulesDep: string): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const line of modulesDep.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    deps.set(
      line.slice(0, i).trim(),
      line
        .slice(i + 1)
        .trim()
        .split(/\s+/)
        .filter(Boolean),
    );
  }
  return deps;
}

/**
 * Load order of `wanted` modules and their dependencies from a
 * `modules.dep` text (`path: dep dep...`), dependencies first.
 * @returns relative module paths (as in modules.dep).
 */
export function moduleLoadOrder(modulesDep: string, wanted: readonly string[]): string[] {
  const deps = parseModulesDep(modulesDep);
  const byName = (n: string) =>
    [...deps.keys()].find(
      (p) =>
        p
          .replace(/^.*\//, '')
          .replace(/\.ko(\.\w+)?$/, '')
          .replace(/-/g, '_') === n.replace(/-/g, '_'),
    );
  const order: string[] = [];
  const visit = (p: string, stack: string[]) => {
    if (order.includes(p) || stack.includes(p)) return;
    for (const d of deps.get(p) ?? []) visit(d, [...stack, p]);
    order.push(p);
  };
  for (const w of wanted) {
    const p = byName(w);
    if (!p) throw new WorkbenchError('E_VBOARD_IMAGE', `module ${w} is not in modules.dep`);
    visit(p, []);
  }
  return order;
}

/** Cache inputs of the image (computed from keys, without building anything). */
async function imageInputs(lock: KernelLock, modulesKey: string): Promise<Record<string, unknown>> {
  const guest: Record<string, string> = {};
  for (const f of (await readdir(GUEST_DIR)).sort()) {
    guest[f] = createHash('sha256')
      .update(await readFile(join(GUEST_DIR, f)))
      .digest('hex');
  }
  return {
    format: VBOARD_IMAGE_FORMAT,
    suite: lock.suite,
    kernel: Object.fromEntries(Object.entries(lock.packages).filter(([p]) => /^linux-(modules|binary)-/.test(p))),
    packages: ROOTFS_PACKAGES,
    plugins: GST_PLUGIN_FILES,
    initramfsModules: INITRAMFS_MODULES,
    size: IMAGE_SIZE,
    modules: modulesKey,
    guest,
  };
}

/**
 * Returns the vboard image (kernel, initramfs, ext4 root disk), building it
 * once as root. Cached under `<cache>/vboard-image/<key>`; the key is known
 * before anything is built (toolbox key -> module key -> image key), so a
 * warm call only checks the entry. A cold build runs the root filesystem
 * (mmdebstrap) in parallel with toolbox -> visl modules, then installs the
 * modules under /lib/modules/<rel>/updates, builds the busybox initramfs and
 * `mkfs.ext4 -d`.
 * @throws WorkbenchError E_NOT_ROOT, E_TOOL_MISSING, E_LOCK_STALE, E_VBOARD_IMAGE, E_MODULE_BUILD.
 */
export async function ensureVboardImage(opts: {
  runner: Runner;
  log?: (s: string) => void;
  cacheRoot?: string;
  force?: boolean;
  manifest?: string;
}): Promise<VboardImage> {
  const runner = opts.runner;
  const id = toolboxIdentity(opts.manifest);
  const lock = id.lock;
  const rel = lock.kernel_release;
  const modulesKey = cacheKey(vislModulesInputs(id.key, rel));
  const e = await ensureEntry(
    'vboard-image',
    await imageInputs(lock, modulesKey),
    async (tmp) => {
      requireRoot('building the vboard image');
      requireTools(['mmdebstrap', 'mkfs.ext4', 'busybox', 'cpio', 'xz']);
      const rootfs = join(tmp, 'rootfs');
      const modsP = ensureToolbox({ runner, log: opts.log, cacheRoot: opts.cacheRoot, manifest: opts.manifest }).then((tb) =>
        ensureVislModules(tb, { log: opts.log, cacheRoot: opts.cacheRoot }),
      );
      const rootfsP = buildRootfs(runner, id.manifest, lock, rootfs, opts.log);
      // Both must settle before the temporary directory may be removed.
      const [mods, rootfsDone] = await Promise.allSettled([modsP, rootfsP]);
      if (rootfsDone.status === 'rejected') throw rootfsDone.reason;
      if (mods.status === 'rejected') throw mods.reason;
      if (mods.value.key !== modulesKey) throw new WorkbenchError('E_INTERNAL', `module key ${mods.value.key} differs from the expected ${modulesKey}`);
      await installModules(runner, rootfs, rel, mods.value);
      const busybox = which('busybox');
      if (!busybox) throw new WorkbenchError('E_TOOL_MISSING', 'busybox (package busybox-static) is missing');
      const hostKey = await packGuestImage(runner, {
        rootfs,
        out: tmp,
        kernelRelease: rel,
        busybox,
        modules: INITRAMFS_MODULES,
        label: 'vboard-root',
        size: IMAGE_SIZE,
        log: opts.log,
      });
      return {
        files: ['vmlinuz', 'initrd.cpio', 'rootfs.ext4', 'ssh_host_ed25519_key.pub'],
        extra: { kernelRelease: rel, hostKey, vermagic: mods.value.vermagic },
      };
    },
    { root: opts.cacheRoot, log: opts.log, force: opts.force },
  );
  return {
    dir: e.dir,
    key: e.key,
    kernelRelease: rel,
    kernel: join(e.dir, 'vmlinuz'),
    initrd: join(e.dir, 'initrd.cpio'),
    disk: join(e.dir, 'rootfs.ext4'),
    hostKey: String(e.meta.extra?.hostKey ?? ''),
  };
}

/** mmdebstrap of the guest root filesystem (packages, pinned kernel modules/image, guest scripts, selected GStreamer plugins). */
async function buildRootfs(runner: Runner, m: KernelManifest, lock: KernelLock, rootfs: string, log?: (s: string) => void): Promise<void> {
  const kernelPkgs = Object.entries(lock.packages)
    .filter(([p]) => /^linux-(modules|binary)-/.test(p))
    .map(([p, v]) => `${p}=${v}`);
  await buildGuestRootfs(runner, {
    manifest: m,
    lock,
    rootfs,
    include: [...ROOTFS_PACKAGES, ...kernelPkgs],
    pluginFiles: GST_PLUGIN_FILES,
    what: 'vboard',
    log,
  });
}

/** What {@link buildGuestRootfs} builds. */
export interface GuestRootfsSpec {
  /** The kernel manifest and lock (suite; locked packages apt cannot find become E_LOCK_STALE). */
  manifest: KernelManifest;
  lock: KernelLock;
  /** Target directory. */
  rootfs: string;
  /** Packages (`name` or `name=version`). */
  include: readonly string[];
  /** `package:file.so` GStreamer plugins extracted by guest/customize.sh (x86_64 plugin directory). */
  pluginFiles: readonly string[];
  /** Debian architecture of the guest (default: the host's). Foreign ones need qemu-user-static and binfmt_misc. */
  architecture?: string;
  /** Board kind named in messages (`vboard`, `simboard`). */
  what: string;
  /** mmdebstrap time limit, ms (default 60 min). */
  timeoutMs?: number;
  log?: (s: string) => void;
}

/**
 * mmdebstrap of a board's root filesystem with the vboard's guest scripts
 * (guest/customize.sh: init, power-off, one ed25519 host key, sshd config,
 * selected GStreamer plugins).
 * @throws WorkbenchError E_LOCK_STALE, E_VBOARD_IMAGE (mmdebstrap failed; last lines of its output).
 */
export async function buildGuestRootfs(runner: Runner, s: GuestRootfsSpec): Promise<void> {
  const { manifest: m, lock, rootfs, log } = s;
  const hook = ['sh', join(GUEST_DIR, 'customize.sh'), '"$1"', GUEST_DIR, ...s.pluginFiles].map((a) => (a === '"$1"' ? a : shellQuote(a))).join(' ');
  log?.(`building the ${s.what} root filesystem (mmdebstrap${s.architecture ? `, ${s.architecture}` : ''})`);
  const r = await runner.run(
    mmdebstrapArgv({
      suite: lock.suite,
      target: rootfs,
      mirror: discoverDebianMirror(),
      include: s.include,
      architectures: s.architecture ? [s.architecture] : undefined,
      dpkgOptions: MINIMAL_DPKG_OPTIONS,
      customizeHooks: [hook],
    }),
    { allowFailure: true, timeoutMs: s.timeoutMs ?? 60 * 60_000, onStderr: (x) => log?.(x.trimEnd()) },
  );
  if (r.exitCode !== 0) throw mmdebstrapFailure(r, `the ${s.what} rootfs`, 'E_VBOARD_IMAGE', { manifest: m, lock });
}

/** Installs the out-of-tree modules where deploy puts modules too (`updates/` wins over `kernel/`) and runs depmod in the rootfs. */
async function installModules(runner: Runner, rootfs: string, rel: string, mods: VislModules): Promise<void> {
  const dir = join(rootfs, 'usr/lib/modules', rel, 'updates');
  await mkdir(dir, { recursive: true });
  for (const ko of await readdir(mods.dir)) if (ko.endsWith('.ko')) await copyFile(join(mods.dir, ko), join(dir, ko));
  await runner.run(['chroot', rootfs, 'depmod', '-a', rel]);
}

/**
 * Turns a board's root filesystem into its image files in `out`: `vmlinuz`
 * (from /usr/lib/modules/<rel>/), `ssh_host_ed25519_key.pub`, `initrd.cpio`
 * ({@link buildGuestInitramfs}) and `rootfs.ext4` (`mkfs.ext4 -d`, sparse,
 * `size`); the rootfs directory is removed afterwards.
 * @returns the host key (`ssh-ed25519 AAAA...`) read from our own rootfs.
 * @throws WorkbenchError E_VBOARD_IMAGE when the kernel Image or a module is missing.
 */
export async function packGuestImage(
  runner: Runner,
  o: {
    rootfs: string;
    out: string;
    kernelRelease: string;
    busybox: string;
    modules: readonly string[];
    label: string;
    size: string;
    log?: (s: string) => void;
  },
): Promise<string> {
  const { rootfs, out } = o;
  const modDir = join(rootfs, 'usr/lib/modules', o.kernelRelease);
  if (!existsSync(join(modDir, 'vmlinuz')))
    throw new WorkbenchError('E_VBOARD_IMAGE', `the ${o.label} rootfs has no ${modDir}/vmlinuz`, {
      hint: `Debian changed linux-binary-${o.kernelRelease}'s layout; report it`,
    });
  await copyFile(join(modDir, 'vmlinuz'), join(out, 'vmlinuz'));
  const hostKey = (await readFile(join(rootfs, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  await writeFile(join(out, 'ssh_host_ed25519_key.pub'), hostKey + '\n');
  o.log?.('building the initramfs');
  await buildGuestInitramfs(runner, { rootfs, kernelRelease: o.kernelRelease, out, busybox: o.busybox, modules: o.modules });
  o.log?.(`building the ${o.size} ext4 root disk`);
  await runner.run(
    ['mkfs.ext4', '-q', '-F', '-L', o.label, '-E', 'root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0', '-d', rootfs, join(out, 'rootfs.ext4'), o.size],
    { timeoutMs: 10 * 60_000 },
  );
  await rm(rootfs, { recursive: true, force: true });
  return hostKey;
}

/**
 * Builds `<out>/initrd.cpio` (newc, uncompressed) of a board: the given
 * static busybox (the guest's architecture), `modules` and their
 * dependencies from the rootfs (decompressed, load order from modules.dep),
 * and guest/initramfs-init as /init.
 * @throws WorkbenchError E_VBOARD_IMAGE when a module is not in modules.dep.
 */
export async function buildGuestInitramfs(
  runner: Runner,
  o: { rootfs: string; kernelRelease: string; out: string; busybox: string; modules: readonly string[] },
): Promise<void> {
  const { rootfs, out } = o;
  const rel = o.kernelRelease;
  const tree = join(out, 'initramfs');
  for (const d of ['bin', 'dev', 'proc', 'sys', 'newroot', 'lib/modules']) await mkdir(join(tree, d), { recursive: true });
  await copyFile(o.busybox, join(tree, 'bin/busybox'));
  await runner.run(['chmod', '755', join(tree, 'bin/busybox')]);
  const modDir = join(rootfs, 'usr/lib/modules', rel);
  const order = moduleLoadOrder(await readFile(join(modDir, 'modules.dep'), 'utf8'), o.modules);
  const names: string[] = [];
  for (const rp of order) {
    const name = rp.replace(/^.*\//, '').replace(/\.ko(\.\w+)?$/, '') + '.ko';
    const src = join(modDir, rp);
    if (rp.endsWith('.xz')) {
      const r = await runner.run(['xz', '-dc', src], { binaryStdout: true });
      await writeFile(join(tree, 'lib/modules', name), r.stdoutBytes!);
    } else if (rp.endsWith('.zst')) {
      const r = await runner.run(['zstd', '-dc', src], { binaryStdout: true });
      await writeFile(join(tree, 'lib/modules', name), r.stdoutBytes!);
    } else {
      await copyFile(src, join(tree, 'lib/modules', name));
    }
    names.push(name);
  }
  await writeFile(join(tree, 'lib/modules/load-order'), names.join('\n') + '\n');
  await copyFile(join(GUEST_DIR, 'initramfs-init'), join(tree, 'init'));
  await runner.run(['chmod', '755', join(tree, 'init')]);
  // cpio reads the file list on stdin; the script is fixed, paths are positional.
  await runner.run(['sh', '-c', 'cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet > "$2"', 'sh', tree, join(out, 'initrd.cpio')]);
  await rm(tree, { recursive: true, force: true });
}
