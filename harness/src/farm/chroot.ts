import { tail } from '../core/text.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureEntry } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { requireTools } from '../core/hostTools.ts';
import { discoverDebianMirror } from '../core/mirror.ts';
import { ensureDispatcherConfig } from './dispatcher.ts';
import type { RunResult, Runner } from '../core/runner.ts';
import type { Bind } from '../toolbox/chrootExec.ts';
import { missingPackagesFromAptOutput, mmdebstrapArgv, requireRoot } from '../toolbox/mmdebstrap.ts';
import { parseDpkgQuery, toolboxExec, type ToolboxExecOptions } from '../toolbox/toolbox.ts';

/** Bumped when the way the farm chroot is built changes (part of the cache key). */
export const FARM_CHROOT_FORMAT = 1;

/** Debian suite of the farm chroot: LAVA 2026.10 and lavacli 2.9 are in sid (bookworm has LAVA 2023.01). */
export const FARM_SUITE = 'sid';

/**
 * Packages of the farm chroot (Debian sid names):
 * - `lava-dispatcher` (lava-run), `lava-common` (job schema, Jinja
 *   environment), `lava-server` (device-type templates under
 *   /usr/share/lava-server/device-types/, the scheduler, lava-server-gunicorn
 *   and the REST API v0.2), `lavacli`;
 * - `postgresql`: the database lava-server needs (started by the tests on
 *   127.0.0.1 only);
 * - `tftpd-hpa` and `nfs-kernel-server`: their configuration files are what
 *   lava-dispatcher reads to find its TFTP directory and NFS exports when it
 *   validates a `deploy: to: tftp` job (lava_dispatcher/utils/filesystem.py
 *   reads /etc/default/tftpd-hpa); no daemon is started;
 * - `u-boot-tools` (mkimage), `xz-utils`, `cpio`, `fakeroot`: what
 *   lava-dispatcher checks for (`which`) when it prepares a TFTP/u-boot job
 *   (actions/deploy/prepare.py, utils/compression.py);
 * - `telnet`: the usual `connection_command` of a lab's serial console
 *   (lava-dispatcher checks it exists when it validates a u-boot job);
 * - `openssh-client` (the `ssh` device connection), `ca-certificates`,
 *   `python3-yaml` (our helper scripts).
 */
export const FARM_PACKAGES: readonly string[] = [
  'lava-dispatcher',
  'lava-common',
  'lava-server',
  'lavacli',
  'postgresql',
  'tftpd-hpa',
  'nfs-kernel-server',
  'u-boot-tools',
  'xz-utils',
  'cpio',
  'fakeroot',
  'telnet',
  'openssh-client',
  'ca-certificates',
  'python3-yaml',
];

/** A ready farm chroot. */
export interface FarmChroot {
  /** Host path of the chroot. */
  root: string;
  /** Cache key (directory under `<cache>/farm-chroot/`). */
  key: string;
  /** Every installed package -> version (dpkg-query at build time). */
  versions: Record<string, string>;
  /** Runs argv inside the chroot (own mount+PID namespace, /proc mounted, host /dev bound for ptys). */
  exec(argv: string[], opts?: ToolboxExecOptions): Promise<RunResult>;
  /** Host path of an inside path. */
  hostPath(inside: string): string;
}

/** Options of {@link ensureFarmChroot}. */
export interface EnsureFarmChrootOptions {
  runner: Runner;
  log?: (msg: string) => void;
  /** Cache root override (default core/paths cacheRoot()). */
  cacheRoot?: string;
  force?: boolean;
  /** Mirror override (default discoverDebianMirror()). */
  mirror?: string;
}

/** The cache inputs of the farm chroot (its key is their hash). */
export function farmChrootInputs(): Record<string, unknown> {
  return { format: FARM_CHROOT_FORMAT, suite: FARM_SUITE, variant: 'minbase', packages: FARM_PACKAGES, hooks: CUSTOMIZE_HOOKS };
}

/**
 * mmdebstrap customize hooks (`$1` = the chroot, run on the host after
 * installation):
 * - lava-server's postinst could not reach a database while the chroot was
 *   built (no service runs in a chroot: mmdebstrap installs a policy-rc.d),
 *   so nothing else is set up at build time; tests create the database.
 * - /srv/tftp: the TFTP directory of an earlier recipe (kept: the hooks
 *   are part of the cache key); the TFTP directory is now lava-dispatcher's
 *   own, /var/lib/lava/dispatcher/tmp (farm/dispatcher.ts).
 */
export const CUSTOMIZE_HOOKS: readonly string[] = ['mkdir -p "$1/srv/tftp" "$1/var/lib/lava/dispatcher/tmp"'];

