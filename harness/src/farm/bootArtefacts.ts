import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureEntry, sha256File } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { discoverDebianMirror } from '../core/mirror.ts';
import type { Runner } from '../core/runner.ts';
import { loadScript, scriptArgv } from '../core/scripts.ts';
import { tail } from '../core/text.ts';
import { arm64Release } from '../kernel/arm64Kernel.ts';
import { arm64KernelPackages } from '../simboard/image.ts';
import { toolboxIdentity } from '../toolbox/toolbox.ts';
import type { FarmChroot } from './chroot.ts';

/**
 * The boot artefacts of the farm-rk3588 profile from Debian itself: the
 * arm64 kernel Image and the Radxa ROCK 5B device tree of Debian's arm64
 * kernel packages at the version the workbench's kernel lock pins
 * (simboard/image.ts arm64KernelPackages: the arm64 packages of the same
 * upload as the vboard's amd64 kernel, so the series' modules built for
 * arm64 match their vermagic): the Image from `linux-binary-<rel>`, the
 * dtb from `linux-base-<rel>` (`usr/lib/modules/<rel>/dtb/rockchip/`,
 * checked in Debian sid's 7.2.13-1). Downloaded inside the farm chroot (Debian
 * sid's apt and keyring) with a private apt state (the simboard's
 * fetchArm64Debs.sh), unpacked on the host with dpkg-deb -x (no foreign
 * code runs). Cached under `<cache>/farm-boot/<key>`.
 */

/** Bumped when the recipe changes (part of the cache key). */
export const FARM_BOOT_FORMAT = 1;

/** The device tree of the board, as Debian installs it (`<dtbs>/rockchip/...`). */
export const ROCK5B_DTB = 'rockchip/rk3588-rock-5b.dtb';

/** The downloaded artefacts. */
export interface FarmBootArtefacts {
  /** `7.2.13+deb14-arm64`. */
  kernelRelease: string;
  /** The packages (with versions) they came from. */
  packages: string[];
  /** Uncompressed arm64 Image (what U-Boot's booti and LAVA's `type: image` take). */
  kernel: string;
  dtb: string;
  sha256: { kernel: string; dtb: string };
}

const FETCH = loadScript(import.meta.url, '../simboard/fetchArm64Debs.sh');

/** The arm64 Image header magic `ARM\x64` at offset 0x38 (Linux Documentation/arch/arm64/booting.rst). */
export function isArm64Image(b: Buffer): boolean {
  return b.length >= 0x40 && b.readUInt32LE(0x38) === 0x644d5241;
}

/**
 * How a Debian arm64 `vmlinuz` is packed: `gzip` (1f 8b), an EFI zboot
 * image (`MZ`, `zimg` at 4, payload offset/size at 8/12, compression name
 * at 24: drivers/firmware/efi/libstub/zboot-header.S), or a plain `image`.
 */
export function vmlinuzKind(
  b: Buffer,
): { kind: 'gzip' } | { kind: 'image' } | { kind: 'zboot'; offset: number; size: number; compression: string } | { kind: 'unknown' } {
  if (b[0] === 0x1f && b[1] === 0x8b) return { kind: 'gzip' };
  if (b.toString('latin1', 0, 2) === 'MZ' && b.toString('latin1', 4, 8) === 'zimg') {
    const end = b.indexOf(0, 24);
    return { kind: 'zboot', offset: b.readUInt32LE(8), size: b.readUInt32LE(12), compression: b.toString('latin1', 24, end > 24 ? end : 32) };
  }
  if (isArm64Image(b)) return { kind: 'image' };
  return { kind: 'unknown' };
}

const DECOMPRESS: Record<string, string[]> = { gzip: ['gzip', '-dc'], zstd: ['zstd', '-dc'], xz: ['xz', '-dc'], lzma: ['xz', '-dc', '--format=lzma'] };

async function toImage(runner: Runner, vmlinuz: string, tmp: string): Promise<Buffer> {
  const b = await readFile(vmlinuz);
  const k = vmlinuzKind(b);
  let out: Buffer;
  if (k.kind === 'image') out = b;
  else if (k.kind === 'gzip') out = (await runner.run(['gzip', '-dc', vmlinuz], { binaryStdout: true })).stdoutBytes!;
  else if (k.kind === 'zboot' && DECOMPRESS[k.compression]) {
    const payload = join(tmp, 'payload');
    await writeFile(payload, b.subarray(k.offset, k.offset + k.size));
    out = (await runner.run([...DECOMPRESS[k.compression]!, payload], { binaryStdout: true })).stdoutBytes!;
  } else {
    throw new WorkbenchError(
      'E_FARM_BOOT',
      `${vmlinuz}: unknown kernel packing (${k.kind === 'zboot' ? `EFI zboot with ${k.compression}` : 'neither gzip, EFI zboot nor an arm64 Image'})`,
      {
        hint: "Debian changed how it packs the arm64 kernel; teach farm/bootArtefacts.ts's vmlinuzKind the new one",
      },
    );
  }
  if (!isArm64Image(out)) throw new WorkbenchError('E_FARM_BOOT', `${vmlinuz} did not unpack to an arm64 Image (no ARM\\x64 magic at 0x38)`);
  return out;
}

