import { readDebianSourceLock, type DebianSourceLock } from './sourceLock.ts';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureEntry } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { requireTools } from '../core/hostTools.ts';
import { discoverDebianMirror } from '../core/mirror.ts';
import { projectRoot } from '../core/paths.ts';
import type { Runner } from '../core/runner.ts';
import { loadScript, scriptArgv } from '../core/scripts.ts';
import { tail } from '../core/text.ts';
import { toolboxExec } from '../toolbox/toolbox.ts';
import { MINIMAL_DPKG_OPTIONS, mmdebstrapArgv, requireRoot } from '../toolbox/mmdebstrap.ts';
import { QEMU_BUILD_PACKAGES, hashTree } from './qemuBuild.ts';

/**
 * The vdpu381 decoding model core (harness/simboard-model/: src/, include/,
 * Makefile): libvpx's VP9 decoder from Debian's libvpx source package,
 * patched with harness/simboard-model/patches/*.patch, driven by the
 * registers and buffers of a decode job. Built in a Debian sid chroot made
 * like the simboard QEMU build chroot plus nasm (libvpx's x86 assembly),
 * `<cache>/simboard-model-root/<key>`, then in two cached steps, each
 * written atomically:
 * - `<cache>/simboard-model-libvpx/<key>`: the fetched, patched and built
 *   libvpx (`libvpx/` source, `build/` tree with libvpx.a and vpxdec); key:
 *   the source lock, the patches, the configure arguments, the chroot;
 * - `<cache>/simboard-model-core/<key>`: `libvdpu381model.a` (model + libvpx
 *   objects, self-contained), `vdpu381-model-offline`, `vpxdec` (libvpx's own
 *   decoder from the same build: the reference the tests compare with) and
 *   the public header; key: the libvpx key and the model's sources.
 */

/** Bumped when the way the model core is built changes (part of the cache keys). */
export const MODEL_CORE_FORMAT = 1;

/** Folder of the model sources, patches and the libvpx source lock. */
export const MODEL_CORE_DIR = () => join(projectRoot(), 'harness', 'simboard-model');

/** Packages of the model build chroot: the QEMU build chroot's and nasm (libvpx's x86 assembly). */
export const MODEL_BUILD_PACKAGES: readonly string[] = [...QEMU_BUILD_PACKAGES, 'nasm'];

/** libvpx's configure target for the host: SIMD with run-time CPU detection on x86-64, portable C elsewhere. */
export function libvpxTarget(arch: string = process.arch): string {
  return arch === 'x64' ? 'x86_64-linux-gcc' : 'generic-gnu';
}

/**
 * libvpx configure arguments: the host's target ({@link libvpxTarget}), the
 * VP9 decoder only, with high bit depth (profile 2: 10-bit frames decode to
 * 16-bit samples, written as NV15; 8-bit streams keep 8-bit buffers),
 * static, no WebM input (C++) nor libyuv. vpxdec then reads IVF only.
 */
export const LIBVPX_CONFIGURE_ARGS: readonly string[] = [
  `--target=${libvpxTarget()}`,
  '--enable-runtime-cpu-detect',
  '--disable-vp8',
  '--disable-vp9-encoder',
  '--enable-vp9-decoder',
  '--enable-vp9-highbitdepth',
  '--disable-unit-tests',
  '--disable-docs',
  '--disable-tools',
  '--disable-shared',
  '--enable-static',
  '--disable-webm-io',
  '--disable-libyuv',
];

/** The libvpx source the model is built from (`harness/simboard-model/libvpx-source.lock`, JSON). */
export type LibvpxSourceLock = DebianSourceLock;

/**
 * Reads the libvpx source lock (version without epoch).
 * @throws WorkbenchError E_CONFIG when it is missing or malformed (names the file and field).
 */
export async function loadLibvpxSourceLock(dir = MODEL_CORE_DIR()): Promise<LibvpxSourceLock> {
  return readDebianSourceLock<LibvpxSourceLock>(join(dir, 'libvpx-source.lock'), { epoch: false });
}

/**
 * The directory `dpkg-source -x` unpacks a version into: `<package>-<upstream>`
 * (the Debian revision after the last `-` dropped).
 * @example sourceDirName('libvpx', '1.17.0-1') === 'libvpx-1.17.0'
 */
export function sourceDirName(pkg: string, version: string): string {
  const i = version.lastIndexOf('-');
  return `${pkg}-${i > 0 ? version.slice(0, i) : version}`;
}

