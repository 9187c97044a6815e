import { existsSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ensureEntry } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { requireTools } from '../core/hostTools.ts';
import type { Runner } from '../core/runner.ts';
import type { Toolbox } from '../toolbox/toolbox.ts';
import { gitArgv, kgit } from './git.ts';

/** Bumped when the way the base tree is made changes (part of the cache key and so of the commit id's provenance). */
export const BASE_TREE_FORMAT = 1;

/** Branch (in the base repository and in every work tree) that holds the base commit. */
export const BASE_BRANCH = 'wb/base';

/** What the kernel stage needs from the toolbox to make the base tree. */
export type BaseToolbox = Pick<Toolbox, 'hostPath' | 'sourceTarball' | 'lock'>;

/** A pristine kernel source as a bare git repository with one commit. */
export interface BaseTree {
  /** Host path of the bare repository (`<cache>/kernel-base/<key>/base.git`). */
  gitDir: string;
  /** The base commit id (40 hex): the series' `base-commit`. */
  commit: string;
  /** Its tree id (40 hex). */
  tree: string;
  /** Cache key of the entry. */
  key: string;
  /** Human label, e.g. `linux-source-7.2 7.2.13-1`. */
  label: string;
  /** Commit date used (ISO), from the tarball's top-level Makefile mtime. */
  date: string;
  /** True when the cache already held it. */
  hit: boolean;
  /** Commands that reproduce it. */
  commands: string[][];
}

/** Options of {@link ensureBaseTree}. */
export interface BaseTreeOptions {
  runner: Runner;
  log?: (msg: string) => void;
  cacheRoot?: string;
}

/**
 * The cache inputs of a base tree: the source package and its version (the
 * lock pins it) and the tarball size (a cheap guard against a different file
 * under the same version).
 */
export async function baseTreeInputs(tb: BaseToolbox): Promise<Record<string, unknown>> {
  const name = basename(tb.sourceTarball);
  const pkg = name.replace(/\.tar\.xz$/, '');
  const host = tb.hostPath(tb.sourceTarball);
  let size: number;
  try {
    size = (await stat(host)).size;
  } catch {
    throw new WorkbenchError('E_BASE_SOURCE', `the kernel source tarball ${tb.sourceTarball} is missing from the toolbox (${host})`, {
      hint: 'rebuild the toolbox with `workbench toolbox ensure --force` (its cache entry is damaged)',
    });
  }
  return { format: BASE_TREE_FORMAT, package: pkg, version: tb.lock.packages[pkg] ?? 'unknown', size };
}

/**
 * Makes (once, cached under `<cache>/kernel-base/<key>`) a bare git repository
 * holding the pristine kernel source of the toolbox's `linux-source-<series>`
 * tarball as ONE commit on branch {@link BASE_BRANCH}.
 *
 * The commit id is deterministic: every file is added (`add -A -f`, so the
 * tree's own .gitignore cannot drop tracked-upstream files), git runs with no
 * user/system config, and author/committer are {@link WORKBENCH_IDENT} with the
 * date of the tarball's top-level Makefile (Debian sets tarball mtimes from
 * its changelog), so the same tarball gives the same base-commit on every
 * machine. Objects stay loose (a repack costs ~2 min more) and work trees
 * clone them with hard links.
 *
 * Measured here (2 cores, busy disk): extract 15-35 s, add 70 s, write-tree
 * 2 s; 101k files, 1.5 GB tree, ~300 MB of objects; the extracted tree is
 * deleted afterwards.
 *
 * @throws WorkbenchError E_BASE_SOURCE (tarball missing), E_TOOL_MISSING (tar/xz/git),
 *   E_COMMAND_FAILED (extraction failed: disk full?).
 */
