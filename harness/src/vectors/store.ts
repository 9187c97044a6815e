import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { copyFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cacheKey, checkEntry, ensureEntry } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { cacheRoot } from '../core/paths.ts';
import { archiveKind, extractArchive } from './archive.ts';

/**
 * The vector store: content-addressed cache entries `vector-store/<key>`
 * with key = hash of the download's MD5 (Fluster `source_checksum`), each
 * holding the vector file(s) (an archive is stored extracted). Entries are
 * written through core/cache.ts (temporary directory + marker + rename), so
 * a half-fetched or corrupt entry is never used.
 */
export const STORE_KIND = 'vector-store';

function storeInputs(md5: string): unknown {
  return { md5 };
}

/** MD5 (hex) of a file, streamed. */
export async function md5File(path: string): Promise<string> {
  const h = createHash('md5');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/**
 * Path of `inputFile` inside the complete store entry for `md5`, or null
 * when that download is not in the store. Looks for the exact relative path
 * first, then for a unique file with the same base name (archives with a
 * top-level folder).
 * @throws WorkbenchError `E_BAD_PATH` when `inputFile` would lead outside the
 *   entry (absolute, `..`): a manifest must never point outside the store.
 */
export async function storedVectorPath(md5: string, inputFile: string, root = cacheRoot()): Promise<string | null> {
  const key = cacheKey(storeInputs(md5));
  const dir = join(root, STORE_KIND, key);
  const filesDir = resolve(dir, 'files');
  if (!resolve(filesDir, inputFile).startsWith(filesDir + sep) || inputFile.includes('\0')) {
    throw new WorkbenchError('E_BAD_PATH', `input file '${inputFile.slice(0, 120)}' leads outside the vector store entry ${filesDir}`, {
      hint: 'a suite manifest names files inside the download only (relative, without ..)',
    });
  }
  if ((await checkEntry(dir, STORE_KIND, key, false)).state !== 'complete') return null;
  const direct = join(dir, 'files', inputFile);
  if (existsSync(direct)) return direct;
  const hits = (await listFiles(join(dir, 'files'))).filter((f) => basename(f) === basename(inputFile));
  return hits.length === 1 ? join(dir, 'files', hits[0]!) : null;
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, base)));
    else if (e.isFile()) out.push(relative(base, p));
  }
  return out;
}

/** Where a download comes from. */
export interface StoreSource {
  /** Vector name (for messages). */
  name: string;
  /** Download URL (its last path segment is the file name looked up in a mirror). */
  url: string;
  /** Expected MD5 of the download (Fluster `source_checksum`). */
  md5: string;
  /** The vector file inside the download (Fluster `input_file`). */
  inputFile: string;
}

/** Options of {@link storeVector}. */
export interface StoreOptions {
  /** A local directory holding the downloads (by file name); no network is used when set. */
  mirror?: string;
  /** Cache root override (tests). */
  cacheRoot?: string;
  /** Network fetch (default: global fetch); tests pass a fake. */
  fetchImpl?: typeof fetch;
  /** Download timeout, ms (default 120 000). */
  timeoutMs?: number;
  log?: (m: string) => void;
}

/**
 * Puts one download into the store (or finds it there) and returns the path
 * of its vector file.
 * @throws WorkbenchError `E_NOT_AVAILABLE` (not in the mirror, or the
 *   download failed), `E_CHECKSUM` (MD5 differs from source_checksum: a
 *   corrupt or different file; it is not stored), `E_ARCHIVE*` (unsafe or
 *   broken archive), `E_VECTOR_MISSING` (input_file not in the download).
 */
export async function storeVector(src: StoreSource, opts: StoreOptions = {}): Promise<{ path: string; cached: boolean }> {
  const fileName = basename(new URL(src.url, 'file:///').pathname) || src.inputFile;
  const entry = await ensureEntry(
    STORE_KIND,
    storeInputs(src.md5),
    async (tmp) => {
      const dl = join(tmp, 'download');
      if (opts.mirror) {
        const candidates = [fileName, src.inputFile, src.name].map((n) => join(opts.mirror!, basename(n)));
        const found = candidates.find((c) => existsSync(c));
        if (!found) {
          throw new WorkbenchError('E_NOT_AVAILABLE', `${src.name}: not available: ${fileName} is not in the mirror ${opts.mirror}`, {
            hint: `put ${fileName} (MD5 ${src.md5}) into ${opts.mirror}`,
          });
        }
        await copyFile(found, dl);
      } else {
        await download(src, dl, opts);
      }
      const got = await md5File(dl);
      if (got !== src.md5) {
        throw new WorkbenchError('E_CHECKSUM', `${src.name}: checksum mismatch: ${fileName} has MD5 ${got}, the suite's source_checksum is ${src.md5}`, {
          hint: 'the file is corrupt or a different version; it was not stored. Replace it (mirror) or fetch again',
        });
      }
      const files = join(tmp, 'files');
      const kind = archiveKind(fileName);
      let rels: string[];
      if (kind) {
        rels = await extractArchive(dl, kind, files);
        await rm(dl);
      } else {
        const { mkdir } = await import('node:fs/promises');
        await mkdir(files);
        await rename(dl, join(files, basename(src.inputFile)));
        rels = [basename(src.inputFile)];
      }
      const has = rels.includes(src.inputFile) || rels.filter((r) => basename(r) === basename(src.inputFile)).length === 1;
      if (!has) {
        throw new WorkbenchError('E_VECTOR_MISSING', `${src.name}: ${src.inputFile} is not in ${fileName} (it holds ${rels.length} files)`, {
          hint: 'the suite manifest and the download do not match',
        });
      }
      return { files: rels.map((r) => join('files', r)), extra: { source: src.url, md5: src.md5 } };
    },
    { ...(opts.cacheRoot ? { root: opts.cacheRoot } : {}), ...(opts.log ? { log: opts.log } : {}) },
  );
  const path = await storedVectorPath(src.md5, src.inputFile, opts.cacheRoot ?? cacheRoot());
  if (!path) throw new WorkbenchError('E_INTERNAL', `${src.name}: store entry ${entry.dir} lacks ${src.inputFile}`);
  return { path, cached: entry.hit };
}

async function download(src: StoreSource, dest: string, opts: StoreOptions): Promise<void> {
  await downloadFile(src.url, dest, { ...opts, name: src.name });
}

/**
 * Downloads `url` to `dest` (streamed), the one download path of the
 * workbench (vectors, pinned third-party sources). The caller verifies the
 * file's checksum.
 * @throws WorkbenchError `E_NOT_AVAILABLE` (network error, timeout or an
 *   HTTP error status; the hint suggests a local mirror).
 */
export async function downloadFile(
  url: string,
  dest: string,
  opts: { name: string; fetchImpl?: typeof fetch; timeoutMs?: number; log?: (m: string) => void },
): Promise<void> {
  const f = opts.fetchImpl ?? fetch;
  let res: Response;
  try {
    res = await f(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new WorkbenchError(
      'E_NOT_AVAILABLE',
      `${opts.name}: not available: download of ${url} failed (${cause?.code ?? cause?.message ?? (e as Error).message})`,
      {
        hint: 'no network here? fetch with --mirror DIR from a directory holding the files',
        cause: e,
      },
    );
  }
  if (!res.ok || !res.body) {
    throw new WorkbenchError('E_NOT_AVAILABLE', `${opts.name}: not available: ${url} answered HTTP ${res.status}`, {
      hint: 'fetch with --mirror DIR from a directory holding the files',
    });
  }
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(dest));
  opts.log?.(`${opts.name}: downloaded ${(await stat(dest)).size} bytes`);
}
