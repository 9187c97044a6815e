import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { WorkbenchError } from './errors.ts';

/** A host program the workbench runs, and the Debian package that ships it. */
export interface HostTool {
  /** Executable name looked up on PATH. */
  bin: string;
  /** Debian package (bookworm or later) that installs it. */
  pkg: string;
  /** What the workbench uses it for (shown by `workbench doctor`). */
  why: string;
  /** Only the test suite needs it (not `workbench iterate`). */
  testOnly?: boolean;
}

/**
 * Every host tool the workbench needs, with its Debian package. `workbench
 * doctor` checks this list; {@link requireTools} refuses to start a command
 * when one it needs is missing.
 */
export const HOST_TOOLS: readonly HostTool[] = [
  { bin: 'git', pkg: 'git', why: 'kernel base trees and patch series' },
  { bin: 'mmdebstrap', pkg: 'mmdebstrap', why: 'toolbox chroot and vboard root filesystem' },
  { bin: 'qemu-system-x86_64', pkg: 'qemu-system-x86', why: 'boots the virtual board' },
  { bin: 'busybox', pkg: 'busybox-static', why: 'vboard initramfs' },
  { bin: 'cpio', pkg: 'cpio', why: 'vboard initramfs' },
  { bin: 'mkfs.ext4', pkg: 'e2fsprogs', why: 'vboard disk image' },
  { bin: 'zstd', pkg: 'zstd', why: 'compressed cache entries' },
  { bin: 'xz', pkg: 'xz-utils', why: 'Debian kernel modules are .ko.xz' },
  {
    bin: 'depmod',
    pkg: 'kmod',
    why: "modules.dep of Debian's arm64 kernel for the simboard image and the farm initramfs (a fresh Debian container may lack kmod)",
  },
  { bin: 'unshare', pkg: 'util-linux', why: 'runs toolbox commands with their own /proc' },
  { bin: 'ssh-keygen', pkg: 'openssh-client', why: 'vboard SSH keys' },
  { bin: 'ssh', pkg: 'openssh-client', why: '`workbench vboard ssh` (interactive session)' },
  { bin: 'vpxenc', pkg: 'vpx-tools', why: 'generates the vp9-features suite' },
  { bin: 'vpxdec', pkg: 'vpx-tools', why: 'libvpx reference decodes' },
  { bin: 'ffmpeg', pkg: 'ffmpeg', why: 'cross-checks references, trace_headers' },
  { bin: 'xmllint', pkg: 'libxml2-utils', why: 'validates junit.xml against the JUnit XML schema (tests)', testOnly: true },
  { bin: 'python3', pkg: 'python3', why: 'checks the Fluster decoder plugin fluster-adapters/workbench_decoder.py (tests)', testOnly: true },
  { bin: 'chromium', pkg: 'chromium', why: 'opens index.html headless in the report tests (screenshot, console errors)', testOnly: true },
  { bin: 'shellcheck', pkg: 'shellcheck', why: 'checks the remote shell scripts (*.sh) in CI (`npm run shellcheck`)', testOnly: true },
  { bin: 'readelf', pkg: 'binutils', why: "checks the farm NFS root's arm64 programs and their libraries (tests)", testOnly: true },
  {
    bin: 'ganesha.nfsd',
    pkg: 'nfs-ganesha-vfs',
    why: 'userspace NFS server for the farm initramfs boot test (the host kernel may have no nfsd; the package depends on nfs-ganesha)',
    testOnly: true,
  },
];

/** The host tools `workbench iterate` needs on the vboard path (everything but test-only tools). */
export const RUN_TOOLS: readonly string[] = HOST_TOOLS.filter((t) => !t.testOnly).map((t) => t.bin);

/** Directories searched for host tools: PATH plus the sbin dirs (root tools). */
function searchPath(env: NodeJS.ProcessEnv): string[] {
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const d of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!dirs.includes(d)) dirs.push(d);
  return dirs;
}

/** Absolute path of `bin` on PATH (or sbin), or undefined when absent. */
export function which(bin: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (bin.includes('/')) return bin;
  for (const d of searchPath(env)) {
    const p = join(d, bin);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** The tools of `bins` that are not installed (unknown names map to themselves). */
export function missingTools(bins: readonly string[], env: NodeJS.ProcessEnv = process.env): HostTool[] {
  const out: HostTool[] = [];
  for (const bin of bins) {
    if (which(bin, env)) continue;
    const known = HOST_TOOLS.find((t) => t.bin === bin);
    out.push(known ?? { bin, pkg: bin, why: 'needed by this command' });
  }
  return out;
}

/** The exact apt command that installs the given tools' packages. */
export function aptInstallCommand(tools: readonly HostTool[]): string {
  const pkgs = [...new Set(tools.map((t) => t.pkg))].sort();
  return `apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
}

/**
 * Throws `E_TOOL_MISSING` when any of `bins` is not installed, with the same
 * message `workbench doctor` prints: the missing tools and the apt command.
 */
export function requireTools(bins: readonly string[], env: NodeJS.ProcessEnv = process.env): void {
  const missing = missingTools(bins, env);
  if (missing.length === 0) return;
  throw missingToolsError(missing);
}

/** The `E_TOOL_MISSING` error for `missing` (shared by requireTools and the Runner). */
export function missingToolsError(missing: readonly HostTool[]): WorkbenchError {
  const names = missing.map((t) => `${t.bin} (package ${t.pkg})`).join(', ');
  return new WorkbenchError('E_TOOL_MISSING', `missing host tool(s): ${names}`, {
    hint: `run \`workbench doctor --fix\` as root, or: ${aptInstallCommand(missing)}`,
  });
}
