import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkbenchError } from '../core/errors.ts';
import { requireTools } from '../core/hostTools.ts';
import { discoverDebianMirror } from '../core/mirror.ts';
import { cacheRoot } from '../core/paths.ts';
import type { Runner } from '../core/runner.ts';
import { lockedPackageNames, pickKernelRelease } from './manifest.ts';
import type { KernelLock, KernelManifest } from '../model/manifest.ts';
import { APT_OPTIONS, mmdebstrapArgv, requireRoot } from './mmdebstrap.ts';

/**
 * Parses `apt-cache policy A B ...` output into package -> candidate version
 * (packages without a candidate are left out).
 */
export function parseAptPolicy(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let pkg: string | undefined;
  for (const line of text.split('\n')) {
    const p = /^(\S+):$/.exec(line);
    if (p) {
      pkg = p[1];
      continue;
    }
    const c = /^\s+Candidate:\s+(\S+)/.exec(line);
    if (c && pkg && c[1] !== '(none)') out[pkg] = c[1]!;
  }
  return out;
}

/**
 * Computes a lock from what apt in the suite offers now: the candidate of
 * `linux-source-<series>`, the kernel release whose `linux-headers-<rel>`
 * has that same version, and the exact versions of every locked package
 * ({@link lockedPackageNames}).
 *
 * @param apt runs an apt-cache command (argv without the program) in a chroot of the suite.
 * @throws WorkbenchError `E_LOCK_RESOLVE` when the suite lacks a package.
 */
export async function resolveLock(m: KernelManifest, apt: (argv: string[]) => Promise<string>, now: Date = new Date()): Promise<Omit<KernelLock, 'file'>> {
  const d = m.debian;
  if (!d) throw new WorkbenchError('E_MANIFEST_KIND', `${m.file} is not a [debian] manifest; git manifests need no lock`);
  const src = `linux-source-${d.series}`;
  const srcVer = parseAptPolicy(await apt(['policy', src]))[src];
  if (!srcVer) {
    throw new WorkbenchError('E_LOCK_RESOLVE', `Debian ${d.suite} has no ${src} (manifest ${m.file})`, {
      hint: `the series may have left ${d.suite}; point [debian] series in ${m.file} at one the suite has`,
    });
  }
  const names = (await apt(['search', '--names-only', `^linux-headers-${d.series.replace('.', '\\.')}\\.`]))
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
  const headerVersions = names.length ? parseAptPolicy(await apt(['policy', ...names])) : {};
  const rel = pickKernelRelease(d, srcVer, headerVersions);
  if (!rel) {
    throw new WorkbenchError('E_LOCK_RESOLVE', `Debian ${d.suite} has ${src} ${srcVer} but no linux-headers-*-${d.flavour} of the same version`, {
      hint: 'the archive is probably mid-upload; retry later',
    });
  }
  const pkgs = lockedPackageNames(d, rel);
  const versions = parseAptPolicy(await apt(['policy', ...pkgs]));
  const missing = pkgs.filter((p) => !versions[p]);
  if (missing.length) {
    throw new WorkbenchError('E_LOCK_RESOLVE', `Debian ${d.suite} lacks ${missing.join(', ')} for kernel ${rel}`, {
      hint: 'the archive is probably mid-upload; retry later',
    });
  }
  return {
    schema: 1,
    manifest: m.name,
    suite: d.suite,
    resolved_at: now.toISOString(),
    kernel_release: rel,
    kernel_version: srcVer,
    packages: Object.fromEntries(pkgs.map((p) => [p, versions[p]!])),
  };
}

/**
 * Resolves a lock from inside a throw-away chroot of the suite (mmdebstrap
 * `--variant=apt`, then `apt-get update` inside): the host's apt sources are
 * never touched. The chroot lives under the cache root and is removed after.
 */
export async function resolveLockInChroot(
  m: KernelManifest,
  opts: { runner: Runner; log?: (s: string) => void; mirror?: string },
): Promise<Omit<KernelLock, 'file'>> {
  requireRoot('resolving the kernel lock');
  requireTools(['mmdebstrap']);
  const runner = opts.runner;
  const d = m.debian;
  if (!d) throw new WorkbenchError('E_MANIFEST_KIND', `${m.file} is not a [debian] manifest; git manifests need no lock`);
  const base = join(cacheRoot(), 'tmp');
  await mkdir(base, { recursive: true });
  const root = join(base, `apt-${process.pid}-${randomBytes(3).toString('hex')}`);
  try {
    opts.log?.(`resolving ${m.name} in a Debian ${d.suite} chroot`);
    await runner.run(mmdebstrapArgv({ suite: d.suite, target: root, mirror: opts.mirror ?? discoverDebianMirror(), variant: 'apt' }), {
      timeoutMs: 10 * 60_000,
    });
    const aptOpts = APT_OPTIONS.flatMap((o) => ['-o', o.replace(/ "(.*)"$/, '=$1')]);
    await runner.run(['chroot', root, 'apt-get', ...aptOpts, '-q', 'update'], { timeoutMs: 10 * 60_000 });
    return await resolveLock(m, async (argv) => (await runner.run(['chroot', root, 'apt-cache', ...argv])).stdout);
  } finally {
    // `root` is always a fresh directory under <cache>/tmp (never a caller-given path).
    await rm(root, { recursive: true, force: true });
  }
}
