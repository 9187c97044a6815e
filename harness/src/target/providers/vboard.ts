import { DEFAULT_MODULE_DIR, type Board, type ConnectOptions } from '../boards.ts';
import type { BoardProvider } from '../provider.ts';
import { connectExtras, sshArgvFor } from './ssh.ts';
import { shellQuote } from '../quote.ts';
import { SshTarget } from '../ssh.ts';
import type { SshOptions } from '../sshConnection.ts';
import { vboardPaths } from '../../vboard/state.ts';
import { VBOARD_NAME, vboardConnection, vboardDown, vboardUp } from '../../vboard/vboard.ts';

/** Board kind of the virtual board. */
export const VBOARD_KIND = 'vboard';

/** The host's 127.0.0.1 as a QEMU user-net guest sees it (QEMU's documented default gateway of `-netdev user`). */
export const QEMU_HOST_ADDRESS = '10.0.2.2';

/**
 * The built-in virtual board: an amd64 QEMU guest running the visl test
 * driver. Its console is the guest's serial port, which QEMU writes to the
 * vboard's serial log: the console command follows that file from its
 * current end.
 */
export function vboardBoard(): Board {
  return {
    name: VBOARD_NAME,
    kind: VBOARD_KIND,
    arch: 'amd64',
    driver: 'visl',
    transport: 'ssh',
    moduleDir: DEFAULT_MODULE_DIR,
    console: `exec tail -n 0 -F ${shellQuote(vboardPaths().serialLog)}`,
    power: {},
    labels: ['virtual', 'visl'],
    source: 'built-in',
  };
}

/** SSH options of the running vboard. @throws WorkbenchError E_VBOARD_DOWN when it is not running. */
function vboardSshOptions(board: Board, opts: ConnectOptions = {}): SshOptions {
  const c = vboardConnection();
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
}

/**
 * Provider of the virtual board (vboard/): `ensureReady` builds the image
 * once and boots QEMU when it is not running (`workbench vboard up`); the
 * connection facts come from the running board's state files.
 */
export const vboardProvider: BoardProvider = {
  kind: VBOARD_KIND,
  recordKind: 'vboard',
  builtinBoards: () => [vboardBoard()],
  ensureReady: async (_board, opts) => {
    const st = await vboardUp({ log: opts.log, runner: opts.runner });
    return {
      detail: st.alreadyRunning ? 'vboard already running' : `vboard booted in ${Math.round((st.bootMs ?? 0) / 100) / 10} s`,
      commands: [['workbench', 'vboard', 'up']],
    };
  },
  connect: (board, opts) => new SshTarget(vboardSshOptions(board, opts)),
  // its power switch is QEMU: vboardDown (the guest powers off with SysRq o, which does not
  // unload modules, else QEMU is killed), then vboardUp boots the same disk on a new port
  powerCycle: async (board, log, runner) => {
    const down = await vboardDown({ log });
    log(`vboard powered off (${down.detail ?? 'stopped'})`);
    const up = await vboardUp({ log, runner });
    log(`vboard booted in ${((up.bootMs ?? 0) / 1000).toFixed(1)} s`);
    return new SshTarget(vboardSshOptions(board));
  },
  shellArgv: (board) => sshArgvFor(vboardSshOptions(board)),
  sshOptions: vboardSshOptions,
  hostAddressFromBoard: () => QEMU_HOST_ADDRESS,
  address: (board) => {
    const o = vboardSshOptions(board);
    return `${o.user}@${o.host}:${o.port}`;
  },
};
