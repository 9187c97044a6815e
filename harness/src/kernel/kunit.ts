import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WorkbenchError } from '../core/errors.ts';
import { cacheRoot } from '../core/paths.ts';
import type { Runner } from '../core/runner.ts';
import { tail } from '../core/text.ts';
import { ensureToolbox, type Toolbox } from '../toolbox/toolbox.ts';
import { ensureBaseTree, type BaseTree } from './baseTree.ts';
import { type KtapRun, parseKtap } from './ktap.ts';
import { buildKunitKernel, KUNIT_ARCH, pruneOtherBuilds, type KunitBuildResult, type KunitToolbox } from './kunitBuild.ts';
import { bootKunitKernel, type KunitBoot } from './kunitQemu.ts';
import { RKVDEC_DIR } from './moduleLayout.ts';
import { loadSeries, type Series } from './series.ts';
import type { StageOptions } from './stage.ts';
import { applySeries, openWorkTree, type AppliedSeries, type WorkTree } from './workTree.ts';

/** Default `--kunitconfig`: the rkvdec folder (patch 5 adds its `.kunitconfig`). */
export const DEFAULT_KUNITCONFIG = RKVDEC_DIR;

/**
 * Folder (under the cache root) of KUnit's own work tree and build
 * directories. KUnit has its own checkout of the base tree (same
 * openWorkTree/applySeries code, cache root `<cache>/kernel-kunit`) so its
 * long first build does not hold the shared work tree's lock that `build`,
 * `check` and `iterate` take.
 */
export const KUNIT_CACHE_DIR = 'kernel-kunit';

/** Options of {@link runKunit}. */
export interface KunitOptions extends StageOptions {
  /** `--kunitconfig` (tree-relative folder or file); default {@link DEFAULT_KUNITCONFIG}. */
  kunitconfig?: string;
  /** make --jobs (default 2). */
  jobs?: number;
  /** QEMU run limit, ms (default 300 000). */
  timeoutMs?: number;
  /** Rebuild even when the recorded build has the same inputs. */
  force?: boolean;
  /** Raw make output. */
  onOutput?: (s: string) => void;
  /** Host runner (QEMU); default ExecaRunner. */
  runner: Runner;
  /** Toolbox override (tests). */
  toolbox?: Toolbox;
}

/** Outcome of `workbench kunit`. */
export interface KunitResult {
  /** 0 every test passed, 1 a test failed/crashed or the build failed, 2 infrastructure. */
  exitCode: 0 | 1 | 2;
  baseCommit: string;
  head: string;
  series: { source: string; key: string; patches: number };
  build: KunitBuildResult;
  /** Absent when the build failed. */
  boot?: KunitBoot;
  /** Parsed KTAP; absent when the build failed. */
  ktap?: KtapRun;
  /** Every command, in order (toolbox commands with inside paths, then the host QEMU). */
  commands: string[][];
  durationMs: number;
}

/** The toolbox, base tree, series and KUnit's own locked work tree. */
async function openKunitStage(opts: KunitOptions): Promise<{ tb: Toolbox; base: BaseTree; series: Series; wt: WorkTree }> {
  const runner = opts.runner;
  const tb = opts.toolbox ?? (await ensureToolbox({ manifest: opts.manifest, log: opts.log, cacheRoot: opts.cacheRoot, runner }));
  const base = await ensureBaseTree(tb, { log: opts.log, cacheRoot: opts.cacheRoot, runner });
  const series = await loadSeries(opts.series, runner);
  const wt = await openWorkTree(base, { log: opts.log, cacheRoot: join(opts.cacheRoot ?? cacheRoot(), KUNIT_CACHE_DIR), runner });
  return { tb, base, series, wt };
}

/** Build directory name of a toolbox (the compiler is part of it). */
export function kunitBuildDirName(tb: Pick<KunitToolbox, 'key'>): string {
  return `build-${KUNIT_ARCH}-${tb.key}`;
}

/**
 * Applies the series on KUnit's work tree and builds the KUnit kernel
 * (see {@link buildKunitKernel}). The work tree's lock is held by the caller.
 */
