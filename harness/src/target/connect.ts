import type { Target } from './types.ts';

/**
 * One connection per board per run: every stage that asks for the same
 * board gets the same {@link Target} (for SSH boards the same ssh2
 * connection, reopened with backoff when it drops). Commands call
 * {@link closeTargets} when they end. Providers create the targets
 * (target/provider.ts `BoardProviders.targetFor`).
 */
const pool = new Map<string, Target>();

/** The pooled Target under `key`, created by `open` on first use. */
export function pooledTarget(key: string, open: () => Target): Target {
  let t = pool.get(key);
  if (!t) {
    t = open();
    pool.set(key, t);
  }
  return t;
}

/** Closes every pooled connection (idempotent). */
export async function closeTargets(): Promise<void> {
  const all = [...pool.values()];
  pool.clear();
  await Promise.all(all.map((t) => t.close()));
}
