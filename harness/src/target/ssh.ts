import { tail } from '../core/text.ts';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import type { Client, ClientChannel } from 'ssh2';
import { WorkbenchError } from '../core/errors.ts';
import { formatArgv } from '../core/runner.ts';
import { Semaphore, openSshConnection, type SshOptions } from './sshConnection.ts';
import { quoteArgv, validateRemotePath } from './quote.ts';
import { PidMarkerParser, killTreeArgv, wrappedCommandLine } from './remoteProc.ts';
import { loadScript, scriptArgv } from './scripts.ts';
import type { ExecOptions, ExecResult, Target } from './types.ts';

/** Remote script `sshUpload.sh PATH MODE ENCODING`: stdin (raw or gzip) to PATH, chmod, `sha256sum PATH` (see the file). */
const UPLOAD = loadScript(import.meta.url, 'sshUpload.sh');

export type { SshOptions } from './sshConnection.ts';

const RETRYABLE_NET =
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNABORTED|Timed out while waiting for handshake|handshake|Connection lost|socket hang up|Keepalive timeout|No response from server/i;

/** Internal options of one channel. */
interface ChannelOptions extends ExecOptions {
  /** Stream this local file into stdin. */
  stdinFile?: string;
  /** Run without the PID wrapper (used for the kill command itself). */
  unwrapped?: boolean;
}

/**
 * {@link Target} over one reused ssh2 connection (keys or agent only; no
 * passwords). Host keys are checked against the workbench's known_hosts
 * (target/knownHosts.ts). The connection is opened on first use, kept alive
 * with SSH keepalives, reopened with backoff when it drops, and shared by
 * every command of the run (up to {@link SshOptions.maxChannels} at once).
 * Timeouts and aborts kill the remote process tree (target/remoteProc.ts),
 * not just the channel.
 */
/** What a channel's exit-status / exit-signal request said (recorded from the moment the channel opened). */
interface ChannelExit {
  code?: number;
  signal?: string;
}

export class SshTarget implements Target {
  readonly name: string;
  /** How many times the connection was re-established after the first connect. */
  reconnects = 0;
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private everConnected = false;
  private closed = false;
  private readonly channels: Semaphore;

  constructor(private readonly o: SshOptions) {
    this.name = o.name;
    this.channels = new Semaphore(o.maxChannels ?? 6);
  }

  /** Where this target connects, `user@host:port`. */
  get address(): string {
    return `${this.o.user}@${this.o.host}:${this.o.port}`;
  }

  /** True while a connection is open. */
  get connected(): boolean {
    return this.client !== undefined;
  }

