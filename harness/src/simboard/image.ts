import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureEntry } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { requireTools } from '../core/hostTools.ts';
import type { Runner } from '../core/runner.ts';
import { loadScript, scriptArgv } from '../core/scripts.ts';
import { arm64Release } from '../kernel/arm64Kernel.ts';
import type { KernelLock } from '../model/manifest.ts';
import { requireRoot } from '../toolbox/mmdebstrap.ts';
import { toolboxIdentity } from '../toolbox/toolbox.ts';
import { GST_PLUGIN_FILES, GUEST_DIR, ROOTFS_PACKAGES, packGuestImage } from '../vboard/image.ts';
import { arm64RootfsRecipe, scriptHash, unpackArm64Rootfs } from './arm64Rootfs.ts';

/** Bumped when the simboard image recipe changes (part of the cache key). */
export const SIMBOARD_IMAGE_FORMAT = 2;

/** The simboard's own host-side fix-ups after arm64Rootfs.ts's shared ones (rootfsFixup.sh; positional arguments only). */
const FIXUP = loadScript(import.meta.url, 'rootfsFixup.sh');

/** Size of the guest disk (sparse). */
export const SIMBOARD_IMAGE_SIZE = '3G';

/**
 * Packages of the simboard root filesystem on top of the vboard's
 * (ROOTFS_PACKAGES, which carry the GStreamer libraries the selected plugins
 * need): busybox-static (the arm64 busybox of the initramfs) and mount
 * (the guest init mounts /proc, /sys, ...: the vboard's minbase variant has
 * it as a Priority: required package, the extract variant only unpacks
 * what is named). The plugins themselves are the vboard's GST_PLUGIN_FILES,
 * unpacked by gstPlugins.sh.
 */
export const SIMBOARD_EXTRA_PACKAGES: readonly string[] = ['busybox-static', 'mount'];

/** Every package of the simboard root filesystem (besides the `?essential` set and the kernel). */
export const SIMBOARD_ROOTFS_PACKAGES: readonly string[] = [...ROOTFS_PACKAGES, ...SIMBOARD_EXTRA_PACKAGES];

/**
 * Modules the initramfs loads when Debian's arm64 kernel has them as modules
 * (built-in ones are skipped): the virtio PCI transport, the root disk, ext4
 * and the network.
 */
export const SIMBOARD_INITRAMFS_MODULES: readonly string[] = ['virtio_pci', 'virtio_blk', 'ext4', 'virtio_net'];

/** A built simboard image (cache entry `simboard-image/<key>`). */
export interface SimboardImage {
  dir: string;
  key: string;
  /** `7.2.13+deb14-arm64`. */
  kernelRelease: string;
  kernel: string;
  initrd: string;
  disk: string;
  /** `ssh-ed25519 AAAA...` host key of the image. */
  hostKey: string;
}

/**
 * Debian's arm64 kernel packages at the lock's version: the lock names the
 * amd64 flavour; the arm64 packages of the same upload have the same version
 * (`linux-binary-7.2.13+deb14-arm64=7.2.13-1`, `linux-modules-...`).
 */
export function arm64KernelPackages(lock: Pick<KernelLock, 'kernel_release' | 'packages'>): string[] {
  const amd = lock.kernel_release;
  const arm = arm64Release(amd);
  return Object.entries(lock.packages)
    .filter(([p]) => p === `linux-binary-${amd}` || p === `linux-modules-${amd}`)
    .map(([p, v]) => `${p.replace(amd, arm)}=${v}`)
    .sort();
}

async function guestHashes(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(GUEST_DIR)).sort())
    out[f] = createHash('sha256')
      .update(await readFile(join(GUEST_DIR, f)))
      .digest('hex');
  return out;
}

