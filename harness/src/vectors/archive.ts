import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import yauzl from 'yauzl';
import { WorkbenchError } from '../core/errors.ts';

/** Archive kinds the store can unpack (by the source URL's extension). */
export type ArchiveKind = 'zip' | 'tar' | null;

/** The archive kind of a download name: `.zip`, `.tar`, `.tar.gz`/`.tgz`, `.tar.bz2`, `.tar.xz`; null for a plain file. */
export function archiveKind(name: string): ArchiveKind {
  const n = name.toLowerCase();
  if (n.endsWith('.zip')) return 'zip';
  if (/\.(tar|tar\.gz|tgz|tar\.bz2|tbz2|tar\.xz|txz)$/.test(n)) return 'tar';
  return null;
}

/**
 * Checks that an archive member name stays inside the destination: no
 * absolute path, no drive letter, no `..` segment, no NUL; returns the
 * normalized relative path.
 * @throws WorkbenchError `E_ARCHIVE_UNSAFE` naming the member.
 */
export function safeMemberPath(dest: string, name: string, archive: string): string {
  const clean = name.replace(/\\/g, '/');
  const parts = clean.split('/').filter((p) => p !== '' && p !== '.');
  const bad = clean.includes('\0') || isAbsolute(clean) || /^[A-Za-z]:/.test(clean) || clean.startsWith('/') || parts.some((p) => p === '..');
  const target = resolve(dest, ...parts);
  if (bad || parts.length === 0 || !(target + sep).startsWith(resolve(dest) + sep)) {
    throw new WorkbenchError('E_ARCHIVE_UNSAFE', `${archive}: member "${name}" would be written outside the destination (path traversal)`, {
      hint: 'the archive is malicious or broken; it was not extracted',
    });
  }
  return parts.join('/');
}

/**
 * Extracts `archive` into `dest`, refusing (not skipping) any member that
 * would escape `dest` and any link or device member. Regular files and
 * directories only.
 * @returns the relative paths of the extracted files
 * @throws WorkbenchError `E_ARCHIVE_UNSAFE` / `E_ARCHIVE` (nothing is trusted
 *   on failure: the caller extracts into a temporary cache directory that is
 *   removed).
 */
export async function extractArchive(archive: string, kind: Exclude<ArchiveKind, null>, dest: string): Promise<string[]> {
  await mkdir(dest, { recursive: true });
  return kind === 'zip' ? extractZip(archive, dest) : extractTar(archive, dest);
}

async function extractTar(archive: string, dest: string): Promise<string[]> {
  const members: { path: string; type: string }[] = [];
  try {
    await tar.t({ file: archive, strict: true, onReadEntry: (e) => members.push({ path: e.path, type: e.type }) });
  } catch (e) {
    throw new WorkbenchError('E_ARCHIVE', `${archive}: cannot read tar archive: ${(e as Error).message}`, { cause: e });
  }
  const files: string[] = [];
  for (const m of members) {
    const rel = safeMemberPath(dest, m.path, archive);
    if (m.type !== 'File' && m.type !== 'OldFile' && m.type !== 'Directory') {
      throw new WorkbenchError('E_ARCHIVE_UNSAFE', `${archive}: member "${m.path}" is a ${m.type}, only files and directories are extracted`, {
        hint: 'links in a vector archive could point outside the store; it was not extracted',
      });
    }
    if (m.type !== 'Directory') files.push(rel);
  }
  try {
    await tar.x({ file: archive, cwd: dest, strict: true, preservePaths: false, preserveOwner: false });
  } catch (e) {
    throw new WorkbenchError('E_ARCHIVE', `${archive}: extraction failed: ${(e as Error).message}`, { cause: e });
  }
  return files;
}

function extractZip(archive: string, dest: string): Promise<string[]> {
  return new Promise((res, rej) => {
    yauzl.open(archive, { lazyEntries: true, strictFileNames: true, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) return rej(new WorkbenchError('E_ARCHIVE', `${archive}: cannot read zip archive: ${err?.message}`, { cause: err }));
      const files: string[] = [];
      const fail = (e: unknown) => {
        zip.close();
        const msg = (e as Error)?.message ?? String(e);
        if (e instanceof WorkbenchError) rej(e);
        else if (/invalid relative path|absolute path|invalid characters/i.test(msg)) {
          rej(
            new WorkbenchError('E_ARCHIVE_UNSAFE', `${archive}: ${msg} (path traversal refused)`, {
              hint: 'the archive is malicious or broken; it was not extracted',
              cause: e,
            }),
          );
        } else rej(new WorkbenchError('E_ARCHIVE', `${archive}: ${msg}`, { cause: e }));
      };
      zip.on('error', fail);
      zip.on('end', () => res(files));
      zip.on('entry', (entry: yauzl.Entry) => {
        try {
          const rel = safeMemberPath(dest, entry.fileName, archive);
          const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
          if (mode === 0o120000) {
            throw new WorkbenchError('E_ARCHIVE_UNSAFE', `${archive}: member "${entry.fileName}" is a symbolic link, refused`, {
              hint: 'links in a vector archive could point outside the store; it was not extracted',
            });
          }
          if (entry.fileName.endsWith('/')) {
            mkdir(join(dest, rel), { recursive: true }).then(() => zip.readEntry(), fail);
            return;
          }
          zip.openReadStream(entry, (e2, stream) => {
            if (e2 || !stream) return fail(e2);
            const target = join(dest, rel);
            mkdir(dirname(target), { recursive: true })
              .then(() => pipeline(stream, createWriteStream(target)))
              .then(() => {
                files.push(rel);
                zip.readEntry();
              }, fail);
          });
        } catch (e) {
          fail(e);
        }
      });
      zip.readEntry();
    });
  });
}
