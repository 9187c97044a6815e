import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheKey, ensureEntry, type EnsureResult } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { requireTools } from '../core/hostTools.ts';
import { discoverDebianMirror } from '../core/mirror.ts';
import type { RunResult, Runner } from '../core/runner.ts';
import { DEFAULT_MANIFEST, loadLock, loadManifest } from './manifest.ts';
import type { KernelLock, KernelManifest } from '../model/manifest.ts';
import { chrootArgv, type Bind } from './chrootExec.ts';
import { MINIMAL_DPKG_OPTIONS, mmdebstrapArgv, mmdebstrapFailure, requireRoot } from './mmdebstrap.ts';
import { toolboxPackages } from './packages.ts';

/** Bumped when the way the toolbox is built changes (part of the cache key). */
export const TOOLBOX_FORMAT = 1;

/** Options of {@link Toolbox.exec}. */
export interface ToolboxExecOptions {
  /** Working directory inside the chroot (default /root). */
  cwd?: string;
  /** Host paths bind-mounted inside for this command only. Keep them on the cache's filesystem. */
  binds?: Bind[];
  /** Extra environment variables (the environment is otherwise clean). */
  env?: Record<string, string>;
  /** Kill after this many ms. */
  timeoutMs?: number;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Return non-zero exits instead of throwing E_COMMAND_FAILED. */
  allowFailure?: boolean;
  /** Data for stdin. */
  input?: string | Buffer;
  /**
   * Cancels the command: it then runs as its own process group, and an abort
   * kills the whole group at once (make and every compiler it forked), see
   * `RunOptions.processGroup`; the call throws E_ABORTED.
   */
  signal?: AbortSignal;
  /** With `signal`: called with the process group id once the command runs. */
  onProcessGroup?: (pgid: number) => void;
}

/** A ready toolbox: a Debian sid chroot with the pinned kernel headers/source and the compilers. */
export interface Toolbox {
  /** Host path of the chroot. */
  root: string;
  /** Cache key (directory name under `<cache>/toolbox/`). */
  key: string;
  /** Kernel release of the pinned headers, e.g. `7.2.13+deb14-amd64`. */
  kernelRelease: string;
  /** Path INSIDE the chroot of the headers tree (`/usr/src/linux-headers-<rel>`). */
  headersDir: string;
  /** Path INSIDE the chroot of the full source tarball (`/usr/src/linux-source-7.2.tar.xz`). */
  sourceTarball: string;
  /** Path INSIDE the chroot of Debian's kernel configs (`/usr/src/linux-config-7.2`), from linux-config-7.2. */
  configDir: string;
  /** The lock the toolbox was built from. */
  lock: KernelLock;
  /** Every installed package -> version (dpkg-query at build time). */
  versions: Record<string, string>;
  /** Runs argv inside the chroot (own mount+PID namespace, /proc mounted). */
  exec(argv: string[], opts?: ToolboxExecOptions): Promise<RunResult>;
  /** Host path of an inside path (for reading results). */
  hostPath(inside: string): string;
}

/** Options of {@link ensureToolbox}. */
export interface EnsureToolboxOptions {
  /** Debian kernel manifest name (default `debian-sid-7.2`). */
  manifest?: string;
  runner: Runner;
  /** Progress lines. */
  log?: (msg: string) => void;
  /** Cache root override (default core/paths cacheRoot()). */
  cacheRoot?: string;
  /** Rebuild even when cached. */
  force?: boolean;
  /** Mirror override (default discoverDebianMirror()). */
  mirror?: string;
}

/** The cache inputs of a toolbox (its key is their hash). */
export function toolboxInputs(m: KernelManifest, lock: KernelLock): Record<string, unknown> {
  return { format: TOOLBOX_FORMAT, suite: lock.suite, variant: 'minbase', packages: toolboxPackages(lock) };
}

/**
 * The toolbox's identity without building it: the Debian manifest, its lock
 * and the cache key the toolbox has (or will have).
 * @throws WorkbenchError E_MANIFEST_MISSING, E_MANIFEST_KIND, E_LOCK_MISSING, E_CONFIG.
 */
export function toolboxIdentity(manifest: string = DEFAULT_MANIFEST): { manifest: KernelManifest; lock: KernelLock; key: string } {
  const m = loadManifest(manifest);
  if (!m.debian) {
    throw new WorkbenchError('E_MANIFEST_KIND', `the toolbox needs a [debian] kernel manifest; ${m.file} is a [git] one`, {
      hint: `use --manifest ${DEFAULT_MANIFEST} for the toolbox (git bases are built with its compilers by the kernel stage)`,
    });
  }
  const lock = loadLock(m);
  return { manifest: m, lock, key: cacheKey(toolboxInputs(m, lock)) };
}

