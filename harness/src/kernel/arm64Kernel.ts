import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureEntry, writeFileAtomic } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { projectRoot } from '../core/paths.ts';
import type { Toolbox } from '../toolbox/toolbox.ts';
import { RKVDEC_DIR, RKVDEC_SYMBOL, parseKconfig } from './moduleLayout.ts';
import { loadScript, scriptArgv } from '../core/scripts.ts';
import { tail } from '../core/text.ts';

/** Debian's build facts of the arm64 kernel of the same upload as the vboard's kernel. */
export interface Arm64Debian {
  /** Kernel release, e.g. `7.2.13+deb14-arm64`. */
  release: string;
  /** Host path of Debian's arm64 .config. */
  config: string;
  /** Host path of Debian's arm64 Module.symvers (exports of the kernel and its modules). */
  symvers: string;
  key: string;
}

/** The arm64 kernel release that pairs with an amd64 one (`7.2.13+deb14-amd64` -> `7.2.13+deb14-arm64`). */
export function arm64Release(release: string): string {
  return `${release.replace(/-[^+]*$/, '')}-arm64`;
}

/** Fixed script run in the toolbox to fetch one arm64 package with a private apt state: `fetchArm64Headers.sh PACKAGE VERSION`. */
const FETCH_SCRIPT = loadScript(import.meta.url, 'fetchArm64Headers.sh');

/**
 * Debian's arm64 kernel config and Module.symvers for the locked kernel:
 * Debian packages no `linux-config-<series>` for arm64 on an amd64 mirror
 * index, so they are taken from `linux-headers-<abi>-arm64` (Architecture:
 * arm64; it holds `.config`, `Module.symvers`, `include/config/kernel.release`),
 * downloaded inside the toolbox with a private apt lists folder (the toolbox's
 * own apt state is not touched). Cached under `<cache>/kernel-arm64-debian/<key>`.
 *
 * @throws WorkbenchError E_ARM64_DEBIAN when the package (at the locked version) cannot be fetched.
 */
export async function ensureArm64Debian(
  tb: Pick<Toolbox, 'lock' | 'exec'>,
  opts: { log?: (m: string) => void; cacheRoot?: string } = {},
): Promise<Arm64Debian> {
  const release = arm64Release(tb.lock.kernel_release);
  const version = tb.lock.kernel_version;
  const pkg = `linux-headers-${release}`;
  const entry = await ensureEntry(
    'kernel-arm64-debian',
    { format: 1, package: pkg, version },
    async (tmp) => {
      opts.log?.(`fetching Debian's arm64 kernel config and Module.symvers (${pkg}=${version}), once`);
      const apt = join(tmp, 'apt');
      await mkdir(apt);
      const r = await tb.exec(scriptArgv(FETCH_SCRIPT, [pkg, version]), {
        binds: [{ host: apt, inside: '/wb/apt' }],
        timeoutMs: 10 * 60_000,
        allowFailure: true,
      });
      if (r.exitCode !== 0) {
        throw new WorkbenchError('E_ARM64_DEBIAN', `could not fetch ${pkg}=${version} (arm64) from the Debian mirror:\n${tail(r.stderr || r.stdout, 6)}`, {
          hint: 'check the mirror; if the locked version is gone, move the lock with `workbench toolbox update-lock` and rerun',
        });
      }
      const src = join(apt, 'x', 'usr', 'src', pkg);
      for (const f of ['.config', 'Module.symvers', 'include/config/kernel.release']) {
        if (!existsSync(join(src, f)))
          throw new WorkbenchError('E_ARM64_DEBIAN', `${pkg} has no ${f}`, { hint: 'Debian changed the headers package layout; report it' });
      }
      await copyFile(join(src, '.config'), join(tmp, 'config'));
      await copyFile(join(src, 'Module.symvers'), join(tmp, 'Module.symvers'));
      const rel = (await readFile(join(src, 'include/config/kernel.release'), 'utf8')).trim();
      if (rel !== release) throw new WorkbenchError('E_ARM64_DEBIAN', `${pkg} says kernel release ${rel}, expected ${release}`);
      await rm(apt, { recursive: true, force: true });
      return { files: ['config', 'Module.symvers'], extra: { release } };
    },
    { log: opts.log, root: opts.cacheRoot },
  );
  return { release, config: join(entry.dir, 'config'), symvers: join(entry.dir, 'Module.symvers'), key: entry.key };
}

/** The config fragments applied on top of Debian's arm64 config (`kernel-src-manifest/*.config` for arm64). */
export async function arm64Fragments(dir = join(projectRoot(), 'kernel-src-manifest')): Promise<{ name: string; text: string }[]> {
  if (!existsSync(dir)) return [];
  const names = (await readdir(dir)).filter((n) => n.endsWith('.config')).sort();
  return Promise.all(names.map(async (n) => ({ name: n, text: await readFile(join(dir, n), 'utf8') })));
}

/** argv prefix of every arm64 make (cross compiler of the toolbox, Debian's release string). */
export function arm64Make(release: string, src: string, out: string, jobs: number): string[] {
  return [
    'make',
    '-C',
    src,
    `O=${out}`,
    'ARCH=arm64',
    'CROSS_COMPILE=aarch64-linux-gnu-',
    'CC=aarch64-linux-gnu-gcc-16',
    `KERNELRELEASE=${release}`,
    `-j${jobs}`,
  ];
}

