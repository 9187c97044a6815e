import type { Command } from 'commander';

/** A command family: registers its commands on the program. */
export interface CommandModule {
  register(program: Command): void;
}

/** A command family, loaded on demand, and the top-level command names it registers. */
export interface CommandFamily {
  commands: readonly string[];
  load: () => Promise<CommandModule>;
}

/**
 * Every command family, in `--help` order. Families are imported lazily so
 * that `workbench vboard up` does not pay for loading ink, ssh2, xxhash-wasm
 * and every stage (CLI start-up was ~2 s with eager imports).
 */
export const COMMAND_FAMILIES: readonly CommandFamily[] = [
  { commands: ['iterate'], load: () => import('./iterate.ts') },
  { commands: ['doctor'], load: () => import('./doctor.ts') },
  { commands: ['toolbox'], load: () => import('./toolbox.ts') },
  { commands: ['vboard'], load: () => import('./vboard.ts') },
  { commands: ['simboard'], load: () => import('./simboard.ts') },
  { commands: ['series', 'build', 'check', 'kunit'], load: () => import('./kernel.ts') },
  { commands: ['boards'], load: () => import('./boards.ts') },
  { commands: ['deploy', 'rollback', 'backups'], load: () => import('./deploy.ts') },
  { commands: ['vectors'], load: () => import('./vectors.ts') },
  { commands: ['decode'], load: () => import('./decode.ts') },
  { commands: ['report'], load: () => import('./report.ts') },
  { commands: ['registers'], load: () => import('./registers.ts') },
  { commands: ['lava'], load: () => import('./lava.ts') },
  { commands: ['nightly'], load: () => import('./nightly.ts') },
];

/**
 * The families to load for `argv` (process.argv layout): only the family
 * owning the first operand when it is a known command, else all of them
 * (for `--help`, `help`, or an unknown command, so commander can list and
 * suggest every command).
 */
export function familiesFor(argv: readonly string[]): readonly CommandFamily[] {
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  const owner = first === undefined ? undefined : COMMAND_FAMILIES.find((f) => f.commands.includes(first));
  return owner ? [owner] : COMMAND_FAMILIES;
}
