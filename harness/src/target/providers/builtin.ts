import { BoardProviders } from '../provider.ts';
import { sshProvider } from './ssh.ts';
import { simboardProvider } from './simboard.ts';
import { vboardProvider } from './vboard.ts';

/**
 * The built-in board kinds, in one place: the virtual board first (it is
 * the default board), the simulated RK3588 (simboard), then plain SSH
 * boards. A new kind is one file in this
 * folder plus one entry here.
 */
export function builtinProviders(): BoardProviders {
  return new BoardProviders([vboardProvider, simboardProvider, sshProvider]);
}
