import type { KernelLock } from '../model/manifest.ts';

/**
 * Toolchain packages of the toolbox (Debian sid names, checked with apt
 * inside a sid chroot). The list already holds what the kernel stage and the
 * patch series need, so the toolbox key does not churn:
 * - compilers: gcc-16 (the Debian 7.2 headers were built with it; `gcc`
 *   points at 16 in sid), the arm64 cross compiler and binutils (>= 2.47);
 * - kernel build deps (Documentation/process/changes.rst): make, bc, bison,
 *   flex, libssl-dev, libelf-dev, dwarves (pahole, BTF), python3, perl,
 *   kmod, cpio, xz-utils, zstd, rsync;
 * - static checks and series work: sparse (`C=1`), codespell (checkpatch
 *   --codespell), git, b4, patch, ca-certificates (git over https).
 */
export const TOOLCHAIN_PACKAGES: readonly string[] = [
  'make',
  'gcc-16',
  'gcc',
  'libc6-dev',
  'binutils',
  'dwarves',
  'bc',
  'bison',
  'flex',
  'libssl-dev',
  'libelf-dev',
  'python3',
  'perl',
  'kmod',
  'sparse',
  'codespell',
  'cpio',
  'xz-utils',
  'zstd',
  'rsync',
  'git',
  'b4',
  'patch',
  'ca-certificates',
  'gcc-16-aarch64-linux-gnu',
  'gcc-aarch64-linux-gnu',
  'binutils-aarch64-linux-gnu',
];

/** Locked kernel packages that belong in the toolbox (source, config, headers; not the guest's modules/image). */
export function toolboxKernelPackages(lock: Pick<KernelLock, 'packages'>): string[] {
  return Object.entries(lock.packages)
    .filter(([p]) => /^linux-(source|config|headers|kbuild)-/.test(p))
    .map(([p, v]) => `${p}=${v}`)
    .sort();
}

/** The full `--include` list of the toolbox: toolchain + pinned kernel packages. */
export function toolboxPackages(lock: Pick<KernelLock, 'packages'>): string[] {
  return [...TOOLCHAIN_PACKAGES, ...toolboxKernelPackages(lock)];
}
