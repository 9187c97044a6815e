import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { sha256File, stableStringify, writeFileAtomic } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import type { Bind } from '../toolbox/chrootExec.ts';
import type { Toolbox } from '../toolbox/toolbox.ts';
import { parseBuildOutput, type Diagnostic } from './diagnostics.ts';
import { tail } from '../core/text.ts';

/** Bumped when the KUnit build recipe changes (invalidates the recorded build). */
export const KUNIT_BUILD_FORMAT = 1;

/** Architecture the KUnit kernel is built for (booted with the host's qemu-system-x86_64). */
export const KUNIT_ARCH = 'x86_64';

/** Where the source tree and the build directory are mounted inside the toolbox. */
export const KUNIT_SRC = '/wb/src';
export const KUNIT_OUT = '/wb/kunit';

/** bzImage inside the build directory (kernel's tools/testing/kunit/qemu_configs/x86_64.py `kernel_path`). */
export const KUNIT_KERNEL_PATH = 'arch/x86/boot/bzImage';

/**
 * make options of every KUnit make call: the toolbox's compiler is gcc-16
 * (Debian sid), both for the kernel and for host programs (the kernel's
 * `scripts/` tools).
 */
export const KUNIT_MAKE_OPTIONS: readonly string[] = ['CC=gcc-16', 'HOSTCC=gcc-16'];

/** What the KUnit build needs from the toolbox. */
export type KunitToolbox = Pick<Toolbox, 'exec' | 'key'>;

/** Inputs of one KUnit build. */
export interface KunitBuildSpec {
  /** Host path of the source tree (the work tree with the series applied). */
  srcHost: string;
  /** Host path of the persistent build directory (`make O=`). */
  outHost: string;
  /** `--kunitconfig` for kunit.py: a tree-relative folder holding `.kunitconfig`, or a file. */
  kunitconfig: string;
  /** make --jobs. */
  jobs: number;
  /** HEAD commit of the source tree (part of the recorded-build key). */
  head: string;
  /** `KBUILD_BUILD_TIMESTAMP` (fixed, so an unchanged tree relinks nothing). */
  buildTimestamp: string;
}

/** The argv lists a KUnit build runs inside the toolbox (cwd = the source tree). */
export interface KunitBuildCommands {
  /** `tools/testing/kunit/kunit.py config`: writes `.kunitconfig` + arch options into `.config`, `make olddefconfig`, checks every option stuck. */
  config: string[];
  /** `make ... all` (what `kunit.py build` runs, minus `compile_commands.json scripts_gdb`), output streamed for progress. */
  make: string[];
}

/**
 * The toolbox argv of a KUnit build. `kunit.py config` is the kernel's own
 * tool (tools/testing/kunit/kunit.py, `config` subcommand: `--arch`,
 * `--kunitconfig`, `--build_dir`, `--make_options`); the build is the make
 * call `kunit.py build` makes (kunit_kernel.py `LinuxSourceTreeOperations.make`),
 * run directly so its output can be streamed.
 */
export function kunitBuildCommands(spec: Pick<KunitBuildSpec, 'kunitconfig' | 'jobs'>): KunitBuildCommands {
  const mo = KUNIT_MAKE_OPTIONS.flatMap((o) => ['--make_options', o]);
  return {
    config: [
      'python3',
      'tools/testing/kunit/kunit.py',
      'config',
      `--arch=${KUNIT_ARCH}`,
      `--kunitconfig=${spec.kunitconfig}`,
      `--build_dir=${KUNIT_OUT}`,
      ...mo,
    ],
    make: ['make', `ARCH=${KUNIT_ARCH}`, `O=${KUNIT_OUT}`, `--jobs=${spec.jobs}`, ...KUNIT_MAKE_OPTIONS, 'all'],
  };
}

/** Environment of the KUnit build in the toolbox. */
export function kunitBuildEnv(buildTimestamp: string): Record<string, string> {
  return {
    LC_ALL: 'C',
    // kunit.py must not drop __pycache__ into the (read-only) source tree.
    PYTHONDONTWRITEBYTECODE: '1',
    KBUILD_BUILD_TIMESTAMP: buildTimestamp,
    KBUILD_BUILD_USER: 'workbench',
    KBUILD_BUILD_HOST: 'toolbox',
  };
}

/** Result of {@link buildKunitKernel}. */
export interface KunitBuildResult {
  ok: boolean;
  /** True when the recorded build had the same inputs and its bzImage is intact (make not run). */
  cached: boolean;
  /** Host path of the bzImage (exists when ok). */
  kernel: string;
  /** SHA-256 of the bzImage (hex), when ok. */
  kernelSha256?: string;
  /** Compiler/linker findings of the make run (errors make `ok` false). */
  diagnostics: Diagnostic[];
  /** kbuild steps (`CC`, `LD`, ... lines) make printed; 0 when cached. */
  steps: number;
  /** Host path of the full make log. */
  logFile: string;
  commands: string[][];
  durationMs: number;
}

