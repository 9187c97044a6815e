import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { sha256File } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import type { Runner } from '../core/runner.ts';
import { frameBytes, geometryOf } from '../compare/layout.ts';
import { demuxerFor } from '../decode/plugins.ts';
import { DEFAULT_MODULE_DIR } from '../target/boards.ts';
import type { ReferenceSet } from '../vectors/references.ts';
import { caseNames, DEFAULT_FARM_BOOT, renderJob, PROFILES, type FarmArtefact, type JobSpec, type JobVector } from './job.ts';

/**
 * A job bundle: everything one LAVA job needs and everything `lava collect`
 * needs afterwards, in one folder:
 * - `artefacts/` (what the board downloads, served from the URL base):
 *   `modules.tar.xz` (module files at their board paths), `vectors/<file>`,
 *   `refs/<case>.sha256` (expected SHA-256 per output frame, libvpx);
 * - `job.yaml`: the LAVA job;
 * - `bundle.json` ({@link BundleSchema}): the vectors with their reference
 *   identity, the modules, profile, driver and mode.
 */

/** One vector of a bundle. */
export const BundleVectorSchema = z.object({
  name: z.string(),
  caseName: z.string(),
  suite: z.string(),
  features: z.array(z.string()),
  /** Host path of the vector (collect recomputes references from it, cached). */
  path: z.string(),
  file: z.string(),
  sha256: z.string(),
  demuxer: z.enum(['ivfparse', 'matroskademux']),
  frameSizes: z.array(z.number().int().positive()),
  /** Whole-output MD5 of the reference (Fluster's result). */
  md5: z.string().nullable(),
});
export type BundleVector = z.infer<typeof BundleVectorSchema>;

/**
 * Where a bundle's NFS root filesystem came from: built by the workbench
 * (farm/rootfs.ts: the cache entry, the mmdebstrap suite and package list,
 * the paths left out, and every package unpacked with its version, from the
 * image's own record), or a file given with `--rootfs`.
 */
export const FarmRootfsOriginSchema = z.discriminatedUnion('origin', [
  z.object({
    origin: z.literal('workbench'),
    /** `farm-rootfs/<key>` under the workbench cache. */
    cacheEntry: z.string(),
    suite: z.string(),
    architecture: z.string(),
    /** The packages the recipe names (mmdebstrap --include, besides `?essential`). */
    include: z.array(z.string()),
    /** dpkg path-exclude globs. */
    excludes: z.array(z.string()),
    /** Every package unpacked (`files`: only these files were taken from it). */
    packages: z.array(z.object({ name: z.string(), version: z.string(), architecture: z.string(), files: z.array(z.string()).optional() })),
  }),
  z.object({ origin: z.literal('file'), path: z.string() }),
]);
export type FarmRootfsOrigin = z.infer<typeof FarmRootfsOriginSchema>;

