import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { stringify } from 'smol-toml';
import { z } from 'zod';
import { loadToml, parseToml } from '../core/config.ts';
import { writeFileAtomic } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { projectRoot } from '../core/paths.ts';

/**
 * Kernel bases (`kernel-src-manifest/<name>.toml`) and their lock files
 * (`kernel-src-manifest/<name>.lock`).
 *
 * A manifest names a kernel base in one of two ways:
 * - `[debian]`: a Debian suite's packaged kernel (`linux-source-<series>`,
 *   `linux-headers-<release>`, `linux-modules-<release>`...). The exact
 *   package versions and kernel release are resolved once (inside a sid
 *   chroot, never from the host's apt) and recorded in the lock file, because
 *   the suite moves and the old version disappears from the mirror at the next
 *   upload.
 * - `[git]`: a git URL + full commit id (for users with network access).
 *   A commit id is already exact, so a git manifest needs no lock.
 */

/** Name of the default kernel base (Debian sid's 7.2, what the vboard runs). */
export const DEFAULT_MANIFEST = 'debian-sid-7.2';

/** The folder holding manifests (default: `<repo>/kernel-src-manifest`). */
export function manifestDir(): string {
  return process.env.WORKBENCH_MANIFEST_DIR ?? join(projectRoot(), 'kernel-src-manifest');
}

const debianSchema = z
  .object({
    /** Debian suite (codename or `sid`). */
    suite: z.string().regex(/^[a-z][a-z0-9-]*$/, 'a Debian suite name such as "sid"'),
    /** Kernel series, e.g. "7.2" (packages `linux-source-7.2`, `linux-config-7.2`). */
    series: z.string().regex(/^\d+\.\d+$/, 'a kernel series such as "7.2"'),
    /** Debian kernel flavour of the headers/modules/image, e.g. "amd64". */
    flavour: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a Debian kernel flavour such as "amd64"'),
  })
  .strict();

const gitSchema = z
  .object({
    /** Clone URL (https, ssh or a local path). */
    url: z.string().min(1, 'a git clone URL'),
    /** Full 40-hex commit id (a branch or tag name is not exact enough). */
    commit: z.string().regex(/^[0-9a-f]{40}$/, 'a full 40-hex-digit commit id'),
    /** Kernel config: a defconfig target name or a file relative to the manifest folder. */
    config: z.string().min(1).optional(),
  })
  .strict();

