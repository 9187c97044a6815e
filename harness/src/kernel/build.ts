import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLock, diskFullError, isDiskFull, sha256File, stableStringify, writeFileAtomic } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { cacheRoot } from '../core/paths.ts';
import type { Bind } from '../toolbox/chrootExec.ts';
import type { Toolbox } from '../toolbox/toolbox.ts';
import { arm64Fragments, arm64Make, ensureArm64Debian, outsideChangesKey, prepareArm64 } from './arm64Kernel.ts';
import { parseBuildOutput, type Diagnostic } from './diagnostics.ts';
import { kgit } from './git.ts';
import { readKo, type BuiltModule } from './koInfo.ts';
import { missingHelpers, parseKconfig, pathMapper, planModuleDir, REQUIRED_SYMBOLS, type ModuleDirPlan } from './moduleLayout.ts';
import { clearMakeGroup, recordMakeGroup, repairInterruptedMake } from './makeGroup.ts';
import { syncDir } from './syncDir.ts';
import type { AppliedSeries, WorkTree } from './workTree.ts';
import { tail } from '../core/text.ts';

/** Bumped when the build recipe changes (invalidates recorded results). */
export const BUILD_FORMAT = 1;

/**
 * The Debian kernel the modules are built for, named by the board's
 * architecture (Board.arch): `amd64` = the toolbox's amd64 headers (the
 * kernel the vboard runs), `arm64` = Debian's arm64 kernel, cross-built
 * (RK3588 boards, the simboard).
 */
export type BuildTarget = 'amd64' | 'arm64';

/** Outcome of one module build (the BuildResult of ARCHITECTURE.md). */
export interface BuildResult {
  target: BuildTarget;
  /** True when make succeeded and every expected .ko is there with the right vermagic/machine. */
  ok: boolean;
  /** True when nothing changed since the last successful build (make not run). */
  cached: boolean;
  /** Kernel release the modules are for (`7.2.13+deb14-amd64` / `...-arm64`). */
  kernelRelease: string;
  baseCommit: string;
  /** HEAD of the work tree that was built. */
  head: string;
  modules: BuiltModule[];
  diagnostics: Diagnostic[];
  /** argv lists that reproduce the build (paths inside the toolbox where they run there). */
  commands: string[][];
  /** Wall time of this call, ms. */
  durationMs: number;
  /** Host path of the persistent build directory. */
  buildDir: string;
}

/** Options of {@link buildApplied}. */
export interface BuildOptions {
  target: BuildTarget;
  /** make -j (default 2: the machine has 2 cores). */
  jobs?: number;
  /** Extra make variables, e.g. `W=1`, `C=1` (checks). They are part of the cache key. */
  makeVars?: string[];
  /** Progress lines. */
  log?: (m: string) => void;
  /** Raw make output as it arrives. */
  onOutput?: (s: string) => void;
  cacheRoot?: string;
  /** Ignore a recorded result and run make. */
  force?: boolean;
  /** Where arm64 config fragments live (default kernel-src-manifest/). */
  fragmentsDir?: string;
  /** Separate build directory for a kind of build (e.g. `check` for C=1 W=1), so the normal one keeps its objects. */
  variant?: string;
  /** Remove the module build folder first (every file recompiled, so every warning is seen again). */
  clean?: boolean;
  /**
   * Ctrl-C: make's whole process group is killed at once (SIGTERM, SIGKILL
   * 1 s later), the files it was writing are removed, and the call throws
   * E_ABORTED.
   */
  signal?: AbortSignal;
}

const MOUNT_MOD = '/wb/mod';
const MOUNT_SRC = '/wb/src';
const MOUNT_OUT = '/wb/out';

interface Recorded {
  inputKey: string;
  result: BuildResult;
}

