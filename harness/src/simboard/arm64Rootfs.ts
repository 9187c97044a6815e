import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkbenchError } from '../core/errors.ts';
import { discoverDebianMirror } from '../core/mirror.ts';
import { shellQuote } from '../core/quote.ts';
import type { Runner } from '../core/runner.ts';
import { loadScript, scriptArgv, type ShellScript } from '../core/scripts.ts';
import type { KernelLock, KernelManifest } from '../model/manifest.ts';
import { MINIMAL_DPKG_OPTIONS, mmdebstrapArgv, mmdebstrapFailure } from '../toolbox/mmdebstrap.ts';
import { GST_PLUGIN_FILES } from '../vboard/image.ts';

/**
 * An arm64 Debian root filesystem unpacked on the host, shared by the
 * simboard image (simboard/image.ts) and the farm-rk3588 NFS root
 * (farm/rootfs.ts): `mmdebstrap --variant=extract` (every package of the
 * list and its hard dependencies unpacked with dpkg-deb; no maintainer
 * script runs, so no arm64 code runs on the host and no qemu-user is
 * needed: an emulated dpkg did not finish in 60 min), two extract hooks
 * (debManifest.sh: the record of the unpacked packages; gstPlugins.sh: the
 * vboard's selected GStreamer plugin files), then extractFixup.sh (users,
 * groups, shadow, shell start-up files, alternatives) with host tools only.
 * What is left is each image's own fix-up script.
 */

/** mmdebstrap extract hook that writes the package record (debManifest.sh). */
const DEB_MANIFEST = loadScript(import.meta.url, 'debManifest.sh');
/** mmdebstrap extract hook that unpacks the selected GStreamer plugin files (gstPlugins.sh). */
const GST_PLUGINS = loadScript(import.meta.url, 'gstPlugins.sh');
/** Host-side fix-ups every extracted image needs (extractFixup.sh; ROOT only). */
const EXTRACT_FIXUP = loadScript(import.meta.url, 'extractFixup.sh');

/** Where debManifest.sh (and gstPlugins.sh) write the package record inside the image. */
export const ROOTFS_PACKAGES_FILE = 'var/lib/workbench/rootfs-packages';

/** SHA-256 (hex) of a script's text: what an image's cache key holds for it. */
export function scriptHash(s: ShellScript): string {
  return createHash('sha256').update(s.text).digest('hex');
}

/**
 * The parts of an extracted image's recipe this module owns, for the
 * image's cache key: the hashes of the two hooks and of the shared fix-up.
 * The simboard keeps its historic key names (`gstPlugins`).
 */
export function arm64RootfsRecipe(): { gstPlugins: string; debManifest: string; extractFixup: string } {
  return { gstPlugins: scriptHash(GST_PLUGINS), debManifest: scriptHash(DEB_MANIFEST), extractFixup: scriptHash(EXTRACT_FIXUP) };
}

/** One line of the package record. */
export interface RootfsPackage {
  name: string;
  /** Debian version, e.g. `1.28.8-1`. */
  version: string;
  /** `arm64` or `all`. */
  architecture: string;
  /** Only these files were taken from the package (the GStreamer plugins); absent: the whole package. */
  files?: string[];
}

/**
 * Parses the package record ({@link ROOTFS_PACKAGES_FILE}): one package a
 * line, `NAME<TAB>VERSION<TAB>ARCH[<TAB>FILE FILE...]`.
 * @throws WorkbenchError E_INTERNAL on a line that is not of that shape.
 */
export function parseRootfsPackages(text: string): RootfsPackage[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [name, version, architecture, files] = l.split('\t');
      if (!name || !version || !architecture) throw new WorkbenchError('E_INTERNAL', `package record line "${l}" is not NAME<TAB>VERSION<TAB>ARCH`);
      return { name, version, architecture, ...(files ? { files: files.split(' ').filter(Boolean) } : {}) };
    });
}

/** Options of {@link extractRootfsArgv}. */
export interface ExtractOptions {
  /** `package:file.so` GStreamer plugin files for gstPlugins.sh (default: the vboard's GST_PLUGIN_FILES). */
  pluginFiles?: readonly string[];
  /** dpkg `path-exclude=` globs on top of MINIMAL_DPKG_OPTIONS (files of the listed packages left out). */
  pathExcludes?: readonly string[];
}