interface Recorded {
  inputKey: string;
  kernelSha256: string;
  steps: number;
}

/** A kbuild progress line: `  CC      kernel/fork.o`, `  LD [M]  ...`, `  HOSTCC  scripts/...`. */
const STEP_RE = /^\s{2}([A-Z][A-Z0-9_-]{1,11})(?: \[M\])?\s+(\S+)$/;

/** Counts kbuild steps in streamed make output and reports progress at most every `everyMs`. */
export class BuildProgress {
  steps = 0;
  last = '';
  private partial = '';
  private lastTold = 0;
  constructor(
    private readonly log: ((m: string) => void) | undefined,
    private readonly started: number,
    private readonly expected: number | undefined,
    private readonly everyMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {
    this.lastTold = started;
  }

  /** Feed a chunk of make output. */
  feed(chunk: string): void {
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const l of lines) {
      const m = STEP_RE.exec(l.replace(/\r$/, ''));
      if (m) {
        this.steps++;
        this.last = `${m[1]} ${m[2]}`;
      }
    }
    const t = this.now();
    if (t - this.lastTold >= this.everyMs) {
      this.lastTold = t;
      this.log?.(this.line(t));
    }
  }

  /** One progress line: steps, share of the last full build when known, elapsed time, last step. */
  line(t = this.now()): string {
    const s = Math.round((t - this.started) / 1000);
    const share = this.expected ? ` (~${Math.min(99, Math.floor((100 * this.steps) / this.expected))}% of the last full build's ${this.expected})` : '';
    return `kunit build: ${this.steps} kbuild steps${share}, ${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s, last: ${this.last || '-'}`;
  }
}

/**
 * Configures (`kunit.py config`) and builds (`make all`) the x86_64 KUnit
 * kernel in the persistent build directory `spec.outHost`, inside the
 * toolbox (source bound read-only at {@link KUNIT_SRC}, build directory at
 * {@link KUNIT_OUT}). Incremental: make only recompiles what changed; when the
 * inputs (HEAD, kunitconfig text, commands, toolbox) equal those of the last
 * successful build and its bzImage is intact, nothing runs (`cached`).
 *
 * From an empty build directory this compiles the whole kernel (~1250
 * objects; ~22 min measured on 2 cores); progress is logged every 30 s.
 * Make output goes to `<outHost>/../kunit-build.log`.
 *
 * A compile error is not thrown: it is `ok: false` with diagnostics.
 *
 * @throws WorkbenchError E_KUNIT_CONFIG when the kunitconfig is missing (or
 *   not a tree-relative path), or
 *   `kunit.py config` fails (an option did not stick: unmet dependency).
 */
