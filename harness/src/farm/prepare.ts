import { existsSync } from 'node:fs';
import { globMatcher } from '../core/glob.ts';
import { basename } from 'node:path';
import { isWorkbenchError, WorkbenchError } from '../core/errors.ts';
import type { Runner } from '../core/runner.ts';
import { artifactsFromPaths, vermagicRelease } from '../deploy/modinfo.ts';
import { buildSeries } from '../kernel/stage.ts';
import { defaultSeriesDir, loadSeries, seriesHash } from '../kernel/series.ts';
import { builtinChecks, type VectorChecks } from '../decode/plugins.ts';
import { DEFAULT_DRIVER } from '../target/boards.ts';
import type { BoardProviders } from '../target/provider.ts';
import { DEFAULT_MANIFEST } from '../toolbox/manifest.ts';
import { generateSuite, loadRecipes } from '../vectors/index.ts';
import { ensureReferences, type ReferenceSet } from '../vectors/references.ts';
import { ensureFarmBoot } from './bootArtefacts.ts';
import { ensureFarmInitramfs, farmModuleDeps } from './initramfs.ts';
import { writeBundle, type Bundle, type BundleModule, type WriteBundleOptions } from './bundle.ts';
import type { FarmChroot } from './chroot.ts';
import type { Profile } from './job.ts';
import { ensureFarmRootfs, FARM_ROOTFS_EXCLUDES } from './rootfs.ts';

/** The suite the generated vectors belong to. */
export const GENERATED_SUITE = 'vp9-features';

/** The board a bundle is for, as the job and the reports need it. */
export interface BundleBoard {
  /** Name recorded in the reports (a board of the registry, or a LAVA device type). */
  name: string;
  /** Kernel driver under test: the driver the board's GStreamer element must be bound to. */
  driver: string;
  /** `board.kind` of the run record (the provider's record kind). */
  recordKind: 'vboard' | 'simboard' | 'board';
}

/**
 * The bundle board named `name`: its profile when the registry knows it
 * (built-in boards, boards.toml: driver and record kind from the profile
 * and its provider), else a LAVA device type (driver {@link DEFAULT_DRIVER}).
 * `driver` overrides the profile's.
 * @throws WorkbenchError E_CONFIG (a broken boards.toml), E_UNKNOWN_BOARD_KIND.
 */
export function bundleBoard(providers: BoardProviders, name: string, driver?: string): BundleBoard {
  try {
    const b = providers.getBoard(name);
    return { name, driver: driver ?? b.driver, recordKind: providers.providerOf(b).recordKind };
  } catch (e) {
    if (!isWorkbenchError(e, 'E_UNKNOWN_BOARD')) throw e;
    return { name, driver: driver ?? DEFAULT_DRIVER, recordKind: 'board' };
  }
}

/**
 * The job's mode for a board: `pixels` when the checks chosen for its
 * profile verify pixels (decode/checks: a decoding device), else `visl`
 * (frames counted and sized only: the driver draws a test pattern).
 */
export function modeFor(board: Pick<BundleBoard, 'name' | 'driver'>, checks: VectorChecks = builtinChecks()): 'pixels' | 'visl' {
  return checks.forBoard(board).verifiesPixels ? 'pixels' : 'visl';
}

/** The farm boot artefacts plus what {@link prepareBundle} needs to add the series' Debian dependencies to the modules tarball. */
export type FarmBootArtefacts = NonNullable<WriteBundleOptions['farmBoot']> & {
  /** The initramfs's Debian module tree (initramfs.ts farmModuleDeps), for the modules overlay. */
  moduleTree?: { dir: string; kernelRelease: string; packages: string[] };
};

/**
 * The farm-rk3588 boot artefacts of a bundle ({@link PrepareOptions.farmBoot}):
 * Debian's arm64 Image and ROCK 5B dtb at the locked kernel version
 * (bootArtefacts.ts ensureFarmBoot, downloaded in the farm chroot), the
 * initramfs that brings up the network and mounts the NFS root
 * (initramfs.ts ensureFarmInitramfs: busybox and Debian's modules of the
 * same kernel, about 35 s the first time) and the NFS root filesystem:
 * `rootfs` when given (`--rootfs`), else the one the workbench builds
 * (rootfs.ts ensureFarmRootfs, cached; minutes the first time). All cached;
 * the bundle records where each came from.
 * @param o.rootfs host path of a root filesystem tarball to use instead of the built one.
 * @throws WorkbenchError E_USAGE (no such `rootfs`), E_FARM_BOOT, E_FARM_INITRAMFS, E_FARM_ROOTFS, E_NOT_ROOT, E_LOCK_STALE, E_TOOL_MISSING.
 */