/**
 * argv of the arm64 root filesystem unpack: `mmdebstrap --variant=extract`
 * of `include` plus `?essential` (the extract variant installs nothing by
 * default). mmdebstrapArgv knows the install variants only, so its
 * `--variant=` word is replaced here. Two extract hooks run on the host, in
 * this order: debManifest.sh (the package record), then gstPlugins.sh (the
 * plugin files, appended to the record). mmdebstrap runs no customize hook
 * for this variant (checked with mmdebstrap 1.3.5 on 2026-12-02: a
 * customize hook's file never appeared, an extract hook's did).
 */
export function extractRootfsArgv(suite: string, target: string, mirror: string, include: readonly string[], o: ExtractOptions = {}): string[] {
  const hook = (s: ShellScript, args: readonly string[]) => ['sh', shellQuote(s.path), '"$1"', ...args.map(shellQuote)].join(' ');
  const argv = mmdebstrapArgv({
    suite,
    target,
    mirror,
    include,
    architectures: ['arm64'],
    dpkgOptions: [...MINIMAL_DPKG_OPTIONS, ...(o.pathExcludes ?? []).map((g) => `path-exclude=${g}`)],
    extractHooks: [hook(DEB_MANIFEST, []), hook(GST_PLUGINS, o.pluginFiles ?? GST_PLUGIN_FILES)],
  }).map((a) => (a.startsWith('--variant=') ? '--variant=extract' : a));
  // mmdebstrap splits one --include= at commas unless it holds an apt pattern: the pattern gets its own option.
  argv.splice(
    argv.findIndex((a) => a.startsWith('--include=')),
    0,
    '--include=?essential',
  );
  return argv;
}

/** What {@link unpackArm64Rootfs} unpacks. */
export interface Arm64RootfsSpec {
  /** The kernel manifest and lock: the suite, and E_LOCK_STALE for a locked package apt cannot find. */
  manifest: KernelManifest;
  lock: KernelLock;
  /** Target directory (must not exist or be empty). */
  target: string;
  /** Packages (`name` or `name=version`). */
  include: readonly string[];
  /** See {@link ExtractOptions}. */
  extract?: ExtractOptions;
  /** What is built, for messages (`the simboard rootfs`). */
  what: string;
  /** Error code of a failed unpack or fix-up (`E_SIMBOARD_IMAGE`, `E_FARM_ROOTFS`). */
  code: string;
  /** mmdebstrap time limit, ms (default 60 min). */
  timeoutMs?: number;
  log?: (s: string) => void;
}

/**
 * Unpacks an arm64 root filesystem (see the module doc) into `spec.target`
 * with the host's Debian mirror (core/mirror.ts) and runs extractFixup.sh
 * on it; the caller's own fix-up comes next.
 * @returns the package record (every package unpacked, with its version)
 *   and the wall time of mmdebstrap, s.
 * @throws WorkbenchError E_LOCK_STALE, `spec.code` (mmdebstrap's last lines,
 *   or extractFixup.sh's message).
 */
export async function unpackArm64Rootfs(runner: Runner, spec: Arm64RootfsSpec): Promise<{ packages: RootfsPackage[]; seconds: number }> {
  const t0 = Date.now();
  spec.log?.(`unpacking ${spec.what} (arm64, mmdebstrap --variant=extract)`);
  const argv = extractRootfsArgv(spec.lock.suite, spec.target, discoverDebianMirror(), spec.include, spec.extract);
  const r = await runner.run(argv, { allowFailure: true, timeoutMs: spec.timeoutMs ?? 60 * 60_000, onStderr: (x) => spec.log?.(x.trimEnd()) });
  if (r.exitCode !== 0) throw mmdebstrapFailure(r, spec.what, spec.code, { manifest: spec.manifest, lock: spec.lock });
  const seconds = Math.round((Date.now() - t0) / 1000);
  spec.log?.(`unpacked in ${seconds} s; fixing it up on the host`);
  const f = await runner.run(scriptArgv(EXTRACT_FIXUP, [spec.target]), { allowFailure: true });
  if (f.exitCode !== 0) throw new WorkbenchError(spec.code, `extractFixup.sh failed (exit ${f.exitCode}):\n${(f.stderr || f.stdout).trim()}`);
  const packages = parseRootfsPackages(await readFile(join(spec.target, ROOTFS_PACKAGES_FILE), 'utf8'));
  return { packages, seconds };
}
