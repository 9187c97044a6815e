import { SshTarget } from '../target/ssh.ts';
import { vboardPaths } from './state.ts';

/** How the workbench reaches the vboard: one place for its SSH facts. */

/** The name the vboard's host key is recorded under, and its board name. */
export const VBOARD_NAME = 'vboard';

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

/**
 * Arguments for OpenSSH's `ssh` to the vboard (`workbench vboard ssh`): the
 * board's key only, the workbench known_hosts under the alias `vboard`, and
 * strict host-key checking (never `StrictHostKeyChecking=no`).
 */
export function sshArgv(c: VboardConnection, extra: string[] = []): string[] {
  return [
    '-i',
    c.identityFile,
    '-p',
    String(c.port),
    '-o',
    `UserKnownHostsFile=${c.knownHostsFile}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `HostKeyAlias=${c.hostKeyAlias}`,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'LogLevel=ERROR',
    `${c.user}@${c.host}`,
    ...extra,
  ];
}

/** The vboard's state files (read at call time, so WORKBENCH_STATE_DIR can change). */
export const paths = () => vboardPaths();

/** The files a board's SSH connection needs (see vboardPaths). */
export type BoardSshFiles = Pick<ReturnType<typeof vboardPaths>, 'identity' | 'knownHosts'>;

/** How to reach a QEMU board (`name` is also its host-key alias) forwarded to 127.0.0.1:`port`, as root with the board's own key. */
export function boardConnectionFor(name: string, p: BoardSshFiles, port: number): VboardConnection {
  return { host: '127.0.0.1', port, user: 'root', identityFile: p.identity, hostKeyAlias: name, knownHostsFile: p.knownHosts };
}

/** An SshTarget (strict host key) to a QEMU board forwarded to 127.0.0.1:`port`. */
export function boardTargetFor(name: string, p: BoardSshFiles, port: number, connectTimeoutMs = 10_000): SshTarget {
  const c = boardConnectionFor(name, p, port);
  return new SshTarget({
    name,
    host: c.host,
    port: c.port,
    user: c.user,
    identityFile: c.identityFile,
    knownHostsFile: c.knownHostsFile,
    hostKeyAlias: c.hostKeyAlias,
    trust: 'strict',
    connectTimeoutMs,
  });
}

export function connectionFor(port: number): VboardConnection {
  return boardConnectionFor(VBOARD_NAME, paths(), port);
}

export function targetFor(port: number, connectTimeoutMs = 10_000): SshTarget {
  return boardTargetFor(VBOARD_NAME, paths(), port, connectTimeoutMs);
}