/**
 * Builds rkvdec (+ the helper modules the target kernel lacks) from the work
 * tree as `applied` left it, in the toolbox, in a persistent locked build
 * directory `<cache>/kernel-build/<target>-<kernel key>-<base key>/`.
 *
 * - amd64: out-of-tree `M=` build against the toolbox's amd64 headers (the vboard's kernel).
 * - arm64: Debian's arm64 config + fragments, `modules_prepare` once, then
 *   `M=` against that O= tree, cross-compiled with aarch64-linux-gnu-gcc-16.
 *
 * Incremental: sources are synced into the module dir only when their content
 * changed (mtimes of the rest kept), so make rebuilds only what changed; when
 * the inputs (synced files, make argv, kernel) equal those of the last
 * successful build and its .ko files are intact, the recorded result comes
 * back with `cached: true` and make is not run.
 *
 * A compiler error is not thrown: it is `ok: false` with diagnostics.
 *
 * @throws WorkbenchError E_BUILD_KERNEL (the target kernel lacks what rkvdec
 *   needs), E_BUILD_PREPARE (arm64 config/modules_prepare failed), E_ARM64_DEBIAN,
 *   E_CACHE_DISK_FULL (the build directory's filesystem is full: not reported
 *   as a compiler error), E_ABORTED (`signal`).
 */
