import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureEntry } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { requireTools, which } from '../core/hostTools.ts';
import type { Runner } from '../core/runner.ts';
import { arm64Release } from '../kernel/arm64Kernel.ts';
import type { KernelLock } from '../model/manifest.ts';
import { requireRoot } from '../toolbox/mmdebstrap.ts';
import { toolboxIdentity } from '../toolbox/toolbox.ts';
import { GUEST_DIR, ROOTFS_PACKAGES, buildGuestInitramfs, buildGuestRootfs } from '../vboard/image.ts';

/** Bumped when the simboard image recipe changes (part of the cache key). */
export const SIMBOARD_IMAGE_FORMAT = 1;

/** Size of the guest disk (sparse). */
export const SIMBOARD_IMAGE_SIZE = '3G';

/**
 * Packages of the simboard root filesystem on top of the vboard's
 * (ROOTFS_PACKAGES): the whole gstreamer1.0-plugins-bad (v4l2codecs,
 * videoparsersbad, ivfparse, debugutilsbad; the vboard extracts single
 * plugins with an x86_64 path, which does not fit arm64) and busybox-static
 * (the arm64 busybox of the initramfs).
 */
export const SIMBOARD_EXTRA_PACKAGES: readonly string[] = ['gstreamer1.0-plugins-bad', 'busybox-static'];

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
    packages: [...ROOTFS_PACKAGES, ...SIMBOARD_EXTRA_PACKAGES],
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
 * filesystem is a foreign-architecture mmdebstrap: maintainer scripts run
 * through qemu-user-static, which needs binfmt_misc mounted with a
 * `qemu-aarch64` entry (packages qemu-user-static, binfmt-support). The
 * guest scripts (init, power-off, host key, sshd config) are the vboard's.
 * Cached under `<cache>/simboard-image/<key>`.
 * @throws WorkbenchError E_NOT_ROOT, E_TOOL_MISSING, E_SIMBOARD_BINFMT, E_LOCK_STALE, E_VBOARD_IMAGE.
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
      requireTools(['mmdebstrap', 'mkfs.ext4', 'cpio']);
      if (!existsSync('/proc/sys/fs/binfmt_misc/qemu-aarch64') || !which('arch-test')) {
        throw new WorkbenchError(
          'E_SIMBOARD_BINFMT',
          'the arm64 root filesystem needs qemu-user through binfmt_misc (/proc/sys/fs/binfmt_misc/qemu-aarch64) and arch-test (mmdebstrap checks the foreign architecture with it)',
          {
            hint: 'as root: `mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc` (if not mounted), then `apt-get install qemu-user-static binfmt-support arch-test`',
          },
        );
      }
      const rootfs = join(tmp, 'rootfs');
      await buildGuestRootfs(runner, {
        manifest,
        lock,
        rootfs,
        include: [...ROOTFS_PACKAGES, ...SIMBOARD_EXTRA_PACKAGES, ...arm64KernelPackages(lock)],
        pluginFiles: [],
        architecture: 'arm64',
        what: 'simboard',
        // Every maintainer script runs under qemu-user: more than 60 min on a loaded 2-core host.
        timeoutMs: 240 * 60_000,
        log: opts.log,
      });
      const modDir = join(rootfs, 'usr/lib/modules', rel);
      if (!existsSync(join(modDir, 'vmlinuz')))
        throw new WorkbenchError('E_VBOARD_IMAGE', `the simboard rootfs has no ${modDir}/vmlinuz`, {
          hint: `Debian changed linux-binary-${rel}'s layout; report it`,
        });
      await copyFile(join(modDir, 'vmlinuz'), join(tmp, 'vmlinuz'));
      const hostKey = (await readFile(join(rootfs, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
      await writeFile(join(tmp, 'ssh_host_ed25519_key.pub'), hostKey + '\n');
      opts.log?.('building the simboard initramfs');
      const modules = modulesIn(await readFile(join(modDir, 'modules.dep'), 'utf8'), SIMBOARD_INITRAMFS_MODULES);
      await buildGuestInitramfs(runner, { rootfs, kernelRelease: rel, out: tmp, busybox: join(rootfs, 'bin/busybox'), modules });
      opts.log?.(`building the ${SIMBOARD_IMAGE_SIZE} ext4 root disk`);
      await runner.run(
        [
          'mkfs.ext4',
          '-q',
          '-F',
          '-L',
          'simboard-root',
          '-E',
          'root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0',
          '-d',
          rootfs,
          join(tmp, 'rootfs.ext4'),
          SIMBOARD_IMAGE_SIZE,
        ],
        { timeoutMs: 10 * 60_000 },
      );
      await rm(rootfs, { recursive: true, force: true });
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