/**
 * Returns the toolbox for the kernel manifest (default `debian-sid-7.2`),
 * building it once with mmdebstrap from the host's Debian mirror (as root).
 * Cached under `<cache>/toolbox/<key>` with key = hash(package list with the
 * locked kernel versions); a half-written entry is detected and rebuilt.
 *
 * @throws WorkbenchError E_NOT_ROOT, E_TOOL_MISSING, E_NO_MIRROR,
 *   E_LOCK_MISSING, E_LOCK_STALE (locked version gone from the mirror; hint:
 *   `workbench toolbox update-lock`), E_TOOLBOX_BUILD.
 */
export async function ensureToolbox(opts: EnsureToolboxOptions): Promise<Toolbox> {
  const runner = opts.runner;
  const { manifest: m, lock } = toolboxIdentity(opts.manifest ?? DEFAULT_MANIFEST);
  const inputs = toolboxInputs(m, lock);
  const entry: EnsureResult = await ensureEntry(
    'toolbox',
    inputs,
    async (tmp) => {
      requireRoot('building the toolbox');
      requireTools(['mmdebstrap', 'unshare']);
      const mirror = opts.mirror ?? discoverDebianMirror();
      const root = join(tmp, 'root');
      const argv = mmdebstrapArgv({
        suite: lock.suite,
        target: root,
        mirror,
        include: toolboxPackages(lock),
        dpkgOptions: MINIMAL_DPKG_OPTIONS,
      });
      opts.log?.(`building the toolbox (Debian ${lock.suite}, kernel ${lock.kernel_release}); a few minutes, once`);
      // 30 min was too short at load 25-29 on a 2-core host (measured 1759 s for one build); a hung mirror still ends.
      const r = await runner.run(argv, { allowFailure: true, timeoutMs: 120 * 60_000, onStderr: (s) => opts.log?.(s.trimEnd()) });
      if (r.exitCode !== 0) throw mmdebstrapFailure(r, 'the toolbox', 'E_TOOLBOX_BUILD', { manifest: m, lock });
      const q = await runner.run(['chroot', root, 'dpkg-query', '-W', '-f', '${Package}\t${Version}\n']);
      const versions = parseDpkgQuery(q.stdout);
      for (const [p, v] of Object.entries(lock.packages)) {
        if (/^linux-(source|config|headers|kbuild)-/.test(p) && versions[p] !== v) {
          throw new WorkbenchError('E_TOOLBOX_BUILD', `toolbox has ${p} ${versions[p] ?? '(absent)'}, lock says ${v}`);
        }
      }
      const tarball = `root/usr/src/linux-source-${m.debian!.series}.tar.xz`;
      if (!existsSync(join(tmp, tarball))) throw new WorkbenchError('E_TOOLBOX_BUILD', `toolbox lacks ${tarball}`);
      return { files: [tarball], extra: { versions, kernelRelease: lock.kernel_release } };
    },
    { root: opts.cacheRoot, log: opts.log, force: opts.force },
  );
  const root = join(entry.dir, 'root');
  const versions = (entry.meta.extra?.versions ?? {}) as Record<string, string>;
  return {
    root,
    key: entry.key,
    kernelRelease: lock.kernel_release,
    headersDir: `/usr/src/linux-headers-${lock.kernel_release}`,
    sourceTarball: `/usr/src/linux-source-${m.debian!.series}.tar.xz`,
    configDir: `/usr/src/linux-config-${m.debian!.series}`,
    lock,
    versions,
    hostPath: (inside: string) => join(root, inside),
    exec: (argv, o = {}) => toolboxExec(runner, root, argv, o),
  };
}

/** Runs argv in the chroot at `root`; see {@link chrootArgv}. */
export async function toolboxExec(runner: Runner, root: string, argv: string[], o: ToolboxExecOptions = {}): Promise<RunResult> {
  requireRoot('toolbox exec');
  return runner.run(chrootArgv(root, argv, { cwd: o.cwd, binds: o.binds, env: o.env }), {
    timeoutMs: o.timeoutMs,
    onStdout: o.onStdout,
    onStderr: o.onStderr,
    allowFailure: o.allowFailure,
    input: o.input,
    ...(o.signal ? { signal: o.signal, processGroup: true, onProcessGroup: o.onProcessGroup } : {}),
  });
}

/** Parses `dpkg-query -W -f '${Package}\t${Version}\n'` output. */
export function parseDpkgQuery(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const [p, v] = line.split('\t');
    if (p && v) out[p] = v;
  }
  return out;
}
