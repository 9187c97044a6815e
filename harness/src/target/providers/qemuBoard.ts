import type { Runner } from '../../core/runner.ts';
import type { Board, ConnectOptions } from '../boards.ts';
import type { BoardProvider } from '../provider.ts';
import { connectExtras, sshArgvFor } from './ssh.ts';
import { SshTarget } from '../ssh.ts';
import type { SshOptions } from '../sshConnection.ts';

/** What a QEMU board kind (vboard, simboard) gives {@link qemuBoardProvider}. */
export interface QemuBoardKindSpec {
  kind: string;
  recordKind: BoardProvider['recordKind'];
  /** Its one built-in board profile. */
  board: () => Board;
  /** Connection facts of the running guest. @throws WorkbenchError when it is not running. */
  connection: () => { host: string; port: number; user: string; identityFile: string; hostKeyAlias: string; knownHostsFile: string };
  /** Builds (cached) and boots the guest; a running one is returned as is. */
  up: (o: { log?: (m: string) => void; runner: Runner }) => Promise<{ alreadyRunning?: boolean; bootMs?: number }>;
  /** Powers the guest off (QEMU stopped). */
  down: (o: { log?: (m: string) => void }) => Promise<{ detail?: string }>;
  /** The Target class for its SSH options (default SshTarget). */
  target?: (o: SshOptions) => SshTarget;
}

/**
 * A provider for a QEMU guest reached over SSH on 127.0.0.1: `ensureReady`
 * boots it (`workbench KIND up`), the connection comes from the running
 * guest's state files, and its power switch is QEMU itself (down: the guest
 * powers off or QEMU is killed; up: the same disk boots on a new port).
 */
export function qemuBoardProvider(k: QemuBoardKindSpec, extra: Partial<BoardProvider> = {}): BoardProvider {
  const sshOptions = (board: Board, opts: ConnectOptions = {}): SshOptions => {
    const c = k.connection();
    return {
      name: board.name,
      host: c.host,
      port: c.port,
      user: c.user,
      identityFile: c.identityFile,
      hostKeyAlias: c.hostKeyAlias,
      knownHostsFile: c.knownHostsFile,
      ...connectExtras(opts),
    };
  };
  const target = k.target ?? ((o: SshOptions) => new SshTarget(o));
  return {
    kind: k.kind,
    recordKind: k.recordKind,
    builtinBoards: () => [k.board()],
    ensureReady: async (_board, opts) => {
      const st = await k.up({ log: opts.log, runner: opts.runner });
      return {
        detail: st.alreadyRunning ? `${k.kind} already running` : `${k.kind} booted in ${Math.round((st.bootMs ?? 0) / 100) / 10} s`,
        commands: [['workbench', k.kind, 'up']],
      };
    },
    connect: (board, opts) => target(sshOptions(board, opts)),
    powerCycle: async (board, log, runner) => {
      const down = await k.down({ log });
      log(`${k.kind} powered off (${down.detail ?? 'stopped'})`);
      const up = await k.up({ log, runner });
      log(`${k.kind} booted in ${((up.bootMs ?? 0) / 1000).toFixed(1)} s`);
      return target(sshOptions(board));
    },
    shellArgv: (board) => sshArgvFor(sshOptions(board)),
    sshOptions,
    address: (board) => {
      const o = sshOptions(board);
      return `${o.user}@${o.host}:${o.port}`;
    },
    ...extra,
  };
}
