import type { Command } from 'commander';
import { join } from 'node:path';
import { EventBus } from '../../core/events.ts';
import { ExitCode, WorkbenchError } from '../../core/errors.ts';
import { ExecaRunner, formatArgv, type Runner } from '../../core/runner.ts';
import { projectRoot, workbenchVersion } from '../../core/paths.ts';
import { RUN_TOOLS } from '../../core/hostTools.ts';
import { runIterate, closingLines, type IterateResult } from '../../pipeline/iterate.ts';
import { watchFolder } from '../../pipeline/watch.ts';
import type { IterateStages } from '../../pipeline/stages.ts';
import { realStages } from '../../pipeline/realStages.ts';
import { closeTargets } from '../../target/connect.ts';
import { diffText } from '../../report/diff.ts';
import { reportsRoot } from '../../report/store.ts';
import type { RunRecord } from '../../model/record.ts';
import { attachView, pickMode } from '../views/output.ts';

/** Options of `workbench iterate`. */
export interface IterateCommandOptions {
  board?: string;
  suite?: string;
  vectors?: string;
  watch?: boolean;
  json?: boolean;
  plain?: boolean;
  reportsDir?: string;
  /** commander's `--no-check`: false skips the static checks. */
  check?: boolean;
  /** Another series than patches/ (a folder with a `series` file, an mbox, A..B). */
  series?: string;
}

/** What the command needs from the outside (the CLI passes the real ones; the TUI test passes fake stages). */
export interface IterateDeps {
  stages: () => IterateStages;
  out?: NodeJS.WriteStream;
  /** The command line recorded in run.json. */
  commandLine?: string;
  /** Folder watched by --watch (default <repo>/patches). */
  patchesDir?: string;
  /** Install SIGINT handling (Ctrl-C once: stop cleanly; twice: quit at once). Default true. */
  handleSignals?: boolean;
  runner?: Runner;
}

/** Registers `workbench iterate`. */
export function register(program: Command): void {
  program
    .command('iterate')
    .description(
      'the whole loop: build the module from patches/, deploy it to the board (default: the vboard, started if needed), decode the suite, compare, and write reports/<run-id>/ (exit 0 passed, 1 test failures, 2 infrastructure)',
    )
    .option('--board <name>', 'board from boards.toml (default: the virtual board)')
    .option('--suite <name>', 'vector suite (default: the quick vp9-features subset)')
    .option('--vectors <glob>', 'only vectors whose name matches this glob')
    .option('--series <DIR|MBOX|A..B>', 'build this series instead of patches/ (e.g. patches/simboard: the fixes, the series and the IRQ instrumentation)')
    .option('--watch', 'run again whenever patches/ changes (Ctrl-C to stop)')
    .option('--no-check', 'skip the static checks (checkpatch, sparse, W=1) for a faster loop')
    .option('--json', 'print one JSON object per event instead of the live view')
    .option('--plain', 'print plain lines even on a terminal')
    .option('--reports-dir <dir>', 'where reports go (default: <repo>/reports)')
    .option('--no-install', 'never install missing host tools with apt (default: install them when running as root)')
    .action(async (opts: IterateCommandOptions & { install?: boolean }) => {
      try {
        // First run on a fresh machine (`npm ci && npx workbench iterate`): the
        // vboard path needs QEMU, mmdebstrap, libvpx... Install them as root
        // (printing what runs), else fail with the exact apt command.
        const { ensureHostTools } = await import('./doctor.ts');
        await ensureHostTools(RUN_TOOLS, { install: opts.install !== false && process.getuid?.() === 0, out: (s) => process.stderr.write(s + '\n') });
        process.exitCode = await iterateCommand(opts, {
          stages: () => realStages({ skipChecks: opts.check === false, ...(opts.series ? { series: opts.series } : {}) }),
          commandLine: formatArgv(['workbench', ...process.argv.slice(2)]),
        });
      } finally {
        await closeTargets();
      }
    });
}

async function workbenchFacts(runner: Runner): Promise<RunRecord['workbench']> {
  const cwd = projectRoot();
  const head = await runner.run(['git', 'rev-parse', 'HEAD'], { cwd, allowFailure: true }).catch(() => undefined);
  const dirty = await runner.run(['git', 'status', '--porcelain', '--untracked-files=no'], { cwd, allowFailure: true }).catch(() => undefined);
  return {
    version: workbenchVersion(),
    ...(head?.exitCode === 0 ? { gitCommit: head.stdout.trim() } : {}),
    ...(dirty?.exitCode === 0 ? { gitDirty: dirty.stdout.trim() !== '' } : {}),
  };
}

/**
 * Runs iterate once (or, with --watch, again after every change to patches/)
 * with a view attached. Returns the exit code of the last run.
 */
export async function iterateCommand(opts: IterateCommandOptions, deps: IterateDeps): Promise<number> {
  if (opts.suite && /[*?[]/.test(opts.suite))
    throw new WorkbenchError('E_USAGE', '--suite takes a suite name, not a glob', { hint: 'use --vectors GLOB to pick vectors' });
  const out = deps.out ?? process.stdout;
  const mode = pickMode(opts, out);
  const ac = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts === 1) {
      process.stderr.write('\nstopping: killing remote processes, keeping a working module, writing the partial report (Ctrl-C again to quit at once)\n');
      ac.abort(new WorkbenchError('E_ABORTED', 'interrupted'));
    } else {
      process.stderr.write('quitting without a report\n');
      process.exit(ExitCode.Infrastructure);
    }
  };
  if (deps.handleSignals !== false) process.on('SIGINT', onSigint);
  const runner = deps.runner ?? new ExecaRunner();
  const watcher = opts.watch ? watchFolder(deps.patchesDir ?? join(projectRoot(), 'patches')) : undefined;
  let last: IterateResult | undefined;
  try {
    const workbench = await workbenchFacts(runner);
    for (;;) {
      const bus = new EventBus();
      const view = attachView(bus, mode, out);
      try {
        last = await runIterate({
          stages: deps.stages(),
          bus,
          signal: ac.signal,
          command: deps.commandLine ?? 'workbench iterate',
          ...(opts.board ? { board: opts.board } : {}),
          ...(opts.suite ? { suite: opts.suite } : {}),
          ...(opts.vectors ? { vectors: opts.vectors } : {}),
          reportsRoot: opts.reportsDir ?? reportsRoot(),
          workbench,
        });
      } finally {
        await view.close();
      }
      if (mode === 'json') {
        view.print({
          type: 'result',
          exitCode: last.exitCode,
          runId: last.record.runId,
          status: last.record.status,
          reportDir: last.reportDir ?? null,
          counts: last.record.counts,
          diff: last.diff ?? null,
        });
      } else {
        view.print(closingLines(last));
        if (last.diff) view.print(diffText(last.diff).split('\n'));
        else view.print([`no earlier complete run on ${last.record.board?.name ?? opts.board ?? 'vboard'} to compare with`]);
      }
      if (!watcher || ac.signal.aborted) break;
      if (mode !== 'json') out.write(`watching ${deps.patchesDir ?? 'patches/'} for changes (Ctrl-C to stop)\n`);
      try {
        const changed = await watcher.next(ac.signal);
        if (mode !== 'json') out.write(`changed: ${changed.join(', ')}\n`);
      } catch {
        break;
      }
    }
  } finally {
    watcher?.close();
    if (deps.handleSignals !== false) process.off('SIGINT', onSigint);
  }
  return last?.exitCode ?? ExitCode.Infrastructure;
}