/** Schema of `kernel-src-manifest/<name>.toml`. */
export const manifestSchema = z
  .object({
    /** Format version; only 1 exists. */
    schema: z.literal(1),
    /** Must equal the file name without `.toml`. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash, underscore'),
    description: z.string().optional(),
    debian: debianSchema.optional(),
    git: gitSchema.optional(),
  })
  .strict()
  .refine((m) => Boolean(m.debian) !== Boolean(m.git), {
    message: 'exactly one of the tables [debian] or [git] is required',
    path: ['debian'],
  });

/** A parsed manifest. */
export type KernelManifest = z.infer<typeof manifestSchema> & {
  /** Absolute path of the manifest file. */
  file: string;
};

/** Schema of `kernel-src-manifest/<name>.lock` (written by `workbench toolbox update-lock`). */
export const lockSchema = z
  .object({
    schema: z.literal(1),
    /** The manifest this lock belongs to. */
    manifest: z.string(),
    suite: z.string(),
    /** ISO time of resolution. */
    resolved_at: z.string(),
    /** `uname -r` of the locked kernel, e.g. `7.2.13+deb14-amd64`. */
    kernel_release: z.string().regex(/^\d+\.\d+\.\d+\S*$/, 'a kernel release such as 7.2.13+deb14-amd64'),
    /** Debian version of the kernel source package, e.g. `7.2.13-1`. */
    kernel_version: z.string().min(1),
    /** Every locked package with its exact Debian version. */
    packages: z.record(z.string().regex(/^[a-z0-9][a-z0-9.+-]+$/, 'a Debian package name'), z.string().min(1)),
  })
  .strict();

/** A parsed lock file. */
export type KernelLock = z.infer<typeof lockSchema> & { file: string };

/** Path of the manifest `name` (or `name` itself when it is a path to a .toml). */
export function manifestPath(name: string = DEFAULT_MANIFEST, dir: string = manifestDir()): string {
  if (name.endsWith('.toml')) return name;
  return join(dir, `${name}.toml`);
}

/** Path of the lock file that belongs to a manifest file. */
export function lockPathFor(manifestFile: string): string {
  return manifestFile.replace(/\.toml$/, '') + '.lock';
}

/**
 * Loads and validates a manifest.
 * @param name manifest name (file `<dir>/<name>.toml`) or a path ending in .toml.
 * @throws WorkbenchError `E_CONFIG` naming the file and the key (bad syntax,
 *   wrong types, both or neither of [debian]/[git], name not matching the file).
 * @throws WorkbenchError `E_MANIFEST_MISSING` when the file does not exist.
 */
export function loadManifest(name: string = DEFAULT_MANIFEST, dir: string = manifestDir()): KernelManifest {
  const file = manifestPath(name, dir);
  if (!existsSync(file)) {
    throw new WorkbenchError('E_MANIFEST_MISSING', `kernel manifest ${file} does not exist`, {
      hint: `use a manifest from ${dir} (default ${DEFAULT_MANIFEST}) or create ${basename(file)}`,
    });
  }
  const m = loadToml(file, manifestSchema);
  const expected = basename(file, '.toml');
  if (m.name !== expected) {
    throw new WorkbenchError('E_CONFIG', `${file}: key 'name': is "${m.name}" but the file is named ${expected}.toml`, {
      hint: `set name = "${expected}" or rename the file`,
    });
  }
  return { ...m, file };
}

/** Parses manifest text (for tests and tools); same checks as {@link loadManifest} except the file-name match. */
export function parseManifest(text: string, file: string): KernelManifest {
  return { ...parseToml(text, file, manifestSchema), file };
}

/**
 * Loads the lock file of a Debian manifest.
 * @throws WorkbenchError `E_LOCK_MISSING` when absent (hint: `workbench toolbox update-lock`),
 *   `E_CONFIG` when malformed or belonging to another manifest.
 */
export function loadLock(m: KernelManifest): KernelLock {
  const file = lockPathFor(m.file);
  if (!existsSync(file)) {
    throw new WorkbenchError('E_LOCK_MISSING', `kernel manifest ${m.name} has no lock file ${file}`, {
      hint: `resolve the current package versions with \`workbench toolbox update-lock --manifest ${m.name}\``,
    });
  }
  const lock = loadToml(file, lockSchema);
  if (lock.manifest !== m.name) {
    throw new WorkbenchError('E_CONFIG', `${file}: key 'manifest': is "${lock.manifest}", expected "${m.name}"`, {
      hint: `regenerate it with \`workbench toolbox update-lock --manifest ${m.name}\``,
    });
  }
  if (m.debian && lock.suite !== m.debian.suite) {
    throw new WorkbenchError('E_CONFIG', `${file}: key 'suite': is "${lock.suite}" but ${m.file} says "${m.debian.suite}"`, {
      hint: `regenerate it with \`workbench toolbox update-lock --manifest ${m.name}\``,
    });
  }
  return { ...lock, file };
}

/** Writes a lock file atomically (TOML with a header comment). */
export async function writeLock(m: KernelManifest, lock: Omit<KernelLock, 'file'>): Promise<string> {
  const file = lockPathFor(m.file);
  const body =
    `# Lock of kernel manifest ${m.name}: exact Debian package versions resolved from the\n` +
    `# ${lock.suite} suite. Generated by \`workbench toolbox update-lock\`; do not edit by hand.\n` +
    stringify({ ...lock }).trimEnd() +
    '\n';
  await writeFileAtomic(file, body);
  return file;
}

/**
 * The Debian packages a [debian] manifest locks, for a given kernel release
 * (e.g. `7.2.13+deb14-amd64`, whose ABI part is `7.2.13+deb14`).
 * Package names follow Debian's linux source package (debian/control).
 */
export function lockedPackageNames(d: NonNullable<KernelManifest['debian']>, kernelRelease: string): string[] {
  const abi = kernelRelease.slice(0, kernelRelease.length - d.flavour.length - 1);
  return [
    `linux-source-${d.series}`,
    `linux-config-${d.series}`,
    `linux-headers-${kernelRelease}`,
    `linux-headers-${abi}-common`,
    `linux-kbuild-${abi}`,
    `linux-modules-${kernelRelease}`,
    `linux-binary-${kernelRelease}`,
  ];
}

/**
 * Picks the kernel release of a series from `apt-cache search --names-only`
 * output lines (`linux-headers-7.2.13+deb14-amd64 - ...`) and the source
 * package's candidate version: the headers package of the given flavour whose
 * version equals the linux-source version (both built from one upload).
 *
 * @param headerVersions map headers package name -> candidate version.
 * @returns the kernel release, e.g. `7.2.13+deb14-amd64`, or undefined.
 */
export function pickKernelRelease(
  d: NonNullable<KernelManifest['debian']>,
  sourceVersion: string,
  headerVersions: Record<string, string>,
): string | undefined {
  const re = new RegExp(`^linux-headers-(${d.series.replace('.', '\\.')}\\.\\d+\\S*-${d.flavour.replace(/[-.]/g, '\\$&')})$`);
  const matches = Object.entries(headerVersions)
    .map(([pkg, ver]) => ({ rel: re.exec(pkg)?.[1], ver }))
    .filter((x): x is { rel: string; ver: string } => Boolean(x.rel) && x.ver === sourceVersion)
    // `-cloud-amd64` also ends in -amd64: keep only releases whose flavour part is exactly ours
    .filter((x) => /^\d+\.\d+\.\d+(\+[a-z0-9.]+)?$/.test(x.rel.slice(0, x.rel.length - d.flavour.length - 1)));
  return matches[0]?.rel;
}

/**
 * The error for a locked version the mirror no longer has.
 * @param missing the `pkg=version` pairs apt could not find.
 */
export function lockStaleError(m: KernelManifest, lock: KernelLock, missing: string[], detail = ''): WorkbenchError {
  return new WorkbenchError(
    'E_LOCK_STALE',
    `the locked kernel ${lock.kernel_release} (${lock.kernel_version}) of manifest ${m.name} is no longer on the Debian mirror ` +
      `(${lock.suite} moved on): not found: ${missing.join(', ')}${detail ? `\n${detail}` : ''}`,
    {
      hint:
        `move the lock to the version the mirror has now with \`workbench toolbox update-lock --manifest ${m.name}\` ` +
        `(it rewrites ${lock.file}; commit it), then rerun. Already-built toolboxes and images for the old version stay in the cache.`,
    },
  );
}

/** Reads the raw text of the manifest (for reports / reproducers). */
export function manifestText(m: KernelManifest): string {
  return readFileSync(m.file, 'utf8');
}
