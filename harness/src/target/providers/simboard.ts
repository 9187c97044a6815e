import { DEFAULT_MODULE_DIR, type Board } from '../boards.ts';
import type { BoardProvider } from '../provider.ts';
import { qemuBoardProvider } from './qemuBoard.ts';
import { shellQuote } from '../quote.ts';
import { SshTarget } from '../ssh.ts';
import { SIMBOARD_NAME, flushSimboardCapture, simboardConnection, simboardDown, simboardModel, simboardPaths, simboardUp } from '../../simboard/simboard.ts';
import type { SimboardModelOptions, SimboardModelRun } from '../../simboard/modelServer.ts';

/** Board kind of the simulated RK3588 board. */
export const SIMBOARD_KIND = 'simboard';

/**
 * The built-in simulated board: an arm64 QEMU `virt` guest running Debian's
 * arm64 kernel, with the vdpu381 device model (simboard/), so the real
 * rkvdec driver binds and runs. Its profile says it records register
 * programming (`registerCaptures`); it decodes pixels (`decodesPixels`)
 * only with the vdpu381 model server attached (`simboard up --model`, or
 * WORKBENCH_SIMBOARD_MODEL for boots the workbench starts itself), so the
 * pixels check runs then and only then.
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
    decodesPixels: simboardModel() !== undefined,
  };
}

/**
 * What the simboard's pixels come from, for the pixels check's detail:
 * undefined without the model.
 */
export function simboardPixelsSource(m: SimboardModelRun | SimboardModelOptions | undefined): string | undefined {
  if (!m) return undefined;
  const kind = 'kind' in m ? m.kind : m.fill !== undefined ? 'fill' : m.core === 'stub' ? 'stub' : 'core';
  if (kind === 'fill')
    return `pixels from the vdpu381 model server's fill test mode (every byte 0x${(m.fill ?? 0).toString(16).padStart(2, '0')}), not silicon`;
  if (kind === 'stub') return 'pixels from the stub vdpu381 model (decodes nothing), not silicon';
  return 'pixels verified against a register-driven model of vdpu381, not silicon';
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

  /** What the decoded pixels come from (decode/checks/pixels.ts PixelsSourceTarget). */
  pixelsSource(): string | undefined {
    return simboardPixelsSource(simboardModel());
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
