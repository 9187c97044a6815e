import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';
import { z } from 'zod';
import { ensureEntry, sha256File } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { projectRoot } from '../core/paths.ts';
import { extractArchive } from '../vectors/archive.ts';
import { downloadFile } from '../vectors/store.ts';

/** The manifest naming MPP's upstream (this folder's `mpp-source.toml`). */
export const MPP_SOURCE_MANIFEST = join(dirname(fileURLToPath(import.meta.url)), 'mpp-source.toml');

/** Cache kind of the verified, extracted MPP source tree. */
export const MPP_SOURCE_KIND = 'mpp-source';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lower-case hex (64 digits)');

/** Shape of `mpp-source.toml` (every key required). */
export const MppSourceManifestSchema = z.strictObject({
  name: z.string().min(1),
  /** Upstream repository URL. */
  upstream: z.url(),
  /** Full commit id. */
  commit: z.string().regex(/^[0-9a-f]{40}$/, 'a full 40-digit commit id'),
  date: z.string(),
  license: z.string(),
  /** Download URL (GitHub's archive of `commit`). */
  url: z.url(),
  /** File name of the archive in a mirror. */
  archive: z.string().regex(/^[^/]+\.tar\.gz$/, 'a .tar.gz file name without a folder'),
  /** Top folder of the mirror's archive, with a trailing slash. */
  prefix: z.string().regex(/^[^/]+\/$/),
  /** SHA-256 of the mirror's archive. */
  sha256: hex64,
  /** SHA-256 of the tree (see {@link treeSha256}). */
  tree_sha256: hex64,
});
export type MppSourceManifest = z.infer<typeof MppSourceManifestSchema>;

/**
 * Reads and checks the MPP source manifest.
 * @throws WorkbenchError `E_CONFIG` naming the file and the bad key.
 */
export function loadMppSourceManifest(path = MPP_SOURCE_MANIFEST): MppSourceManifest {
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new WorkbenchError('E_CONFIG', `${path}: ${(e as Error).message}`, { hint: 'fix the TOML syntax', cause: e });
  }
  const r = MppSourceManifestSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new WorkbenchError('E_CONFIG', `${path}: key "${i.path.join('.')}": ${i.message}`, { hint: 'see the comments at the top of the manifest' });
  }
  return r.data;
}

/**
 * SHA-256 of a source tree independent of how it was archived: over the
 * lines `<sha256 of file>  <relative path>\n` of every regular file under
 * `dir`, sorted by path (byte order). GitHub's generated archives and
 * `git archive` of the same commit have the same tree hash.
 */
