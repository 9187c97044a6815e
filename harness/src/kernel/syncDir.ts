import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../core/cache.ts';

/** One file to place in a build directory. */
export interface SyncItem {
  /** Path relative to the build directory. */
  to: string;
  /** Content (generated files) ... */
  content?: string | Buffer;
  /** ... or a host file to copy. */
  from?: string;
}

/** Result of {@link syncDir}. */
export interface SyncResult {
  /** Relative paths whose content changed (written). */
  written: string[];
  /** Relative paths removed (synced before, not wanted now). */
  removed: string[];
  /** SHA-256 over (path, content hash) of every item, in path order: the input key of the build. */
  digest: string;
}

const LIST = '.wb-synced.json';

/**
 * Makes `dest` hold exactly `items` (plus whatever the build writes there):
 * a file is written only when its content differs, so unchanged sources keep
 * their mtime and make rebuilds only what changed. Files synced by an earlier
 * call and absent now are removed (with their `.o`/`.cmd` products left for
 * make to ignore). The list of synced files is kept in `dest/.wb-synced.json`.
 */
export async function syncDir(dest: string, items: SyncItem[]): Promise<SyncResult> {
  await mkdir(dest, { recursive: true });
  const prev: string[] = existsSync(join(dest, LIST)) ? JSON.parse(await readFile(join(dest, LIST), 'utf8').catch(() => '[]')) : [];
  const wanted = new Set(items.map((i) => i.to));
  const written: string[] = [];
  const removed: string[] = [];
  const h = createHash('sha256');
  for (const it of [...items].sort((a, b) => (a.to < b.to ? -1 : 1))) {
    const data = it.content !== undefined ? Buffer.from(it.content) : await readFile(it.from!);
    const target = join(dest, it.to);
    h.update(`${it.to}\0${createHash('sha256').update(data).digest('hex')}\n`);
    const same = await readFile(target)
      .then((cur) => cur.equals(data))
      .catch(() => false);
    if (!same) {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, data);
      if (it.from) {
        const st = await stat(it.from);
        await chmodLike(target, st.mode);
      }
      written.push(it.to);
    }
  }
  for (const p of prev) {
    if (!wanted.has(p)) {
      await rm(join(dest, p), { force: true });
      removed.push(p);
    }
  }
  await writeFileAtomic(join(dest, LIST), JSON.stringify([...wanted].sort()));
  return { written, removed, digest: h.digest('hex') };
}

async function chmodLike(p: string, mode: number): Promise<void> {
  const { chmod } = await import('node:fs/promises');
  await chmod(p, mode & 0o777);
}

/** Every regular file under `dir` (relative paths, sorted), recursively. */
export async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out.sort();
}