export async function buildForKunit(tb: KunitToolbox, wt: WorkTree, applied: AppliedSeries, opts: KunitOptions): Promise<KunitBuildResult> {
  const name = kunitBuildDirName(tb);
  await pruneOtherBuilds(wt.home, name, opts.log);
  return buildKunitKernel(
    tb,
    {
      srcHost: wt.dir,
      outHost: join(wt.home, name),
      kunitconfig: opts.kunitconfig ?? DEFAULT_KUNITCONFIG,
      jobs: opts.jobs ?? 2,
      head: applied.head,
      buildTimestamp: wt.base.date,
    },
    { log: opts.log, onOutput: opts.onOutput, force: opts.force },
  );
}

/**
 * `workbench kunit`: the series' KUnit suite, reproducibly.
 *
 * 1. toolbox -> base tree -> series applied (`git am --3way`) on KUnit's own
 *    persistent checkout `<cache>/kernel-kunit/kernel-work/<base key>/tree`;
 * 2. x86_64 kernel configured from the kunitconfig with the kernel's
 *    `tools/testing/kunit/kunit.py config` and built with make (gcc-16) in the
 *    toolbox, in the persistent, locked build directory beside the checkout
 *    (incremental; skipped when nothing changed);
 * 3. the bzImage booted with the HOST's qemu-system-x86_64 (no disk,
 *    `kunit.enable=1`, serial console to a file, timeout);
 * 4. the KTAP output parsed into suites and tests.
 *
 * Build failures (compile errors) are exit 1 with diagnostics, like `workbench build`.
 *
 * @throws WorkbenchError E_KUNIT_CONFIG (no kunitconfig, kunit.py config
 *   failed), E_KUNIT_BOOT (QEMU failed, or no KTAP in the console output),
 *   E_KUNIT_NO_TESTS (KTAP without a single test), E_PATCH_APPLY, and what
 *   the toolbox/base tree stages throw.
 */
export async function runKunit(opts: KunitOptions): Promise<KunitResult> {
  const started = Date.now();
  const runner = opts.runner;
  const { tb, base, series, wt } = await openKunitStage(opts);
  try {
    const applied = await applySeries(wt, series, { log: opts.log });
    const build = await buildForKunit(tb, wt, applied, opts);
    const commands = [...applied.commands, ...build.commands];
    const common = {
      baseCommit: base.commit,
      head: applied.head,
      series: { source: series.source, key: series.key, patches: series.patches.length },
      build,
    };
    if (!build.ok) return { ...common, exitCode: 1, commands, durationMs: Date.now() - started };
    if (!existsSync(build.kernel)) throw new WorkbenchError('E_INTERNAL', `${build.kernel} vanished after the build`);
    const boot = await bootKunitKernel(runner, {
      kernel: build.kernel,
      serialLog: join(wt.home, 'kunit-serial.log'),
      timeoutMs: opts.timeoutMs ?? 300_000,
      log: opts.log,
    });
    commands.push(boot.argv);
    const ktap = parseKtap(boot.console);
    if (!ktap.found) {
      throw new WorkbenchError(
        'E_KUNIT_BOOT',
        `the KUnit kernel printed no KTAP (${boot.timedOut ? `killed after ${Math.round((opts.timeoutMs ?? 300_000) / 1000)} s` : `QEMU exit ${boot.exitCode}`}); console log: ${boot.serialLog}\n${tail(boot.console, 8)}${boot.stderr.trim() ? `\nqemu: ${boot.stderr.trim()}` : ''}`,
        { hint: 'read the console log: a panic before the tests, or CONFIG_KUNIT missing from the kunitconfig' },
      );
    }
    if (ktap.totals.total === 0) {
      throw new WorkbenchError('E_KUNIT_NO_TESTS', `the KUnit kernel ran no test (console log: ${boot.serialLog})`, {
        hint: 'the kunitconfig must enable the test options (e.g. CONFIG_VIDEO_ROCKCHIP_VDEC_KUNIT_TEST=y)',
      });
    }
    const passed = ktap.totals.failed === 0 && ktap.totals.crashed === 0 && ktap.complete;
    return { ...common, exitCode: passed ? 0 : 1, boot, ktap, commands, durationMs: Date.now() - started };
  } finally {
    await wt.release();
  }
}