export async function buildKunitKernel(
  tb: KunitToolbox,
  spec: KunitBuildSpec,
  opts: { log?: (m: string) => void; onOutput?: (s: string) => void; force?: boolean } = {},
): Promise<KunitBuildResult> {
  const started = Date.now();
  const cmds = kunitBuildCommands(spec);
  const kernel = join(spec.outHost, KUNIT_KERNEL_PATH);
  const logFile = `${spec.outHost}.log`;
  if (isAbsolute(spec.kunitconfig) || spec.kunitconfig.split('/').includes('..')) {
    throw new WorkbenchError('E_KUNIT_CONFIG', `--kunitconfig ${spec.kunitconfig}: must be a path inside the kernel tree (relative, without "..")`, {
      hint: 'e.g. --kunitconfig drivers/media/platform/rockchip/rkvdec',
    });
  }
  const cfgHost = join(spec.srcHost, spec.kunitconfig);
  const cfgFile = existsSync(join(cfgHost, '.kunitconfig')) ? join(cfgHost, '.kunitconfig') : cfgHost;
  let cfgText: string;
  try {
    cfgText = await readFile(cfgFile, 'utf8');
  } catch {
    throw new WorkbenchError(
      'E_KUNIT_CONFIG',
      `no kunitconfig at ${spec.kunitconfig} (looked for ${join(spec.kunitconfig, '.kunitconfig')} in the tree with the series applied)`,
      {
        hint: 'the series must add a .kunitconfig (patch 5 adds drivers/media/platform/rockchip/rkvdec/.kunitconfig); pass --kunitconfig <tree folder or file> otherwise',
      },
    );
  }
  const inputKey = createHash('sha256')
    .update(stableStringify({ format: KUNIT_BUILD_FORMAT, tb: tb.key, head: spec.head, cfgText, cmds, ts: spec.buildTimestamp }))
    .digest('hex');
  const recordFile = join(spec.outHost, '.wb-kunit-build.json');
  const rec = JSON.parse(await readFile(recordFile, 'utf8').catch(() => '{}')) as Partial<Recorded>;
  const commands = [cmds.config, cmds.make];
  if (!opts.force && rec.inputKey === inputKey && existsSync(kernel) && (await sha256File(kernel)) === rec.kernelSha256) {
    return { ok: true, cached: true, kernel, kernelSha256: rec.kernelSha256, diagnostics: [], steps: 0, logFile, commands, durationMs: Date.now() - started };
  }
  await rm(recordFile, { force: true });
  await mkdir(spec.outHost, { recursive: true });
  const binds: Bind[] = [
    { host: spec.srcHost, inside: KUNIT_SRC, readOnly: true },
    { host: spec.outHost, inside: KUNIT_OUT },
  ];
  const env = kunitBuildEnv(spec.buildTimestamp);
  const fresh = !existsSync(join(spec.outHost, 'vmlinux'));
  opts.log?.(`kunit.py config --arch=${KUNIT_ARCH} --kunitconfig=${spec.kunitconfig}`);
  const c = await tb.exec(cmds.config, { cwd: KUNIT_SRC, binds, env, allowFailure: true, timeoutMs: 10 * 60_000 });
  if (c.exitCode !== 0) {
    throw new WorkbenchError('E_KUNIT_CONFIG', `kunit.py config failed (exit ${c.exitCode}):\n${tail(c.stdout + c.stderr, 12)}`, {
      hint: `check ${spec.kunitconfig}/.kunitconfig: every option must be reachable on x86_64 (dependencies, COMPILE_TEST)`,
    });
  }
  opts.log?.(
    fresh
      ? `building the x86_64 KUnit kernel from an empty build directory (${spec.outHost}): the whole kernel, ~20-25 min on 2 cores, once; later runs are incremental`
      : `building the x86_64 KUnit kernel incrementally in ${spec.outHost}`,
  );
  const out = createWriteStream(logFile);
  const progress = new BuildProgress(opts.log, Date.now(), fresh ? undefined : rec.steps || undefined);
  const onChunk = (s: string) => {
    out.write(s);
    progress.feed(s);
    opts.onOutput?.(s);
  };
  let r;
  try {
    r = await tb.exec(cmds.make, { cwd: KUNIT_SRC, binds, env, allowFailure: true, timeoutMs: 3 * 60 * 60_000, onStdout: onChunk, onStderr: onChunk });
  } finally {
    await new Promise<void>((res) => out.end(() => res()));
  }
  opts.log?.(`${progress.line()} (done, exit ${r.exitCode})`);
  const diagnostics = parseBuildOutput(`${r.stdout}\n${r.stderr}`, (p) => p.replace(/^\/wb\/src\//, '').replace(/^\/wb\/kunit\//, 'O/'));
  let ok = r.exitCode === 0;
  if (!ok && !diagnostics.some((d) => d.severity === 'error')) {
    diagnostics.push({
      severity: 'error',
      tool: 'make',
      message: `make exited with ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}: ${tail(r.stderr || r.stdout, 3, ' | ')}`,
    });
  }
  if (ok && !existsSync(kernel)) {
    ok = false;
    diagnostics.push({ severity: 'error', tool: 'workbench', message: `make succeeded but ${KUNIT_KERNEL_PATH} was not built` });
  }
  let kernelSha256: string | undefined;
  if (ok) {
    kernelSha256 = await sha256File(kernel);
    const steps = fresh ? progress.steps : Math.max(progress.steps, rec.steps ?? 0);
    await writeFileAtomic(recordFile, JSON.stringify({ inputKey, kernelSha256, steps } satisfies Recorded, null, 1));
  }
  return {
    ok,
    cached: false,
    kernel,
    ...(kernelSha256 ? { kernelSha256 } : {}),
    diagnostics,
    steps: progress.steps,
    logFile,
    commands,
    durationMs: Date.now() - started,
  };
}

/**
 * Removes build directories `build-*` under `home` other than `keep` (an old
 * toolbox's builds: ~300 MB each).
 */
export async function pruneOtherBuilds(home: string, keep: string, log?: (m: string) => void): Promise<void> {
  for (const n of await readdir(home).catch(() => [] as string[])) {
    if (!n.startsWith('build-') || n === keep || n.endsWith('.log')) continue;
    log?.(`removing the KUnit build directory of another toolbox: ${join(home, n)}`);
    await rm(join(home, n), { recursive: true, force: true });
    await rm(join(home, `${n}.log`), { force: true });
  }
}
