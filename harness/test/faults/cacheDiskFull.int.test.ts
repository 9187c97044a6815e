/**
 * The host cache's filesystem fills up while an entry is built: a real small
 * tmpfs mounted as WORKBENCH_CACHE_DIR (mount(8), needs root). The error names
 * the code, the path and the free bytes and says what to do; no entry that
 * looks complete and no temporary directory is left; after space is freed
 * the same call builds the entry.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENTRY_MARKER, cacheKey, checkEntry, ensureEntry, writeFileAtomic } from '../../src/core/cache.ts';
import { WorkbenchError } from '../../src/core/errors.ts';

const savedEnv = process.env.WORKBENCH_CACHE_DIR;
/** A fresh 256 KiB tmpfs per test, set as WORKBENCH_CACHE_DIR. */
let mnt = '';

beforeEach(() => {
  mnt = mkdtempSync(join(tmpdir(), 'wb-cache-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'wb-cache-full', mnt]);
  process.env.WORKBENCH_CACHE_DIR = mnt;
});
afterEach(() => {
  execFileSync('umount', [mnt]);
  rmSync(mnt, { recursive: true, force: true }); // our own mkdtemp directory
});
afterAll(() => {
  if (savedEnv === undefined) delete process.env.WORKBENCH_CACHE_DIR;
  else process.env.WORKBENCH_CACHE_DIR = savedEnv;
});

/** Writes 1 MiB in 64 KiB chunks (a builder producing more than the filesystem holds). */
async function writeMiB(path: string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    for (let i = 0; i < 16; i++) await fh.write(Buffer.alloc(65536, i));
  } finally {
    await fh.close();
  }
}

function leftovers(kind: string): string[] {
  return existsSync(join(mnt, kind)) ? readdirSync(join(mnt, kind)) : [];
}

describe('cache disk full', () => {
  it('a builder that fills the filesystem: E_CACHE_DISK_FULL with path, free bytes and what to do; no entry, no temp left', async () => {
    const kept = await ensureEntry('small', { v: 1 }, async (tmp) => {
      await writeFile(join(tmp, 'a'), 'kept');
      return { files: ['a'] };
    });
    const err = await ensureEntry('big', { v: 1 }, async (tmp) => writeMiB(join(tmp, 'blob'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkbenchError);
    const w = err as WorkbenchError;
    expect(w.code).toBe('E_CACHE_DISK_FULL');
    expect(w.message).toContain(join(mnt, 'big', '.tmp-'));
    expect(w.message).toContain(`cache entry big/${cacheKey({ v: 1 })}`);
    expect(w.message).toMatch(/\(\d+ bytes free\)/);
    // The free bytes named are those of the full filesystem (statfs(2) f_bavail: less than one 64 KiB chunk).
    expect(Number(/\((\d+) bytes free\)/.exec(w.message)![1])).toBeLessThan(65536);
    expect(w.hint).toContain('WORKBENCH_CACHE_DIR');
    expect(w.hint).toContain(mnt);
    expect(leftovers('big')).toEqual([`${cacheKey({ v: 1 })}.lock`].filter((n) => existsSync(join(mnt, 'big', n))));
    expect((await checkEntry(join(mnt, 'big', cacheKey({ v: 1 })), 'big', cacheKey({ v: 1 }))).state).toBe('missing');
    // The other entry is untouched, and the space is back.
    expect((await checkEntry(kept.dir, 'small', kept.key, 'sha256')).state).toBe('complete');
    expect(statfsSync(mnt).bavail * statfsSync(mnt).bsize).toBeGreaterThan(200 * 1024);
  });

  it('the filesystem is full exactly when the completion marker is written: the entry is not taken for complete', async () => {
    const err = await ensureEntry('brim', { v: 2 }, async (tmp) => {
      // Fill to the brim but let the builder itself succeed.
      await writeMiB(join(tmp, 'blob')).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOSPC') throw e;
      });
      return {};
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_CACHE_DISK_FULL' });
    const key = cacheKey({ v: 2 });
    expect(existsSync(join(mnt, 'brim', key, ENTRY_MARKER))).toBe(false);
    expect(leftovers('brim').filter((n) => n.startsWith('.tmp-') || n === key)).toEqual([]);
  });

  it('a rebuild of a corrupt entry that hits a full disk leaves no entry that looks complete; with space it is built', async () => {
    const key = cacheKey({ v: 3 });
    mkdirSync(join(mnt, 'again', key), { recursive: true }); // half-written by a crash: no marker
    const builder = async (tmp: string) => {
      await writeMiB(join(tmp, 'blob')).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOSPC') throw e;
      });
      return { files: ['blob'] };
    };
    await expect(ensureEntry('again', { v: 3 }, builder)).rejects.toMatchObject({ code: 'E_CACHE_DISK_FULL' });
    expect((await checkEntry(join(mnt, 'again', key), 'again', key)).state).not.toBe('complete');
    execFileSync('mount', ['-o', 'remount,size=4m', mnt]);
    const ok = await ensureEntry('again', { v: 3 }, builder);
    expect(ok.hit).toBe(false);
    expect((await checkEntry(ok.dir, 'again', key, 'sha256')).state).toBe('complete');
  });

  it('writeFileAtomic on a full filesystem keeps the old file whole and leaves no temp file', async () => {
    const f = join(mnt, 'record.json');
    await writeFileAtomic(f, '{"old":true}');
    const filler = join(mnt, 'filler');
    await writeMiB(filler).catch(() => undefined);
    await expect(writeFileAtomic(f, 'x'.repeat(300 * 1024))).rejects.toMatchObject({ code: 'E_CACHE_DISK_FULL' });
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(f, 'utf8')).toBe('{"old":true}');
    expect(readdirSync(mnt).filter((n) => n.includes('.tmp-'))).toEqual([]);
    rmSync(filler);
  });
});
