/** Options of one remote command. */
export interface ExecOptions {
  /** Data written to the command's stdin, then closed. */
  input?: string | Buffer;
  /** Kill the remote process after this many ms (the result has timedOut). */
  timeoutMs?: number;
  /** Abort: kills the remote process. */
  signal?: AbortSignal;
  /** Streaming callbacks (utf-8 chunks). */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Raw stdout chunks (for binary streams such as decoded frames). */
  onStdoutBytes?: (chunk: Buffer) => void;
  /** Keep stdout as bytes in {@link ExecResult.stdoutBytes} (default: utf-8 text). */
  binaryStdout?: boolean;
  /** Return a non-zero exit instead of throwing `E_REMOTE_FAILED`. */
  allowFailure?: boolean;
}

/** Options of {@link Target.upload}. */
export interface UploadOptions {
  /** File mode to set (e.g. 0o644). */
  mode?: number;
  /** Send it gzip-compressed (the board needs gzip); the SHA-256 check is on the uncompressed file. */
  compress?: boolean;
}

/** Result of one remote command. */
export interface ExecResult {
  argv: string[];
  /** Exit code; -1 when killed (timeout/abort) or the connection dropped. */
  exitCode: number;
  stdout: string;
  stderr: string;
  stdoutBytes?: Buffer;
  durationMs: number;
  timedOut: boolean;
  /** PID of the remote process (session leader) when the transport reports it (SshTarget does). */
  remotePid?: number;
}

/**
 * A board reached over some transport (ssh2 for real boards and the vboard).
 * Every remote command is an argv array; quoting happens in one place
 * (target/quote.ts). ARCHITECTURE.md: "every remote command through Target".
 */
export interface Target {
  /** Board name (from boards.toml, or `vboard`). */
  readonly name: string;
  /**
   * Runs argv on the board.
   * @throws WorkbenchError `E_REMOTE_FAILED` (non-zero exit, unless
   *   allowFailure), `E_REMOTE_TIMEOUT` (the remote process tree was
   *   killed), `E_ABORTED`, `E_UNREACHABLE`, `E_CONNECTION_LOST` (the
   *   connection dropped while the command ran: it may or may not have
   *   completed), `E_HOSTKEY_CHANGED`, `E_AUTH`.
   */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Uploads a local file to `remotePath` and verifies its SHA-256 on the board.
   * @throws WorkbenchError `E_TRANSFER` when the hashes differ.
   */
  upload(localPath: string, remotePath: string, opts?: UploadOptions): Promise<{ bytes: number; sha256: string }>;
  /** Downloads `remotePath` to `localPath` and verifies SHA-256. */
  download(remotePath: string, localPath: string): Promise<{ bytes: number; sha256: string }>;
  /** `uname -r` of the board. */
  kernelRelease(): Promise<string>;
  /** Closes the connection (idempotent). */
  close(): Promise<void>;
}
