/**
 * The one place where the workbench's built-in plug-ins are listed: board
 * kinds (providers), and (below, as they move here) decoder backends and
 * per-vector checks. A new board kind, decoder or check is one file plus
 * one line here. Built at the edges (CLI commands, the pipeline's real
 * stages); tests build their own lists.
 */
import { BoardProviders } from '../target/provider.ts';
import { sshProvider } from '../target/providers/ssh.ts';
import { vboardProvider } from '../vboard/provider.ts';

/** The built-in board kinds: the virtual board first (the default board), then plain SSH boards. */
export function builtinProviders(): BoardProviders {
  return new BoardProviders([vboardProvider, sshProvider]);
}
