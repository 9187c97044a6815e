import { hostname } from 'node:os';
import { WorkbenchError } from '../core/errors.ts';
import { pidAlive } from '../core/pid.ts';
import { loadScript, runScript } from './scripts.ts';
import type { Target } from './types.ts';

/**
 * The board lock: one workbench operation that changes or uses a board's
 * modules (deploy, rollback, repair, a decode, a whole `iterate` from its
 * deploy to its last vector) at a time, whichever host or process runs it.
 *
 * It is a directory on the board ({@link REMOTE_LOCK}, created with
 * `mkdir`, which is atomic; POSIX mkdir(3p)) holding one line: the
 * {@link LockHolder} as JSON. Inside one process an async mutex per board
 * orders callers first, so the board sees one request per process. A
 * holder renews the lock every {@link RENEW_MS}; a lock is broken when its
 * holder is a dead process of this host, when it is this very process
 * but not held by it any more (left by an operation whose connection was
 * cut), or when it was not renewed for {@link STALE_MS} (a holder on
 * another host that died).
 */

/** Lock directory on the board. */
export const REMOTE_LOCK = '/var/lib/workbench/lock';
/** How often a holder refreshes the lock's time stamp, ms. */
export const RENEW_MS = 5 * 60_000;
/** A lock not renewed for this long is broken, ms. */
export const STALE_MS = 30 * 60_000;
/** Default wait for a held board, ms. */
export const DEFAULT_LOCK_WAIT_MS = 600_000;

const SCRIPT = loadScript(import.meta.url, 'boardLock.sh');

/** Who holds a board lock. */
export interface LockHolder {
  host: string;
  pid: number;
  /** ISO time the lock was taken. */
  at: string;
  /** What the holder does (`deploy`, `decode`, `iterate`...). */
  what?: string;
}

/** Options of {@link BoardLock.acquire}. */
export interface LockOptions {
  /** Progress lines (the "held by" message while waiting). */
  log?: (msg: string) => void;
  /** How long to wait for a held board before E_BOARD_BUSY, ms (default 600000). */
  waitMs?: number;
  /** What the new holder does (shown to those who wait). */
  what?: string;
  /** Poll interval while waiting, ms (default 2000). */
  pollMs?: number;
  /** Lock directory on the board (default {@link REMOTE_LOCK}; tests use a temporary one). */
  path?: string;
}

/** `board <name> held by PID <pid> on <host> since <time>` (the words a waiting command prints). */
export function describeHolder(board: string, h: LockHolder): string {
  return `board ${board} held by PID ${h.pid} on ${h.host} since ${h.at}${h.what ? ` (${h.what})` : ''}`;
}

/** Per-board in-process queue: the tail promise every new caller waits for. */
const queues = new Map<string, Promise<void>>();
/** Locks this process holds now, by board. */
const heldHere = new Map<string, BoardLock>();
/** The holder at the head of each board's in-process queue (taking or holding the lock). */
const heads = new Map<string, LockHolder>();

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as LockHolder;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

/** A held board lock. Release it with {@link release} (idempotent). */
export class BoardLock {
  private released = false;
  private renewTimer: NodeJS.Timeout | undefined;

  private constructor(
    /** The target the lock was taken through (see {@link retarget}). */
    public target: Target,
    readonly board: string,
    readonly holder: LockHolder,
    /** Lock directory on the board. */
    readonly path: string,
    private readonly leaveQueue: () => void,
  ) {
    this.renewTimer = setInterval(() => {
      void runScript(this.target, SCRIPT, ['renew', this.path, this.ownerLine()], { timeoutMs: 30_000 }).catch(() => undefined);
    }, RENEW_MS);
    this.renewTimer.unref();
  }

  /**
   * Takes the board's lock, waiting while someone else holds it (logging
   * {@link describeHolder} once). The target may be replaced later (a
   * power-cycled vboard comes back on a new port): {@link releaseVia}.
   * @throws WorkbenchError E_BOARD_BUSY (the holder's PID, host and time)
   *   after `waitMs`; the target's errors (E_UNREACHABLE...).
   */
  static async acquire(target: Target, board: string, opts: LockOptions = {}): Promise<BoardLock> {
    const waitMs = opts.waitMs ?? DEFAULT_LOCK_WAIT_MS;
    const path = opts.path ?? REMOTE_LOCK;
    const me: LockHolder = { host: hostname(), pid: process.pid, at: new Date().toISOString(), ...(opts.what ? { what: opts.what } : {}) };
    const started = Date.now();
    // In-process queue first: one caller of this process at a time talks to the board's lock.
    const before = queues.get(board) ?? Promise.resolve();
    let leave!: () => void;
    const mine = new Promise<void>((res) => (leave = res));
    const tail = before.then(() => mine);
    queues.set(board, tail);
    const leaveQueue = () => {
      if (heads.get(board) === me) heads.delete(board);
      leave();
      if (queues.get(board) === tail) queues.delete(board);
    };
    let told = false;
    const tell = (h: LockHolder) => {
      if (told) return;
      told = true;
      opts.log?.(`${describeHolder(board, h)}; waiting up to ${Math.round(waitMs / 1000)} s`);
    };
    try {
      let first = true;
      for (;;) {
        const ready = await Promise.race([before.then(() => true), sleep(first ? 0 : 100).then(() => false)]);
        first = false;
        if (ready) break;
        const h = heads.get(board);
        if (h) tell(h);
        if (Date.now() - started > waitMs) throw busy(board, h);
      }
      me.at = new Date().toISOString();
      heads.set(board, me);
      const line = JSON.stringify(me);
      for (;;) {
        const r = await runScript(target, SCRIPT, ['acquire', path, line], { timeoutMs: 30_000 });
        const out = r.stdout.trim();
        if (out === 'acquired') break;
        const [, age = '0', text = ''] = out.split('\t');
        const holder = parseHolder(text);
        const ageMs = Number(age) * 1000;
        const stale = holder ? (holder.host === me.host && (!pidAlive(holder.pid) || holder.pid === me.pid)) || ageMs > STALE_MS : ageMs > 60_000;
        if (stale) {
          opts.log?.(
            `breaking a stale lock on board ${board} (${holder ? describeHolder(board, holder) : 'no holder recorded'}; ${holder && holder.host === me.host ? 'that process is gone' : `not renewed for ${age} s`})`,
          );
          await runScript(target, SCRIPT, ['break', path, text], { timeoutMs: 30_000 });
          continue;
        }
        if (!holder) {
          // being created by another process right now
          await sleep(500);
          continue;
        }
        // Say who holds the board before giving up too: on a loaded host the
        // first round trip alone can outlast a short wait.
        tell(holder);
        if (Date.now() - started > waitMs) throw busy(board, holder);
        await sleep(opts.pollMs ?? 2000);
      }
      const lock = new BoardLock(target, board, me, path, leaveQueue);
      heldHere.set(board, lock);
      return lock;
    } catch (e) {
      leaveQueue();
      throw e;
    }
  }

