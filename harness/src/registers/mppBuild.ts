import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureEntry } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { tail } from '../core/text.ts';
import type { Runner } from '../core/runner.ts';
import { ensureMppChroot, type MppChroot } from './mppChroot.ts';
import { ensureMppSource, type MppSource } from './mppSource.ts';

/** Bumped when the way MPP is built changes (part of the cache key). */
export const MPP_BUILD_FORMAT = 2;
/** Bumped when the way the shim is built changes (part of the cache key). */
export const MPP_SHIM_FORMAT = 1;

/** The shim's C source (this folder's `shim/`). */
export const SHIM_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'shim', 'mpp_service_shim.c');

/**
 * CMake arguments of the MPP build: a release build (NDEBUG, no `-g`) of
 * the library and its test programs (`mpi_dec_test`), compiled at -O0: the
 * recorder runs MPP on a few hundred small frames, so compile time is what
 * counts (-O0 compiles MPP's files 4-5x faster than CMake's Release -O3,
 * measured on vp9d_parser.c 11.1 s -> 2.2 s), and -O0 takes the C source
 * most literally. MPP's top-level CMakeLists.txt asks for CMake 2.8.8, which
 * CMake 4 refuses unless `CMAKE_POLICY_VERSION_MINIMUM` is given (CMake 4.0
 * release notes); no MPP file is edited.
 */
export const MPP_CMAKE_ARGS: readonly string[] = [
  '-DCMAKE_BUILD_TYPE=Release',
  '-DCMAKE_C_FLAGS_RELEASE=-O0 -DNDEBUG',
  '-DCMAKE_CXX_FLAGS_RELEASE=-O0 -DNDEBUG',
  '-DBUILD_TEST=ON',
  '-DCMAKE_POLICY_VERSION_MINIMUM=3.5',
];

/** Compiler command of the shim (inside the chroot). */
export const SHIM_CFLAGS: readonly string[] = ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror', '-std=gnu11'];

/** The built MPP test decoder and the device-layer shim, ready to run in the chroot. */
export interface MppRig {
  chroot: MppChroot;
  source: MppSource;
  /** Host folder holding `mpi_dec_test` and `librockchip_mpp.so*` (run it with LD_LIBRARY_PATH set to this folder). */
  binDir: string;
  /** Host path of the shim `.so`. */
  shimPath: string;
  /** Cache keys of the two entries. */
  buildKey: string;
  shimKey: string;
  /** True when MPP was built by this call (not from the cache). */
  built: boolean;
  /** Seconds the MPP build took when built now. */
  buildSeconds: number | null;
}

/** Options of {@link ensureMppRig}. */
export interface EnsureMppRigOptions {
  runner: Runner;
  log?: (m: string) => void;
  cacheRoot?: string;
  /** MPP mirror (see resolveMppMirror); `null` forces a download. */
  mirror?: string | null;
  /** Parallel compile jobs (default 2). */
  jobs?: number;
}

/** SHA-256 of the shim source (part of the shim's cache key). */
export async function shimSourceSha256(path = SHIM_SOURCE): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/**
 * Builds (once, cached) Rockchip MPP's `mpi_dec_test` for the host inside
 * the MPP chroot, and the LD_PRELOAD device-layer shim. Two cache entries:
 * `mpp-build/<key>` (key: chroot key, MPP commit and tree hash, CMake
 * arguments) and `mpp-shim/<key>` (key: chroot key, shim source SHA-256,
 * compiler flags), so a shim change never rebuilds MPP. Both are written
 * to a temporary directory and renamed into place.
 *
 * @throws WorkbenchError from the chroot and source steps, and
 *   `E_MPP_BUILD` / `E_MPP_SHIM_BUILD` with the compiler's last lines.
 */