export async function farmBootFor(o: {
  chroot: Pick<FarmChroot, 'exec'>;
  rootfs?: string;
  runner: Runner;
  log: (m: string) => void;
}): Promise<FarmBootArtefacts> {
  if (o.rootfs && !existsSync(o.rootfs))
    throw new WorkbenchError('E_USAGE', `--rootfs ${o.rootfs}: no such file`, { hint: 'leave --rootfs out to use the root filesystem the workbench builds' });
  const boot = await ensureFarmBoot(o.chroot, { runner: o.runner, log: o.log });
  const initrd = await ensureFarmInitramfs(o.chroot, { runner: o.runner, dtb: boot.dtb, log: o.log });
  const kernel = `Debian ${boot.packages.join(' ')}; initramfs farm-initramfs/${initrd.key} (${initrd.packages.join(' ')}, ${initrd.modules.length} modules)`;
  const common = {
    kernel: boot.kernel,
    dtb: boot.dtb,
    ramdisk: initrd.path,
    initramfs: { cacheEntry: `farm-initramfs/${initrd.key}`, packages: initrd.packages, byName: initrd.byName, board: initrd.board, modules: initrd.modules },
    moduleTree: { dir: initrd.moduleTree, kernelRelease: initrd.kernelRelease, packages: initrd.packages },
  };
  if (o.rootfs) return { source: `${kernel}; NFS root ${o.rootfs}`, ...common, nfsrootfs: o.rootfs, rootfs: { origin: 'file', path: o.rootfs } };
  const r = await ensureFarmRootfs({ runner: o.runner, log: o.log });
  return {
    source: `${kernel}; NFS root built by the workbench (farm-rootfs/${r.key}: Debian ${r.suite} arm64, ${r.packages.length} packages)`,
    ...common,
    nfsrootfs: r.path,
    rootfs: {
      origin: 'workbench',
      cacheEntry: `farm-rootfs/${r.key}`,
      suite: r.suite,
      architecture: 'arm64',
      include: [...r.include],
      excludes: [...FARM_ROOTFS_EXCLUDES],
      packages: r.packages,
    },
  };
}

/** Options of {@link prepareBundle}. */
export interface PrepareOptions {
  dir: string;
  profile: Profile;
  urlBase: string;
  board: BundleBoard;
  /** Vector files; default: the generated vp9-features suite filtered by `glob`. */
  files?: string[];
  glob?: string;
  /** Built .ko files (or folders); default: build the series for the profile's kernel. */
  modules?: string[];
  /** Default: {@link modeFor} the board. */
  mode?: 'pixels' | 'visl';
  jobName?: string;
  prompts?: string[];
  tags?: string[];
  vectorTimeoutS?: number;
  /** farm-rk3588: boot artefacts to put in the bundle ({@link farmBootFor}). */
  farmBoot?: FarmBootArtefacts;
  runner: Runner;
  log: (m: string) => void;
}

/**
 * Vector files of a job: the given files, or the generated vp9-features
 * vectors (vpxenc, cached) whose recipe names match `glob`.
 * @throws WorkbenchError E_NO_VECTORS when the glob matches nothing.
 */
export async function jobVectors(
  o: Pick<PrepareOptions, 'files' | 'glob' | 'runner' | 'log'>,
): Promise<{ name: string; file: string; features: string[]; suite: string }[]> {
  if (o.files?.length) return o.files.map((f) => ({ name: basename(f), file: f, features: [], suite: 'files' }));
  const recipes = loadRecipes();
  let names = recipes.vectors.map((v) => v.name);
  if (o.glob) names = names.filter(globMatcher(o.glob));
  if (!names.length)
    throw new WorkbenchError('E_NO_VECTORS', `--vectors ${o.glob} matches no vector of ${GENERATED_SUITE}`, {
      hint: `vectors: ${recipes.vectors.map((v) => v.name).join(', ')}`,
    });
  const gen = await generateSuite({ only: names, log: o.log, runner: o.runner });
  return gen.vectors.map((v) => ({ name: basename(v.path), file: v.path, features: [...v.features], suite: GENERATED_SUITE }));
}

