import { DEFAULT_MODULE_DIR, type Board, type ConnectOptions } from '../boards.ts';
import type { BoardProvider } from '../provider.ts';
import { connectExtras, sshArgvFor } from './ssh.ts';
import { shellQuote } from '../quote.ts';
import { SshTarget } from '../ssh.ts';
import type { SshOptions } from '../sshConnection.ts';
import { SIMBOARD_NAME, simboardConnection, simboardDown, simboardPaths, simboardUp } from '../../simboard/simboard.ts';

/** Board kind of the simulated RK3588 board. */
export const SIMBOARD_KIND = 'simboard';

/**
 * The built-in simulated board: an arm64 QEMU `virt` guest running Debian's
 * arm64 kernel, with the vdpu381 device model (simboard/), so the real
 * rkvdec driver binds and runs. Its device model writes no picture yet, so
 * its profile says it records register programming (`registerCaptures`)
 * and does not decode pixels (`decodesPixels: false`).
 */
export function simboardBoard(): Board {
  return {
    name: SIMBOARD_NAME,
    kind: SIMBOARD_KIND,
    arch: 'arm64',
    driver: 'rkvdec',
    transport: 'ssh',
    moduleDir: DEFAULT_MODULE_DIR,
    console: `exec tail -n 0 -F ${shellQuote(simboardPaths().serialLog)}`,
    power: {},
    labels: ['virtual', 'simulated', 'rkvdec', 'vdpu381'],
    source: 'built-in',
    registerCaptures: true,
    decodesPixels: false,
  };
}

/** SSH options of the running simboard. @throws WorkbenchError E_SIMBOARD_DOWN when it is not running. */
function simboardSshOptions(board: Board, opts: ConnectOptions = {}): SshOptions {
  const c = simboardConnection();
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

/** An SshTarget that also names the device model's capture file (decode/checks/registers.ts RegisterCaptureTarget). */
class SimboardTarget extends SshTarget {
  /** Host path of the device model's capture file (JSON lines, one per decode job). */
  registerCaptureFile(): string {
    return simboardPaths().capture;
  }
}

/**
 * Provider of the simulated board (simboard/): `ensureReady` builds QEMU
 * with the device model and the arm64 image once and boots the guest
 * (`workbench simboard up`); its power switch is QEMU, like the vboard's.
 */
export const simboardProvider: BoardProvider = {
  kind: SIMBOARD_KIND,
  recordKind: 'simboard',
  builtinBoards: () => [simboardBoard()],
  ensureReady: async (_board, opts) => {
    const st = await simboardUp({ log: opts.log, runner: opts.runner });
    return {
      detail: st.alreadyRunning ? 'simboard already running' : `simboard booted in ${Math.round((st.bootMs ?? 0) / 100) / 10} s`,
      commands: [['workbench', 'simboard', 'up']],
    };
  },
  connect: (board, opts) => new SimboardTarget(simboardSshOptions(board, opts)),
  powerCycle: async (board, log, runner) => {
    const down = await simboardDown({ log });
    log(`simboard powered off (${down.detail ?? 'stopped'})`);
    const up = await simboardUp({ log, runner });
    log(`simboard booted in ${((up.bootMs ?? 0) / 1000).toFixed(1)} s`);
    return new SimboardTarget(simboardSshOptions(board));
  },
  shellArgv: (board) => sshArgvFor(simboardSshOptions(board)),
  address: (board) => {
    const o = simboardSshOptions(board);
    return `${o.user}@${o.host}:${o.port}`;
  },
};
