import { readDebianSourceLock, type DebianSourceLock } from './sourceLock.ts';
import { tail } from '../core/text.ts';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLock, cacheKey, ensureEntry, writeFileAtomic } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { requireTools } from '../core/hostTools.ts';
import { discoverDebianMirror } from '../core/mirror.ts';
import { cacheRoot, projectRoot } from '../core/paths.ts';
import { loadScript, scriptArgv } from '../core/scripts.ts';
import type { Runner } from '../core/runner.ts';
import { toolboxExec } from '../toolbox/toolbox.ts';
import { mmdebstrapArgv, requireRoot } from '../toolbox/mmdebstrap.ts';

/**
 * The simboard's QEMU: Debian's qemu source package (sid), with our vdpu381
 * device model added, built for aarch64-softmmu only inside a Debian sid
 * chroot built like the toolbox (mmdebstrap), and run inside that same chroot
 * (the binary links against sid's libraries, which the host may not have).
 */

/** Bumped when the way QEMU is built changes (part of the cache keys). */
export const SIMBOARD_QEMU_FORMAT = 1;

/** Folder of the device model sources, the build patches and the source lock. */
export const DEVICE_DIR = () => join(projectRoot(), 'harness', 'simboard-qemu');

/**
 * Packages of the QEMU build chroot (Debian sid names): compiler, QEMU's build
 * system (meson, ninja, python3-venv: configure makes a venv around the system
 * meson), the libraries aarch64-softmmu needs with the features we enable
 * (glib, pixman, zlib, libfdt for the virt machine's device tree, libslirp for
 * user-mode networking), dpkg-dev for `apt-get source`, and
 * device-tree-compiler (dtc) for the guest's device tree.
 */
export const QEMU_BUILD_PACKAGES: readonly string[] = [
  'gcc',
  'libc6-dev',
  'make',
  'ninja-build',
  'meson',
  'python3',
  'python3-venv',
  'pkgconf',
  'libglib2.0-dev',
  'libpixman-1-dev',
  'zlib1g-dev',
  'libfdt-dev',
  'libslirp-dev',
  'flex',
  'bison',
  'dpkg-dev',
  'patch',
  'xz-utils',
  'bzip2',
  'ca-certificates',
  'device-tree-compiler',
];

/**
 * configure arguments: aarch64-softmmu only, every optional feature off
 * except user networking (slirp) and the system libfdt; no docs, no tools,
 * never download anything (meson subprojects come from the source package),
 * no firmware blobs (Debian's +ds source drops the prebuilt ones; -kernel boots need none).
 */
export const QEMU_CONFIGURE_ARGS: readonly string[] = [
  '--target-list=aarch64-softmmu',
  '--without-default-features',
  '--enable-tcg',
  '--enable-slirp',
  '--enable-fdt=system',
  '--disable-docs',
  '--disable-tools',
  '--disable-werror',
  '--disable-download',
  '--disable-install-blobs',
  '--prefix=/usr/local',
];

/** The QEMU source the simboard is built from (`harness/simboard-qemu/qemu-source.lock`, JSON). */
export interface QemuSourceLock extends DebianSourceLock {
  resolved_at: string;
}

/**
 * Reads the QEMU source lock (the version may carry an epoch).
 * @throws WorkbenchError E_CONFIG when it is missing or malformed (names the file and field).
 */
export async function loadQemuSourceLock(dir = DEVICE_DIR()): Promise<QemuSourceLock> {
  return readDebianSourceLock<QemuSourceLock>(join(dir, 'qemu-source.lock'), { epoch: true });
}

/** SHA-256 of every file under `dir` (relative path -> hex), sorted by path. */
export async function hashTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const e of (await readdir(join(dir, rel), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile())
        out[r] = createHash('sha256')
          .update(await readFile(join(dir, r)))
          .digest('hex');
    }
  };
  await walk('');
  return out;
}

/** Cache inputs of the build chroot. */
export function qemuRootInputs(suite: string): Record<string, unknown> {
  return { format: SIMBOARD_QEMU_FORMAT, suite, variant: 'minbase', packages: QEMU_BUILD_PACKAGES };
}

/** Cache inputs of the configured source tree (everything but the device C file). */
export function qemuWorkInputs(lock: QemuSourceLock, rootKey: string, patches: Record<string, string>): Record<string, unknown> {
  return { format: SIMBOARD_QEMU_FORMAT, source: { package: lock.package, version: lock.version }, root: rootKey, patches, configure: QEMU_CONFIGURE_ARGS };
}