export async function ensureBaseTree(tb: BaseToolbox, opts: BaseTreeOptions): Promise<BaseTree> {
  const runner = opts.runner;
  const inputs = await baseTreeInputs(tb);
  const label = `${inputs.package} ${inputs.version}`;
  const tarball = tb.hostPath(tb.sourceTarball);
  const extractArgv = (dest: string) => ['tar', '-xJf', tarball, '-C', dest, '--strip-components=1', '--no-same-owner'];
  const build = async (tmp: string) => {
    requireTools(['tar', 'xz', 'git']);
    const src = join(tmp, 'src');
    await mkdir(src);
    opts.log?.(`making the base tree from ${basename(tarball)} (${label}): extract + one commit, ~2 min, once`);
    await runner.run(extractArgv(src), { timeoutMs: 20 * 60_000 });
    if (!existsSync(join(src, 'Makefile'))) {
      throw new WorkbenchError('E_BASE_SOURCE', `${tarball} did not extract to a kernel tree (no top-level Makefile)`, {
        hint: 'the tarball is not a linux-source tarball; check the manifest lock',
      });
    }
    const date = `${Math.floor((await stat(join(src, 'Makefile'))).mtimeMs / 1000)} +0000`;
    const made = await commitTree(runner, src, `Base: ${label}\n\nPristine ${basename(tarball)} from the kernel manifest lock.\n`, date);
    // Keep only the repository: the work tree is a separate checkout (see workTree.ts).
    await rename(join(src, '.git'), join(tmp, 'base.git'));
    const bare = kgit(runner, join(tmp, 'base.git'));
    await bare.raw(['config', 'core.bare', 'true']);
    await rm(src, { recursive: true, force: true });
    await writeFile(join(tmp, 'base-commit'), `${made.commit}\n`);
    return { files: ['base-commit'], extra: { commit: made.commit, tree: made.tree, date, label } };
  };
  let entry = await ensureEntry('kernel-base', inputs, build, { root: opts.cacheRoot, log: opts.log });
  const gitDir = join(entry.dir, 'base.git');
  const commit = String(entry.meta.extra?.commit ?? '');
  const ok = await kgit(runner, gitDir)
    .raw(['rev-parse', '--verify', '-q', `${BASE_BRANCH}^{commit}`])
    .then((s) => s.trim() === commit)
    .catch(() => false);
  if (!ok) {
    opts.log?.(`cache kernel-base/${entry.key}: repository does not hold ${commit || 'its base commit'}; rebuilding`);
    entry = await ensureEntry('kernel-base', inputs, build, { root: opts.cacheRoot, log: opts.log, force: true });
  }
  const extra = entry.meta.extra as { commit: string; tree: string; date: string };
  const dateIso = new Date(Number(extra.date.split(' ')[0]) * 1000).toISOString();
  return {
    gitDir: join(entry.dir, 'base.git'),
    commit: extra.commit,
    tree: extra.tree,
    key: entry.key,
    label,
    date: dateIso,
    hit: entry.hit,
    commands: [
      extractArgv('SRC'),
      gitArgv('SRC', ['init', '-q']),
      gitArgv('SRC', ['add', '-A', '-f', '.']),
      ['env', `GIT_AUTHOR_DATE=${extra.date}`, `GIT_COMMITTER_DATE=${extra.date}`, ...gitArgv('SRC', ['commit-tree', extra.tree, '-m', '...'])],
    ],
  };
}

/**
 * Commits everything under `dir` (a fresh `git init` there) as one root
 * commit on {@link BASE_BRANCH} with the fixed identity and `date`
 * (`<epoch> +0000`). Exposed for tests of determinism on small trees.
 *
 * @returns the commit and tree ids.
 */
export async function commitTree(runner: Runner, dir: string, message: string, date: string): Promise<{ commit: string; tree: string }> {
  const g = kgit(runner, dir, { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date });
  await g.raw(['init', '-q', '--initial-branch', BASE_BRANCH]);
  // zlib level 1: the add is I/O bound on a 1.5 GB tree; the level does not change object ids.
  await g.raw(['-c', 'core.looseCompression=1', 'add', '-A', '-f', '.']);
  const tree = (await g.raw(['write-tree'])).trim();
  const commit = (await g.raw(['commit-tree', tree, '-m', message])).trim();
  await g.raw(['update-ref', `refs/heads/${BASE_BRANCH}`, commit]);
  return { commit, tree };
}
