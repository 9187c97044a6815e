import { copyFile, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureEntry, sha256File } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { requireTools } from '../core/hostTools.ts';
import type { Runner } from '../core/runner.ts';
import { loadScript, scriptArgv } from '../core/scripts.ts';
import { arm64RootfsRecipe, parseRootfsPackages, ROOTFS_PACKAGES_FILE, scriptHash, unpackArm64Rootfs, type RootfsPackage } from '../simboard/arm64Rootfs.ts';
import { SIMBOARD_ROOTFS_PACKAGES } from '../simboard/image.ts';
import { requireRoot } from '../toolbox/mmdebstrap.ts';
import { toolboxIdentity } from '../toolbox/toolbox.ts';
import { GST_PLUGIN_FILES } from '../vboard/image.ts';

/**
 * The NFS root filesystem of the farm-rk3588 job (`farm/rootfs.tar.xz`,
 * what LAVA's `nfsrootfs: {compression: xz}` takes): Debian arm64 from the
 * host's Debian mirror, unpacked on the host the way the simboard's root
 * filesystem is (simboard/arm64Rootfs.ts: `mmdebstrap --variant=extract`,
 * the vboard's selected GStreamer plugin files, users and shell start-up
 * files), then made to boot on an NFS root and log in on the serial console
 * (nfsRootFixup.sh, dut/farm-init), packed with tar + xz. No kernel and no
 * kernel modules: the job boots Debian's Image (farm/bootArtefacts.ts) and
 * brings the modules as an overlay. Cached under
 * `<cache>/farm-rootfs/<key>`, keyed on the recipe (suite, packages,
 * excluded paths, the scripts' hashes); the packages' versions are those of
 * the mirror on the day it was built, recorded in the entry.
 */

/** Bumped when the recipe changes in a way the inputs below do not show (part of the cache key). */
export const FARM_ROOTFS_FORMAT = 1;

/** The tarball's file name in the cache entry and in a bundle (`artefacts/farm/rootfs.tar.xz`). */
export const FARM_ROOTFS_FILE = 'rootfs.tar.xz';

/**
 * Packages of the NFS root: the simboard's (the vboard's board tools and
 * GStreamer libraries, busybox-static, mount) without the SSH server (LAVA
 * drives the board over its serial console), plus what the job's DUT script
 * (farm/dut/wb-lava.sh) calls that the Essential set lacks: `awk` (mawk) and
 * a download tool (wget; ca-certificates for https URL bases). The
 * Essential set (`?essential`: coreutils' sha256sum, md5sum, split, paste,
 * timeout, stat; bash, dash, grep, sed, tar, util-linux, hostname) comes
 * with every extracted image; xz-utils, kmod, gstreamer1.0-tools and
 * v4l-utils with the simboard's list. busybox-static gives the console's
 * getty and login.
 */
export const FARM_ROOTFS_PACKAGES: readonly string[] = [...SIMBOARD_ROOTFS_PACKAGES.filter((p) => p !== 'openssh-server'), 'mawk', 'wget', 'ca-certificates'];

/**
 * Files of the unpacked packages left out (dpkg `path-exclude`): Mesa's
 * drivers and the LLVM and Z3 they load (about 220 MB of the 410 MB
 * unpacked, 2026-12), pulled in by GStreamer's GL library. Nothing the job
 * runs links them: libgstgl links glvnd's libGL/libEGL, which open Mesa's
 * vendor libraries only when a GL context is made (checked with readelf:
 * only libEGL_mesa and libGLX_mesa need libgallium, only libgallium needs
 * libLLVM, only libLLVM needs libz3).
 */
export const FARM_ROOTFS_EXCLUDES: readonly string[] = [
  '/usr/lib/*/libLLVM*',
  '/usr/lib/*/libgallium*',
  '/usr/lib/*/libz3.so*',
  '/usr/lib/*/libEGL_mesa*',
  '/usr/lib/*/libGLX_mesa*',
  '/usr/lib/*/dri/*',
];

/** The image's own fix-up after arm64Rootfs.ts's (nfsRootFixup.sh ROOT INIT COLDPLUG). */
const FIXUP = loadScript(import.meta.url, 'nfsRootFixup.sh');
/** PID 1 of the image (dut/farm-init; installed, not run on the host). */
const INIT = loadScript(import.meta.url, 'dut/farm-init');
/** udev's coldplug by hand (the simboard's coldplug.sh, installed as wb-coldplug). */
const COLDPLUG = loadScript(import.meta.url, '../simboard/coldplug.sh');

/** xz settings of the tarball: level 6 (xz's default), every core. */
export const FARM_ROOTFS_XZ = ['xz', '-T0', '-6'] as const;

/** The built NFS root filesystem. */
export interface FarmRootfs {
  /** Host path of the tarball. */
  path: string;
  /** SHA-256 (hex) of the tarball. */
  sha256: string;
  /** Bytes of the tarball. */
  size: number;
  /** Cache key (`farm-rootfs/<key>`). */
  key: string;
  /** Debian suite it was unpacked from. */
  suite: string;
  /** The packages named in the recipe ({@link FARM_ROOTFS_PACKAGES}). */
  include: readonly string[];
  /** Every package unpacked, with its version (the image's own record, /var/lib/workbench/rootfs-packages). */
  packages: RootfsPackage[];
}