/** bundle.json. */
export const BundleSchema = z.object({
  schema: z.literal('vp9-workbench/lava-bundle'),
  /** 2: `recordKind` added. */
  version: z.literal(2),
  createdAt: z.string(),
  profile: z.enum(PROFILES),
  jobName: z.string(),
  urlBase: z.string(),
  suite: z.string(),
  driver: z.string(),
  mode: z.enum(['pixels', 'visl']),
  board: z.string(),
  /** `board.kind` of the run record: the board provider's record kind (`vboard`), `board` for a LAVA device type. */
  recordKind: z.enum(['vboard', 'simboard', 'board']),
  kernelRelease: z.string(),
  modules: z.array(z.object({ name: z.string(), file: z.string(), sha256: z.string(), vermagic: z.string(), size: z.number().int() })),
  modulesTarSha256: z.string(),
  reference: z.object({ name: z.string(), version: z.string() }).optional(),
  /**
   * The kernel base and the series the modules were built from (absent when
   * the modules were given as files): collect copies it into the run record,
   * `workbench nightly` prints it for every run.
   */
  kernel: z
    .object({
      manifest: z.string(),
      baseCommit: z.string(),
      /** HEAD of the work tree the modules were built in: the series applied on the base (the series commit). */
      seriesCommit: z.string(),
      seriesHash: z.string(),
      patches: z.array(z.object({ file: z.string(), subject: z.string().optional(), sha256: z.string() })),
      diagnostics: z.object({ errors: z.number().int(), warnings: z.number().int() }),
    })
    .optional(),
  /**
   * farm-rk3588: the boot artefacts under `artefacts/farm/` (Image,
   * rk3588-rock-5b.dtb, initrd.cpio.gz, rootfs.tar.xz) with their SHA-256
   * (checked by LAVA after the download) and where they came from; a
   * missing one is not in the bundle and must be served at its URL by other
   * means.
   */
  farm: z
    .object({
      source: z.string(),
      files: z.partialRecord(z.enum(['kernel', 'dtb', 'ramdisk', 'nfsrootfs']), z.object({ file: z.string(), sha256: z.string() })),
      /** Where `rootfs.tar.xz` came from (absent in bundles written before it was recorded). */
      rootfs: FarmRootfsOriginSchema.optional(),
      /** What `initrd.cpio.gz` holds (farm/initramfs.ts): its cache entry, packages, and the modules in it. */
      initramfs: z
        .object({
          cacheEntry: z.string(),
          packages: z.array(z.string()),
          /** Modules /init loads by name, and those of the board's device tree (loaded by modalias). */
          byName: z.array(z.string()),
          board: z.array(z.string()),
          /** Every module file in it (relative to /lib/modules/<release>/). */
          modules: z.array(z.string()),
        })
        .optional(),
      /**
       * Debian modules the series' modules depend on, in `modules.tar.xz`
       * next to them at their Debian paths (farm/initramfs.ts
       * farmModuleDeps): the NFS root has no kernel modules of its own.
       */
      moduleDeps: z.object({ source: z.string(), files: z.array(z.object({ file: z.string(), sha256: z.string() })) }).optional(),
    })
    .optional(),
  vectors: z.array(BundleVectorSchema),
});
export type Bundle = z.infer<typeof BundleSchema>;

/** A module to put in the bundle. */
export interface BundleModule {
  name: string;
  path: string;
  vermagic: string;
  sha256: string;
}

/** Options of {@link writeBundle}. */
export interface WriteBundleOptions {
  dir: string;
  profile: JobSpec['profile'];
  jobName: string;
  urlBase: string;
  suite: string;
  driver: string;
  mode: 'pixels' | 'visl';
  board: string;
  recordKind: Bundle['recordKind'];
  kernelRelease: string;
  modules: BundleModule[];
  kernel?: Bundle['kernel'];
  /**
   * farm-rk3588: host paths of the boot artefacts to copy into
   * `artefacts/farm/`, their origin, the root filesystem's and the
   * initramfs's; `moduleDeps`: Debian modules to add to `modules.tar.xz`
   * (host path, board path under `/lib/modules/<release>/`).
   */
  farmBoot?: {
    source: string;
    kernel?: string;
    dtb?: string;
    ramdisk?: string;
    nfsrootfs?: string;
    rootfs?: FarmRootfsOrigin;
    initramfs?: NonNullable<Bundle['farm']>['initramfs'];
    moduleDeps?: { source: string; files: { src: string; file: string }[] };
  };
  vectors: { name: string; file: string; features: readonly string[]; references: ReferenceSet }[];
  runner: Runner;
  prompts?: string[];
  tags?: string[];
  vectorTimeoutS?: number;
}

/**
 * Bytes of every output frame of a reference (planar, unpadded: what
 * videocodectestsink writes).
 * @throws WorkbenchError E_REF_GEOMETRY for a pixel format the layout does not know.
 */
