import { boardSshOptions, type Board, type ConnectOptions } from './boards.ts';
import { SshTarget } from './ssh.ts';

/**
 * One SSH connection per board per run: every stage that asks for the same
 * board gets the same {@link SshTarget} (and so the same ssh2 connection,
 * reopened with backoff when it drops). Commands call {@link closeTargets}
 * when they end.
 */
const pool = new Map<string, SshTarget>();

/** The run's target for `board` (created on first use; connects lazily). */
export function targetFor(board: Board, opts: ConnectOptions = {}): SshTarget {
  const key = `${board.name}|${opts.trust ?? 'strict'}`;
  let t = pool.get(key);
  if (!t) {
    t = new SshTarget(boardSshOptions(board, opts));
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
