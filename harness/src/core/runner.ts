import { execa, type ResultPromise } from 'execa';
import { WorkbenchError } from './errors.ts';
import { shellQuote } from './quote.ts';
import { tail } from './text.ts';
import { HOST_TOOLS, missingToolsError } from './hostTools.ts';

/** Options of one local process run. */
export interface RunOptions {
  /** Working directory. */
  cwd?: string;
  /** Extra environment variables (merged over process.env). */
  env?: Record<string, string | undefined>;
  /** Data written to stdin, then stdin is closed. */
  input?: string | Buffer;
  /** Kill the process (SIGTERM, then SIGKILL after 5 s) after this many ms. */
  timeoutMs?: number;
  /** Abort signal: kills the process like a timeout. */
  signal?: AbortSignal;
  /** Called with every stdout chunk (utf-8) as it arrives. */
  onStdout?: (chunk: string) => void;
  /** Called with every stderr chunk (utf-8) as it arrives. */
  onStderr?: (chunk: string) => void;
  /** Return a non-zero exit instead of throwing `E_COMMAND_FAILED`. */
  allowFailure?: boolean;
  /** Keep stdout as raw bytes in {@link RunResult.stdoutBytes}. */
  binaryStdout?: boolean;
  /**
   * Raw stdout chunks as they arrive (binary streams such as decoded
   * frames). When set, stdout is not kept in the result (stdout is '').
   */
  onStdoutBytes?: (chunk: Buffer) => void;
  /**
   * Run the process as the leader of its own process group (setsid) and, on
   * abort or timeout, signal the whole group at once: SIGTERM to every member
   * (so make deletes the targets it was writing, GNU make manual "Interrupts"),
   * then SIGKILL to whatever is left after {@link killGraceMs}. Use it for
   * commands that fork workers (make, compilers) so nothing keeps running after
   * the command is cancelled. Signalling a group: kill(2) with a negative pid.
   * A cancelled group run throws `E_ABORTED` even with `allowFailure`.
   */
  processGroup?: boolean;
  /** With `processGroup`: ms between the group SIGTERM and the group SIGKILL (default 1000). */
  killGraceMs?: number;
  /** With `processGroup`: called with the group id (= the leader's PID) once it runs. */
  onProcessGroup?: (pgid: number) => void;
}

/** What a finished local process gave back. */
export interface RunResult {
  /** The exact argv that ran (argv[0] is the program). */
  argv: string[];
  /** Exit code; -1 when killed by a signal or timeout. */
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Raw stdout when `binaryStdout` was set. */
  stdoutBytes?: Buffer;
  /** Wall time, ms. */
  durationMs: number;
  /** True when the timeout killed it. */
  timedOut: boolean;
}

/**
 * The single seam for local processes (ARCHITECTURE.md "Seams"): every stage
 * runs host commands through a Runner, so tests can swap in
 * {@link RecordingRunner} and assert on the exact argv.
 */
export interface Runner {
  /**
   * Runs `argv` (no shell).
   * @throws WorkbenchError `E_TOOL_MISSING` when argv[0] is not installed,
   *   `E_COMMAND_FAILED` on non-zero exit (unless allowFailure),
   *   `E_COMMAND_TIMEOUT` when the timeout fired (unless allowFailure).
   */
  run(argv: string[], opts?: RunOptions): Promise<RunResult>;
}

