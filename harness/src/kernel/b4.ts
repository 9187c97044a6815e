import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLock } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { cacheRoot } from '../core/paths.ts';
import { ensureToolbox, type Toolbox } from '../toolbox/toolbox.ts';
import { BASE_BRANCH, ensureBaseTree } from './baseTree.ts';
import {
  CHANGE_ID_RE,
  coverEditText,
  coverFromPatch,
  header,
  parseCheckFindings,
  parseCheckTotals,
  parseIdent,
  preflight,
  setTrackingChangeId,
  splitAddresses,
  stripAnsi,
  type Ident,
  type PreflightCheck,
} from './b4Text.ts';
import { gitArgv, kgit } from './git.ts';
import { loadSeries } from './series.ts';
import type { StageOptions } from './stage.ts';
import { tail } from '../core/text.ts';

/** Folder under the cache root of the b4 checkout (separate from the shared work tree of build/check). */
export const B4_CACHE_DIR = 'kernel-b4';

/** Where things are mounted inside the toolbox. */
const IN_TREE = '/wb/b4/tree';
const IN_HOME = '/wb/b4/home';
const IN_PATCHES = '/wb/b4/patches';
const IN_OUT = '/wb/b4out';

/**
 * Sparse-checkout patterns (non-cone) of the b4 checkout: top-level files
 * (MAINTAINERS for get_maintainer.pl), scripts/ (checkpatch.pl,
 * get_maintainer.pl), include/, the rkvdec folder the series touches, and
 * the media DT bindings (checkpatch's compatible-string check). spdxcheck.py
 * is left out: it needs python3-ply, which the toolbox lacks, and checkpatch
 * skips the SPDX check when the script is absent (otherwise every patch
 * reports a Python traceback as an error).
 */
export const B4_SPARSE = [
  '/*',
  '!/*/',
  '/scripts/',
  '!/scripts/spdxcheck.py',
  '/include/',
  '/init/',
  '/ipc/',
  '/drivers/media/platform/rockchip/rkvdec/',
  '/Documentation/devicetree/bindings/media/',
];

/** Top-level folders checkpatch.pl / get_maintainer.pl require to accept a tree (`top_of_kernel_tree`). */
const TOP_DIRS = ['Documentation', 'arch', 'drivers', 'fs', 'include', 'init', 'ipc', 'kernel', 'lib', 'scripts'];

/** Per-patch check b4 runs (media wants --strict --max-line-length=80). */
export const B4_CHECK_CMD = './scripts/checkpatch.pl -q --terse --no-summary --mailback --showfile --strict --max-line-length=80';

/** Options of {@link runB4Series}. */
export interface B4Options extends StageOptions {
  /** Output folder for the messages (must not exist or be empty). */
  out: string;
  toolbox?: Toolbox;
}

/** Outcome of `workbench series b4`. */
export interface B4Result {
  ok: boolean;
  out: string;
  files: string[];
  subjects: string[];
  baseCommit: string;
  changeId: string;
  to: string[];
  cc: string[];
  identity: Ident;
  branch: string;
  check: { totals?: { success: number; warning: number; error: number }; findings: string[] };
  preflight: PreflightCheck[];
  commands: string[][];
}

/**
 * `workbench series b4`: the series as a b4-managed branch and the messages
 * `b4 send -o` writes (nothing is mailed).
 *
 * On a fresh sparse clone of the base tree (`<cache>/kernel-b4/<base key>/tree`,
 * remade every run, locked), inside the toolbox: `b4 prep -n <slug> -f wb/base`,
 * the change-id of patches/0000-cover-letter.patch kept, the cover letter set
 * with `b4 prep --edit-cover` (GIT_EDITOR copies the text in), `git am` of
 * the patches, `b4 prep --check`, `b4 prep --auto-to-cc`, `b4 send -o --no-sign`
 * (sendemail.smtpServer is /bin/false, so a send could not mail anything).
 * The git identity is set locally from the cover letter's From:.
 *
 * @throws WorkbenchError E_B4_OUT (output folder not empty), E_B4_COVER (no
 *   cover letter / no From:), E_B4 (a b4 or git step failed).
 */
