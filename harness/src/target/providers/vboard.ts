import { DEFAULT_MODULE_DIR, type Board } from '../boards.ts';
import type { BoardProvider } from '../provider.ts';
import { qemuBoardProvider } from './qemuBoard.ts';
import { shellQuote } from '../quote.ts';
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

/**
 * Provider of the virtual board (vboard/): `ensureReady` builds the image
 * once and boots QEMU when it is not running (`workbench vboard up`); the
 * connection facts come from the running board's state files; its power
 * switch is QEMU (vboardDown: the guest powers off with SysRq o, which does
 * not unload modules, else QEMU is killed; then vboardUp boots the same disk
 * on a new port).
 */
export const vboardProvider: BoardProvider = qemuBoardProvider(
  { kind: VBOARD_KIND, recordKind: 'vboard', board: vboardBoard, connection: vboardConnection, up: vboardUp, down: vboardDown },
  { hostAddressFromBoard: () => QEMU_HOST_ADDRESS },
);