/** State of the prepared O= tree. */
interface PrepStamp {
  config: string;
  prep: string;
}

/**
 * Makes `outHost` (mounted at `out`) a prepared O= tree for M= builds:
 * Debian's arm64 config + fragments (`merge_config.sh -m`, `olddefconfig`),
 * `modules_prepare`, and Debian's Module.symvers (so modpost knows the
 * kernel's exports and fills `depends=`). Redone only when the config input
 * changes or the series changes files outside the rkvdec folder (make decides
 * what to rebuild then); otherwise a no-op ("once, cached").
 *
 * @returns the commands it ran (empty when nothing had to be done).
 * @throws WorkbenchError E_ARM64_CONFIG when the merged config lacks CONFIG_VIDEO_ROCKCHIP_VDEC=m.
 */
export async function prepareArm64(args: {
  tb: Pick<Toolbox, 'exec'>;
  deb: Arm64Debian;
  fragments: { name: string; text: string }[];
  outHost: string;
  binds: { host: string; inside: string; readOnly?: boolean }[];
  src: string;
  out: string;
  baseCommit: string;
  outsideChanges: string;
  jobs: number;
  log?: (m: string) => void;
  onOutput?: (s: string) => void;
}): Promise<string[][]> {
  const { tb, deb, outHost } = args;
  await mkdir(outHost, { recursive: true });
  const debConfig = await readFile(deb.config, 'utf8');
  const cfgHash = createHash('sha256')
    .update(debConfig)
    .update(args.fragments.map((f) => `${f.name}\n${f.text}`).join('\0'))
    .digest('hex');
  const prepHash = createHash('sha256').update(`${cfgHash}\n${args.baseCommit}\n${args.outsideChanges}`).digest('hex');
  const stampFile = join(outHost, '.wb-prepared.json');
  const stamp: PrepStamp | undefined = existsSync(stampFile) ? JSON.parse(await readFile(stampFile, 'utf8').catch(() => '{}')) : undefined;
  const make = arm64Make(deb.release, args.src, args.out, args.jobs);
  const commands: string[][] = [];
  const run = async (argv: string[], what: string) => {
    commands.push(argv);
    const r = await tb.exec(argv, {
      binds: args.binds,
      env: { LC_ALL: 'C' },
      timeoutMs: 60 * 60_000,
      allowFailure: true,
      onStdout: args.onOutput,
      onStderr: args.onOutput,
    });
    if (r.exitCode !== 0) {
      throw new WorkbenchError('E_BUILD_PREPARE', `${what} failed (exit ${r.exitCode}):\n${tail(r.stderr || r.stdout, 12)}`, {
        hint: 'the prepared arm64 tree is left for make to resume; rerun, or delete it to start over: ' + outHost,
      });
    }
    return r;
  };
  if (stamp?.config !== cfgHash || !existsSync(join(outHost, '.config'))) {
    args.log?.('configuring the arm64 tree: Debian arm64 config + fragments');
    await rm(stampFile, { force: true });
    await copyFile(deb.config, join(outHost, '.config'));
    const frags: string[] = [];
    for (const f of args.fragments) {
      await writeFileAtomic(join(outHost, `wb-${f.name}`), f.text);
      frags.push(`${args.out}/wb-${f.name}`);
    }
    if (frags.length)
      // merge_config.sh writes temp files in its cwd: run it in the O= folder (the source is read-only).
      await run(
        [
          'sh',
          '-c',
          'cd "$2" && s=$1 && shift && exec "$s/scripts/kconfig/merge_config.sh" -m -O "$@"',
          'merge',
          args.src,
          args.out,
          `${args.out}/.config`,
          ...frags,
        ],
        'merging the config fragments',
      );
    await run([...make, 'olddefconfig'], 'make olddefconfig');
    const cfg = parseKconfig(await readFile(join(outHost, '.config'), 'utf8'));
    if (cfg[RKVDEC_SYMBOL] !== 'm') {
      throw new WorkbenchError('E_ARM64_CONFIG', `the arm64 config has ${RKVDEC_SYMBOL}=${cfg[RKVDEC_SYMBOL] ?? 'unset'} after the fragments, expected m`, {
        hint: `add ${RKVDEC_SYMBOL}=m and what it depends on (ARCH_ROCKCHIP, VIDEO_DEV) to a fragment in kernel-src-manifest/`,
      });
    }
  }
  if (stamp?.prep !== prepHash) {
    args.log?.('make modules_prepare for arm64 (first time: a few minutes)');
    await run([...make, 'modules_prepare'], 'make modules_prepare (arm64)');
    await copyFile(deb.symvers, join(outHost, 'Module.symvers'));
    await writeFileAtomic(stampFile, JSON.stringify({ config: cfgHash, prep: prepHash } satisfies PrepStamp));
  }
  return commands;
}

/** Changes of the series outside the module folder, as a string that changes when they do. */
export function outsideChangesKey(changedFiles: string[], blobIds: Record<string, string>): string {
  return changedFiles
    .filter((f) => !f.startsWith(`${RKVDEC_DIR}/`))
    .map((f) => `${f} ${blobIds[f] ?? '-'}`)
    .join('\n');
}
