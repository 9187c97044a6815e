import { DEFAULT_MODULE_DIR, type Board } from '../boards.ts';
import type { BoardProvider } from '../provider.ts';
import { qemuBoardProvider } from './qemuBoard.ts';
import { shellQuote } from '../quote.ts';
import { SshTarget } from '../ssh.ts';
import { SIMBOARD_NAME, flushSimboardCapture, simboardConnection, simboardDown, simboardPaths, simboardUp } from '../../simboard/simboard.ts';

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

/** An SshTarget that also names the device model's capture file (decode/checks/registers.ts RegisterCaptureTarget). */
class SimboardTarget extends SshTarget {
  /** Host path of the device model's capture file (JSON lines, one per decode job). */
  registerCaptureFile(): string {
    return simboardPaths().capture;
  }

  /** Has the device model write the job it has open (simboard.ts flushSimboardCapture). */
  flushRegisterCapture(): Promise<void> {
    return flushSimboardCapture();
  }
}

/**
 * Provider of the simulated board (simboard/): `ensureReady` builds QEMU
 * with the device model and the arm64 image once and boots the guest
 * (`workbench simboard up`); its power switch is QEMU, like the vboard's.
 */
export const simboardProvider: BoardProvider = qemuBoardProvider({
  kind: SIMBOARD_KIND,
  recordKind: 'simboard',
  board: simboardBoard,
  connection: simboardConnection,
  up: simboardUp,
  down: simboardDown,
  target: (o) => new SimboardTarget(o),
});
