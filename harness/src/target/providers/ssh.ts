import { WorkbenchError } from '../../core/errors.ts';
import type { Board, ConnectOptions } from '../boards.ts';
import { knownHostsPath } from '../knownHosts.ts';
import type { BoardProvider } from '../provider.ts';
import { SshTarget } from '../ssh.ts';
import type { SshOptions } from '../sshConnection.ts';

/** Connection overrides of {@link ConnectOptions} as SshOptions fields. */
export function connectExtras(opts: ConnectOptions = {}): Partial<SshOptions> {
  return {
    ...(opts.trust ? { trust: opts.trust } : {}),
    ...(opts.connectTimeoutMs ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
    ...(opts.reconnectBudgetMs ? { reconnectBudgetMs: opts.reconnectBudgetMs } : {}),
  };
}

/**
 * `ssh` argv prefix for the given options (OpenSSH client flags; the
 * workbench's known_hosts, the key when there is one), for reproducer lines.
 */
export function sshArgvFor(o: SshOptions): string[] {
  return [
    'ssh',
    ...(o.port !== 22 ? ['-p', String(o.port)] : []),
    ...(o.identityFile ? ['-i', o.identityFile] : []),
    '-o',
    `UserKnownHostsFile=${o.knownHostsFile}`,
    ...(o.hostKeyAlias ? ['-o', `HostKeyAlias=${o.hostKeyAlias}`] : []),
    `${o.user}@${o.host}`,
  ];
}

/**
 * SSH options of a board from its boards.toml entry (the workbench's
 * known_hosts, the key or the SSH agent).
 * @throws WorkbenchError E_CONFIG when the board has no SSH endpoint.
 */
export function sshOptionsFor(board: Board, opts: ConnectOptions = {}): SshOptions {
  const s = board.ssh;
  if (!s) throw new WorkbenchError('E_CONFIG', `board ${board.name} (${board.source}) has no host`, { hint: `set host = "..." for [board.${board.name}]` });
  return {
    name: board.name,
    host: s.host,
    port: s.port,
    user: s.user,
    ...(s.identity ? { identityFile: s.identity } : {}),
    ...(s.hostKeyAlias ? { hostKeyAlias: s.hostKeyAlias } : {}),
    knownHostsFile: knownHostsPath(),
    ...connectExtras(opts),
  };
}

/**
 * Boards that are simply on and reachable over SSH (a Rock 5B on the desk):
 * defined in boards.toml (`kind = "ssh"`, the default), nothing to bring up;
 * power and console come from the entry's host commands (target/power.ts,
 * target/console.ts).
 */
export const sshProvider: BoardProvider = {
  kind: 'ssh',
  recordKind: 'board',
  builtinBoards: () => [],
  ensureReady: async () => ({ commands: [] }),
  connect: (board, opts) => new SshTarget(sshOptionsFor(board, opts)),
  shellArgv: (board) => sshArgvFor(sshOptionsFor(board)),
  sshOptions: sshOptionsFor,
  address: (board) => {
    const o = sshOptionsFor(board);
    return `${o.user}@${o.host}:${o.port}`;
  },
};