/** Cache inputs of the NFS root (known without building anything). */
export function farmRootfsInputs(suite: string): Record<string, unknown> {
  return {
    format: FARM_ROOTFS_FORMAT,
    suite,
    architecture: 'arm64',
    packages: FARM_ROOTFS_PACKAGES,
    plugins: GST_PLUGIN_FILES,
    excludes: FARM_ROOTFS_EXCLUDES,
    ...arm64RootfsRecipe(),
    fixup: scriptHash(FIXUP),
    init: scriptHash(INIT),
    coldplug: scriptHash(COLDPLUG),
    xz: FARM_ROOTFS_XZ,
  };
}

/**
 * argv of the tarball: every file of `root` as `./...`, sorted by name,
 * numeric owners (root's), xz-compressed with {@link FARM_ROOTFS_XZ}.
 */
export function farmRootfsTarArgv(root: string, out: string): string[] {
  return ['tar', '--sort=name', '--numeric-owner', `--use-compress-program=${FARM_ROOTFS_XZ.join(' ')}`, '-C', root, '-cf', out, '.'];
}

/**
 * Returns the farm-rk3588 NFS root filesystem (see the module doc), building
 * it once as root (measured 7.6 and 17.3 min on a loaded 2-core machine:
 * mmdebstrap most of it, xz 2-5 min; a cache hit takes no time).
 * @param o.manifest kernel manifest whose lock names the Debian suite (default: the toolbox's).
 * @param o.force rebuild even when the cache has it (the mirror's newer packages).
 * @throws WorkbenchError E_NOT_ROOT, E_TOOL_MISSING, E_FARM_ROOTFS (mmdebstrap,
 *   a fix-up script or tar failed; their last lines), E_LOCK_STALE.
 */
export async function ensureFarmRootfs(o: {
  runner: Runner;
  log?: (m: string) => void;
  cacheRoot?: string;
  manifest?: string;
  force?: boolean;
}): Promise<FarmRootfs> {
  const { manifest, lock } = toolboxIdentity(o.manifest);
  const e = await ensureEntry(
    'farm-rootfs',
    farmRootfsInputs(lock.suite),
    async (tmp) => {
      requireRoot('building the farm NFS root filesystem');
      requireTools(['mmdebstrap', 'dpkg-deb', 'tar', 'xz']);
      const root = join(tmp, 'rootfs');
      const { packages } = await unpackArm64Rootfs(o.runner, {
        manifest,
        lock,
        target: root,
        include: FARM_ROOTFS_PACKAGES,
        extract: { pathExcludes: FARM_ROOTFS_EXCLUDES },
        what: 'the farm NFS root filesystem',
        code: 'E_FARM_ROOTFS',
        ...(o.log ? { log: o.log } : {}),
      });
      const f = await o.runner.run(scriptArgv(FIXUP, [root, INIT.path, COLDPLUG.path]), { allowFailure: true });
      if (f.exitCode !== 0) throw new WorkbenchError('E_FARM_ROOTFS', `nfsRootFixup.sh failed (exit ${f.exitCode}):\n${(f.stderr || f.stdout).trim()}`);
      await copyFile(join(root, ROOTFS_PACKAGES_FILE), join(tmp, 'packages.tsv'));
      o.log?.(`packing ${FARM_ROOTFS_FILE} (${FARM_ROOTFS_XZ.join(' ')})`);
      const t0 = Date.now();
      const t = await o.runner.run(farmRootfsTarArgv(root, join(tmp, FARM_ROOTFS_FILE)), { allowFailure: true, timeoutMs: 60 * 60_000 });
      if (t.exitCode !== 0) throw new WorkbenchError('E_FARM_ROOTFS', `tar failed (exit ${t.exitCode}):\n${(t.stderr || t.stdout).trim()}`);
      const size = (await stat(join(tmp, FARM_ROOTFS_FILE))).size;
      o.log?.(`packed in ${Math.round((Date.now() - t0) / 1000)} s: ${(size / 2 ** 20).toFixed(1)} MiB, ${packages.length} packages`);
      await rm(root, { recursive: true, force: true });
      return { files: [FARM_ROOTFS_FILE, 'packages.tsv'], extra: { suite: lock.suite } };
    },
    { ...(o.log ? { log: o.log } : {}), ...(o.cacheRoot ? { root: o.cacheRoot } : {}), ...(o.force ? { force: true } : {}) },
  );
  const path = join(e.dir, FARM_ROOTFS_FILE);
  return {
    path,
    sha256: e.meta.files?.[FARM_ROOTFS_FILE]?.sha256 ?? (await sha256File(path)),
    size: (await stat(path)).size,
    key: e.key,
    suite: lock.suite,
    include: FARM_ROOTFS_PACKAGES,
    packages: parseRootfsPackages(await readFile(join(e.dir, 'packages.tsv'), 'utf8')),
  };
}