/** Cache inputs of the built binary: the QEMU source version, the device source hash, the patch hash. */
export function qemuInputs(workKey: string, device: Record<string, string>): Record<string, unknown> {
  return { format: SIMBOARD_QEMU_FORMAT, work: workKey, device };
}

/** A built simboard QEMU. */
export interface SimboardQemu {
  /** Host path of the chroot QEMU runs in. */
  root: string;
  /** Cache key of the chroot. */
  rootKey: string;
  /** Host path of the cache entry holding `qemu-system-aarch64`. */
  dir: string;
  /** Cache key of the binary. */
  key: string;
  /** Host path of the binary (run it inside `root`, with `dir` bound at the same path). */
  binary: string;
  /** QEMU source version (Debian). */
  version: string;
  /** True when the binary came from the cache. */
  hit: boolean;
}

/** Scripts run in the build chroot (positional arguments only). */
const FETCH_SCRIPT = loadScript(import.meta.url, 'qemuFetchSource.sh');
const CONFIGURE_SCRIPT = loadScript(import.meta.url, 'qemuConfigure.sh');
const BUILD_SCRIPT = loadScript(import.meta.url, 'qemuBuild.sh');

/**
 * The QEMU build chroot (Debian sid, {@link QEMU_BUILD_PACKAGES}), built
 * once with mmdebstrap like the toolbox and cached under
 * `<cache>/simboard-qemu-root/<key>`.
 * @throws WorkbenchError E_NOT_ROOT, E_TOOL_MISSING, E_SIMBOARD_QEMU_BUILD (step "chroot").
 */
export async function ensureQemuRoot(opts: {
  runner: Runner;
  log?: (s: string) => void;
  cacheRoot?: string;
  suite?: string;
}): Promise<{ root: string; key: string }> {
  const runner = opts.runner;
  const suite = opts.suite ?? 'sid';
  const e = await ensureEntry(
    'simboard-qemu-root',
    qemuRootInputs(suite),
    async (tmp) => {
      requireRoot('building the simboard QEMU chroot');
      requireTools(['mmdebstrap', 'unshare']);
      opts.log?.(`building the QEMU build chroot (Debian ${suite}); once`);
      const r = await runner.run(
        mmdebstrapArgv({
          suite,
          target: join(tmp, 'root'),
          mirror: discoverDebianMirror(),
          include: [...QEMU_BUILD_PACKAGES],
          dpkgOptions: [
            'path-exclude=/usr/share/man/*',
            'path-exclude=/usr/share/locale/*',
            'path-exclude=/usr/share/doc/*',
            'path-include=/usr/share/doc/*/copyright',
          ],
        }),
        { allowFailure: true, timeoutMs: 30 * 60_000, onStderr: (s) => opts.log?.(s.trimEnd()) },
      );
      if (r.exitCode !== 0) throw stepError('chroot', `mmdebstrap exit ${r.exitCode}`, r.stderr || r.stdout);
    },
    { root: opts.cacheRoot, log: opts.log },
  );
  return { root: join(e.dir, 'root'), key: e.key };
}

function stepError(step: string, what: string, output: string): WorkbenchError {
  return new WorkbenchError('E_SIMBOARD_QEMU_BUILD', `simboard QEMU build, step "${step}": ${what}:\n${tail(output, 25)}`, {
    hint:
      step === 'fetch'
        ? 'the locked QEMU source version may have left the mirror: update harness/simboard-qemu/qemu-source.lock (apt-cache showsrc qemu in a sid chroot)'
        : 'the cache was left clean; fix the cause (device source, patch, build deps) and rerun',
  });
}

/**
 * Returns the simboard QEMU binary, building it when (QEMU source version,
 * device source hash, patch hash, chroot) changed. Two levels:
 * - `<cache>/simboard-qemu-work/<workKey>`: the fetched, patched and
 *   configured source tree (key: source version, patches, configure args,
 *   chroot); a tree whose configure did not finish is wiped and redone;
 * - `<cache>/simboard-qemu/<key>`: the binary (key: work key + device
 *   sources); built incrementally with ninja in the work tree, so a device
 *   change recompiles one file and relinks.
 * Nothing is rebuilt when the inputs are unchanged (the log says "cached").
 *
 * @throws WorkbenchError E_NOT_ROOT, E_CONFIG (lock), E_SIMBOARD_QEMU_BUILD naming the step (chroot, fetch, configure, build).
 */
