import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildApplied, type BuildResult } from './build.ts';
import { CHECKPATCH_ARGS, checkpatchTotals, parseCheckpatch } from './checkpatch.ts';
import { FILE_PATH_CHANGES, reviewFilePathChanges } from './checkMaintainers.ts';
import { UNKNOWN_COMMIT_ID, reviewUnknownCommitIds } from './checkCommitIds.ts';
import type { Diagnostic } from './diagnostics.ts';
import { kgit } from './git.ts';
import { parseMaintainers, type MaintainersSection } from './maintainers.ts';
import { RKVDEC_DIR } from './moduleLayout.ts';
import { withStage, type StageOptions } from './stage.ts';
import { applySeries } from './workTree.ts';
import { tail } from '../core/text.ts';
import type { Runner } from '../core/runner.ts';

/**
 * Bumped when what `runChecks` reports for the same series changes (2:
 * FILE_PATH_CHANGES judged against MAINTAINERS). Part of the key of
 * remembered check results (pipeline/kernelStage.ts).
 */
export const CHECK_FORMAT = 2;

/** Result of `workbench check`. */
export interface CheckResult {
  /** False when any finding is error-level (exit code 1). */
  ok: boolean;
  /** Every finding: checkpatch per patch, then sparse/W=1 in the rkvdec folder. */
  findings: Diagnostic[];
  /** checkpatch's own totals per patch. */
  checkpatch: { patch: string; subject: string; exitCode: number; totals?: { errors: number; warnings: number; checks: number } }[];
  /** The C=1 W=1 build (its diagnostics outside the rkvdec folder are not findings). */
  build: BuildResult;
  /** Count of compiler/sparse messages about files outside the rkvdec folder (kernel headers), not counted as findings. */
  ignoredOutside: number;
  commands: string[][];
  durationMs: number;
}

/**
 * `workbench check`: applies the series, runs the base tree's
 * `scripts/checkpatch.pl --strict --max-line-length=80` on every patch
 * (FILE_PATH_CHANGES judged against MAINTAINERS as of that patch: `info`
 * when an existing `F:` pattern covers every added file, see
 * checkMaintainers.ts; UNKNOWN_COMMIT_ID `info` when the base tree has no
 * history to look ids up in, see checkCommitIds.ts), and
 * builds the rkvdec folder for the vboard with sparse (`C=1`) and `W=1` from
 * scratch (a separate build directory, cleaned first, so every file's
 * warnings are seen), keeping findings in the rkvdec folder.
 *
 * @throws what {@link withStage} and {@link applySeries} throw (a patch that
 *   does not apply ends the check with E_PATCH_APPLY).
 */
export async function runChecks(opts: StageOptions): Promise<CheckResult> {
  const started = Date.now();
  return withStage(opts, async ({ tb, series, wt }) => {
    const applied = await applySeries(wt, series, { log: opts.log });
    const dir = join(wt.home, 'check-patches');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const findings: Diagnostic[] = [];
    const per: CheckResult['checkpatch'] = [];
    const sections = new Map<string, MaintainersSection[]>();
    const commands: string[][] = [];
    for (const p of series.patches) {
      const name = `${String(p.index).padStart(4, '0')}.patch`;
      await writeFile(join(dir, name), p.text);
      const argv = ['perl', '/wb/src/scripts/checkpatch.pl', ...CHECKPATCH_ARGS, `/wb/patches/${name}`];
      commands.push(argv);
      opts.log?.(`checkpatch ${p.index}/${series.patches.length}: ${p.subject}`);
      const r = await tb.exec(argv, {
        cwd: '/wb/src',
        binds: [
          { host: wt.dir, inside: '/wb/src', readOnly: true },
          { host: dir, inside: '/wb/patches', readOnly: true },
        ],
        env: { LC_ALL: 'C' },
        allowFailure: true,
        timeoutMs: 10 * 60_000,
      });
      const label = `${p.name} "${p.subject}"`;
      let found = parseCheckpatch(r.stdout, label);
      if (found.some((d) => d.flag === FILE_PATH_CHANGES)) {
        const commit = applied.commits.find((c) => c.patch.index === p.index)?.commit ?? applied.head;
        found = reviewFilePathChanges(found, p.text, await maintainersAt(wt.runner, wt.dir, commit, sections));
      }
      if (found.some((d) => d.flag === UNKNOWN_COMMIT_ID)) {
        const base = applied.commits[0] ? `${applied.commits[0].commit}^` : applied.head;
        const count =
          Number(
            (
              await kgit(wt.runner, wt.dir)
                .raw(['rev-list', '--count', base])
                .catch(() => '0')
            ).trim(),
          ) || 0;
        found = reviewUnknownCommitIds(found, count);
      }
      if (r.exitCode !== 0 && found.length === 0) {
        found.push({
          severity: 'error',
          tool: 'checkpatch',
          message: `checkpatch.pl exited with ${r.exitCode} without findings: ${tail(r.stderr || r.stdout, 3, ' | ')}`,
          patch: label,
        });
      }
      findings.push(...found);
      per.push({ patch: p.name, subject: p.subject, exitCode: r.exitCode, totals: checkpatchTotals(r.stdout) });
    }
    opts.log?.('sparse (C=1) + W=1 build of the rkvdec folder (full rebuild in the check build directory)');
    const build = await buildApplied(tb, wt, applied, {
      target: 'amd64',
      variant: 'check',
      clean: true,
      makeVars: ['C=1', 'W=1'],
      log: opts.log,
      cacheRoot: opts.cacheRoot,
    });
    let ignoredOutside = 0;
    for (const d of build.diagnostics) {
      if (!d.file || d.file.startsWith(`${RKVDEC_DIR}/`)) findings.push(d);
      else ignoredOutside++;
    }
    commands.push(...build.commands.slice(-1));
    return {
      ok: !findings.some((d) => d.severity === 'error'),
      findings,
      checkpatch: per,
      build,
      ignoredOutside,
      commands,
      durationMs: Date.now() - started,
    };
  });
}

/** MAINTAINERS of the tree at `commit`, parsed (memoised by blob id); empty when the tree has none. */
async function maintainersAt(runner: Runner, dir: string, commit: string, memo: Map<string, MaintainersSection[]>): Promise<MaintainersSection[]> {
  const g = kgit(runner, dir);
  const blob = (await g.raw(['rev-parse', '--verify', '-q', `${commit}:MAINTAINERS`]).catch(() => '')).trim();
  if (!blob) return [];
  let s = memo.get(blob);
  if (!s) {
    s = parseMaintainers(await g.raw(['cat-file', 'blob', blob]));
    memo.set(blob, s);
  }
  return s;
}