export async function runB4Series(opts: B4Options): Promise<B4Result> {
  const runner = opts.runner;
  const series = await loadSeries(opts.series, runner);
  const coverFile = join(series.source, '0000-cover-letter.patch');
  if (series.kind !== 'dir' || !existsSync(coverFile)) {
    throw new WorkbenchError('E_B4_COVER', `no cover letter ${coverFile}`, {
      hint: 'series b4 needs a series folder with 0000-cover-letter.patch (subject, body, change-id:)',
    });
  }
  const coverText = await readFile(coverFile, 'utf8');
  const cover = coverFromPatch(coverText);
  const identity = parseIdent(header(coverText, 'from') ?? '');
  if (!identity || !cover.subject) {
    throw new WorkbenchError('E_B4_COVER', `${coverFile}: no From: address or no Subject:`, {
      hint: 'the cover letter must be a mail with From: and Subject: headers',
    });
  }
  if (existsSync(opts.out) && (await readdir(opts.out)).length) {
    throw new WorkbenchError('E_B4_OUT', `output folder ${opts.out} is not empty`, {
      hint: 'pass a new --out folder (an existing report is never overwritten)',
    });
  }
  const slug = (cover.changeId && CHANGE_ID_RE.exec(cover.changeId)?.[2]) || 'series';
  const tb = opts.toolbox ?? (await ensureToolbox({ manifest: opts.manifest, log: opts.log, cacheRoot: opts.cacheRoot, runner }));
  const base = await ensureBaseTree(tb, { log: opts.log, cacheRoot: opts.cacheRoot, runner });
  const home = join(opts.cacheRoot ?? cacheRoot(), B4_CACHE_DIR, base.key);
  await mkdir(home, { recursive: true });
  const release = await acquireLock(join(home, 'lock'), opts.log);
  const commands: string[][] = [];
  let outMade = false;
  try {
    const tree = join(home, 'tree');
    const b4home = join(home, 'home');
    const pdir = join(home, 'patches');
    for (const d of [tree, b4home, pdir]) await rm(d, { recursive: true, force: true });
    await mkdir(b4home);
    await mkdir(pdir);
    for (const p of series.patches) await writeFile(join(pdir, `${String(p.index).padStart(4, '0')}.patch`), p.text);
    await writeFile(join(pdir, 'cover.txt'), coverEditText(cover));
    outMade = !existsSync(opts.out);
    await mkdir(opts.out, { recursive: true });
    const binds = [
      { host: home, inside: '/wb/b4' },
      { host: opts.out, inside: IN_OUT },
    ];
    const run = async (argv: string[], o: { cwd?: string; env?: Record<string, string>; input?: string } = {}) => {
      commands.push(argv);
      const r = await tb.exec(argv, {
        cwd: o.cwd ?? IN_TREE,
        binds,
        env: {
          HOME: IN_HOME,
          XDG_CACHE_HOME: `${IN_HOME}/.cache`,
          XDG_CONFIG_HOME: `${IN_HOME}/.config`,
          GIT_CONFIG_NOSYSTEM: '1',
          NO_COLOR: '1',
          ...(o.env ?? {}),
        },
        input: o.input,
        allowFailure: true,
        timeoutMs: 10 * 60_000,
      });
      const text = stripAnsi(`${r.stdout}\n${r.stderr}`).trim();
      if (r.exitCode !== 0) {
        throw new WorkbenchError('E_B4', `${argv.slice(0, 3).join(' ')} failed (exit ${r.exitCode}) in ${tree}:\n${tail(text, 15)}`, {
          hint: 'the b4 checkout is remade on the next run; run the step by hand inside the toolbox to see more',
        });
      }
      return text;
    };
    opts.log?.(`b4 checkout (sparse clone of ${base.label}) in ${tree}`);
    // Host git (kgit: no user/system config): clone with hard links, sparse checkout.
    const g = kgit(runner, home);
    commands.push(gitArgv(home, ['clone', '-q', '--local', '--no-checkout', '--branch', BASE_BRANCH, base.gitDir, 'tree']));
    await g.raw(['clone', '-q', '--local', '--no-checkout', '--branch', BASE_BRANCH, base.gitDir, 'tree']);
    const t = kgit(runner, tree);
    const cfg: [string, string][] = [
      ['user.name', identity.name],
      ['user.email', identity.email],
      ['b4.prep-perpatch-check-cmd', B4_CHECK_CMD],
      ['sendemail.smtpServer', '/bin/false'],
    ];
    for (const [k, v] of cfg) {
      commands.push(gitArgv(tree, ['config', k, v]));
      await t.raw(['config', k, v]);
    }
    commands.push(gitArgv(tree, ['sparse-checkout', 'set', '--no-cone', ...B4_SPARSE]));
    await t.raw(['sparse-checkout', 'set', '--no-cone', ...B4_SPARSE]);
    await t.raw(['checkout', '-q', '-B', 'wb/b4-base', base.commit]);
    for (const d of TOP_DIRS) await mkdir(join(tree, d), { recursive: true });
    opts.log?.(`git identity of the checkout: ${identity.name} <${identity.email}> (from ${coverFile}'s From:)`);
    await run(['b4', 'prep', '-n', slug, '-f', BASE_BRANCH]);
    if (cover.changeId && CHANGE_ID_RE.test(cover.changeId)) {
      const msg = await run(['git', 'log', '-1', '--format=%B']);
      await run(['git', 'commit', '-q', '--amend', '--allow-empty', '-F', '-'], { input: `${setTrackingChangeId(msg, cover.changeId)}\n` });
    }
    await run(['b4', 'prep', '--edit-cover'], { env: { GIT_EDITOR: `cp ${IN_PATCHES}/cover.txt` } });
    for (const p of series.patches) {
      opts.log?.(`git am ${p.index}/${series.patches.length}: ${p.subject}`);
      await run(['git', 'am', '-q', '--committer-date-is-author-date', `${IN_PATCHES}/${String(p.index).padStart(4, '0')}.patch`]);
    }
    opts.log?.('b4 prep --check (checkpatch --strict --max-line-length=80)');
    const checkOut = await run(['b4', 'prep', '--check']);
    opts.log?.('b4 prep --auto-to-cc (scripts/get_maintainer.pl)');
    await run(['b4', 'prep', '--auto-to-cc']);
    await run(['b4', 'send', '-o', IN_OUT, '--no-sign']);
    const files = (await readdir(opts.out)).filter((f) => f.endsWith('.eml')).sort();
    if (!files.length) throw new WorkbenchError('E_B4', `b4 send -o wrote no message into ${opts.out}`);
    const texts = await Promise.all(files.map((f) => readFile(join(opts.out, f), 'utf8')));
    const baseResolvable = await run(['git', 'cat-file', '-e', `${/^base-commit:\s*([0-9a-f]{40})$/m.exec(texts[0]!)?.[1] ?? 'x'}^{commit}`]).then(
      () => true,
      () => false,
    );
    const totals = parseCheckTotals(checkOut);
    const checks = preflight({ cover: texts[0]!, patches: texts.slice(1) }, { baseResolvable, check: totals });
    const branch = (await run(['git', 'rev-parse', '--abbrev-ref', 'HEAD'])).trim();
    return {
      ok: checks.every((c) => c.ok),
      out: opts.out,
      files,
      subjects: texts.map((t) => header(t, 'subject') ?? ''),
      baseCommit: /^base-commit:\s*(\S+)$/m.exec(texts[0]!)?.[1] ?? '',
      changeId: /^change-id:\s*(\S+)$/m.exec(texts[0]!)?.[1] ?? '',
      to: splitAddresses(header(texts[0]!, 'to')),
      cc: splitAddresses(header(texts[0]!, 'cc')),
      identity,
      branch,
      check: { totals, findings: parseCheckFindings(checkOut) },
      preflight: checks,
      commands,
    };
  } catch (e) {
    if (outMade) await rm(opts.out, { recursive: true, force: true });
    throw e;
  } finally {
    await release();
  }
}