  /**
   * Opens (or reuses) the connection, retrying with backoff within
   * {@link SshOptions.reconnectBudgetMs}.
   * @throws WorkbenchError E_UNREACHABLE (names host:port, the timeout and
   *   the attempts), E_AUTH, E_HOSTKEY_CHANGED, E_HOSTKEY_UNKNOWN.
   */
  connect(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    if (this.connecting) return this.connecting;
    this.closed = false;
    this.connecting = this.connectWithBackoff().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connectWithBackoff(): Promise<Client> {
    const budget = this.o.reconnectBudgetMs ?? 20_000;
    const started = Date.now();
    let delay = 250;
    let attempts = 0;
    for (;;) {
      attempts++;
      try {
        const c = await this.connectOnce();
        if (this.everConnected) this.reconnects++;
        this.everConnected = true;
        return c;
      } catch (e) {
        const err = e as WorkbenchError;
        const retryable = err.code === 'E_UNREACHABLE';
        const elapsed = Date.now() - started;
        if (!retryable || this.closed || elapsed + delay >= budget) {
          if (retryable) {
            throw new WorkbenchError(
              'E_UNREACHABLE',
              `board ${this.name} unreachable at ${this.o.host}:${this.o.port} after ${attempts} attempt(s) over ${(elapsed / 1000).toFixed(1)} s (connect timeout ${this.o.connectTimeoutMs ?? 10_000} ms): ${err.message.replace(/^.*?: /, '')}`,
              {
                hint: `is it powered and on the network, and does sshd listen on port ${this.o.port}? try \`workbench boards check ${this.name}\``,
                cause: err,
              },
            );
          }
          throw err;
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 4000);
      }
    }
  }

  private async connectOnce(): Promise<Client> {
    const c = await openSshConnection(this.o, this.address);
    c.on('close', () => {
      if (this.client === c) this.client = undefined;
    });
    this.client = c;
    return c;
  }

  /** Forgets a connection that is known to be dead (the next command reconnects). */
  private drop(c: Client): void {
    if (this.client === c) this.client = undefined;
    try {
      c.end();
    } catch {
      /* already gone */
    }
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return this.channel(argv, opts);
  }

  /** Opens an exec channel, reconnecting once when the connection turns out to be dead before the command started. */
  private async openChannel(line: string): Promise<{ c: Client; stream: ClientChannel; exit: ChannelExit }> {
    for (let attempt = 0; ; attempt++) {
      const c = await this.connect();
      try {
        const exit: ChannelExit = {};
        const stream = await new Promise<ClientChannel>((resolve, reject) => {
          try {
            c.exec(line, (err, s) => {
              if (err) return reject(err);
              // At once, in the callback: a quick command's exit-status can arrive in the same
              // TCP read as the channel confirmation, and ssh2 emits 'exit' before any await resumes.
              s.on('exit', (code: number | null, signal?: string) => {
                if (typeof code === 'number') exit.code = code;
                else if (signal) exit.signal = signal;
              });
              resolve(s);
            });
          } catch (e) {
            reject(e as Error);
          }
        });
        return { c, stream, exit };
      } catch (e) {
        const msg = (e as Error).message;
        // The command never started: safe to reconnect and retry once.
        if (attempt === 0 && (this.client !== c || RETRYABLE_NET.test(msg) || /Not connected|closed/i.test(msg))) {
          this.drop(c);
          continue;
        }
        // sshd refused the channel (MaxSessions reached while other channels are still closing): wait and retry.
        if (attempt < 6 && this.client === c && /Channel open failure/i.test(msg)) {
          await new Promise((r) => setTimeout(r, 150 * (attempt + 1)));
          continue;
        }
        throw new WorkbenchError('E_UNREACHABLE', `board ${this.name} (${this.address}): cannot open a channel: ${msg}`, {
          cause: e,
          hint: `try \`workbench boards check ${this.name}\``,
        });
      }
    }
  }

  private async channel(argv: string[], opts: ChannelOptions): Promise<ExecResult> {
    if (argv.length === 0) throw new WorkbenchError('E_INTERNAL', 'empty remote argv');
    if (opts.signal?.aborted) throw new WorkbenchError('E_ABORTED', `${this.name}: \`${formatArgv(argv)}\` aborted before it started`);
    const shown = formatArgv(argv);
    const line = opts.unwrapped ? quoteArgv(argv) : wrappedCommandLine(argv);
    const release = await this.channels.take();
    let opened: { c: Client; stream: ClientChannel; exit: ChannelExit };
    try {
      opened = await this.openChannel(line);
    } catch (e) {
      release();
      throw e;
    }
    const { c, stream, exit } = opened;
    const started = Date.now();
    return new Promise<ExecResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const errChunks: Buffer[] = [];
      const marker = new PidMarkerParser();
      let exitCode: number | undefined;
      let exitSignal: string | undefined;
      let timedOut = false;
      let aborted = false;
      let lost = false;
      let finished = false;
      let killSent = false;
      let graceTimer: NodeJS.Timeout | undefined;

      const killRemote = () => {
        if (killSent) return;
        if (marker.pid === undefined) return; // sent as soon as the PID arrives
        killSent = true;
        const pid = marker.pid;
        // Best effort on the same channel (most sshd ignore it), then the real kill on a second channel.
        try {
          stream.signal('KILL');
        } catch {
          /* channel gone */
        }
        void this.channel(killTreeArgv(pid), { unwrapped: true, timeoutMs: 15_000, allowFailure: true }).catch(() => undefined);
      };
      const stop = () => {
        killRemote();
        if (!graceTimer) {
          graceTimer = setTimeout(() => {
            try {
              stream.close();
            } catch {
              /* gone */
            }
            finish();
          }, this.o.killGraceMs ?? 5_000);
        }
      };
      const timer = opts.timeoutMs
        ? setTimeout(() => {
            timedOut = true;
            stop();
          }, opts.timeoutMs)
        : undefined;
      const onAbort = () => {
        aborted = true;
        stop();
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const onClientClose = () => {
        lost = true;
        finish();
      };
      c.once('close', onClientClose);

      stream.on('data', (b: Buffer) => {
        out.push(b);
        opts.onStdoutBytes?.(b);
        opts.onStdout?.(b.toString('utf8'));
      });
      stream.stderr.on('data', (b: Buffer) => {
        const mine = opts.unwrapped ? b : marker.push(b);
        if ((timedOut || aborted) && marker.pid !== undefined) killRemote();
        if (mine.length) {
          errChunks.push(mine);
          opts.onStderr?.(mine.toString('utf8'));
        }
      });
      stream.on('close', () => finish());
      stream.on('error', () => undefined);

      function finish(this: void) {
        if (finished) return;
        finished = true;
        exitCode = exit.code;
        exitSignal = exit.signal;
        release();
        if (timer) clearTimeout(timer);
        if (graceTimer) clearTimeout(graceTimer);
        opts.signal?.removeEventListener('abort', onAbort);
        c.removeListener('close', onClientClose);
        const rest = marker.flush();
        if (rest.length) errChunks.push(rest);
        const stdoutBuf = Buffer.concat(out);
        const r: ExecResult = {
          argv,
          exitCode: exitCode !== undefined && !timedOut && !aborted ? exitCode : -1,
          stdout: opts.binaryStdout ? '' : stdoutBuf.toString('utf8'),
          stderr: Buffer.concat(errChunks).toString('utf8'),
          durationMs: Date.now() - started,
          timedOut,
          ...(opts.binaryStdout ? { stdoutBytes: stdoutBuf } : {}),
          ...(marker.pid !== undefined ? { remotePid: marker.pid } : {}),
        };
        settle(r);
      }
      const settle = (r: ExecResult) => {
        if (timedOut) {
          if (opts.allowFailure) return resolve(r);
          return reject(
            new WorkbenchError(
              'E_REMOTE_TIMEOUT',
              `${this.name}: \`${shown}\` did not finish within ${opts.timeoutMs} ms; its remote process tree was killed`,
              {
                hint: 'the board may be overloaded or the command hung; see the kernel log (`dmesg`) on the board',
              },
            ),
          );
        }
        if (aborted) return reject(new WorkbenchError('E_ABORTED', `${this.name}: \`${shown}\` aborted; its remote process tree was killed`));
        if (exitCode === undefined && (lost || this.client !== c)) {
          return reject(
            new WorkbenchError(
              'E_CONNECTION_LOST',
              `board ${this.name} (${this.o.host}:${this.o.port}): connection lost while running \`${shown}\` (it may or may not have completed)`,
              { hint: `check the board with \`workbench boards check ${this.name}\`; an interrupted deploy is repaired by the next deploy or rollback` },
            ),
          );
        }
        if (exitCode === undefined) {
          r.exitCode = -1;
          if (opts.allowFailure) return resolve(r);
          return reject(
            new WorkbenchError('E_REMOTE_FAILED', `${this.name}: \`${shown}\` ended without an exit status${exitSignal ? ` (signal ${exitSignal})` : ''}`),
          );
        }
        if (opts.allowFailure || exitCode === 0) return resolve(r);
        const last = tail(r.stderr, 10);
        reject(new WorkbenchError('E_REMOTE_FAILED', `${this.name}: \`${shown}\` exited with ${exitCode}${last ? `:\n${last}` : ''}`));
      };

      if (opts.stdinFile) {
        const rs = createReadStream(opts.stdinFile);
        rs.on('error', (e) => {
          stream.close();
          reject(new WorkbenchError('E_TRANSFER', `cannot read ${opts.stdinFile}: ${e.message}`, { cause: e }));
        });
        rs.pipe(stream);
      } else if (opts.input !== undefined) stream.end(opts.input);
      else stream.end();
    });
  }

