import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BoardLock, withBoardLock } from '../../src/target/boardLock.ts';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { LocalTarget } from './localTarget.ts';

/**
 * The board lock with its real shell script (target/boardLock.sh) run by a
 * real sh on a temporary directory standing for the board.
 */
function lockDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'wb-lock-')), 'var', 'lib', 'workbench', 'lock');
}

describe('BoardLock', () => {
  it('two callers of one process: the second waits for the first, never both inside; the waiting one is told who holds the board', async () => {
    const path = lockDir();
    const t = new LocalTarget();
    const inside: string[] = [];
    const logs: string[] = [];
    const run = (name: string) =>
      withBoardLock(
        t,
        'b1',
        async () => {
          inside.push(`${name}+`);
          await new Promise((r) => setTimeout(r, 150));
          inside.push(`${name}-`);
        },
        { path, what: name, log: (m) => logs.push(m) },
      );
    await Promise.all([run('first'), run('second')]);
    expect(inside).toEqual(['first+', 'first-', 'second+', 'second-']);
    expect(logs.join('\n')).toMatch(new RegExp(`board b1 held by PID ${process.pid} on ${hostname()} since \\d{4}-\\d\\d-\\d\\dT[^ ]+ \\(first\\)`));
    expect(await BoardLock.holderOf(t, path)).toBeUndefined();
  });

  it('a lock held by a live process of another host: waits, then E_BOARD_BUSY with that PID, host and time', async () => {
    const path = lockDir();
    mkdirSync(path, { recursive: true });
    const owner = { host: 'ci-runner-7', pid: 4242, at: '2026-12-02T07:00:00.000Z', what: 'iterate' };
    writeFileSync(join(path, 'owner'), JSON.stringify(owner) + '\n');
    const t = new LocalTarget();
    const logs: string[] = [];
    const err = await BoardLock.acquire(t, 'b2', { path, waitMs: 300, pollMs: 100, log: (m) => logs.push(m) }).catch((e) => e);
    expect(isWorkbenchError(err, 'E_BOARD_BUSY')).toBe(true);
    expect(err.message).toBe('board b2 held by PID 4242 on ci-runner-7 since 2026-12-02T07:00:00.000Z (iterate)');
    expect(logs[0]).toMatch(/^board b2 held by PID 4242 on ci-runner-7 since 2026-12-02T07:00:00.000Z \(iterate\); waiting up to 0 s/);
    const h = await BoardLock.holderOf(t, path);
    expect(h).toMatchObject(owner);
  });

  it('a lock of a dead process of this host is broken; a live one of this host is waited for', async () => {
    const path = lockDir();
    mkdirSync(path, { recursive: true });
    // a real process that exits: its PID is dead afterwards
    const child = spawn('true');
    await new Promise((r) => child.on('close', r));
    writeFileSync(join(path, 'owner'), JSON.stringify({ host: hostname(), pid: child.pid, at: new Date().toISOString() }) + '\n');
    const t = new LocalTarget();
    const logs: string[] = [];
    const lock = await BoardLock.acquire(t, 'b3', { path, log: (m) => logs.push(m) });
    expect(logs.join('\n')).toMatch(new RegExp(`breaking a stale lock on board b3 \\(board b3 held by PID ${child.pid} on `));
    expect((await BoardLock.holderOf(t, path))?.pid).toBe(process.pid);
    await lock.release();
    expect(await BoardLock.holderOf(t, path)).toBeUndefined();

    // pid 1 (init) is alive: waited for, never broken
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'owner'), JSON.stringify({ host: hostname(), pid: 1, at: new Date().toISOString() }) + '\n');
    const err = await BoardLock.acquire(t, 'b3', { path, waitMs: 200, pollMs: 50 }).catch((e) => e);
    expect(isWorkbenchError(err, 'E_BOARD_BUSY')).toBe(true);
    expect(err.message).toMatch(/held by PID 1 on /);
  });

  it('release removes only our own lock; the last remote command may release it (remotePath, then releasedRemotely)', async () => {
    const path = lockDir();
    const t = new LocalTarget();
    const lock = await BoardLock.acquire(t, 'b4', { path });
    expect(lock.remotePath).toBe(path);
    await t.exec(['rm', '-rf', lock.remotePath]);
    lock.releasedRemotely();
    expect(lock.remotePath).toBe('');
    // someone else takes it now: our (late) release must not remove theirs
    const other = await BoardLock.acquire(t, 'b4', { path });
    await lock.release();
    expect((await BoardLock.holderOf(t, path))?.at).toBe(other.holder.at);
    await other.release();
    // an outer holder's lock is shared: the inner work cannot release it
    const outer = await BoardLock.acquire(t, 'b4', { path });
    await withBoardLock(t, 'b4', async (inner) => expect(inner.remotePath).toBe(''), { path, lock: outer });
    expect(outer.held).toBe(true);
    await outer.release();
  });
});
