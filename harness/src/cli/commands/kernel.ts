import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ExitCode, isWorkbenchError, WorkbenchError } from '../../core/errors.ts';
import { projectRoot } from '../../core/paths.ts';
import { formatArgv } from '../../core/runner.ts';
import type { BuildResult, BuildTarget } from '../../kernel/build.ts';
import { formatB4Summary, runB4Series } from '../../kernel/b4.ts';
import { runChecks } from '../../kernel/check.ts';
import { formatDiagnostic } from '../../kernel/diagnostics.ts';
import { formatKtapSummary } from '../../kernel/ktap.ts';
import { DEFAULT_KUNITCONFIG, runKunit } from '../../kernel/kunit.ts';
import { DEFAULT_MANIFEST } from '../../toolbox/manifest.ts';
import { bisectSeries, buildSeries, seriesApply } from '../../kernel/stage.ts';
import { builtinProviders } from '../../target/providers/builtin.ts';
import { ExecaRunner } from '../../core/runner.ts';

const log = (s: string) => process.stderr.write(`[kernel] ${s}\n`);
const SERIES_HELP = 'series to use: a folder with a `series` file, an mbox file, or a git range A..B (default: patches/)';

function out(s: string): void {
  process.stdout.write(`${s}\n`);
}

function printBuild(r: BuildResult): void {
  out(
    `${r.ok ? 'ok' : 'FAILED'}: ${r.target} build for ${r.kernelRelease}${r.cached ? ' (cached: nothing changed)' : ''} in ${(r.durationMs / 1000).toFixed(1)} s`,
  );
  out(`base-commit: ${r.baseCommit}  head: ${r.head}`);
  for (const m of r.modules) out(`  ${m.name}.ko  ${m.size} bytes  sha256 ${m.sha256}  ${m.machine}  vermagic "${m.vermagic.trim()}"\n    ${m.path}`);
  for (const d of r.diagnostics) out(`  ${formatDiagnostic(d)}`);
  out(`reproduce (inside the toolbox): ${formatArgv(r.commands[r.commands.length - 1] ?? [])}`);
}

/**
 * The kernel build target `--for` names: an architecture as is, else a
 * board's architecture (the board profile).
 * @throws WorkbenchError E_USAGE naming the value when it is neither; the
 *   board configuration's errors.
 */
function buildTargetFor(value: string): BuildTarget {
  if (value === 'amd64' || value === 'arm64') return value;
  try {
    return builtinProviders().getBoard(value).arch;
  } catch (e) {
    if (!isWorkbenchError(e, 'E_UNKNOWN_BOARD')) throw e;
    throw new WorkbenchError('E_USAGE', `--for ${value}: expected amd64, arm64 or a board name; ${e.message}`, {
      hint: 'workbench build --for vboard',
      cause: e,
    });
  }
}

