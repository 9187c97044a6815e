import type { Command } from 'commander';

/** Registers the `deploy` command family (not implemented yet). */
export function register(_program: Command): void {}