export async function buildApplied(tb: Toolbox, wt: WorkTree, applied: AppliedSeries, opts: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const jobs = opts.jobs ?? 2;
  const extra = opts.makeVars ?? [];
  const root = opts.cacheRoot ?? cacheRoot();
  let kernelKey = tb.key;
  let release = tb.kernelRelease;
  let deb: Awaited<ReturnType<typeof ensureArm64Debian>> | undefined;
  if (opts.target === 'arm64') {
    deb = await ensureArm64Debian(tb, { log: opts.log, cacheRoot: opts.cacheRoot });
    kernelKey = deb.key;
    release = deb.release;
  }
  const home = join(root, 'kernel-build', `${opts.target}${opts.variant ? `-${opts.variant}` : ''}-${kernelKey}-${wt.base.key}`);
  await mkdir(home, { recursive: true });
  const release_ = await acquireLock(`${home}.lock`, opts.log);
  try {
    return await buildLocked();
  } catch (e) {
    throw isDiskFull(e) ? await diskFullError(home, `the ${opts.target} module build`, e) : e;
  } finally {
    await release_();
  }
  async function buildLocked(): Promise<BuildResult> {
    const modHost = join(home, 'mod');
    const outHost = join(home, 'out');
    if (opts.clean) await rm(modHost, { recursive: true, force: true });
    await mkdir(modHost, { recursive: true });
    const binds: Bind[] = [{ host: modHost, inside: MOUNT_MOD }];
    const commands: string[][] = [...applied.commands];
    let plan: ModuleDirPlan;
    let makeArgv: string[];
    let prepKey = '';
    if (opts.target === 'amd64') {
      const cfg = parseKconfig(await readFile(tb.hostPath(`${tb.headersDir}/.config`), 'utf8').catch(() => ''));
      const lacking = REQUIRED_SYMBOLS.filter((s) => cfg[s] !== 'y' && cfg[s] !== 'm');
      if (lacking.length) {
        throw new WorkbenchError(
          'E_BUILD_KERNEL',
          `the vboard kernel ${tb.kernelRelease} lacks ${lacking.join(', ')} that rkvdec needs (from ${tb.headersDir}/.config)`,
          {
            hint: 'use a kernel manifest whose Debian kernel builds the media core (VIDEO_DEV, MEDIA_CONTROLLER, videobuf2)',
          },
        );
      }
      plan = await planModuleDir(wt.dir, MOUNT_MOD, missingHelpers(cfg), applied.changedFiles);
      if (extra.some((v) => /^C=[12]$/.test(v))) {
        // Debian's headers lack scripts/checker-valid.sh, without which kbuild silently turns C=1 off
        // (Makefile: "C=1 specified, but sparse is not available"): lend the base tree's copy for this run.
        const common = tb.headersDir.replace(/-[^-+]+$/, '-common');
        binds.push({ host: join(wt.dir, 'scripts', 'checker-valid.sh'), inside: `${common}/scripts/checker-valid.sh`, readOnly: true });
      }
      makeArgv = ['make', '-C', tb.headersDir, `M=${MOUNT_MOD}`, `-j${jobs}`, ...plan.makeVars, ...extra, 'modules'];
    } else {
      binds.push({ host: wt.dir, inside: MOUNT_SRC, readOnly: true }, { host: outHost, inside: MOUNT_OUT });
      const blobs = await blobIds(wt, applied);
      const prepCmds = await prepareArm64({
        tb,
        deb: deb!,
        fragments: await arm64Fragments(opts.fragmentsDir),
        outHost,
        binds,
        src: MOUNT_SRC,
        out: MOUNT_OUT,
        baseCommit: wt.base.commit,
        outsideChanges: outsideChangesKey(applied.changedFiles, blobs),
        jobs,
        log: opts.log,
        onOutput: opts.onOutput,
      });
      commands.push(...prepCmds);
      prepKey = await readFile(join(outHost, '.wb-prepared.json'), 'utf8');
      const cfg = parseKconfig(await readFile(join(outHost, '.config'), 'utf8'));
      plan = await planModuleDir(wt.dir, MOUNT_MOD, missingHelpers(cfg), []);
      makeArgv = [...arm64Make(release, MOUNT_SRC, MOUNT_OUT, jobs), `M=${MOUNT_MOD}`, ...plan.makeVars, ...extra, 'modules'];
    }
    const expect = ['rkvdec/rockchip-vdec.ko', ...plan.helpers.map((h) => `v4l2-core/${h.name}.ko`)];
    const keep = new Set([...plan.items.map((i) => i.to), '.wb-synced.json']);
    // A make interrupted earlier (the workbench killed while it ran) may have left half-written objects.
    await repairInterruptedMake(home, modHost, keep, opts.log);
    const sync = await syncDir(modHost, plan.items);
    commands.push(makeArgv);
    const inputKey = createHash('sha256')
      .update(stableStringify({ format: BUILD_FORMAT, target: opts.target, kernelKey, base: wt.base.commit, files: sync.digest, makeArgv, prepKey }))
      .digest('hex');
    const recordFile = join(home, 'last-build.json');
    if (!opts.force && existsSync(recordFile)) {
      const rec = JSON.parse(await readFile(recordFile, 'utf8').catch(() => '{}')) as Partial<Recorded>;
      if (rec.inputKey === inputKey && rec.result && (await intact(rec.result.modules))) {
        return { ...rec.result, cached: true, head: applied.head, commands, durationMs: Date.now() - started };
      }
    }
    await rm(recordFile, { force: true });
    opts.log?.(`make (${opts.target}): ${sync.written.length} source file(s) changed since the last build`);
    if (opts.signal?.aborted) throw new WorkbenchError('E_ABORTED', 'interrupted before make');
    const makeStarted = Date.now();
    let recorded: Promise<void> | undefined;
    let r;
    try {
      r = await tb.exec(makeArgv, {
        binds,
        env: { LC_ALL: 'C' },
        timeoutMs: 60 * 60_000,
        allowFailure: true,
        onStdout: opts.onOutput,
        onStderr: opts.onOutput,
        ...(opts.signal
          ? { signal: opts.signal, onProcessGroup: (pgid: number) => void (recorded = recordMakeGroup(home, pgid, makeStarted).catch(() => undefined)) }
          : {}),
      });
    } catch (e) {
      await recorded;
      await repairInterruptedMake(home, modHost, keep, opts.log);
      throw e;
    }
    await recorded;
    if (r.timedOut) await repairInterruptedMake(home, modHost, keep, opts.log);
    await clearMakeGroup(home);
    const kernelDirs = opts.target === 'amd64' ? [tb.headersDir, tb.headersDir.replace(/-[^-+]+$/, '-common')] : [MOUNT_SRC, MOUNT_OUT];
    const diagnostics = parseBuildOutput(`${r.stdout}\n${r.stderr}`, pathMapper(plan, MOUNT_MOD, kernelDirs));
    await attributeToPatches(wt, applied, diagnostics);
    if (r.exitCode !== 0 && /No space left on device|Disk quota exceeded/.test(`${r.stdout}\n${r.stderr}`)) {
      // Not the patch's fault: the build directory's filesystem is full (make deleted what it was writing).
      throw await diskFullError(modHost, `the ${opts.target} module build`);
    }
    let ok = r.exitCode === 0;
    if (!ok && !diagnostics.some((d) => d.severity === 'error')) {
      diagnostics.push({ severity: 'error', tool: 'make', message: `make exited with ${r.exitCode}: ${tail(r.stderr || r.stdout, 3, ' | ')}` });
    }
    const modules: BuiltModule[] = [];
    if (ok) {
      for (const rel of expect) {
        const p = join(modHost, rel);
        if (!existsSync(p)) {
          ok = false;
          diagnostics.push({ severity: 'error', tool: 'workbench', message: `make succeeded but ${rel} was not built` });
          continue;
        }
        const ko = await readKo(p);
        const machine = opts.target === 'arm64' ? 'AArch64' : 'x86-64';
        if (!ko.vermagic.startsWith(`${release} `) || ko.machine !== machine) {
          ok = false;
          diagnostics.push({
            severity: 'error',
            tool: 'workbench',
            file: rel,
            message: `${rel}: vermagic "${ko.vermagic}" / machine ${ko.machine}, expected ${release} / ${machine}`,
          });
        }
        modules.push(ko);
      }
    }
    const result: BuildResult = {
      target: opts.target,
      ok,
      cached: false,
      kernelRelease: release,
      baseCommit: wt.base.commit,
      head: applied.head,
      modules: ok ? modules : [],
      diagnostics,
      commands,
      durationMs: Date.now() - started,
      buildDir: home,
    };
    if (ok) await writeFileAtomic(recordFile, JSON.stringify({ inputKey, result } satisfies Recorded, null, 1));
    return result;
  }
}