/** Registers `workbench series apply`, `workbench build`, `workbench check`, `workbench kunit`. */
export function register(program: Command): void {
  const series = program.command('series').description('the patch series (patches/series) on the pinned base tree');
  series
    .command('apply')
    .description('apply the series with git am --3way on a fresh branch of the base tree; prints base-commit and the applied commits')
    .option('--series <DIR|MBOX|A..B>', SERIES_HELP)
    .option('--manifest <name>', 'kernel manifest', DEFAULT_MANIFEST)
    .option('--json', 'machine-readable output')
    .action(async (o: { series?: string; manifest: string; json?: boolean }) => {
      const a = await seriesApply({ series: o.series, manifest: o.manifest, log, runner: new ExecaRunner() });
      if (o.json) {
        out(
          JSON.stringify(
            {
              ...a,
              series: { source: a.series.source, key: a.series.key },
              commits: a.commits.map((c) => ({ patch: c.patch.name, subject: c.patch.subject, commit: c.commit })),
            },
            null,
            2,
          ),
        );
        return;
      }
      out(`base-commit: ${a.baseCommit} (${a.base.label})`);
      for (const c of a.commits) out(`  ${c.commit.slice(0, 12)} ${c.patch.subject}  [${c.patch.name}]`);
      out(`${a.commits.length} patch(es) applied on branch ${a.branch}${a.reused ? ' (already applied, tree unchanged)' : ''}; tree: ${a.tree}`);
    });
  series
    .command('b4')
    .description(
      'make a b4-managed branch of the series (b4 prep, cover letter from 0000-cover-letter.patch, --check, --auto-to-cc) and write the messages with `b4 send -o` (nothing is mailed); exit 0 when b4-ready',
    )
    .option('--series <DIR>', 'series folder with a `series` file and 0000-cover-letter.patch (default: patches/)')
    .option('--out <DIR>', 'folder for the .eml messages (new or empty; default reports/b4-<timestamp>)')
    .option('--manifest <name>', 'Debian kernel manifest', DEFAULT_MANIFEST)
    .option('--json', 'print the result as JSON')
    .action(async (o: { series?: string; out?: string; manifest: string; json?: boolean }) => {
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
      const dir = resolve(o.out ?? join(projectRoot(), 'reports', `b4-${stamp}`));
      const r = await runB4Series({ series: o.series, out: dir, manifest: o.manifest, log, runner: new ExecaRunner() });
      out(o.json ? JSON.stringify(r, null, 2) : formatB4Summary(r));
      process.exitCode = r.ok ? ExitCode.Ok : ExitCode.TestFailures;
    });

  program
    .command('build')
    .description('build rockchip-vdec.ko (and the helper modules the target kernel lacks) from the series, incrementally')
    .requiredOption(
      '--for <board|arch>',
      "a board (its architecture picks the kernel: vboard = amd64) or an architecture: amd64 (the toolbox's Debian amd64 kernel) or arm64 (Debian arm64 kernel, RK3588 boards)",
    )
    .option('--bisect', 'build the base and then after every patch; name the first patch that breaks the build')
    .option('--series <DIR|MBOX|A..B>', SERIES_HELP)
    .option('--manifest <name>', 'kernel manifest', DEFAULT_MANIFEST)
    .option('-j, --jobs <n>', 'make -j', '2')
    .option('--force', 'run make even when nothing changed')
    .option('--json', 'machine-readable output (the BuildResult)')
    .option('-v, --verbose', 'stream make output to stderr')
    .action(
      async (o: { for: string; bisect?: boolean; series?: string; manifest: string; jobs: string; force?: boolean; json?: boolean; verbose?: boolean }) => {
        const target = buildTargetFor(o.for);
        const jobs = Number(o.jobs);
        if (!Number.isInteger(jobs) || jobs < 1) throw new WorkbenchError('E_USAGE', `--jobs ${o.jobs}: expected a positive integer`);
        const common = {
          target,
          series: o.series,
          manifest: o.manifest,
          jobs,
          force: Boolean(o.force),
          log,
          runner: new ExecaRunner(),
          ...(o.verbose ? { onOutput: (s: string) => process.stderr.write(s) } : {}),
        };
        if (o.bisect) {
          const b = await bisectSeries(common);
          if (o.json) out(JSON.stringify(b, null, 2));
          else {
            for (const s of b.steps)
              out(`${s.result.ok ? 'builds ' : 'BREAKS '} ${s.patch ? `${s.patch.index}: ${s.patch.subject} [${s.patch.name}]` : 'base'}`);
            if (b.firstBad) {
              const last = b.steps[b.steps.length - 1]!.result;
              out(
                b.firstBad === 'base'
                  ? 'the base tree itself does not build'
                  : `first bad patch: ${b.firstBad.index} ${b.firstBad.name} "${b.firstBad.subject}"`,
              );
              for (const d of last.diagnostics) out(`  ${formatDiagnostic(d)}`);
            } else out('every patch builds');
          }
          process.exitCode = b.firstBad ? ExitCode.TestFailures : ExitCode.Ok;
          return;
        }
        const r = await buildSeries(common);
        if (o.json) out(JSON.stringify(r, null, 2));
        else printBuild(r);
        process.exitCode = r.ok ? ExitCode.Ok : ExitCode.TestFailures;
      },
    );

  program
    .command('check')
    .description('checkpatch.pl --strict --max-line-length=80 on every patch, sparse (C=1) and W=1 on the rkvdec folder; exit 1 on any error')
    .option('--series <DIR|MBOX|A..B>', SERIES_HELP)
    .option('--manifest <name>', 'kernel manifest', DEFAULT_MANIFEST)
    .option('--json', 'machine-readable output')
    .action(async (o: { series?: string; manifest: string; json?: boolean }) => {
      const r = await runChecks({ series: o.series, manifest: o.manifest, log, runner: new ExecaRunner() });
      if (o.json) out(JSON.stringify(r, null, 2));
      else {
        for (const c of r.checkpatch) {
          const t = c.totals;
          const moot = r.findings.filter((d) => d.tool === 'checkpatch' && d.severity === 'info' && d.patch === `${c.patch} "${c.subject}"`).length;
          out(
            `checkpatch ${c.patch} "${c.subject}": ${t ? `${t.errors} errors, ${t.warnings} warnings${moot ? ` (${moot} judged moot: info)` : ''}, ${t.checks} checks` : `exit ${c.exitCode}`}`,
          );
        }
        out(
          `sparse + W=1 build of the rkvdec folder: ${r.build.ok ? 'compiled' : 'FAILED'}${r.ignoredOutside ? ` (${r.ignoredOutside} messages about kernel headers not counted)` : ''}`,
        );
        for (const d of r.findings) out(`  ${formatDiagnostic(d)}`);
        const n = (sev: string) => r.findings.filter((d) => d.severity === sev).length;
        out(
          `${r.findings.length} finding(s): ${n('error')} error(s), ${n('warning')} warning(s), ${n('note')} note(s), ${n('info')} info in ${(r.durationMs / 1000).toFixed(1)} s`,
        );
      }
      process.exitCode = r.ok ? ExitCode.Ok : ExitCode.TestFailures;
    });

  program
    .command('kunit')
    .description(
      "run the series' KUnit suite: x86_64 kernel from the kunitconfig (kunit.py config + make in the toolbox, cached build dir), booted in the host's QEMU; exit 0 all passed, 1 failures, 2 infrastructure",
    )
    .option('--series <DIR|MBOX|A..B>', SERIES_HELP)
    .option('--manifest <name>', 'kernel manifest', DEFAULT_MANIFEST)
    .option('--kunitconfig <path>', 'tree folder holding .kunitconfig, or a kunitconfig file (tree-relative)', DEFAULT_KUNITCONFIG)
    .option('-j, --jobs <n>', 'make --jobs', '2')
    .option('--timeout <s>', 'QEMU run limit, seconds', '300')
    .option('--force', 'run make even when nothing changed')
    .option('--json', 'machine-readable output (the KunitResult)')
    .option('-v, --verbose', 'stream make output to stderr')
    .action(
      async (o: {
        series?: string;
        manifest: string;
        kunitconfig: string;
        jobs: string;
        timeout: string;
        force?: boolean;
        json?: boolean;
        verbose?: boolean;
      }) => {
        const jobs = Number(o.jobs);
        if (!Number.isInteger(jobs) || jobs < 1) throw new WorkbenchError('E_USAGE', `--jobs ${o.jobs}: expected a positive integer`);
        const timeout = Number(o.timeout);
        if (!Number.isFinite(timeout) || timeout <= 0) throw new WorkbenchError('E_USAGE', `--timeout ${o.timeout}: expected seconds > 0`);
        const r = await runKunit({
          runner: new ExecaRunner(),
          series: o.series,
          manifest: o.manifest,
          kunitconfig: o.kunitconfig,
          jobs,
          timeoutMs: timeout * 1000,
          force: Boolean(o.force),
          log,
          ...(o.verbose ? { onOutput: (s: string) => process.stderr.write(s) } : {}),
        });
        if (o.json) out(JSON.stringify({ ...r, boot: r.boot ? { ...r.boot, console: undefined } : undefined }, null, 2));
        else {
          out(`base-commit: ${r.baseCommit}  head: ${r.head}  (${r.series.patches} patch(es) from ${r.series.source})`);
          const b = r.build;
          out(
            `kernel: ${b.ok ? b.kernel : 'BUILD FAILED'}${b.cached ? ' (cached: nothing changed)' : ` (make: ${b.steps} kbuild steps in ${(b.durationMs / 1000).toFixed(1)} s)`}`,
          );
          for (const d of b.diagnostics) out(`  ${formatDiagnostic(d)}`);
          if (!b.ok) out(`make log: ${b.logFile}`);
          if (r.ktap) for (const l of formatKtapSummary(r.ktap)) out(l);
          if (r.boot) out(`console log: ${r.boot.serialLog} (QEMU ${(r.boot.durationMs / 1000).toFixed(1)} s)`);
          out(`reproduce (inside the toolbox, in the tree): ${b.commands.map((c) => formatArgv(c)).join(' && ')}`);
          if (r.boot) out(`then on the host: ${formatArgv(r.boot.argv)}`);
        }
        process.exitCode = r.exitCode;
      },
    );
}