  /**
   * Uploads `localPath` to `remotePath` in one round trip (`cat >` then
   * `sha256sum` on the board) and compares the board's SHA-256 with the
   * local one.
   * @throws WorkbenchError E_TRANSFER (hash mismatch, disk full: the partial file is removed).
   */
  async upload(localPath: string, remotePath: string, opts: { mode?: number; compress?: boolean } = {}): Promise<{ bytes: number; sha256: string }> {
    validateRemotePath(remotePath);
    const bytes = (await stat(localPath)).size;
    if (opts.compress && bytes <= 64 * 1024 * 1024) return this.uploadCompressed(localPath, remotePath, bytes, opts.mode);
    const h = createHash('sha256');
    await new Promise<void>((resolve, reject) => {
      const rs = createReadStream(localPath);
      rs.on('data', (chunk) => h.update(chunk));
      rs.on('end', () => resolve());
      rs.on('error', reject);
    });
    const sha256 = h.digest('hex');
    const mode = opts.mode !== undefined ? opts.mode.toString(8) : '';
    const r = await this.channel(scriptArgv(UPLOAD, [remotePath, mode, 'raw']), { stdinFile: localPath, allowFailure: true, timeoutMs: 600_000 });
    if (r.exitCode !== 0) {
      const full = /No space left|Disk quota/i.test(r.stderr);
      throw new WorkbenchError('E_TRANSFER', `${this.name}: writing ${remotePath} failed (exit ${r.exitCode}): ${r.stderr.trim()}`, {
        hint: full ? 'the board disk is full: free space on it' : 'check the directory exists and is writable',
      });
    }
    const remote = r.stdout.split(/\s+/)[0];
    if (remote !== sha256) {
      throw new WorkbenchError('E_TRANSFER', `${this.name}: ${remotePath} SHA-256 ${remote} differs from local ${sha256}`, {
        hint: 'the transfer was corrupted or the board disk is full; retry',
      });
    }
    return { bytes, sha256 };
  }

