import { join } from 'node:path';
import { ensureEntry } from '../core/cache.ts';
import { requireTools } from '../core/hostTools.ts';
import { discoverDebianMirror } from '../core/mirror.ts';
import type { Runner } from '../core/runner.ts';
import { MINIMAL_DPKG_OPTIONS, mmdebstrapArgv, mmdebstrapFailure, requireRoot } from '../toolbox/mmdebstrap.ts';
import { parseDpkgQuery, toolboxExec, type ToolboxExecOptions } from '../toolbox/toolbox.ts';
import type { RunResult } from '../core/runner.ts';

/** Cache kind of the MPP build chroot (separate from the kernel toolbox, keyed on its own inputs). */
export const MPP_CHROOT_KIND = 'mpp-chroot';

/** Bumped when the way the chroot is built changes (part of the cache key). */
export const MPP_CHROOT_FORMAT = 1;

/**
 * Debian sid packages of the chroot that builds Rockchip MPP for the host and
 * our device-layer shim: MPP is plain CMake C/C++ (its top-level
 * CMakeLists.txt); the shim hashes buffers with OpenSSL's libcrypto (EVP
 * SHA-256), so libssl-dev. Kept apart from the kernel toolbox so that
 * neither list's change rebuilds the other.
 */
export const MPP_CHROOT_PACKAGES: readonly string[] = ['make', 'cmake', 'gcc', 'g++', 'libc6-dev', 'libssl-dev', 'ca-certificates'];

/** A ready MPP build chroot. */
export interface MppChroot {
  /** Host path of the chroot. */
  root: string;
  /** Cache key (directory name under `<cache>/mpp-chroot/`). */
  key: string;
  /** Every installed package -> version (dpkg-query at build time). */
  versions: Record<string, string>;
  /** Runs argv inside the chroot (own mount+PID namespace), as the toolbox does. */
  exec(argv: string[], opts?: ToolboxExecOptions): Promise<RunResult>;
}

/** Options of {@link ensureMppChroot}. */
export interface EnsureMppChrootOptions {
  runner: Runner;
  log?: (msg: string) => void;
  /** Cache root override (default core/paths cacheRoot()). */
  cacheRoot?: string;
  /** Debian mirror override (default: the host's apt sources, or WORKBENCH_DEBIAN_MIRROR). */
  mirror?: string;
}

/** The cache inputs of the chroot (its key is their hash). */
export function mppChrootInputs(): Record<string, unknown> {
  return { format: MPP_CHROOT_FORMAT, suite: 'sid', variant: 'minbase', packages: [...MPP_CHROOT_PACKAGES] };
}

/**
 * Returns the Debian sid chroot that builds MPP and the shim, building it
 * once with mmdebstrap from the host's Debian mirror (as root). Cached under
 * `<cache>/mpp-chroot/<key>` (key = hash of the package list); the entry is
 * written to a temporary directory and renamed into place (core/cache.ts),
 * so a half-built chroot is never used.
 *
 * @throws WorkbenchError E_NOT_ROOT, E_TOOL_MISSING (mmdebstrap, unshare),
 *   E_NO_MIRROR, E_MPP_CHROOT_BUILD (mmdebstrap failed; the hint names the
 *   packages apt could not find).
 */
export async function ensureMppChroot(opts: EnsureMppChrootOptions): Promise<MppChroot> {
  const runner = opts.runner;
  const entry = await ensureEntry(
    MPP_CHROOT_KIND,
    mppChrootInputs(),
    async (tmp) => {
      requireRoot('building the MPP chroot');
      requireTools(['mmdebstrap', 'unshare']);
      const mirror = opts.mirror ?? discoverDebianMirror();
      const root = join(tmp, 'root');
      const argv = mmdebstrapArgv({
        suite: 'sid',
        target: root,
        mirror,
        include: MPP_CHROOT_PACKAGES,
        dpkgOptions: MINIMAL_DPKG_OPTIONS,
      });
      opts.log?.('building the MPP chroot (Debian sid, cmake, g++); about a minute, once');
      const r = await runner.run(argv, { allowFailure: true, timeoutMs: 30 * 60_000, onStderr: (s) => opts.log?.(s.trimEnd()) });
      if (r.exitCode !== 0) throw mmdebstrapFailure(r, 'the MPP chroot', 'E_MPP_CHROOT_BUILD');
      const q = await runner.run(['chroot', root, 'dpkg-query', '-W', '-f', '${Package}\t${Version}\n']);
      return { extra: { versions: parseDpkgQuery(q.stdout) } };
    },
    { root: opts.cacheRoot, log: opts.log },
  );
  const root = join(entry.dir, 'root');
  return {
    root,
    key: entry.key,
    versions: (entry.meta.extra?.versions ?? {}) as Record<string, string>,
    exec: (argv, o = {}) => toolboxExec(runner, root, argv, o),
  };
}
