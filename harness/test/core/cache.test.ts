import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENTRY_MARKER, acquireLock, cacheKey, checkEntry, ensureEntry } from '../../src/core/cache.ts';

const root = () => mkdtempSync(join(tmpdir(), 'wb-cache-'));

async function buildOne(r: string, inputs: unknown, counter: { n: number }, content = 'hello') {
  return ensureEntry(
    'thing',
    inputs,
    async (tmp) => {
      counter.n++;
      await writeFile(join(tmp, 'a.txt'), content);
      return { files: ['a.txt'], extra: { built: counter.n } };
    },
    { root: r },
  );
}

describe('cache entries', () => {
  it('builds once, then hits; key depends only on inputs (key order irrelevant)', async () => {
    const r = root();
    const c = { n: 0 };
    const a = await buildOne(r, { x: 1, y: [2] }, c);
    const b = await buildOne(r, { y: [2], x: 1 }, c);
    expect(a.hit).toBe(false);
    expect(b.hit).toBe(true);
    expect(c.n).toBe(1);
    expect(b.dir).toBe(join(r, 'thing', cacheKey({ x: 1, y: [2] })));
    expect(readdirSync(join(r, 'thing')).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('a half-written entry (no marker) is detected and rebuilt', async () => {
    const r = root();
    const key = cacheKey({ v: 1 });
    mkdirSync(join(r, 'thing', key), { recursive: true });
    writeFileSync(join(r, 'thing', key, 'a.txt'), 'hel'); // crash before the marker
    expect((await checkEntry(join(r, 'thing', key), 'thing', key)).state).toBe('corrupt');
    const c = { n: 0 };
    const logs: string[] = [];
    const e = await ensureEntry(
      'thing',
      { v: 1 },
      async (tmp) => {
        c.n++;
        await writeFile(join(tmp, 'a.txt'), 'hello');
        return { files: ['a.txt'] };
      },
      { root: r, log: (s) => logs.push(s) },
    );
    expect(e.hit).toBe(false);
    expect(c.n).toBe(1);
    expect(readFileSync(join(e.dir, 'a.txt'), 'utf8')).toBe('hello');
    expect(logs.join('\n')).toMatch(/half-written entry.*rebuilding/);
  });

  it('a marker naming another kind/key is corrupt', async () => {
    const r = root();
    const c = { n: 0 };
    const e = await buildOne(r, { v: 2 }, c);
    const meta = JSON.parse(readFileSync(join(e.dir, ENTRY_MARKER), 'utf8'));
    writeFileSync(join(e.dir, ENTRY_MARKER), JSON.stringify({ ...meta, key: '0000000000000000' }));
    const chk = await checkEntry(e.dir, 'thing', e.key);
    expect(chk.state).toBe('corrupt');
    expect(chk.reason).toContain('marker names thing/0000000000000000');
    expect((await buildOne(r, { v: 2 }, c)).hit).toBe(false);
    expect(c.n).toBe(2);
  });

  it('a truncated file (size mismatch) is corrupt and rebuilt; sha256 depth catches same-size changes', async () => {
    const r = root();
    const c = { n: 0 };
    const e = await buildOne(r, { v: 3 }, c);
    writeFileSync(join(e.dir, 'a.txt'), 'hel');
    const chk = await checkEntry(e.dir, 'thing', e.key);
    expect(chk.state).toBe('corrupt');
    expect(chk.reason).toContain('a.txt is 3 bytes, expected 5');
    expect((await buildOne(r, { v: 3 }, c)).hit).toBe(false);
    writeFileSync(join(e.dir, 'a.txt'), 'jello');
    expect((await checkEntry(e.dir, 'thing', e.key, 'size')).state).toBe('complete');
    expect((await checkEntry(e.dir, 'thing', e.key, 'sha256')).reason).toContain('SHA-256 differs');
  });

  it('a failing builder leaves nothing behind', async () => {
    const r = root();
    await expect(
      ensureEntry(
        'thing',
        { v: 4 },
        async (tmp) => {
          await writeFile(join(tmp, 'partial'), 'x');
          throw new Error('boom');
        },
        { root: r },
      ),
    ).rejects.toThrow('boom');
    expect(readdirSync(join(r, 'thing')).filter((n) => !n.endsWith('.lock'))).toEqual([]);
    expect(existsSync(join(r, 'thing', cacheKey({ v: 4 })))).toBe(false);
  });

  it('concurrent callers of one key: the builder runs once, both get the entry', async () => {
    const r = root();
    const c = { n: 0 };
    const slow = () =>
      ensureEntry(
        'thing',
        { v: 5 },
        async (tmp) => {
          c.n++;
          await new Promise((res) => setTimeout(res, 300));
          await writeFile(join(tmp, 'a.txt'), 'hello');
          return { files: ['a.txt'] };
        },
        { root: r },
      );
    const [a, b] = await Promise.all([slow(), slow()]);
    expect(c.n).toBe(1);
    expect([a.hit, b.hit].sort()).toEqual([false, true]);
    expect(a.dir).toBe(b.dir);
  });

  it('a lock held by a dead process is taken over', async () => {
    const r = root();
    const lock = join(r, 'x.lock');
    writeFileSync(lock, '999999999'); // no such PID
    const release = await acquireLock(lock);
    expect(readFileSync(lock, 'utf8')).toBe(String(process.pid));
    await release();
    expect(existsSync(lock)).toBe(false);
  });

  it('a live holder in another process is waited for, then E_LOCKED after the timeout', async () => {
    const r = root();
    const lock = join(r, 'x.lock');
    writeFileSync(lock, '1'); // PID 1 is always alive
    await expect(acquireLock(lock, undefined, 800)).rejects.toMatchObject({ code: 'E_LOCKED' });
  });

  it('a second caller in the same process waits for the first', async () => {
    const r = root();
    const lock = join(r, 'x.lock');
    const first = await acquireLock(lock);
    let got = false;
    const second = acquireLock(lock).then((rel) => {
      got = true;
      return rel;
    });
    await new Promise((res) => setTimeout(res, 700));
    expect(got).toBe(false);
    await first();
    await (
      await second
    )();
    expect(got).toBe(true);
  });
});
