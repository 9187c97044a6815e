import type { Command } from 'commander';
import { ExitCode } from '../../core/errors.ts';
import { diffRuns, diffText } from '../../report/diff.ts';
import { listRuns, loadRun, reportsRoot } from '../../report/store.ts';
import { summaryMarkdown } from '../../report/markdown.ts';

/** Registers `workbench report diff|list|show`. */
export function register(program: Command): void {
  const report = program.command('report').description('read run reports (reports/<run-id>/run.json): list, show, diff');

  report
    .command('diff')
    .description('compare two runs: new failures, fixes, changed first bad frame (exit 1 when B has new failures)')
    .argument('<a>', 'base run: run id, report folder or run.json')
    .argument('<b>', 'new run: run id, report folder or run.json')
    .option('--json', 'print the diff as JSON')
    .option('--reports-dir <dir>', 'where run ids are looked up (default: <repo>/reports)')
    .action((a: string, b: string, opts: { json?: boolean; reportsDir?: string }) => {
      const root = opts.reportsDir ?? reportsRoot();
      const d = diffRuns(loadRun(a, root), loadRun(b, root));
      process.stdout.write((opts.json ? JSON.stringify(d, null, 2) : diffText(d)) + '\n');
      process.exitCode = d.newFailures.length ? ExitCode.TestFailures : ExitCode.Ok;
    });

  report
    .command('list')
    .description('list the reports, oldest first')
    .option('--board <name>', 'only runs on this board')
    .option('--reports-dir <dir>', 'reports folder (default: <repo>/reports)')
    .action((opts: { board?: string; reportsDir?: string }) => {
      const runs = listRuns(opts.reportsDir ?? reportsRoot()).filter((r) => !opts.board || r.board === opts.board);
      if (!runs.length) process.stdout.write('no reports\n');
      for (const r of runs) process.stdout.write(`${r.runId}  ${r.startedAt}  ${r.board ?? '-'}  ${r.status}  exit ${r.exitCode}\n`);
    });

  report
    .command('show')
    .description("print a run's summary (Markdown)")
    .argument('<run>', 'run id, report folder or run.json')
    .option('--reports-dir <dir>', 'where run ids are looked up (default: <repo>/reports)')
    .action((run: string, opts: { reportsDir?: string }) => {
      process.stdout.write(summaryMarkdown(loadRun(run, opts.reportsDir ?? reportsRoot())));
    });
}