/** Cache inputs of the patched libvpx build. */
export function libvpxInputs(lock: LibvpxSourceLock, rootKey: string, patches: Record<string, string>): Record<string, unknown> {
  return { format: MODEL_CORE_FORMAT, source: { package: lock.package, version: lock.version }, root: rootKey, patches, configure: LIBVPX_CONFIGURE_ARGS };
}

/** Cache inputs of the model core: the libvpx build and the model's own sources. */
export function modelCoreInputs(libvpxKey: string, sources: Record<string, string>): Record<string, unknown> {
  return { format: MODEL_CORE_FORMAT, libvpx: libvpxKey, sources };
}

/** A built model core. */
export interface ModelCore {
  /** Cache entry of the patched libvpx (`libvpx/` source, `build/`): bind it at /wb/vpx for the model server's build. */
  libvpxDir: string;
  /** Cache entry of the model core. */
  dir: string;
  key: string;
  /** Self-contained static library implementing include/vdpu381_model.h. */
  lib: string;
  /** The offline decoder of capture records (static). */
  offline: string;
  /** libvpx's own vpxdec from the same source (static; IVF input only). */
  vpxdec: string;
  /** libvpx version (Debian). */
  version: string;
  hit: boolean;
}

/** Cache inputs of the model build chroot. */
export function modelRootInputs(suite: string): Record<string, unknown> {
  return { format: MODEL_CORE_FORMAT, suite, variant: 'minbase', packages: MODEL_BUILD_PACKAGES };
}

/**
 * The model build chroot (Debian sid, {@link MODEL_BUILD_PACKAGES}), built
 * once with mmdebstrap and cached under `<cache>/simboard-model-root/<key>`.
 * @throws WorkbenchError E_NOT_ROOT, E_TOOL_MISSING, E_SIMBOARD_MODEL_BUILD (step "chroot").
 */
export async function ensureModelRoot(opts: {
  runner: Runner;
  log?: (s: string) => void;
  cacheRoot?: string;
  suite: string;
}): Promise<{ root: string; key: string }> {
  const e = await ensureEntry(
    'simboard-model-root',
    modelRootInputs(opts.suite),
    async (tmp) => {
      requireRoot('building the vdpu381 model build chroot');
      requireTools(['mmdebstrap', 'unshare']);
      opts.log?.(`building the model build chroot (Debian ${opts.suite}); once`);
      const r = await opts.runner.run(
        mmdebstrapArgv({
          suite: opts.suite,
          target: join(tmp, 'root'),
          mirror: discoverDebianMirror(),
          include: [...MODEL_BUILD_PACKAGES],
          dpkgOptions: [...MINIMAL_DPKG_OPTIONS],
        }),
        { allowFailure: true, timeoutMs: 30 * 60_000, onStderr: (t) => opts.log?.(t.trimEnd()) },
      );
      if (r.exitCode !== 0) throw buildError('chroot', `mmdebstrap exit ${r.exitCode}`, r.stderr || r.stdout);
    },
    { root: opts.cacheRoot, log: opts.log },
  );
  return { root: join(e.dir, 'root'), key: e.key };
}

const FETCH_SCRIPT = loadScript(import.meta.url, 'qemuFetchSource.sh');
const CORE_SCRIPT = loadScript(import.meta.url, 'modelCoreBuild.sh');

function buildError(step: string, what: string, output: string): WorkbenchError {
  return new WorkbenchError('E_SIMBOARD_MODEL_BUILD', `vdpu381 model core build, step "${step}": ${what}:\n${tail(output, 25)}`, {
    hint:
      step === 'fetch'
        ? 'the locked libvpx version may have left the mirror: update harness/simboard-model/libvpx-source.lock (apt-cache showsrc libvpx in a sid chroot)'
        : 'the cache was left clean; fix the cause (patch, model source) and rerun',
  });
}

/** Hashes of the files the model core is built from (not server/, the other half of harness/simboard-model). */
async function coreSourceHashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const sub of ['src', 'include']) for (const [k, v] of Object.entries(await hashTree(join(dir, sub)))) out[`${sub}/${k}`] = v;
  out.Makefile = createHash('sha256')
    .update(await readFile(join(dir, 'Makefile')))
    .digest('hex');
  return out;
}

/**
 * Returns the model core, building what changed: the patched libvpx when the
 * lock, the patches or the configure arguments changed (fetch ~10 s, build
 * ~3 min at -j2), the model alone when only its sources changed (seconds).
 * Nothing is rebuilt on unchanged inputs (the log says "cached").
 * @throws WorkbenchError E_NOT_ROOT, E_CONFIG (lock), E_SIMBOARD_MODEL_BUILD naming the step (fetch, libvpx, model).
 */