async function findFile(dir: string, suffix: string): Promise<string | undefined> {
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const p = join(e.parentPath, e.name);
    if (e.isFile() && p.endsWith(`/${suffix}`)) return p;
  }
  return undefined;
}

/**
 * Returns Debian's arm64 Image and the ROCK 5B dtb (see the module doc).
 * @throws WorkbenchError E_FARM_BOOT when the download fails or the packages hold no Image or dtb.
 */
export async function ensureFarmBoot(
  chroot: Pick<FarmChroot, 'exec'>,
  o: { runner: Runner; log?: (m: string) => void; cacheRoot?: string; manifest?: string },
): Promise<FarmBootArtefacts> {
  const { lock } = toolboxIdentity(o.manifest);
  const rel = arm64Release(lock.kernel_release);
  // linux-binary-<rel> holds the Image (usr/lib/modules/<rel>/vmlinuz); the device trees are in
  // linux-base-<rel> (usr/lib/modules/<rel>/dtb/), built from the same upload, so at the same version
  const binary = arm64KernelPackages(lock).find((p) => p.startsWith('linux-binary-'));
  if (!binary)
    throw new WorkbenchError('E_FARM_BOOT', `the kernel lock names no linux-binary package for ${lock.kernel_release}`, {
      hint: 'run `workbench toolbox update-lock`',
    });
  const packages = [binary, binary.replace(/^linux-binary-/, 'linux-base-')];
  const e = await ensureEntry(
    'farm-boot',
    { format: FARM_BOOT_FORMAT, suite: lock.suite, packages, dtb: ROCK5B_DTB },
    async (tmp) => {
      const debs = join(tmp, 'debs');
      await mkdir(debs);
      o.log?.(`fetching Debian's arm64 kernel ${rel} (${packages.join(', ')}) for the farm job, once`);
      const r = await chroot.exec(scriptArgv(FETCH, [discoverDebianMirror(), lock.suite, ...packages]), {
        binds: [{ host: debs, inside: '/wb/out' }],
        timeoutMs: 30 * 60_000,
        allowFailure: true,
      });
      if (r.exitCode !== 0) {
        throw new WorkbenchError('E_FARM_BOOT', `could not download ${packages.join(', ')} (arm64):\n${tail(r.stderr || r.stdout, 8)}`, {
          hint: 'check the mirror; if the locked version left it, move the lock with `workbench toolbox update-lock`',
        });
      }
      const x = join(tmp, 'x');
      for (const f of (await readdir(debs)).filter((f) => f.endsWith('.deb'))) await o.runner.run(['dpkg-deb', '-x', join(debs, f), x]);
      const vmlinuz = [join(x, 'usr/lib/modules', rel, 'vmlinuz'), join(x, 'boot', `vmlinuz-${rel}`)].find((p) => existsSync(p));
      if (!vmlinuz)
        throw new WorkbenchError('E_FARM_BOOT', `no vmlinuz for ${rel} in ${packages.join(', ')}`, {
          hint: "Debian changed the arm64 kernel package's layout; report it",
        });
      await writeFile(join(tmp, 'Image'), await toImage(o.runner, vmlinuz, tmp));
      const dtb = await findFile(x, ROCK5B_DTB);
      if (!dtb)
        throw new WorkbenchError('E_FARM_BOOT', `no ${ROCK5B_DTB} in ${packages.join(', ')}`, {
          hint: "Debian changed the arm64 kernel package's layout; report it",
        });
      await writeFile(join(tmp, 'rk3588-rock-5b.dtb'), await readFile(dtb));
      const found = dtb.slice(x.length);
      for (const d of [x, debs, join(tmp, 'payload')]) await rm(d, { recursive: true, force: true });
      return { files: ['Image', 'rk3588-rock-5b.dtb'], extra: { kernelRelease: rel, packages, dtbPath: found, vmlinuz: vmlinuz.slice(x.length) } };
    },
    { ...(o.log ? { log: o.log } : {}), ...(o.cacheRoot ? { root: o.cacheRoot } : {}) },
  );
  const kernel = join(e.dir, 'Image');
  const dtb = join(e.dir, 'rk3588-rock-5b.dtb');
  return { kernelRelease: rel, packages, kernel, dtb, sha256: { kernel: await sha256File(kernel), dtb: await sha256File(dtb) } };
}