export async function treeSha256(dir: string): Promise<string> {
  const files = (await listFiles(dir)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const h = createHash('sha256');
  for (const rel of files) h.update(`${await sha256File(join(dir, rel))}  ${rel}\n`);
  return h.digest('hex');
}

async function listFiles(dir: string, base = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, base), { withFileTypes: true })) {
    const rel = base ? `${base}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

/**
 * The local mirror to use: `explicit` (`--mirror DIR`), else
 * `WORKBENCH_MPP_MIRROR`, else a `shared/mirror` folder beside the checkout
 * or beside one of its parent folders (a git worktree under the main
 * checkout's parent), else null (download from upstream).
 */
export function resolveMppMirror(explicit?: string, env: NodeJS.ProcessEnv = process.env, root = projectRoot()): string | null {
  if (explicit) return resolve(explicit);
  if (env.WORKBENCH_MPP_MIRROR) return resolve(env.WORKBENCH_MPP_MIRROR);
  for (let d = resolve(root); ; d = dirname(d)) {
    const cand = join(dirname(d), 'shared', 'mirror');
    if (existsSync(cand)) return cand;
    if (dirname(d) === d) return null;
  }
}

/** Options of {@link ensureMppSource}. */
export interface EnsureMppSourceOptions {
  /** Mirror directory; `null` forces a download; default {@link resolveMppMirror}(). */
  mirror?: string | null;
  manifest?: MppSourceManifest;
  cacheRoot?: string;
  fetchImpl?: typeof fetch;
  log?: (m: string) => void;
}

/** A verified MPP source tree in the cache. */
export interface MppSource {
  /** Host path of the source tree (the folder holding MPP's CMakeLists.txt). */
  dir: string;
  manifest: MppSourceManifest;
  /** Cache key. */
  key: string;
  /** Where it came from: `mirror:<path>` or the download URL. */
  origin: string;
}

/**
 * The pinned MPP source, verified and extracted into the cache
 * (`<cache>/mpp-source/<key>/src`, key = commit + tree hash). From a mirror
 * the archive's SHA-256 must equal the manifest's `sha256`; from upstream
 * (GitHub archive) the extracted tree's {@link treeSha256} must equal
 * `tree_sha256` (checked for the mirror too). Nothing unverified is kept.
 *
 * @throws WorkbenchError `E_NOT_AVAILABLE` (not in the mirror / download
 *   failed), `E_CHECKSUM` (archive or tree hash differs), `E_ARCHIVE*`.
 */
export async function ensureMppSource(opts: EnsureMppSourceOptions = {}): Promise<MppSource> {
  const m = opts.manifest ?? loadMppSourceManifest();
  const mirror = opts.mirror === undefined ? resolveMppMirror() : opts.mirror;
  let origin = '';
  const entry = await ensureEntry(
    MPP_SOURCE_KIND,
    { commit: m.commit, tree_sha256: m.tree_sha256 },
    async (tmp) => {
      const dl = join(tmp, m.archive);
      if (mirror) {
        const found = [join(mirror, m.name, m.archive), join(mirror, m.archive)].find((p) => existsSync(p));
        if (!found) {
          throw new WorkbenchError('E_NOT_AVAILABLE', `${m.name}: ${m.archive} is not in the mirror ${mirror} (looked in ${m.name}/ and the top folder)`, {
            hint: `put ${m.archive} (sha256 ${m.sha256}) there, or pass --mirror DIR / set WORKBENCH_MPP_MIRROR`,
          });
        }
        await copyFile(found, dl);
        const got = await sha256File(dl);
        if (got !== m.sha256) {
          throw new WorkbenchError('E_CHECKSUM', `${m.name}: checksum mismatch: ${found} has SHA-256 ${got}, the manifest says ${m.sha256}`, {
            hint: 'the mirror holds a corrupt or different archive; it was not used. Replace it with the pinned one',
          });
        }
        origin = `mirror:${found}`;
      } else {
        await downloadFile(m.url, dl, { name: m.name, fetchImpl: opts.fetchImpl, timeoutMs: 300_000, log: opts.log });
        origin = m.url;
      }
      const x = join(tmp, 'x');
      await extractArchive(dl, 'tar', x);
      const tops = await readdir(x);
      if (tops.length !== 1) {
        throw new WorkbenchError('E_ARCHIVE', `${m.name}: ${m.archive} has ${tops.length} top-level entries, expected one folder`);
      }
      const { rename, rm } = await import('node:fs/promises');
      await rename(join(x, tops[0]!), join(tmp, 'src'));
      await rm(x, { recursive: true, force: true });
      await rm(dl);
      const tree = await treeSha256(join(tmp, 'src'));
      if (tree !== m.tree_sha256) {
        throw new WorkbenchError(
          'E_CHECKSUM',
          `${m.name}: tree checksum mismatch: the tree from ${origin} hashes to ${tree}, the manifest says ${m.tree_sha256}`,
          {
            hint: 'the archive is not the pinned commit; it was not stored',
          },
        );
      }
      return { files: ['src/CMakeLists.txt'], extra: { origin, commit: m.commit } };
    },
    { root: opts.cacheRoot, log: opts.log },
  );
  return { dir: join(entry.dir, 'src'), manifest: m, key: entry.key, origin: String(entry.meta.extra?.origin ?? origin) };
}