  /** gzip -1 on the host, `gzip -dc` on the board (fewer bytes through a slow link or a slow guest's SSH). */
  private async uploadCompressed(localPath: string, remotePath: string, bytes: number, mode: number | undefined): Promise<{ bytes: number; sha256: string }> {
    const data = await readFile(localPath);
    const sha256 = createHash('sha256').update(data).digest('hex');
    const r = await this.channel(scriptArgv(UPLOAD, [remotePath, mode !== undefined ? mode.toString(8) : '', 'gzip']), {
      input: gzipSync(data, { level: 1 }),
      allowFailure: true,
      timeoutMs: 600_000,
    });
    if (r.exitCode !== 0) {
      const full = /No space left|Disk quota/i.test(r.stderr);
      throw new WorkbenchError('E_TRANSFER', `${this.name}: writing ${remotePath} failed (exit ${r.exitCode}): ${r.stderr.trim()}`, {
        hint: full ? 'the board disk is full: free space on it' : 'check the directory exists and is writable (and that the board has gzip)',
      });
    }
    const remote = r.stdout.split(/\s+/)[0];
    if (remote !== sha256) {
      throw new WorkbenchError('E_TRANSFER', `${this.name}: ${remotePath} SHA-256 ${remote} differs from local ${sha256}`, {
        hint: 'the transfer was corrupted; retry',
      });
    }
    return { bytes, sha256 };
  }

  /** Downloads `remotePath` (hash and content in one round trip) and verifies SHA-256. */
  async download(remotePath: string, localPath: string): Promise<{ bytes: number; sha256: string }> {
    validateRemotePath(remotePath);
    const r = await this.channel(['sh', '-c', 'sha256sum "$1" >&2 && cat "$1"', 'wb-download', remotePath], { binaryStdout: true, timeoutMs: 600_000 });
    const data = r.stdoutBytes ?? Buffer.alloc(0);
    const sha256 = createHash('sha256').update(data).digest('hex');
    const remote = r.stderr.trim().split(/\s+/)[0];
    if (remote !== sha256) {
      throw new WorkbenchError('E_TRANSFER', `${this.name}: download of ${remotePath} corrupted (SHA-256 ${sha256}, board says ${remote})`);
    }
    await writeFile(localPath, data);
    return { bytes: data.length, sha256 };
  }

  async kernelRelease(): Promise<string> {
    return (await this.exec(['uname', '-r'])).stdout.trim();
  }

  /** Test hook: destroys the transport as if the network cut it (no SSH disconnect message). */
  cutConnection(): void {
    const c = this.client as unknown as { _sock?: { destroy(): void } } | undefined;
    c?._sock?.destroy();
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = undefined;
    c?.end();
  }
}
