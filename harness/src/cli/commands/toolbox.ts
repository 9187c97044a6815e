import type { Command } from 'commander';

/** Registers the `toolbox` command family (not implemented yet). */
export function register(_program: Command): void {}