export async function ensureMppRig(opts: EnsureMppRigOptions): Promise<MppRig> {
  const chroot = await ensureMppChroot({ runner: opts.runner, log: opts.log, cacheRoot: opts.cacheRoot });
  const source = await ensureMppSource({ mirror: opts.mirror, cacheRoot: opts.cacheRoot, log: opts.log });
  const jobs = opts.jobs ?? 2;
  let buildSeconds: number | null = null;
  const build = await ensureEntry(
    'mpp-build',
    { format: MPP_BUILD_FORMAT, chroot: chroot.key, commit: source.manifest.commit, tree: source.manifest.tree_sha256, cmake: [...MPP_CMAKE_ARGS] },
    async (tmp) => {
      const started = Date.now();
      opts.log?.(`building MPP ${source.manifest.commit.slice(0, 12)} for the host (mpi_dec_test); a few minutes, once`);
      await mkdir(join(tmp, 'build'));
      // MPP's configure step writes mpp/version.h into the source tree: build from a copy.
      await cp(source.dir, join(tmp, 'src'), { recursive: true });
      const binds = [
        { host: join(tmp, 'src'), inside: '/src' },
        { host: join(tmp, 'build'), inside: '/build' },
      ];
      const run = async (argv: string[]) => {
        const r = await chroot.exec(argv, { binds, cwd: '/build', allowFailure: true, timeoutMs: 60 * 60_000 });
        if (r.exitCode !== 0) {
          throw new WorkbenchError('E_MPP_BUILD', `MPP build step \`${argv.join(' ')}\` failed (exit ${r.exitCode}):\n${tail(r.stdout + r.stderr, 25)}`, {
            hint: 'the chroot or the MPP source changed; rerun with a fresh cache entry (it was not stored)',
          });
        }
      };
      await run(['cmake', '-S', '/src', '-B', '/build', ...MPP_CMAKE_ARGS]);
      await run(['cmake', '--build', '/build', '--target', 'mpi_dec_test', '-j', String(jobs)]);
      const bin = join(tmp, 'build', 'test', 'mpi_dec_test');
      if (!existsSync(bin)) throw new WorkbenchError('E_MPP_BUILD', `MPP build produced no test/mpi_dec_test in ${join(tmp, 'build')}`);
      await mkdir(join(tmp, 'bin'));
      await copyFile(bin, join(tmp, 'bin', 'mpi_dec_test'));
      // mpi_dec_test links MPP's shared library (mpp/CMakeLists.txt, test/CMakeLists.txt); run with LD_LIBRARY_PATH=<bin>.
      const libs = (await readdir(join(tmp, 'build', 'mpp'))).filter((n) => n.startsWith('librockchip_mpp.so'));
      if (!libs.length) throw new WorkbenchError('E_MPP_BUILD', `MPP build produced no librockchip_mpp.so in ${join(tmp, 'build', 'mpp')}`);
      for (const n of libs) await copyFile(join(tmp, 'build', 'mpp', n), join(tmp, 'bin', n));
      await rm(join(tmp, 'build'), { recursive: true, force: true });
      await rm(join(tmp, 'src'), { recursive: true, force: true });
      buildSeconds = (Date.now() - started) / 1000;
      return { files: ['bin/mpi_dec_test', ...libs.map((n) => `bin/${n}`)], extra: { buildSeconds, origin: source.origin } };
    },
    { root: opts.cacheRoot, log: opts.log },
  );
  const shimSha = await shimSourceSha256();
  const shim = await ensureEntry(
    'mpp-shim',
    { format: MPP_SHIM_FORMAT, chroot: chroot.key, source: shimSha, cflags: [...SHIM_CFLAGS] },
    async (tmp) => {
      await copyFile(SHIM_SOURCE, join(tmp, 'mpp_service_shim.c'));
      const r = await chroot.exec(['gcc', ...SHIM_CFLAGS, '-o', '/shim/libwbmppshim.so', '/shim/mpp_service_shim.c', '-ldl', '-lcrypto'], {
        binds: [{ host: tmp, inside: '/shim' }],
        allowFailure: true,
      });
      if (r.exitCode !== 0) {
        throw new WorkbenchError('E_MPP_SHIM_BUILD', `the MPP device-layer shim does not compile:\n${tail(r.stderr + r.stdout, 25)}`, {
          hint: `fix ${SHIM_SOURCE}`,
        });
      }
      return { files: ['libwbmppshim.so'] };
    },
    { root: opts.cacheRoot, log: opts.log },
  );
  return {
    chroot,
    source,
    binDir: join(build.dir, 'bin'),
    shimPath: join(shim.dir, 'libwbmppshim.so'),
    buildKey: build.key,
    shimKey: shim.key,
    built: !build.hit,
    buildSeconds: build.hit ? ((build.meta.extra?.buildSeconds as number | undefined) ?? null) : buildSeconds,
  };
}
