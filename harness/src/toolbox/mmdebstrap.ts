import { WorkbenchError } from '../core/errors.ts';
import type { RunResult } from '../core/runner.ts';
import { tail } from '../core/text.ts';
import type { KernelLock, KernelManifest } from '../model/manifest.ts';
import { lockStaleError } from './manifest.ts';

/**
 * apt options every Debian chroot of the workbench is built with:
 * - no Recommends (small, predictable package sets),
 * - `Acquire::Check-Valid-Until "false"` and `Acquire::Check-Date "false"`:
 *   the sid Release file on some mirrors is past its Valid-Until date
 *   (signatures are still checked; see vboard NOTES.md).
 */
export const APT_OPTIONS: readonly string[] = [
  'Apt::Install-Recommends "false"',
  'Acquire::Check-Valid-Until "false"',
  'Acquire::Check-Date "false"',
  'Acquire::Retries "3"',
];

/** What {@link mmdebstrapArgv} builds. */
export interface MmdebstrapSpec {
  /** Debian suite, e.g. `sid`. */
  suite: string;
  /** Target directory (must not exist or be empty). */
  target: string;
  /** Mirror URI (from core/mirror.ts discoverDebianMirror). */
  mirror: string;
  /** mmdebstrap variant (default `minbase`). */
  variant?: 'apt' | 'minbase' | 'essential';
  /** Packages, optionally `name=version`. */
  include?: readonly string[];
  /** dpkg options such as `path-exclude=/usr/share/man/*`. */
  dpkgOptions?: readonly string[];
  /** Shell snippets run after installation with `$1` = the chroot (mmdebstrap --customize-hook). */
  customizeHooks?: readonly string[];
  /**
   * Shell snippets run right after the packages are unpacked, `$1` = the
   * chroot (mmdebstrap --extract-hook; the only hook mmdebstrap runs for the
   * `extract` variant: customize hooks are skipped there).
   */
  extractHooks?: readonly string[];
  /** Components (default `main`). */
  components?: readonly string[];
  /** Debian architectures (default: the host's); a foreign one needs qemu-user-static and binfmt_misc. */
  architectures?: readonly string[];
}

/**
 * argv of an mmdebstrap run as root (`--mode=root`). mmdebstrap does not read
 * the host's apt configuration: the mirror is passed explicitly, and the
 * host's sources are never modified.
 */
export function mmdebstrapArgv(s: MmdebstrapSpec): string[] {
  // Not --quiet: apt's own error lines ("Version 'X' for 'pkg' was not found") only show without it.
  const argv = ['mmdebstrap', '--mode=root', `--variant=${s.variant ?? 'minbase'}`];
  for (const o of APT_OPTIONS) argv.push(`--aptopt=${o}`);
  for (const o of s.dpkgOptions ?? []) argv.push(`--dpkgopt=${o}`);
  if (s.architectures?.length) argv.push(`--architectures=${s.architectures.join(',')}`);
  if (s.components?.length) argv.push(`--components=${s.components.join(',')}`);
  if (s.include?.length) argv.push(`--include=${s.include.join(',')}`);
  for (const h of s.extractHooks ?? []) argv.push(`--extract-hook=${h}`);
  for (const h of s.customizeHooks ?? []) argv.push(`--customize-hook=${h}`);
  argv.push(s.suite, s.target, s.mirror);
  return argv;
}

/**
 * Finds `pkg=version` requests apt could not satisfy in mmdebstrap/apt
 * output (`Version '7.2.13-1' for 'linux-source-7.2' was not found`,
 * `Unable to locate package X`).
 * @returns the missing requests as `pkg=version` or `pkg`.
 */
export function missingPackagesFromAptOutput(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/Version '([^']+)' for '([^']+)' was not found/g)) out.add(`${m[2]}=${m[1]}`);
  for (const m of text.matchAll(/Unable to locate package (\S+)/g)) out.add(m[1]!);
  for (const m of text.matchAll(/Package '?([a-z0-9.+-]+)'? has no installation candidate/g)) out.add(m[1]!);
  return [...out];
}

/** dpkg options of a small chroot: no manual pages, locales or docs (copyright files kept). */
export const MINIMAL_DPKG_OPTIONS: readonly string[] = [
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/locale/*',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
];

/**
 * The error for a failed mmdebstrap run `r` that built `what`: when apt could
 * not find a version the lock pins, the lock is stale (`E_LOCK_STALE` from
 * {@link lockStaleError}, pass `pins`); otherwise `code` with the last 20
 * lines of mmdebstrap's output and the packages apt could not find.
 */
export function mmdebstrapFailure(
  r: Pick<RunResult, 'exitCode' | 'stdout' | 'stderr'>,
  what: string,
  code: string,
  pins?: { manifest: KernelManifest; lock: KernelLock },
): WorkbenchError {
  const missing = missingPackagesFromAptOutput(r.stderr + r.stdout);
  if (pins) {
    const locked = missing.filter((x) => Object.keys(pins.lock.packages).includes(x.split('=')[0]!));
    if (locked.length) return lockStaleError(pins.manifest, pins.lock, locked);
  }
  return new WorkbenchError(code, `mmdebstrap failed (exit ${r.exitCode}) building ${what}:\n${tail(r.stderr || r.stdout, 20)}`, {
    hint: missing.length ? `apt could not find: ${missing.join(', ')}` : 'check the mirror (WORKBENCH_DEBIAN_MIRROR) and the network, then retry',
  });
}

/** @throws WorkbenchError `E_NOT_ROOT` unless running as root (mmdebstrap --mode=root, chroot, mount). */
export function requireRoot(what: string): void {
  if (process.getuid?.() === 0) return;
  throw new WorkbenchError('E_NOT_ROOT', `${what} needs root (mmdebstrap --mode=root, chroot and bind mounts)`, {
    hint: 'run the workbench as root (e.g. `sudo npx workbench ...`)',
  });
}