/**
 * Returns the farm chroot: Debian sid with LAVA (dispatcher, common, server),
 * lavacli and PostgreSQL, built once with mmdebstrap from the host's Debian
 * mirror (as root), cached under `<cache>/farm-chroot/<key>` (key = hash of
 * the package list and the build recipe); a half-written entry is detected
 * and rebuilt (core/cache.ts).
 *
 * The dispatcher's TFTP/NFS configuration is then set up in it
 * (farm/dispatcher.ts ensureDispatcherConfig: lava-dispatcher's own
 * tftpd-hpa defaults installed once, its NFS export checked each time).
 *
 * @throws WorkbenchError E_NOT_ROOT, E_TOOL_MISSING, E_NO_MIRROR, E_FARM_CHROOT_BUILD, E_LAVA_DISPATCHER.
 */
export async function ensureFarmChroot(opts: EnsureFarmChrootOptions): Promise<FarmChroot> {
  const runner = opts.runner;
  const entry = await ensureEntry(
    'farm-chroot',
    farmChrootInputs(),
    async (tmp) => {
      requireRoot('building the LAVA chroot');
      requireTools(['mmdebstrap', 'unshare']);
      const mirror = opts.mirror ?? discoverDebianMirror();
      const root = join(tmp, 'root');
      const argv = mmdebstrapArgv({
        suite: FARM_SUITE,
        target: root,
        mirror,
        include: FARM_PACKAGES,
        dpkgOptions: [
          'path-exclude=/usr/share/man/*',
          'path-exclude=/usr/share/locale/*',
          'path-exclude=/usr/share/doc/*',
          'path-include=/usr/share/doc/*/copyright',
        ],
        customizeHooks: CUSTOMIZE_HOOKS,
      });
      opts.log?.(`building the LAVA chroot (Debian ${FARM_SUITE}: lava-dispatcher, lava-server, lavacli, PostgreSQL); a few minutes, once`);
      // 12-17 min on a quiet 2-core host; more than 30 min at load 22-27 (a fresh-machine
      // rehearsal and other builds alongside): the run was killed while configuring packages
      const r = await runner.run(argv, { allowFailure: true, timeoutMs: 120 * 60_000, onStderr: (s) => opts.log?.(s.trimEnd()) });
      if (r.exitCode !== 0) {
        const missing = missingPackagesFromAptOutput(r.stderr + r.stdout);
        throw new WorkbenchError('E_FARM_CHROOT_BUILD', `mmdebstrap failed (exit ${r.exitCode}) building the LAVA chroot:\n${tail(r.stderr || r.stdout, 20)}`, {
          hint: missing.length
            ? `apt could not find: ${missing.join(', ')} (Debian sid may have dropped or renamed it)`
            : 'check the mirror (WORKBENCH_DEBIAN_MIRROR) and the network, then retry',
        });
      }
      const q = await runner.run(['chroot', root, 'dpkg-query', '-W', '-f', '${Package}\t${Version}\n']);
      const versions = parseDpkgQuery(q.stdout);
      for (const p of ['lava-dispatcher', 'lava-server', 'lavacli']) {
        if (!versions[p]) throw new WorkbenchError('E_FARM_CHROOT_BUILD', `the LAVA chroot lacks ${p} after mmdebstrap`);
      }
      if (!existsSync(join(root, 'usr/bin/lava-run'))) throw new WorkbenchError('E_FARM_CHROOT_BUILD', 'the LAVA chroot has no /usr/bin/lava-run');
      return { extra: { versions } };
    },
    { ...(opts.cacheRoot ? { root: opts.cacheRoot } : {}), ...(opts.log ? { log: opts.log } : {}), force: opts.force ?? false },
  );
  const root = join(entry.dir, 'root');
  const versions = (entry.meta.extra?.versions ?? {}) as Record<string, string>;
  // the dispatcher's TFTP/NFS configuration (farm/dispatcher.ts): written once into the cached chroot, checked each time
  const dispatcher = await ensureDispatcherConfig({ hostPath: (inside: string) => join(root, inside) });
  if (dispatcher.installed) opts.log?.(`LAVA chroot: /etc/default/tftpd-hpa installed from lava-dispatcher's own (TFTP_DIRECTORY ${dispatcher.tftpDirectory})`);
  return {
    root,
    key: entry.key,
    versions,
    hostPath: (inside: string) => join(root, inside),
    exec: (argv, o = {}) => toolboxExec(runner, root, argv, { ...o, binds: [...DEV_BINDS, ...(o.binds ?? [])] }),
  };
}

/** Host /dev inside the chroot: pexpect (lava-dispatcher's shell connections) needs /dev/pts and /dev/ptmx. */
const DEV_BINDS: readonly Bind[] = [
  { host: '/dev', inside: '/dev' },
  { host: '/dev/pts', inside: '/dev/pts' },
];