/**
 * Builds a job bundle (farm/bundle.ts): the vectors and their libvpx
 * references, the modules (given, or built from the series for the
 * profile's kernel: amd64 for the ssh profile's vboard, arm64 for
 * farm-rk3588), and the rendered job. For farm-rk3588 with the
 * initramfs's module tree ({@link farmBootFor}), the Debian modules the
 * series' modules depend on go into the modules tarball too (the NFS root
 * has none), when the modules are built for that kernel.
 * @throws WorkbenchError E_NO_VECTORS, E_NO_MODULES, E_BUILD_FAILED, E_FARM_INITRAMFS, the bundle's errors.
 */
export async function prepareBundle(o: PrepareOptions): Promise<{ bundle: Bundle; job: string; references: Map<string, ReferenceSet> }> {
  const vectors = await jobVectors(o);
  const references = new Map<string, ReferenceSet>();
  for (const v of vectors) references.set(v.name, await ensureReferences(v.file, { runner: o.runner, log: o.log }));
  let modules: BundleModule[];
  let kernelRelease: string;
  let kernel: Bundle['kernel'];
  if (o.modules?.length) {
    modules = await artifactsFromPaths(o.modules);
    const rels = [...new Set(modules.map((m) => vermagicRelease(m.vermagic)))];
    if (rels.length !== 1)
      throw new WorkbenchError('E_NO_MODULES', `the modules are built for ${rels.length} kernel releases (${rels.join(', ')})`, {
        hint: 'pass modules built for one kernel',
      });
    kernelRelease = rels[0]!;
  } else {
    const target = o.profile === 'farm-rk3588' ? 'arm64' : 'amd64';
    o.log(`building the series for ${target}`);
    const r = await buildSeries({ target, log: o.log, runner: o.runner });
    if (!r.ok)
      throw new WorkbenchError('E_BUILD_FAILED', `the series does not build for ${r.kernelRelease}`, {
        exitCode: 1,
        hint: 'run `workbench build --for ' + target + '` to see the diagnostics',
      });
    modules = r.modules.map((m) => ({ name: m.name, path: m.path, vermagic: m.vermagic, sha256: m.sha256 }));
    kernelRelease = r.kernelRelease;
    const series = await loadSeries(defaultSeriesDir(), o.runner);
    kernel = {
      manifest: DEFAULT_MANIFEST,
      baseCommit: r.baseCommit,
      seriesCommit: r.head,
      seriesHash: seriesHash(series.patches.map((p) => p.sha256)),
      patches: series.patches.map((p) => ({ file: basename(p.name), subject: p.subject, sha256: p.sha256 })),
      diagnostics: {
        errors: r.diagnostics.filter((d) => d.severity === 'error').length,
        warnings: r.diagnostics.filter((d) => d.severity === 'warning').length,
      },
    };
  }
  let farmBoot: WriteBundleOptions['farmBoot'];
  if (o.farmBoot) {
    const { moduleTree, ...rest } = o.farmBoot;
    farmBoot = rest;
    if (moduleTree && o.profile === 'farm-rk3588') {
      if (moduleTree.kernelRelease === kernelRelease) {
        const deps = await farmModuleDeps(
          { moduleTree: moduleTree.dir, kernelRelease, packages: moduleTree.packages },
          modules.map((m) => m.path),
          o.runner,
        );
        o.log(`modules overlay: ${deps.files.length} Debian modules the series' modules depend on (${deps.source})`);
        farmBoot = { ...rest, moduleDeps: deps };
      } else {
        o.log(`the modules are built for ${kernelRelease}, not the farm kernel ${moduleTree.kernelRelease}: no Debian dependency modules added to the overlay`);
      }
    }
  }
  const suite = vectors[0]?.suite ?? GENERATED_SUITE;
  const { bundle, job } = await writeBundle({
    dir: o.dir,
    profile: o.profile,
    jobName: o.jobName ?? `vp9wb ${suite} on ${o.board.name} (${o.profile})`,
    urlBase: o.urlBase,
    suite,
    driver: o.board.driver,
    mode: o.mode ?? modeFor(o.board),
    board: o.board.name,
    recordKind: o.board.recordKind,
    kernelRelease,
    modules,
    ...(kernel ? { kernel } : {}),
    ...(farmBoot ? { farmBoot } : {}),
    vectors: vectors.map((v) => ({ name: v.name, file: v.file, features: v.features, references: references.get(v.name)! })),
    runner: o.runner,
    ...(o.prompts ? { prompts: o.prompts } : {}),
    ...(o.tags ? { tags: o.tags } : {}),
    ...(o.vectorTimeoutS ? { vectorTimeoutS: o.vectorTimeoutS } : {}),
  });
  return { bundle, job, references };
}