export async function ensureSimboardQemu(opts: {
  runner: Runner;
  log?: (s: string) => void;
  cacheRoot?: string;
  jobs?: number;
  deviceDir?: string;
}): Promise<SimboardQemu> {
  const runner = opts.runner;
  const log = opts.log;
  const devDir = opts.deviceDir ?? DEVICE_DIR();
  const lock = await loadQemuSourceLock(devDir);
  const patches = await hashTree(join(devDir, 'patches'));
  const device = await hashTree(join(devDir, 'hw'));
  const rootKey = cacheKey(qemuRootInputs(lock.suite));
  const workKey = cacheKey(qemuWorkInputs(lock, rootKey, patches));
  const croot = opts.cacheRoot ?? cacheRoot();
  let root = join(croot, 'simboard-qemu-root', rootKey, 'root');
  const e = await ensureEntry(
    'simboard-qemu',
    qemuInputs(workKey, device),
    async (tmp) => {
      requireRoot('building the simboard QEMU');
      const r = await ensureQemuRoot({ runner, log, cacheRoot: opts.cacheRoot, suite: lock.suite });
      root = r.root;
      const work = join(croot, 'simboard-qemu-work', workKey);
      await mkdir(join(croot, 'simboard-qemu-work'), { recursive: true });
      const release = await acquireLock(`${work}.lock`, log);
      try {
        const binds = [
          { host: work, inside: '/wb/work' },
          { host: devDir, inside: '/wb/dev', readOnly: true },
          { host: tmp, inside: '/wb/out' },
        ];
        const marker = join(work, '.configured.json');
        if (!existsSync(marker)) {
          await rm(work, { recursive: true, force: true });
          await mkdir(join(work, 'apt'), { recursive: true });
          const mirror = discoverDebianMirror();
          await writeFile(join(work, 'apt', 'sources.list'), `deb-src ${mirror} ${lock.suite} main\n`);
          log?.(`fetching Debian's ${lock.package} ${lock.version} source`);
          const t0 = Date.now();
          const f = await toolboxExec(runner, root, scriptArgv(FETCH_SCRIPT, [lock.package, lock.version]), {
            binds: [...binds, { host: join(work, 'apt'), inside: '/wb/apt' }],
            timeoutMs: 30 * 60_000,
            allowFailure: true,
          });
          if (f.exitCode !== 0) throw stepError('fetch', `apt-get source ${lock.package}=${lock.version} failed (exit ${f.exitCode})`, f.stderr || f.stdout);
          log?.(`configuring QEMU (aarch64-softmmu; fetched in ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
          const c = await toolboxExec(runner, root, scriptArgv(CONFIGURE_SCRIPT, QEMU_CONFIGURE_ARGS), {
            binds,
            timeoutMs: 30 * 60_000,
            allowFailure: true,
            onStdout: (s) => log?.(s.trimEnd()),
          });
          if (c.exitCode !== 0) throw stepError('configure', `patch/configure failed (exit ${c.exitCode})`, `${c.stdout}\n${c.stderr}`);
          await writeFileAtomic(marker, JSON.stringify({ inputs: qemuWorkInputs(lock, rootKey, patches), at: new Date().toISOString() }, null, 2));
        }
        const jobs = opts.jobs ?? 2;
        log?.(`building qemu-system-aarch64 (ninja -j${jobs})`);
        const t0 = Date.now();
        let lastLine = 0;
        const b = await toolboxExec(runner, root, scriptArgv(BUILD_SCRIPT, [String(jobs)]), {
          binds,
          timeoutMs: 120 * 60_000,
          allowFailure: true,
          onStdout: (s) => {
            if (Date.now() - lastLine > 30_000) {
              lastLine = Date.now();
              log?.(s.trimEnd().split('\n').pop() ?? '');
            }
          },
        });
        if (b.exitCode !== 0) throw stepError('build', `ninja failed (exit ${b.exitCode})`, `${b.stdout}\n${b.stderr}`);
        const seconds = Math.round((Date.now() - t0) / 1000);
        log?.(`qemu-system-aarch64 built in ${seconds} s`);
        return { files: ['qemu-system-aarch64'], extra: { version: lock.version, buildSeconds: seconds, rootKey } };
      } finally {
        await release();
      }
    },
    { root: opts.cacheRoot, log },
  );
  if (e.hit) log?.(`simboard QEMU: cached (${e.key}, ${lock.package} ${lock.version})`);
  return { root, rootKey, dir: e.dir, key: e.key, binary: join(e.dir, 'qemu-system-aarch64'), version: lock.version, hit: e.hit };
}