export function referenceFrameSizes(ref: ReferenceSet): number[] {
  return ref.frames.map((f) => {
    const g = geometryOf(f.pixelFormat, f.width, f.height);
    if (!g) throw new WorkbenchError('E_REF_GEOMETRY', `${ref.vector} frame ${f.index}: unknown pixel format ${f.pixelFormat}`);
    return frameBytes(g);
  });
}

/** The JobSpec a bundle renders to. */
export function jobSpecOf(b: Bundle, extra: Pick<WriteBundleOptions, 'prompts' | 'tags' | 'vectorTimeoutS'> = {}): JobSpec {
  const vectors: JobVector[] = b.vectors.map((v) => ({
    name: v.name,
    caseName: v.caseName,
    file: v.file,
    sha256: v.sha256,
    demuxer: v.demuxer,
    frameSizes: v.frameSizes,
  }));
  return {
    profile: b.profile,
    jobName: b.jobName,
    urlBase: b.urlBase,
    driver: b.driver,
    mode: b.mode,
    suite: b.suite,
    modules: { sha256: b.modulesTarSha256, names: b.modules.map((m) => m.name) },
    vectors,
    ...(b.farm
      ? { farm: { sha256: Object.fromEntries(Object.entries(b.farm.files).map(([k, f]) => [k, f?.sha256])) as Partial<Record<FarmArtefact, string>> } }
      : {}),
    ...(extra.prompts ? { prompts: extra.prompts } : {}),
    ...(extra.tags ? { tags: extra.tags } : {}),
    ...(extra.vectorTimeoutS ? { vectorTimeoutS: extra.vectorTimeoutS } : {}),
  };
}

/**
 * Writes a bundle folder (see the module doc) and renders its job. The
 * folder is written under a temporary name and renamed at the end, so a
 * failed call leaves no half bundle.
 * @throws WorkbenchError E_BUNDLE_EXISTS when `dir` exists, E_LAVA_NAME, E_LAVA_URL, tar's failures.
 */