  /**
   * Who holds `board`'s lock now (one round trip), or undefined when it is free.
   * @throws the target's errors.
   */
  static async holderOf(target: Target, path = REMOTE_LOCK): Promise<(LockHolder & { ageS: number }) | undefined> {
    const r = await runScript(target, SCRIPT, ['holder', path], { timeoutMs: 30_000 });
    const [k, age = '0', text = ''] = r.stdout.trim().split('\t');
    if (k !== 'held') return undefined;
    const h = parseHolder(text) ?? { host: '?', pid: 0, at: '?' };
    return { ...h, ageS: Number(age) };
  }

  /** Whether this process holds `board`'s lock right now. */
  static heldByThisProcess(board: string): BoardLock | undefined {
    return heldHere.get(board);
  }

  /** The one line stored in the lock directory. */
  ownerLine(): string {
    return JSON.stringify(this.holder);
  }

  /** Whether the lock is still held. */
  get held(): boolean {
    return !this.released;
  }

  /**
   * For the last remote command of the locked work: the lock directory that
   * command may remove itself (saving a round trip), or '' when the lock is
   * already released. Call {@link releasedRemotely} once that command
   * succeeded.
   */
  get remotePath(): string {
    return this.released ? '' : this.path;
  }

  /** The last remote command removed the lock directory: finish the release locally. */
  releasedRemotely(): void {
    this.finish();
  }

  /** Goes on through a new connection to the same board (after a power cycle the vboard answers on another port). */
  retarget(target: Target): void {
    this.target = target;
  }

  /** Releases the lock through the target it was taken with. Never throws (a lock left behind is broken later as stale). */
  async release(): Promise<void> {
    return this.releaseVia(this.target);
  }

  /** Releases the lock through `target` (a new connection to the same board). Never throws. */
  async releaseVia(target: Target): Promise<void> {
    if (this.released) return;
    try {
      await runScript(target, SCRIPT, ['release', this.path, this.ownerLine()], { timeoutMs: 30_000 });
    } catch {
      /* unreachable: the next holder breaks it (our PID is gone, or it is this process and no longer held) */
    } finally {
      this.finish();
    }
  }

  private finish(): void {
    if (this.released) return;
    this.released = true;
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (heldHere.get(this.board) === this) heldHere.delete(this.board);
    this.leaveQueue();
  }
}

function busy(board: string, h: LockHolder | undefined): WorkbenchError {
  return new WorkbenchError('E_BOARD_BUSY', h ? describeHolder(board, h) : `board ${board} is held by another operation of this process`, {
    hint: 'wait for it to finish (or stop that process); a holder that died is detected and its lock broken',
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Runs `fn` holding `board`'s lock. With `opts.lock` (the caller holds the
 * lock already, e.g. `iterate` around its deploy and decodes) `fn` runs
 * under it and the lock stays held afterwards: `fn` then gets a shared view
 * whose {@link BoardLock.remotePath} is '' (nothing inside may release it).
 * @throws WorkbenchError E_BOARD_BUSY, and whatever `fn` throws.
 */
export async function withBoardLock<T>(
  target: Target,
  board: string,
  fn: (lock: BoardLock | SharedLock) => Promise<T>,
  opts: LockOptions & { lock?: BoardLock } = {},
): Promise<T> {
  if (opts.lock?.held) return fn(new SharedLock(opts.lock));
  const lock = await BoardLock.acquire(target, board, opts);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

/** A lock held by an outer operation: the inner one must not release it. */
export class SharedLock {
  constructor(readonly outer: BoardLock) {}
  get holder(): LockHolder {
    return this.outer.holder;
  }
  get held(): boolean {
    return this.outer.held;
  }
  get remotePath(): string {
    return '';
  }
  releasedRemotely(): void {}
  retarget(target: Target): void {
    this.outer.retarget(target);
  }
}

/** What locked work sees of its lock: where a final command may release it. */
export type HeldLock = Pick<BoardLock, 'holder' | 'held' | 'remotePath' | 'releasedRemotely' | 'retarget'>;