/** The Runner of the real machine (execa underneath). */
export class ExecaRunner implements Runner {
  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    if (argv.length === 0) throw new WorkbenchError('E_INTERNAL', 'Runner.run called with an empty argv');
    const [file, ...args] = argv as [string, ...string[]];
    const started = Date.now();
    let child: ResultPromise;
    const group = opts.processGroup === true;
    if (group && opts.signal?.aborted) throw new WorkbenchError('E_ABORTED', `${formatArgv(argv)} was cancelled before it started`);
    try {
      child = execa(file, args, {
        cwd: opts.cwd,
        env: opts.env,
        input: opts.input,
        ...(group ? { detached: true } : { timeout: opts.timeoutMs, cancelSignal: opts.signal, forceKillAfterDelay: 5000 }),
        reject: false,
        stripFinalNewline: false,
        encoding: opts.binaryStdout ? 'buffer' : 'utf8',
        maxBuffer: 1024 * 1024 * 1024,
        ...(opts.onStdoutBytes ? { buffer: { stdout: false, stderr: true } } : {}),
      });
    } catch (e) {
      throw new WorkbenchError('E_COMMAND_FAILED', `could not start ${file}: ${(e as Error).message}`, { cause: e });
    }
    if (opts.onStdout) child.stdout?.on('data', (b: Buffer) => opts.onStdout!(b.toString('utf8')));
    if (opts.onStdoutBytes) child.stdout?.on('data', (b: Buffer) => opts.onStdoutBytes!(b));
    if (opts.onStderr) child.stderr?.on('data', (b: Buffer) => opts.onStderr!(b.toString('utf8')));
    const killer = group && child.pid ? groupKiller(child.pid, opts) : undefined;
    let r;
    try {
      r = await child;
    } finally {
      killer?.dispose();
    }
    const durationMs = Date.now() - started;
    const code = (r as { code?: string }).code;
    if (code === 'ENOENT' || (r.failed && /ENOENT/.test(String(r.message)) && r.exitCode === undefined)) {
      const known = HOST_TOOLS.find((t) => t.bin === file);
      throw missingToolsError([known ?? { bin: file, pkg: file, why: '' }]);
    }
    const stdoutBytes = opts.binaryStdout ? Buffer.from(r.stdout as unknown as Uint8Array) : undefined;
    if (killer?.reason === 'abort') {
      // Group mode: a cancelled command is never mistaken for a failed one, even with allowFailure.
      throw new WorkbenchError('E_ABORTED', `${formatArgv(argv)} was cancelled (process group ${child.pid} killed)`);
    }
    const result: RunResult = {
      argv,
      exitCode: typeof r.exitCode === 'number' ? r.exitCode : -1,
      stdout: opts.binaryStdout ? '' : String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      durationMs,
      timedOut: Boolean(r.timedOut) || killer?.reason === 'timeout',
      ...(stdoutBytes ? { stdoutBytes } : {}),
    };
    if (opts.allowFailure) return result;
    if (result.timedOut) {
      throw new WorkbenchError('E_COMMAND_TIMEOUT', `${formatArgv(argv)} timed out after ${opts.timeoutMs} ms`, {
        hint: 'the command was killed; see its output above',
      });
    }
    if (r.isCanceled) {
      throw new WorkbenchError('E_ABORTED', `${formatArgv(argv)} was cancelled`);
    }
    if (result.exitCode !== 0) {
      throw new WorkbenchError('E_COMMAND_FAILED', `${formatArgv(argv)} exited with ${result.exitCode}:\n${tail(result.stderr || result.stdout)}`);
    }
    return result;
  }
}

/** Process groups started with `processGroup` that are still running. */
const liveGroups = new Set<number>();
let exitHooked = false;

/**
 * Watches `opts.signal` and `opts.timeoutMs` for a process started as a group
 * leader and signals the whole group (negative pid): SIGTERM at once, SIGKILL
 * after `killGraceMs`. `reason` tells what fired.
 */
function groupKiller(pgid: number, opts: RunOptions): { reason: 'abort' | 'timeout' | undefined; dispose(): void } {
  opts.onProcessGroup?.(pgid);
  liveGroups.add(pgid);
  if (!exitHooked) {
    exitHooked = true;
    // A detached group is not killed with us: do it when this process exits (not possible on SIGKILL).
    process.on('exit', () => {
      for (const g of liveGroups) signalGroup(g, 'SIGKILL');
    });
  }
  const timers: NodeJS.Timeout[] = [];
  const state: { reason: 'abort' | 'timeout' | undefined; dispose(): void } = {
    reason: undefined,
    dispose() {
      liveGroups.delete(pgid);
      for (const t of timers) clearTimeout(t);
      opts.signal?.removeEventListener('abort', onAbort);
      // Members that outlived the leader (e.g. a daemonised grandchild) go too.
      if (state.reason) signalGroup(pgid, 'SIGKILL');
    },
  };
  const fire = (why: 'abort' | 'timeout') => {
    if (state.reason) return;
    state.reason = why;
    signalGroup(pgid, 'SIGTERM');
    timers.push(setTimeout(() => signalGroup(pgid, 'SIGKILL'), opts.killGraceMs ?? 1000));
  };
  const onAbort = () => fire('abort');
  if (opts.signal) opts.signal.addEventListener('abort', onAbort, { once: true });
  if (opts.timeoutMs) timers.push(setTimeout(() => fire('timeout'), opts.timeoutMs));
  return state;
}

/**
 * kill(-pgid, sig) (kill(2): a negative pid signals every member of the group).
 * Signal 0 only probes. Returns false when the group is gone (ESRCH).
 */
export function signalGroup(pgid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

/** argv as a copy-pasteable POSIX shell line (for logs and reproducers). */
export function formatArgv(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** A call recorded by {@link RecordingRunner}. */
export interface RecordedCall {
  argv: string[];
  opts: RunOptions;
}

/**
 * Test double: records every argv and answers through `respond` (default:
 * exit 0, empty output). Honors allowFailure like the real runner.
 */
export class RecordingRunner implements Runner {
  readonly calls: RecordedCall[] = [];
  constructor(private readonly respond: (argv: string[], opts: RunOptions) => Partial<RunResult> | Promise<Partial<RunResult>> = () => ({})) {}

  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    this.calls.push({ argv, opts });
    const r = await this.respond(argv, opts);
    const result: RunResult = { argv, exitCode: 0, stdout: '', stderr: '', durationMs: 0, timedOut: false, ...r };
    if (opts.onStdoutBytes && result.stdoutBytes) opts.onStdoutBytes(result.stdoutBytes);
    if (!opts.allowFailure && result.exitCode !== 0) {
      throw new WorkbenchError('E_COMMAND_FAILED', `${formatArgv(argv)} exited with ${result.exitCode}:\n${tail(result.stderr)}`);
    }
    return result;
  }
}
