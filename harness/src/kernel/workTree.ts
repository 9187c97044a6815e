import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLock, writeFileAtomic } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { cacheRoot } from '../core/paths.ts';
import { BASE_BRANCH, type BaseTree } from './baseTree.ts';
import { gitArgv, kgit } from './git.ts';
import { parseApplyFailure } from './patchText.ts';
import type { Series, SeriesPatch } from './series.ts';
import type { Runner } from '../core/runner.ts';

/** Branch of the work tree that carries the applied series. */
export const SERIES_BRANCH = 'wb/series';

/**
 * The persistent, locked checkout of a base tree where series are applied
 * (`<cache>/kernel-work/<base key>/tree`). Persistent so that files a series
 * does not change keep their mtimes between runs (make's incremental build).
 */
export interface WorkTree {
  /** Host path of the checkout. */
  dir: string;
  /** Host path of the folder that holds it (state files, patch files). */
  home: string;
  base: BaseTree;
  /** Runs every git call on the tree. */
  runner: Runner;
  /** Releases the lock. */
  release(): Promise<void>;
}

/** What {@link applySeries} left in the work tree. */
export interface AppliedSeries {
  branch: string;
  baseCommit: string;
  /** HEAD after the last applied patch (= baseCommit for an empty series). */
  head: string;
  /** Commit of each applied patch, in order. */
  commits: { patch: SeriesPatch; commit: string }[];
  /** Tree paths the series changes relative to the base. */
  changedFiles: string[];
  /** True when the work tree already held exactly this series (nothing rewritten). */
  reused: boolean;
  /** Commands that reproduce the apply. */
  commands: string[][];
}

/** Options of {@link openWorkTree}. */
export interface WorkTreeOptions {
  /** Runs git (default: the real machine's). */
  runner: Runner;
  cacheRoot?: string;
  log?: (msg: string) => void;
}

/**
 * Opens (creating on first use: `git clone --local` with hard links + a full
 * checkout, ~1 min) the work tree of `base`, holding its lock until
 * `release()`. A damaged checkout (no repository, base commit missing) is
 * removed and cloned again.
 */
export async function openWorkTree(base: BaseTree, opts: WorkTreeOptions): Promise<WorkTree> {
  const home = join(opts.cacheRoot ?? cacheRoot(), 'kernel-work', base.key);
  await mkdir(home, { recursive: true });
  const runner = opts.runner;
  const release = await acquireLock(join(home, 'lock'), opts.log);
  try {
    const dir = join(home, 'tree');
    const ok =
      existsSync(join(dir, '.git')) &&
      (await kgit(runner, dir)
        .raw(['rev-parse', '--verify', '-q', `${BASE_BRANCH}^{commit}`])
        .then((s) => s.trim() === base.commit)
        .catch(() => false));
    if (!ok) {
      if (existsSync(dir)) opts.log?.(`work tree ${dir} is damaged or of another base; making it again`);
      await rm(dir, { recursive: true, force: true });
      await rm(join(home, 'applied.json'), { force: true });
      const tmp = join(home, `tree.tmp-${process.pid}`);
      await rm(tmp, { recursive: true, force: true });
      opts.log?.(`checking out the base tree (${base.label}) into ${dir}, ~1 min, once`);
      await kgit(runner, home).raw(['clone', '-q', '--local', '--no-checkout', '--branch', BASE_BRANCH, base.gitDir, tmp]);
      const g = kgit(runner, tmp);
      await g.raw(['checkout', '-q', '-f', '-B', SERIES_BRANCH, base.commit]);
      await g.raw(['branch', '-q', '-f', BASE_BRANCH, base.commit]);
      await rename(tmp, dir);
    }
    return { dir, home, base, runner, release };
  } catch (e) {
    await release();
    throw e;
  }
}

interface AppliedState {
  seriesKey: string;
  upTo: number;
  baseCommit: string;
  head: string;
  commits: string[];
  changedFiles: string[];
}

async function readState(wt: WorkTree): Promise<AppliedState | undefined> {
  try {
    return JSON.parse(await readFile(join(wt.home, 'applied.json'), 'utf8')) as AppliedState;
  } catch {
    return undefined;
  }
}

/** Puts the work tree back on a clean checkout of the base commit (branch {@link SERIES_BRANCH}). */
export async function resetToBase(wt: WorkTree): Promise<void> {
  const g = kgit(wt.runner, wt.dir);
  if (existsSync(join(wt.dir, '.git', 'rebase-apply'))) await g.raw(['am', '--abort']).catch(() => undefined);
  await g.raw(['checkout', '-q', '-f', '-B', SERIES_BRANCH, wt.base.commit]);
  await g.raw(['clean', '-q', '-f', '-d', '-x']);
  await rm(join(wt.home, 'applied.json'), { force: true });
}

