import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Root of the workbench's caches: `$XDG_CACHE_HOME/workbench`, default
 * `~/.cache/workbench`. `WORKBENCH_CACHE_DIR` overrides it (tests use this).
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WORKBENCH_CACHE_DIR) return resolve(env.WORKBENCH_CACHE_DIR);
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'workbench');
}

/**
 * The user's config directory: `$XDG_CONFIG_HOME/workbench`, default
 * `~/.config/workbench` (boards.toml, known_hosts). `WORKBENCH_CONFIG_DIR`
 * overrides it.
 */
export function configRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WORKBENCH_CONFIG_DIR) return resolve(env.WORKBENCH_CONFIG_DIR);
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'workbench');
}

/**
 * Mutable state that is not a cache (running vboard PID, deploy journals):
 * `$XDG_STATE_HOME/workbench`, default `~/.local/state/workbench`.
 * `WORKBENCH_STATE_DIR` overrides it.
 */
export function stateRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WORKBENCH_STATE_DIR) return resolve(env.WORKBENCH_STATE_DIR);
  const base = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'workbench');
}

/** The repository root (the folder holding package.json, patches/, vectors/...). */
export function projectRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

let version: string | undefined;

/** The workbench's version: `version` of the repository's package.json, read once. */
export function workbenchVersion(): string {
  version ??= (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