export async function ensureModelCore(opts: {
  runner: Runner;
  log?: (s: string) => void;
  cacheRoot?: string;
  jobs?: number;
  modelDir?: string;
}): Promise<ModelCore> {
  const { runner, log } = opts;
  const dir = opts.modelDir ?? MODEL_CORE_DIR();
  const jobs = String(opts.jobs ?? 2);
  const lock = await loadLibvpxSourceLock(dir);
  const root = await ensureModelRoot({ runner, log, cacheRoot: opts.cacheRoot, suite: lock.suite });
  const patches = await hashTree(join(dir, 'patches'));
  const vpx = await ensureEntry(
    'simboard-model-libvpx',
    libvpxInputs(lock, root.key, patches),
    async (tmp) => {
      requireRoot('building the vdpu381 model core');
      await mkdir(join(tmp, 'apt'), { recursive: true });
      await writeFile(join(tmp, 'apt', 'sources.list'), `deb-src ${discoverDebianMirror()} ${lock.suite} main\n`);
      log?.(`fetching Debian's ${lock.package} ${lock.version} source`);
      const f = await toolboxExec(runner, root.root, scriptArgv(FETCH_SCRIPT, [lock.package, lock.version]), {
        binds: [
          { host: tmp, inside: '/wb/work' },
          { host: join(tmp, 'apt'), inside: '/wb/apt' },
        ],
        timeoutMs: 30 * 60_000,
        allowFailure: true,
      });
      if (f.exitCode !== 0) throw buildError('fetch', `apt-get source ${lock.package}=${lock.version} failed (exit ${f.exitCode})`, f.stderr || f.stdout);
      log?.(`building libvpx ${lock.version} with ${Object.keys(patches).length} patch(es) (make -j${jobs})`);
      const t0 = Date.now();
      const b = await toolboxExec(
        runner,
        root.root,
        scriptArgv(CORE_SCRIPT, ['libvpx', jobs, sourceDirName(lock.package, lock.version), ...LIBVPX_CONFIGURE_ARGS]),
        {
          binds: [
            { host: tmp, inside: '/wb/work' },
            { host: dir, inside: '/wb/model', readOnly: true },
          ],
          timeoutMs: 60 * 60_000,
          allowFailure: true,
        },
      );
      if (b.exitCode !== 0) throw buildError('libvpx', `patch/configure/make failed (exit ${b.exitCode})`, `${b.stdout}\n${b.stderr}`);
      // keep libvpx/ and build/: drop the apt state and the fetched source files
      await rm(join(tmp, 'apt'), { recursive: true, force: true });
      for (const e of await readdir(tmp, { withFileTypes: true })) if (e.isFile()) await rm(join(tmp, e.name), { force: true });
      const seconds = Math.round((Date.now() - t0) / 1000);
      log?.(`libvpx built in ${seconds} s`);
      return { files: ['build/libvpx.a', 'build/vpxdec'], extra: { version: lock.version, buildSeconds: seconds } };
    },
    { root: opts.cacheRoot, log },
  );
  const core = await ensureEntry(
    'simboard-model-core',
    modelCoreInputs(vpx.key, await coreSourceHashes(dir)),
    async (tmp) => {
      requireRoot('building the vdpu381 model core');
      log?.('building the vdpu381 model core');
      const b = await toolboxExec(runner, root.root, scriptArgv(CORE_SCRIPT, ['model', jobs]), {
        binds: [
          { host: vpx.dir, inside: '/wb/work', readOnly: true },
          { host: dir, inside: '/wb/model', readOnly: true },
          { host: tmp, inside: '/wb/out' },
        ],
        timeoutMs: 30 * 60_000,
        allowFailure: true,
      });
      if (b.exitCode !== 0) throw buildError('model', `make failed (exit ${b.exitCode})`, `${b.stdout}\n${b.stderr}`);
      return { files: ['libvdpu381model.a', 'vdpu381-model-offline', 'vpxdec', 'vdpu381_model.h'], extra: { libvpx: lock.version } };
    },
    { root: opts.cacheRoot, log },
  );
  if (vpx.hit && core.hit) log?.(`vdpu381 model core: cached (${core.key}, libvpx ${lock.version})`);
  return {
    libvpxDir: vpx.dir,
    dir: core.dir,
    key: core.key,
    lib: join(core.dir, 'libvdpu381model.a'),
    offline: join(core.dir, 'vdpu381-model-offline'),
    vpxdec: join(core.dir, 'vpxdec'),
    version: lock.version,
    hit: core.hit,
  };
}
