import { z } from 'zod';

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

export const debianSchema = z
  .object({
    /** Debian suite (codename or `sid`). */
    suite: z.string().regex(/^[a-z][a-z0-9-]*$/, 'a Debian suite name such as "sid"'),
    /** Kernel series, e.g. "7.2" (packages `linux-source-7.2`, `linux-config-7.2`). */
    series: z.string().regex(/^\d+\.\d+$/, 'a kernel series such as "7.2"'),
    /** Debian kernel flavour of the headers/modules/image, e.g. "amd64". */
    flavour: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a Debian kernel flavour such as "amd64"'),
  })
  .strict();

export const gitSchema = z
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