/** Cache inputs of the image (known without building anything). */
export async function simboardImageInputs(lock: KernelLock): Promise<Record<string, unknown>> {
  return {
    format: SIMBOARD_IMAGE_FORMAT,
    suite: lock.suite,
    architecture: 'arm64',
    kernel: arm64KernelPackages(lock),
    packages: SIMBOARD_ROOTFS_PACKAGES,
    plugins: GST_PLUGIN_FILES,
    ...arm64RootfsRecipe(),
    fixup: scriptHash(FIXUP),
    initramfsModules: SIMBOARD_INITRAMFS_MODULES,
    size: SIMBOARD_IMAGE_SIZE,
    guest: await guestHashes(),
  };
}

/** Names of the modules that are in modules.dep (the rest are built in or absent: checked by the caller). */
export function modulesIn(modulesDep: string, wanted: readonly string[]): string[] {
  const names = new Set(
    modulesDep
      .split('\n')
      .map((l) =>
        l
          .split(':')[0]!
          .replace(/^.*\//, '')
          .replace(/\.ko(\.\w+)?$/, '')
          .replace(/-/g, '_'),
      )
      .filter(Boolean),
  );
  return wanted.filter((w) => names.has(w.replace(/-/g, '_')));
}

/**
 * Returns the simboard image (Debian sid arm64 root filesystem with Debian's
 * arm64 kernel and modules at the lock's version, an arm64 busybox
 * initramfs, the kernel Image), building it once as root. The root
 * filesystem is unpacked on the host (arm64Rootfs.ts unpackArm64Rootfs:
 * `mmdebstrap --variant=extract`, no emulated dpkg; users, groups, shell
 * start-up files) and then fixed up with host tools only (rootfsFixup.sh:
 * sshd, host key, the vboard's guest scripts, modules.dep). Cached under
 * `<cache>/simboard-image/<key>`.
 * @throws WorkbenchError E_NOT_ROOT, E_TOOL_MISSING, E_LOCK_STALE, E_SIMBOARD_IMAGE.
 */
export async function ensureSimboardImage(opts: {
  runner: Runner;
  log?: (s: string) => void;
  cacheRoot?: string;
  force?: boolean;
  manifest?: string;
}): Promise<SimboardImage> {
  const runner = opts.runner;
  const { manifest, lock } = toolboxIdentity(opts.manifest);
  const rel = arm64Release(lock.kernel_release);
  const e = await ensureEntry(
    'simboard-image',
    await simboardImageInputs(lock),
    async (tmp) => {
      requireRoot('building the simboard image');
      requireTools(['mmdebstrap', 'mkfs.ext4', 'cpio', 'ssh-keygen', 'depmod']);
      const rootfs = join(tmp, 'rootfs');
      await unpackArm64Rootfs(runner, {
        manifest,
        lock,
        target: rootfs,
        include: [...SIMBOARD_ROOTFS_PACKAGES, ...arm64KernelPackages(lock)],
        what: 'the simboard rootfs',
        code: 'E_SIMBOARD_IMAGE',
        log: opts.log,
      });
      const f = await runner.run(scriptArgv(FIXUP, [rootfs, GUEST_DIR, rel]), { allowFailure: true });
      if (f.exitCode !== 0) throw new WorkbenchError('E_SIMBOARD_IMAGE', `rootfsFixup.sh failed (exit ${f.exitCode}):\n${(f.stderr || f.stdout).trim()}`);
      const modules = modulesIn(await readFile(join(rootfs, 'usr/lib/modules', rel, 'modules.dep'), 'utf8'), SIMBOARD_INITRAMFS_MODULES);
      const busybox = join(rootfs, 'usr/bin/busybox');
      const hostKey = await packGuestImage(runner, {
        rootfs,
        out: tmp,
        kernelRelease: rel,
        busybox,
        modules,
        label: 'simboard-root',
        size: SIMBOARD_IMAGE_SIZE,
        log: opts.log,
      });
      return {
        files: ['vmlinuz', 'initrd.cpio', 'rootfs.ext4', 'ssh_host_ed25519_key.pub'],
        extra: { kernelRelease: rel, hostKey, initramfsModules: modules },
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
