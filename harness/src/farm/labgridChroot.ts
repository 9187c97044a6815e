import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureEntry } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { requireTools } from '../core/hostTools.ts';
import { discoverDebianMirror } from '../core/mirror.ts';
import type { RunOptions, RunResult, Runner } from '../core/runner.ts';
import { chrootArgv, type Bind } from '../toolbox/chrootExec.ts';
import { MINIMAL_DPKG_OPTIONS, mmdebstrapArgv, mmdebstrapFailure, requireRoot } from '../toolbox/mmdebstrap.ts';
import { parseDpkgQuery } from '../toolbox/toolbox.ts';

/**
 * The labgrid chroot: Debian sid's labgrid 26 (gRPC coordinator, exporter,
 * client) in its own small chroot, built like the LAVA chroot (farm/chroot.ts:
 * mmdebstrap from the host's apt mirror, a cache entry keyed by its inputs,
 * renamed into place when complete). It is separate from the LAVA chroot so
 * that chroot's cache key stays as it is.
 */

/** Bumped when the way the labgrid chroot is built changes (part of the cache key). */
export const LABGRID_CHROOT_FORMAT = 1;

/** Debian suite: labgrid 26.0 is in sid (bookworm has 0.4.1, without the gRPC coordinator). */
export const LABGRID_SUITE = 'sid';

/**
 * Packages (Debian sid names; sid splits labgrid 26.0-2 into these and
 * `python3-labgrid`, there is no package named `labgrid`):
 * `labgrid-coordinator`, `labgrid-exporter`, `labgrid-client`.
 */
export const LABGRID_PACKAGES: readonly string[] = ['labgrid-client', 'labgrid-coordinator', 'labgrid-exporter'];

/** The cache inputs of the labgrid chroot (its key is their hash). */
export function labgridChrootInputs(): Record<string, unknown> {
  return { format: LABGRID_CHROOT_FORMAT, suite: LABGRID_SUITE, variant: 'minbase', packages: LABGRID_PACKAGES };
}

/** A ready labgrid chroot. */
export interface LabgridChroot {
  /** Host path of the chroot. */
  root: string;
  /** Cache key (directory under `<cache>/labgrid-chroot/`). */
  key: string;
  /** Every installed package -> version (dpkg-query at build time). */
  versions: Record<string, string>;
  /**
   * argv that runs `argv` inside the chroot (mount namespace only, the host's
   * /proc and network: daemons listen on the host's 127.0.0.1), with `env`
   * over a clean environment, `binds` mounted for this command and `cwd`
   * (inside path, default /root). Pass it to a Runner.
   */
  argv(argv: readonly string[], opts?: { env?: Record<string, string>; cwd?: string; binds?: readonly Bind[] }): string[];
  /**
   * A Runner that runs every argv inside the chroot (e.g. `labgrid-client ...`
   * for target/labgrid.ts); `opts.env` reaches the command inside.
   */
  runner(base: Runner): Runner;
}

/** Options of {@link ensureLabgridChroot}. */
export interface EnsureLabgridChrootOptions {
  runner: Runner;
  log?: (msg: string) => void;
  /** Cache root override (default core/paths cacheRoot()). */
  cacheRoot?: string;
  force?: boolean;
  /** Mirror override (default discoverDebianMirror()). */
  mirror?: string;
}

/**
 * Returns the labgrid chroot, built once with mmdebstrap from the host's
 * Debian mirror (as root) and cached under `<cache>/labgrid-chroot/<key>`;
 * a half-written entry is detected and rebuilt (core/cache.ts).
 *
 * @throws WorkbenchError E_NOT_ROOT, E_TOOL_MISSING, E_NO_MIRROR, E_LABGRID_CHROOT_BUILD.
 */
export async function ensureLabgridChroot(opts: EnsureLabgridChrootOptions): Promise<LabgridChroot> {
  const runner = opts.runner;
  const entry = await ensureEntry(
    'labgrid-chroot',
    labgridChrootInputs(),
    async (tmp) => {
      requireRoot('building the labgrid chroot');
      requireTools(['mmdebstrap', 'unshare']);
      const mirror = opts.mirror ?? discoverDebianMirror();
      const root = join(tmp, 'root');
      const argv = mmdebstrapArgv({ suite: LABGRID_SUITE, target: root, mirror, include: LABGRID_PACKAGES, dpkgOptions: MINIMAL_DPKG_OPTIONS });
      opts.log?.(`building the labgrid chroot (Debian ${LABGRID_SUITE}: ${LABGRID_PACKAGES.join(', ')}); a few minutes, once`);
      const r = await runner.run(argv, { allowFailure: true, timeoutMs: 60 * 60_000, onStderr: (s) => opts.log?.(s.trimEnd()) });
      if (r.exitCode !== 0) throw mmdebstrapFailure(r, 'the labgrid chroot', 'E_LABGRID_CHROOT_BUILD');
      const q = await runner.run(['chroot', root, 'dpkg-query', '-W', '-f', '${Package}\t${Version}\n']);
      const versions = parseDpkgQuery(q.stdout);
      for (const p of LABGRID_PACKAGES) {
        if (!versions[p]) throw new WorkbenchError('E_LABGRID_CHROOT_BUILD', `the labgrid chroot lacks ${p} after mmdebstrap`);
      }
      for (const bin of ['labgrid-client', 'labgrid-coordinator', 'labgrid-exporter']) {
        if (!existsSync(join(root, 'usr/bin', bin))) throw new WorkbenchError('E_LABGRID_CHROOT_BUILD', `the labgrid chroot has no /usr/bin/${bin}`);
      }
      return { extra: { versions } };
    },
    { ...(opts.cacheRoot ? { root: opts.cacheRoot } : {}), ...(opts.log ? { log: opts.log } : {}), force: opts.force ?? false },
  );
  const root = join(entry.dir, 'root');
  const versions = (entry.meta.extra?.versions ?? {}) as Record<string, string>;
  const inside = (argv: readonly string[], o: { env?: Record<string, string>; cwd?: string; binds?: readonly Bind[] } = {}) =>
    chrootArgv(root, argv, { ...o, pidNamespace: false });
  return {
    root,
    key: entry.key,
    versions,
    argv: inside,
    runner: (base) => ({
      run: (argv: string[], o: RunOptions = {}): Promise<RunResult> => {
        const env = Object.fromEntries(Object.entries(o.env ?? {}).filter((e): e is [string, string] => e[1] !== undefined));
        const { env: _drop, ...rest } = o;
        return base.run(inside(argv, { env }), rest);
      },
    }),
  };
}