async function intact(mods: BuiltModule[]): Promise<boolean> {
  for (const m of mods) {
    if (!existsSync(m.path) || (await sha256File(m.path)) !== m.sha256) return false;
  }
  return mods.length > 0;
}

async function blobIds(wt: WorkTree, applied: AppliedSeries): Promise<Record<string, string>> {
  if (!applied.changedFiles.length) return {};
  const out: Record<string, string> = {};
  const text = await kgit(wt.runner, wt.dir).raw(['ls-tree', '-r', 'HEAD', '--', ...applied.changedFiles]);
  for (const line of text.split('\n')) {
    const m = /^\S+ \S+ (\S+)\t(.+)$/.exec(line);
    if (m) out[m[2]!] = m[1]!;
  }
  return out;
}

/**
 * Sets `patch` on diagnostics whose file:line the series introduced: `git
 * blame` of that line at HEAD names a series commit.
 */
export async function attributeToPatches(wt: WorkTree, applied: AppliedSeries, diags: Diagnostic[]): Promise<void> {
  if (!applied.commits.length) return;
  const byCommit = new Map(applied.commits.map((c) => [c.commit, c.patch]));
  const changed = new Set(applied.changedFiles);
  const g = kgit(wt.runner, wt.dir);
  for (const d of diags) {
    if (!d.file || !d.line || !changed.has(d.file)) continue;
    const out = await g.raw(['blame', '--porcelain', '-L', `${d.line},${d.line}`, 'HEAD', '--', d.file]).catch(() => '');
    const commit = /^([0-9a-f]{40}) /.exec(out)?.[1];
    const p = commit ? byCommit.get(commit) : undefined;
    if (p) d.patch = `${p.name} "${p.subject}"`;
  }
}
