import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { WorkbenchError } from '../core/errors.ts';
import { projectRoot } from '../core/paths.ts';
import { kgit } from './git.ts';
import { hasDiff, parseSeriesFile, patchSubject } from './patchText.ts';
import type { Runner } from '../core/runner.ts';

/** One patch of a series, held in memory. */
export interface SeriesPatch {
  /** 1-based position in the series. */
  index: number;
  /** What a person recognises: the file path (relative to cwd when inside it) or `mbox message N`. */
  name: string;
  /** Subject without the [PATCH] prefix. */
  subject: string;
  /** The mail text. */
  text: string;
  /** SHA-256 of the text (hex). */
  sha256: string;
}

/** A patch series to apply on the base tree. */
export interface Series {
  /** Where it came from (directory, mbox file or git range). */
  source: string;
  kind: 'dir' | 'mbox' | 'range';
  patches: SeriesPatch[];
  /** Hash over the patches' contents in order (hex, 16). */
  key: string;
}

/** The default series folder: `<repo>/patches`. */
export function defaultSeriesDir(): string {
  return join(projectRoot(), 'patches');
}

function display(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
}

function makePatch(index: number, name: string, text: string): SeriesPatch {
  return {
    index,
    name,
    subject: patchSubject(text) ?? '(no Subject: header)',
    text,
    sha256: createHash('sha256').update(text).digest('hex'),
  };
}

/** SHA-256 over the patches' SHA-256s in series order, newline-separated (the run record's series hash). */
export function seriesHash(patchShas: readonly string[]): string {
  return createHash('sha256').update(patchShas.join('\n')).digest('hex');
}

function seriesKey(patches: SeriesPatch[]): string {
  const h = createHash('sha256');
  for (const p of patches) h.update(`${p.sha256}\n`);
  return h.digest('hex').slice(0, 16);
}

/**
 * Loads a series.
 * - `DIR` (default `<repo>/patches`): its `series` file lists the patch files
 *   in order (quilt style, `#` comments). A folder without a `series` file is
 *   an empty series.
 * - `MBOX`: a file holding one or more mails (`git format-patch --stdout`,
 *   or a thread saved from the list); split with `git mailsplit`, mails
 *   without a diff (the cover letter) skipped.
 * - `A..B` (git range, when no such path exists): `git format-patch A..B` in
 *   the git repository of the current directory.
 *
 * @throws WorkbenchError E_SERIES naming the series file and line of a missing
 *   patch, a patch that is not a mail (no Subject/diff), an empty mbox, or a
 *   range git cannot resolve.
 */
export async function loadSeries(spec: string | undefined, runner: Runner): Promise<Series> {
  const src = spec ?? defaultSeriesDir();
  if (existsSync(src) && statSync(src).isDirectory()) return loadDir(resolve(src));
  if (existsSync(src)) return loadMbox(runner, resolve(src));
  if (/^[^\s]*\.\.\.?[^\s]*$/.test(src)) return loadRange(runner, src);
  throw new WorkbenchError('E_SERIES', `series "${src}" is neither a folder, a file nor a git range (A..B)`, {
    hint: 'pass --series with a folder holding a `series` file, an mbox file, or a range like v7.2..my-branch (run inside that git repository)',
  });
}

async function loadDir(dir: string): Promise<Series> {
  const file = join(dir, 'series');
  if (!existsSync(file)) return { source: dir, kind: 'dir', patches: [], key: seriesKey([]) };
  const entries = parseSeriesFile(await readFile(file, 'utf8'));
  const patches: SeriesPatch[] = [];
  for (const e of entries) {
    const p = resolve(dir, e.name);
    if (!existsSync(p)) {
      throw new WorkbenchError('E_SERIES', `${display(file)}:${e.line}: patch file ${e.name} does not exist`, {
        hint: `add ${display(p)} or remove the line from the series file`,
      });
    }
    const text = await readFile(p, 'utf8');
    checkMail(text, `${display(p)} (${display(file)}:${e.line})`);
    patches.push(makePatch(patches.length + 1, display(p), text));
  }
  return { source: dir, kind: 'dir', patches, key: seriesKey(patches) };
}

function checkMail(text: string, where: string): void {
  if (!hasDiff(text)) {
    throw new WorkbenchError('E_SERIES', `${where} holds no diff`, { hint: 'every series entry must be a patch made with `git format-patch`' });
  }
  if (!patchSubject(text)) {
    throw new WorkbenchError('E_SERIES', `${where} has no Subject: header (not a mail-formatted patch)`, {
      hint: 'make patches with `git format-patch` (git am needs From:/Subject:/Date: headers and a commit message)',
    });
  }
}

async function loadMbox(runner: Runner, file: string): Promise<Series> {
  const tmp = await mkdtemp(join(tmpdir(), 'wb-mbox-'));
  try {
    await kgit(runner, tmp).raw(['mailsplit', '-b', `-o${tmp}`, file]);
    const names = (await readdir(tmp)).filter((n) => /^\d+$/.test(n)).sort();
    const patches: SeriesPatch[] = [];
    for (const [i, n] of names.entries()) {
      const text = await readFile(join(tmp, n), 'utf8');
      if (!hasDiff(text)) continue; // cover letter or reply
      checkMail(text, `${display(file)} message ${i + 1}`);
      patches.push(makePatch(patches.length + 1, `${display(file)} message ${i + 1}`, text));
    }
    if (!patches.length) {
      throw new WorkbenchError('E_SERIES', `${display(file)} holds no mail with a patch`, {
        hint: 'pass an mbox of patches (`git format-patch --stdout`, or `b4 am -o-`) or a folder with a series file',
      });
    }
    return { source: file, kind: 'mbox', patches, key: seriesKey(patches) };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function loadRange(runner: Runner, range: string): Promise<Series> {
  const tmp = await mkdtemp(join(tmpdir(), 'wb-range-'));
  try {
    const g = kgit(runner, process.cwd());
    try {
      await g.raw(['format-patch', '-q', '--no-signature', '--zero-commit', '-o', tmp, range]);
    } catch (e) {
      throw new WorkbenchError('E_SERIES', `git range ${range} could not be exported in ${process.cwd()}: ${(e as Error).message.trim()}`, {
        hint: 'run inside the git repository that holds the range, with both ends resolvable (git log A..B)',
      });
    }
    const names = (await readdir(tmp)).filter((n) => n.endsWith('.patch')).sort();
    const patches: SeriesPatch[] = [];
    for (const n of names) {
      const text = await readFile(join(tmp, n), 'utf8');
      patches.push(makePatch(patches.length + 1, `${range} ${n}`, text));
    }
    if (!patches.length) throw new WorkbenchError('E_SERIES', `git range ${range} holds no commits`, { hint: 'check the range with git log' });
    return { source: range, kind: 'range', patches, key: seriesKey(patches) };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
