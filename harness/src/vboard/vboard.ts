import { WorkbenchError } from '../core/errors.ts';
import type { SshTarget } from '../target/ssh.ts';

/**
 * Public API of the virtual board (early signatures; implementation lands next).
 */

/** How to reach the running vboard (for the board registry and `ssh`). */
export interface VboardConnection {
  host: string;
  port: number;
  user: string;
  identityFile: string;
  /** Name the host key is recorded under in the workbench known_hosts (`vboard`). */
  hostKeyAlias: string;
  knownHostsFile: string;
}

/** Status of the vboard. */
export interface VboardStatus {
  state: 'stopped' | 'running' | 'stale' | 'unresponsive';
  pid?: number;
  port?: number;
  kernelRelease?: string;
  imageKey?: string;
  accel?: 'kvm' | 'tcg';
  detail?: string;
}

/** Options of {@link vboardUp}. */
export interface VboardUpOptions {
  log?: (msg: string) => void;
  /** Discard the guest disk's changes and start from the image. */
  fresh?: boolean;
  /** Guest memory, MiB (default 2048). */
  memoryMiB?: number;
  /** Seconds to wait for SSH (default 180). */
  bootTimeoutS?: number;
}

/** Builds (cached) and boots the vboard; resolves when SSH answers. */
export async function vboardUp(_opts: VboardUpOptions = {}): Promise<VboardStatus> {
  throw new WorkbenchError('E_NOT_IMPLEMENTED', 'vboard up is not implemented yet');
}

/** Stops the running vboard (clean guest poweroff, then only our PID). */
export async function vboardDown(): Promise<VboardStatus> {
  throw new WorkbenchError('E_NOT_IMPLEMENTED', 'vboard down is not implemented yet');
}

/** Reports whether the vboard runs, with stale PID / dead guest detection. */
export async function vboardStatus(): Promise<VboardStatus> {
  throw new WorkbenchError('E_NOT_IMPLEMENTED', 'vboard status is not implemented yet');
}

/** Connection facts of the running vboard. @throws E_VBOARD_DOWN when not running. */
export function vboardConnection(): VboardConnection {
  throw new WorkbenchError('E_NOT_IMPLEMENTED', 'vboard is not implemented yet');
}

/** An SshTarget connected to the running vboard (strict host key). */
export async function vboardTarget(): Promise<SshTarget> {
  throw new WorkbenchError('E_NOT_IMPLEMENTED', 'vboard is not implemented yet');
}