/**
 * Applies `series` (its first `upTo` patches; default all) with
 * `git am --3way` on a fresh {@link SERIES_BRANCH} from the base commit.
 * When the work tree already holds exactly that (same patches, clean tree),
 * nothing is rewritten (`reused`), so make sees unchanged mtimes.
 *
 * Applied commits are deterministic (`--committer-date-is-author-date`, fixed
 * committer identity).
 *
 * @throws WorkbenchError E_PATCH_APPLY naming the patch file, its subject and
 *   the failing file/hunk; the work tree is then reset to a clean base
 *   (`git am --abort`, checkout of the base commit).
 */
export async function applySeries(wt: WorkTree, series: Series, opts: { upTo?: number; log?: (m: string) => void } = {}): Promise<AppliedSeries> {
  const upTo = Math.min(opts.upTo ?? series.patches.length, series.patches.length);
  const patches = series.patches.slice(0, upTo);
  const g = kgit(wt.runner, wt.dir);
  const commands: string[][] = [gitArgv('TREE', ['checkout', '-f', '-B', SERIES_BRANCH, wt.base.commit])];
  for (const p of patches) commands.push(gitArgv('TREE', ['am', '--3way', '--committer-date-is-author-date', p.name]));
  const state = await readState(wt);
  if (state && state.seriesKey === series.key && state.upTo === upTo && state.baseCommit === wt.base.commit) {
    const head = (await g.raw(['rev-parse', 'HEAD']).catch(() => '')).trim();
    const dirty = (await g.raw(['status', '--porcelain', '--untracked-files=no']).catch(() => 'x')).trim();
    if (head === state.head && !dirty && !existsSync(join(wt.dir, '.git', 'rebase-apply'))) {
      return {
        branch: SERIES_BRANCH,
        baseCommit: wt.base.commit,
        head,
        commits: patches.map((patch, i) => ({ patch, commit: state.commits[i]! })),
        changedFiles: state.changedFiles,
        reused: true,
        commands,
      };
    }
  }
  await resetToBase(wt);
  const dir = join(wt.home, 'patches');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const commits: { patch: SeriesPatch; commit: string }[] = [];
  for (const p of patches) {
    const file = join(dir, `${String(p.index).padStart(4, '0')}.patch`);
    await writeFile(file, p.text);
    opts.log?.(`applying ${p.index}/${patches.length}: ${p.subject}`);
    const out = await amOne(wt, file);
    if (out !== undefined) {
      // Diagnose against the tree the patch met, before cleaning up.
      let detail = out;
      if (!/^error: patch failed: /m.test(detail)) {
        const check = await g.raw(['apply', '--check', '-v', file]).then(
          () => '',
          (e: Error) => e.message,
        );
        detail += `\n${check}`;
      }
      await resetToBase(wt);
      const f = parseApplyFailure(detail, p.text);
      const where = f.file ? `${f.file}${f.line ? `:${f.line}` : ''}${f.hunk ? ` (hunk ${f.hunk})` : ''}` : 'unknown file';
      throw new WorkbenchError(
        'E_PATCH_APPLY',
        `patch ${p.index}/${series.patches.length} ${p.name} "${p.subject}" does not apply to ${wt.base.label} (base-commit ${wt.base.commit.slice(0, 12)}): ${where}\n${f.reason}`,
        {
          hint: `rebase the patch on the base tree (${wt.dir} is back on the clean base; try \`git -C ${wt.dir} am --3way ${p.name}\`), or fix the earlier patches it depends on`,
          exitCode: 1,
        },
      );
    }
    commits.push({ patch: p, commit: (await g.raw(['rev-parse', 'HEAD'])).trim() });
  }
  const head = (await g.raw(['rev-parse', 'HEAD'])).trim();
  const changedFiles = head === wt.base.commit ? [] : (await g.raw(['diff', '--name-only', wt.base.commit, head])).split('\n').filter(Boolean);
  const st: AppliedState = { seriesKey: series.key, upTo, baseCommit: wt.base.commit, head, commits: commits.map((c) => c.commit), changedFiles };
  await writeFileAtomic(join(wt.home, 'applied.json'), JSON.stringify(st, null, 2));
  return { branch: SERIES_BRANCH, baseCommit: wt.base.commit, head, commits, changedFiles, reused: false, commands };
}

/** Runs one `git am --3way`; returns git's output on failure, undefined on success. */
async function amOne(wt: WorkTree, file: string): Promise<string | undefined> {
  try {
    await kgit(wt.runner, wt.dir).raw(['am', '-q', '--3way', '--committer-date-is-author-date', file]);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