/** Human summary of a {@link B4Result}. */
export function formatB4Summary(r: B4Result): string {
  const l: string[] = [];
  l.push(`${r.ok ? 'b4-ready' : 'NOT b4-ready'}: ${r.files.length} message(s) written to ${r.out} (nothing was sent)`);
  l.push(`branch: ${r.branch}  base-commit: ${r.baseCommit}  change-id: ${r.changeId}`);
  l.push(
    `git identity (set locally in the b4 checkout, from the cover letter's From:): ${r.identity.name} <${r.identity.email}>; replace it with your own before sending (DCO)`,
  );
  for (const [i, s] of r.subjects.entries()) l.push(`  ${r.files[i]}: ${s}`);
  l.push(`To: ${r.to.join(', ') || '(none)'}`);
  l.push(`Cc: ${r.cc.join(', ') || '(none)'}`);
  const t = r.check.totals;
  l.push(`b4 prep --check: ${t ? `${t.success} clean, ${t.warning} with warnings, ${t.error} with errors` : 'no totals'}`);
  for (const f of r.check.findings) l.push(`  ${f}`);
  l.push('pre-flight:');
  for (const c of r.preflight) l.push(`  [${c.ok ? 'ok' : 'FAIL'}] ${c.name}: ${c.detail}`);
  return l.join('\n');
}