export async function writeBundle(o: WriteBundleOptions): Promise<{ bundle: Bundle; job: string }> {
  if (existsSync(o.dir))
    throw new WorkbenchError('E_BUNDLE_EXISTS', `${o.dir} already exists`, { hint: 'pick a new --out folder (bundles are never overwritten)' });
  const tmp = `${o.dir}.part-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    const art = join(tmp, 'artefacts');
    await mkdir(join(art, 'vectors'), { recursive: true });
    await mkdir(join(art, 'refs'), { recursive: true });
    // modules at their board paths (the default module_dir), packed with the host's tar + xz
    const modDir = DEFAULT_MODULE_DIR.replace('{release}', o.kernelRelease).replace(/^\//, '');
    const stage = join(tmp, 'modules-root');
    await mkdir(join(stage, modDir), { recursive: true });
    for (const m of o.modules) await copyFile(m.path, join(stage, modDir, basename(m.path)));
    const deps = o.farmBoot?.moduleDeps?.files ?? [];
    for (const d of deps) {
      if (!d.file.startsWith(`/lib/modules/${o.kernelRelease}/`) || d.file.includes('..'))
        throw new WorkbenchError('E_INTERNAL', `module dependency ${d.file} is not under /lib/modules/${o.kernelRelease}/`);
      await mkdir(join(stage, dirname(d.file)), { recursive: true });
      await copyFile(d.src, join(stage, d.file));
    }
    await o.runner.run([
      'tar',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '-cJf',
      join(art, 'modules.tar.xz'),
      '-C',
      stage,
      modDir,
      ...deps.map((d) => d.file.slice(1)),
    ]);
    await rm(stage, { recursive: true, force: true });
    const cases = caseNames(o.vectors.map((v) => v.name));
    const vectors: BundleVector[] = [];
    for (const [i, v] of o.vectors.entries()) {
      const file = basename(v.file);
      await copyFile(v.file, join(art, 'vectors', file));
      await writeFile(join(art, 'refs', `${cases[i]}.sha256`), v.references.frames.map((f) => f.i420.sha256).join('\n') + '\n');
      vectors.push({
        name: v.name,
        caseName: cases[i]!,
        suite: o.suite,
        features: [...v.features],
        path: v.file,
        file,
        sha256: await sha256File(v.file),
        demuxer: await demuxerFor(v.file),
        frameSizes: referenceFrameSizes(v.references),
        md5: v.references.md5,
      });
    }
    let farm: Bundle['farm'];
    if (o.farmBoot) {
      const names = {
        kernel: DEFAULT_FARM_BOOT.kernel,
        dtb: DEFAULT_FARM_BOOT.dtb,
        ramdisk: DEFAULT_FARM_BOOT.ramdisk,
        nfsrootfs: DEFAULT_FARM_BOOT.nfsrootfs,
      };
      const files: NonNullable<Bundle['farm']>['files'] = {};
      for (const k of ['kernel', 'dtb', 'ramdisk', 'nfsrootfs'] as const) {
        const src = o.farmBoot[k];
        if (!src) continue;
        await mkdir(join(art, 'farm'), { recursive: true });
        await copyFile(src, join(art, names[k]));
        files[k] = { file: names[k], sha256: await sha256File(src) };
      }
      farm = {
        source: o.farmBoot.source,
        files,
        ...(o.farmBoot.nfsrootfs && o.farmBoot.rootfs ? { rootfs: o.farmBoot.rootfs } : {}),
        ...(o.farmBoot.ramdisk && o.farmBoot.initramfs ? { initramfs: o.farmBoot.initramfs } : {}),
        ...(deps.length
          ? {
              moduleDeps: {
                source: o.farmBoot.moduleDeps!.source,
                files: await Promise.all(deps.map(async (d) => ({ file: d.file, sha256: await sha256File(d.src) }))),
              },
            }
          : {}),
      };
    }
    const ref0 = o.vectors[0]?.references;
    const bundle: Bundle = {
      schema: 'vp9-workbench/lava-bundle',
      version: 2,
      createdAt: new Date().toISOString(),
      profile: o.profile,
      jobName: o.jobName,
      urlBase: o.urlBase,
      suite: o.suite,
      driver: o.driver,
      mode: o.mode,
      board: o.board,
      recordKind: o.recordKind,
      kernelRelease: o.kernelRelease,
      modules: o.modules.map((m) => ({ name: m.name, file: `/${modDir}/${basename(m.path)}`, sha256: m.sha256, vermagic: m.vermagic, size: 0 })),
      modulesTarSha256: await sha256File(join(art, 'modules.tar.xz')),
      ...(ref0 ? { reference: { name: 'libvpx vpxdec', version: ref0.decoder } } : {}),
      ...(o.kernel ? { kernel: o.kernel } : {}),
      ...(farm ? { farm } : {}),
      vectors,
    };
    for (const [i, m] of bundle.modules.entries()) m.size = (await stat(o.modules[i]!.path)).size;
    const job = renderJob(jobSpecOf(bundle, o));
    await writeFile(join(tmp, 'job.yaml'), job);
    await writeFile(join(tmp, 'bundle.json'), JSON.stringify(bundle, null, 2) + '\n');
    await rename(tmp, o.dir);
    return { bundle, job };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Reads a bundle folder's bundle.json.
 * @throws WorkbenchError E_BUNDLE_INVALID naming the file and the field.
 */
export async function loadBundle(dir: string): Promise<Bundle> {
  const file = join(dir, 'bundle.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new WorkbenchError('E_BUNDLE_INVALID', `cannot read ${file}: ${(e as Error).message}`, {
      hint: 'point --bundle at a folder written by `workbench lava job`',
    });
  }
  const r = BundleSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new WorkbenchError('E_BUNDLE_INVALID', `${file}: field ${i.path.join('.') || '(root)'}: ${i.message}`, {
      hint: 'regenerate it with `workbench lava job`',
    });
  }
  return r.data;
}
