/**
 * The one error type of the workbench.
 *
 * Every failure a person can meet carries a stable `code` (for scripts and
 * tests), a `message` that says what failed, and a `hint` that says what to do.
 * The CLI prints `error[CODE]: message` then `hint: ...` and exits with
 * {@link ExitCode.Infrastructure} unless the error says otherwise.
 */
export class WorkbenchError extends Error {
  /** Stable machine-readable code, e.g. `E_TOOL_MISSING`, `E_CONFIG`. */
  readonly code: string;
  /** What the user should do next (one or two sentences). */
  readonly hint: string | undefined;
  /** Process exit code the CLI uses when this error ends a command. */
  readonly exitCode: number;

  constructor(code: string, message: string, opts: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'WorkbenchError';
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? ExitCode.Infrastructure;
  }

  /** `error[CODE]: message` plus the hint on its own line. */
  format(): string {
    return `error[${this.code}]: ${this.message}` + (this.hint ? `\nhint: ${this.hint}` : '');
  }
}

/** Exit codes of every workbench command (ARCHITECTURE.md, "Errors"). */
export const ExitCode = {
  /** Everything passed (or every check that could run passed). */
  Ok: 0,
  /** Tests ran and at least one failed. */
  TestFailures: 1,
  /** The workbench or the infrastructure failed (board, build, config...). */
  Infrastructure: 2,
} as const;

/** True when `e` is a {@link WorkbenchError} with the given code. */
export function isWorkbenchError(e: unknown, code?: string): e is WorkbenchError {
  return e instanceof WorkbenchError && (code === undefined || e.code === code);
}

/**
 * Any thrown value as a WorkbenchError: a WorkbenchError as is, an
 * `AbortError` (AbortSignal, execa) as E_ABORTED, anything else as
 * E_INTERNAL carrying its stack (a workbench bug).
 */
export function asWorkbenchError(e: unknown): WorkbenchError {
  if (e instanceof WorkbenchError) return e;
  const err = e as Error;
  if (err?.name === 'AbortError') return new WorkbenchError('E_ABORTED', 'stopped');
  return new WorkbenchError('E_INTERNAL', err?.stack ?? String(e), { cause: e, hint: 'this is a workbench bug; please report it with the command line' });
}
