/**
 * The build stage of iterate on top of kernel/: base tree, series applied in
 * the work tree, modules built (incremental, cached by content) for the
 * board's kernel.
 */
import { relative } from 'node:path';
import { WorkbenchError, ExitCode } from '../core/errors.ts';
import { DEFAULT_MANIFEST } from '../toolbox/manifest.ts';
import { withStage } from '../kernel/stage.ts';
import { applySeries } from '../kernel/workTree.ts';
import { buildApplied, type BuildTarget } from '../kernel/build.ts';
import { defaultSeriesDir, seriesHash } from '../kernel/series.ts';
import type { StageContext } from './graph.ts';
import type { BuildOutcome, CheckOutcome } from './stages.ts';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureEntry } from '../core/cache.ts';
import { CHECK_FORMAT, runChecks } from '../kernel/check.ts';
import { CHECKPATCH_ARGS } from '../kernel/checkpatch.ts';
import type { Diagnostic as KernelDiagnostic } from '../kernel/diagnostics.ts';
import type { Diagnostic } from '../model/record.ts';
import type { Arch } from '../target/boards.ts';
import type { Runner } from '../core/runner.ts';

/**
 * Applies patches/ to the base tree and builds the modules for a board of
 * `arch` (amd64: out of tree against the Debian headers, the vboard's
 * kernel; arm64: cross build in the full tree). `seriesSpec`: another series
 * than patches/ (loadSeries: folder, mbox or A..B), e.g. patches/simboard.
 * @throws WorkbenchError E_BUILD_FAILED with exitCode 1 (the patch's fault)
 *   when the series does not compile; the kernel stage's own errors otherwise.
 */
export async function buildStage(ctx: StageContext, arch: Arch, runner: Runner, seriesSpec?: string): Promise<BuildOutcome> {
  // The board profile's architecture names the kernel the modules are built for.
  const target: BuildTarget = arch;
  return withStage({ manifest: DEFAULT_MANIFEST, log: (m) => ctx.log(m), runner, series: seriesSpec }, async ({ tb, base, series, wt }) => {
    if (ctx.signal.aborted) throw new WorkbenchError('E_ABORTED', 'interrupted');
    for (const c of base.commands) ctx.command(c);
    const applied = await applySeries(wt, series, { log: (m) => ctx.log(m) });
    const r = await buildApplied(tb, wt, applied, { target, log: (m) => ctx.log(m), signal: ctx.signal });
    // apply + make (make runs inside the toolbox: its paths are the toolbox's)
    for (const c of r.commands) ctx.command(c.map((a) => a.replaceAll('TREE', wt.dir)));
    const diagnostics = r.diagnostics.map(toRecordDiagnostic);
    if (!r.ok) {
      const first = diagnostics.find((d) => d.severity === 'error');
      throw new WorkbenchError(
        'E_BUILD_FAILED',
        `the series does not build for ${r.kernelRelease}${first ? `: ${first.file ?? ''}${first.line ? `:${first.line}` : ''}: ${first.message}` : ''}`,
        { exitCode: ExitCode.TestFailures, hint: 'fix the patch named in the diagnostics (index.html lists them), then run iterate again' },
      );
    }
    ctx.detail(`${series.patches.length} patch(es), ${r.modules.map((m) => m.name).join(', ')}${r.cached ? ' (unchanged, cached)' : ''}`);
    const modules = r.modules.map((m) => ({ name: m.name, path: m.path, vermagic: m.vermagic, size: m.size, sha256: m.sha256 }));
    const seriesDir = defaultSeriesDir();
    return {
      kernel: {
        manifest: DEFAULT_MANIFEST,
        baseCommit: r.baseCommit || base.commit,
        baseVersion: base.label,
        series: {
          hash: seriesHash(series.patches.map((p) => p.sha256)),
          patches: series.patches.map((p) => ({
            file: relative(seriesDir, p.name).startsWith('..') ? p.name : relative(seriesDir, p.name),
            subject: p.subject,
            sha256: p.sha256,
          })),
        },
        modules,
        diagnostics: { errors: diagnostics.filter((d) => d.severity === 'error').length, warnings: diagnostics.filter((d) => d.severity === 'warning').length },
      },
      modules,
      diagnostics,
    };
  });
}

/**
 * The check stage: `kernel/check.ts` (checkpatch --strict on every patch,
 * sparse C=1 + W=1 build of the rkvdec folder), remembered per series: the
 * findings are cached under the series hash, base and checker arguments, so
 * an unchanged series costs nothing and a changed one is checked once.
 */
export async function checkStage(ctx: StageContext, build: BuildOutcome, runner: Runner): Promise<CheckOutcome> {
  const ran = ['checkpatch --strict', 'sparse (C=1)', 'W=1'];
  const inputs = {
    format: 1,
    manifest: build.kernel.manifest,
    baseCommit: build.kernel.baseCommit,
    baseVersion: build.kernel.baseVersion,
    series: build.kernel.series.hash,
    vermagic: build.modules.map((m) => m.vermagic).sort()[0] ?? '',
    checkpatch: CHECKPATCH_ARGS,
    check: CHECK_FORMAT,
  };
  const e = await ensureEntry(
    'iterate-checks',
    inputs,
    async (tmp) => {
      const r = await runChecks({ manifest: build.kernel.manifest, log: (m) => ctx.log(m), runner });
      const saved: SavedCheck = { findings: r.findings, commands: r.commands, durationMs: r.durationMs };
      await writeFile(join(tmp, 'check.json'), JSON.stringify(saved));
      return { files: ['check.json'] };
    },
    { log: (m) => ctx.log(m) },
  );
  const saved = JSON.parse(await readFile(join(e.dir, 'check.json'), 'utf8')) as SavedCheck;
  for (const c of saved.commands) ctx.command(c);
  const diagnostics = saved.findings.map(toRecordDiagnostic);
  if (e.hit) ctx.detail(`unchanged series: findings of the earlier check (${Math.round(saved.durationMs / 1000)} s)`);
  return { diagnostics, ran, skipped: [] };
}

interface SavedCheck {
  findings: KernelDiagnostic[];
  commands: string[][];
  durationMs: number;
}

/** A kernel/ diagnostic in run-record form. */
export function toRecordDiagnostic(d: KernelDiagnostic): Diagnostic {
  return {
    tool: d.tool,
    ...(d.file ? { file: d.file } : {}),
    ...(d.line !== undefined ? { line: d.line } : {}),
    ...(d.column !== undefined ? { column: d.column } : {}),
    // The run record knows error/warning/note; a finding judged moot (info) is a note there.
    severity: d.severity === 'info' ? 'note' : d.severity,
    message: d.flag ? `${d.message} [${d.flag}]` : d.message,
    ...(d.patch ? { patch: d.patch } : {}),
  };
}
