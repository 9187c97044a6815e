import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pidAlive } from './pid.ts';
import { WorkbenchError } from './errors.ts';
import { cacheRoot } from './paths.ts';

/** Name of the marker file written last into every complete cache entry. */
export const ENTRY_MARKER = '.workbench-entry.json';

/** Contents of {@link ENTRY_MARKER}. */
export interface CacheEntryMeta {
  /** Marker format version. */
  version: 1;
  /** Cache kind (first path component), e.g. `toolbox`, `vboard-image`. */
  kind: string;
  /** Hash of the inputs: the directory name. */
  key: string;
  /** The inputs that were hashed, for humans and `workbench cache ls`. */
  inputs: unknown;
  /** ISO time the entry was completed. */
  createdAt: string;
  /** Optional size + SHA-256 of files (relative paths) for a full check. */
  files?: Record<string, { size: number; sha256: string }>;
  /** Anything the builder returned (e.g. resolved package versions). */
  extra?: Record<string, unknown>;
}

/** JSON with object keys sorted, so equal inputs hash equally. */
export function stableStringify(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
    .join(',')}}`;
}

/** Cache key of `inputs`: first 16 hex digits of SHA-256 over stable JSON. */
export function cacheKey(inputs: unknown): string {
  return createHash('sha256').update(stableStringify(inputs)).digest('hex').slice(0, 16);
}

/** SHA-256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const { createReadStream } = await import('node:fs');
  const h = createHash('sha256');
  await new Promise<void>((res, rej) => {
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('end', () => res())
      .on('error', rej);
  });
  return h.digest('hex');
}

/** Outcome of a cache lookup. */
export type EntryState = 'complete' | 'missing' | 'corrupt';

/**
 * Checks an entry directory: `complete` when its marker parses, names the
 * same kind and key, and (with `deep`) every recorded file has its recorded
 * size (and, with `deep === 'sha256'`, its hash). A directory without a valid
 * marker is `corrupt` (a half-written entry) and must be rebuilt.
 */
export async function checkEntry(
  dir: string,
  kind: string,
  key: string,
  deep: false | 'size' | 'sha256' = 'size',
): Promise<{ state: EntryState; meta?: CacheEntryMeta; reason?: string }> {
  if (!existsSync(dir)) return { state: 'missing' };
  let meta: CacheEntryMeta;
  try {
    meta = JSON.parse(await readFile(join(dir, ENTRY_MARKER), 'utf8')) as CacheEntryMeta;
  } catch {
    return { state: 'corrupt', reason: `no readable ${ENTRY_MARKER} (half-written entry)` };
  }
  if (meta.version !== 1 || meta.kind !== kind || meta.key !== key) {
    return { state: 'corrupt', reason: `marker names ${meta.kind}/${meta.key}, expected ${kind}/${key}` };
  }
  if (deep && meta.files) {
    for (const [rel, want] of Object.entries(meta.files)) {
      const p = join(dir, rel);
      let st;
      try {
        st = await stat(p);
      } catch {
        return { state: 'corrupt', reason: `${rel} is missing` };
      }
      if (st.size !== want.size) return { state: 'corrupt', reason: `${rel} is ${st.size} bytes, expected ${want.size}` };
      if (deep === 'sha256' && (await sha256File(p)) !== want.sha256) {
        return { state: 'corrupt', reason: `${rel} SHA-256 differs from the recorded one` };
      }
    }
  }
  return { state: 'complete', meta };
}

/** What {@link ensureEntry}'s builder may return. */
export interface BuildOutput {
  /** Files (relative to the entry) whose size and SHA-256 are recorded. */
  files?: string[];
  /** Extra facts stored in the marker (e.g. resolved versions). */
  extra?: Record<string, unknown>;
}

/** Options of {@link ensureEntry}. */
export interface EnsureOptions {
  /** Override the cache root (default {@link cacheRoot}). */
  root?: string;
  /** Integrity check depth on a hit (default `size`). */
  deep?: false | 'size' | 'sha256';
  /** Progress messages (e.g. "rebuilding: reason"). */
  log?: (msg: string) => void;
  /** Rebuild even when complete. */
  force?: boolean;
}

/** Result of {@link ensureEntry}. */
export interface EnsureResult {
  /** Absolute path of the complete entry directory. */
  dir: string;
  /** The entry's key. */
  key: string;
  /** True when the entry was already there. */
  hit: boolean;
  meta: CacheEntryMeta;
}

/**
 * Returns the cache entry `<root>/<kind>/<key>` for `inputs`, building it when
 * missing or corrupt. The builder writes into a fresh temporary directory
 * (same filesystem); the marker is written last and the directory renamed
 * into place, so a crash never leaves an entry that looks complete. One
 * builder per key at a time (a lock file holding the PID; a dead holder's
 * lock is taken over).
 *
 * @throws WorkbenchError E_CACHE_DISK_FULL when the cache's filesystem fills
 *   up while the entry is built or completed (see {@link diskFullError}; the
 *   temporary directory is removed, no entry is left); otherwise whatever the
 *   builder throws (the temporary directory is removed).
 */
export async function ensureEntry(
  kind: string,
  inputs: unknown,
  build: (tmpDir: string) => Promise<BuildOutput | void>,
  opts: EnsureOptions = {},
): Promise<EnsureResult> {
  const key = cacheKey(inputs);
  const kindDir = join(opts.root ?? cacheRoot(), kind);
  const dir = join(kindDir, key);
  await mkdir(kindDir, { recursive: true });
  const release = await acquireLock(join(kindDir, `${key}.lock`), opts.log);
  try {
    await sweepTemp(kindDir);
    const found = await checkEntry(dir, kind, key, opts.force ? false : (opts.deep ?? 'size'));
    if (found.state === 'complete' && !opts.force) return { dir, key, hit: true, meta: found.meta! };
    if (found.state === 'corrupt') opts.log?.(`cache ${kind}/${key}: ${found.reason}; rebuilding`);
    const tmp = join(kindDir, `.tmp-${key}-${process.pid}-${randomBytes(3).toString('hex')}`);
    await mkdir(tmp, { recursive: true });
    try {
      const out = (await build(tmp)) ?? {};
      const files: CacheEntryMeta['files'] = {};
      for (const rel of out.files ?? []) {
        const p = join(tmp, rel);
        files[rel] = { size: (await stat(p)).size, sha256: await sha256File(p) };
      }
      const meta: CacheEntryMeta = {
        version: 1,
        kind,
        key,
        inputs,
        createdAt: new Date().toISOString(),
        ...(out.files ? { files } : {}),
        ...(out.extra ? { extra: out.extra } : {}),
      };
      await writeFile(join(tmp, ENTRY_MARKER), JSON.stringify(meta, null, 2));
      if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
      return { dir, key, hit: false, meta };
    } catch (e) {
      const full = isDiskFull(e) ? await diskFullError(tmp, `cache entry ${kind}/${key}`, e) : undefined;
      await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw full ?? e;
    }
  } finally {
    await release();
  }
}

/**
 * True when `e` says the filesystem is full: errno ENOSPC or EDQUOT
 * (errno(3)), or a failed command whose output says "No space left on device"
 * / "Disk quota exceeded" (strerror of those errnos, what tools print).
 */
export function isDiskFull(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'E_CACHE_DISK_FULL' || code === 'E_HOST_DISK_FULL') return true;
  return e instanceof WorkbenchError && e.code === 'E_COMMAND_FAILED' && /No space left on device|Disk quota exceeded/.test(e.message);
}

/** Free bytes for an unprivileged writer on the filesystem holding `path` (statfs(2) f_bavail * f_bsize), or undefined. */
export async function freeBytes(path: string): Promise<number | undefined> {
  for (let p = path; ; p = join(p, '..')) {
    try {
      const s = await statfs(p);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      if (p === '/' || p === '.') return undefined;
    }
  }
}

/**
 * The error for a full filesystem: code `E_CACHE_DISK_FULL` under the cache
 * root ({@link cacheRoot}, `WORKBENCH_CACHE_DIR`), `E_HOST_DISK_FULL`
 * elsewhere; the message names the path being written and the free bytes
 * left there, the hint what to do. An `e` that already is such an error is
 * returned as is.
 */
export async function diskFullError(path: string, what: string, e?: unknown): Promise<WorkbenchError> {
  if (e instanceof WorkbenchError && /^E_(CACHE|HOST)_DISK_FULL$/.test(e.code)) return e;
  const free = await freeBytes(path);
  const root = cacheRoot();
  const inCache = path === root || path.startsWith(`${root}/`);
  return new WorkbenchError(
    inCache ? 'E_CACHE_DISK_FULL' : 'E_HOST_DISK_FULL',
    `no space left on ${inCache ? "the cache's filesystem" : 'the filesystem'} while writing ${what} at ${path} (${free === undefined ? 'free space unknown' : `${free} bytes free`}); nothing half-written was kept`,
    {
      hint: inCache
        ? `free space on the filesystem holding ${root} (old entries there can be deleted; they are rebuilt when needed), or set WORKBENCH_CACHE_DIR to a directory on a larger filesystem, then run the command again`
        : `free space on the filesystem holding ${path}, then run the command again`,
      cause: e,
    },
  );
}

/** Removes `.tmp-*` directories whose builder process is gone. */
async function sweepTemp(kindDir: string): Promise<void> {
  for (const name of await readdir(kindDir)) {
    const m = /^\.tmp-[0-9a-f]+-(\d+)-/.exec(name);
    if (m && !pidAlive(Number(m[1]))) await rm(join(kindDir, name), { recursive: true, force: true });
  }
}

/** Lock files this process holds right now (so a second caller in the same process waits instead of stealing). */
const heldHere = new Set<string>();

/**
 * Takes an exclusive lock file (`wx`) holding our PID; waits while a live
 * process holds it (including another caller in this same process), takes
 * it over from a dead one.
 * @returns a function that releases the lock.
 */
export async function acquireLock(path: string, log?: (m: string) => void, timeoutMs = 3_600_000): Promise<() => Promise<void>> {
  const started = Date.now();
  let told = false;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      heldHere.add(path);
      return async () => {
        heldHere.delete(path);
        await rm(path, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (!holder || !pidAlive(holder) || (holder === process.pid && !heldHere.has(path))) {
      await rm(path, { force: true });
      continue;
    }
    if (!told) {
      log?.(`waiting for process ${holder} that holds ${path}`);
      told = true;
    }
    if (Date.now() - started > timeoutMs) {
      throw new WorkbenchError('E_LOCKED', `${path} is held by process ${holder}`, {
        hint: `wait for it to finish, or kill ${holder} if it is stuck`,
      });
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Writes `data` to `path` atomically (temp file in the same directory, fsync,
 * rename): readers see the old file or the new one, never a half.
 * @throws WorkbenchError E_CACHE_DISK_FULL when the filesystem is full (the
 *   temporary file is removed, `path` is untouched); fs errors otherwise.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    const full = isDiskFull(e) ? await diskFullError(path, path, e) : undefined;
    await rm(tmp, { force: true });
    throw full ?? e;
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
