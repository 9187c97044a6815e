import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { Client, type ConnectConfig } from 'ssh2';
import { WorkbenchError } from '../core/errors.ts';
import { hostPattern, verifyHostKey, type TrustPolicy } from './knownHosts.ts';
import { quoteArgv, validateRemotePath } from './quote.ts';
import type { ExecOptions, ExecResult, Target } from './types.ts';

/** How to reach a board over SSH. */
export interface SshOptions {
  /** Board name (for messages). */
  name: string;
  host: string;
  port: number;
  user: string;
  /** Private key file; when absent the SSH agent ($SSH_AUTH_SOCK) is used. */
  identityFile?: string;
  /** The workbench's known_hosts file. */
  knownHostsFile: string;
  /** Name the host key is recorded under (default `[host]:port`). */
  hostKeyAlias?: string;
  /** Unknown host keys: refuse (`strict`, default) or record (`tofu`). */
  trust?: TrustPolicy;
  /** Connect timeout, ms (default 10000). */
  connectTimeoutMs?: number;
  /** Keepalive interval, ms (default 5000; 3 missed = dead). */
  keepaliveMs?: number;
}

/**
 * {@link Target} over one reused ssh2 connection (keys or agent only; no
 * passwords). Host keys are checked against the workbench's known_hosts
 * (target/knownHosts.ts).
 */
export class SshTarget implements Target {
  readonly name: string;
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private hostKeyError: WorkbenchError | undefined;

  constructor(private readonly o: SshOptions) {
    this.name = o.name;
  }

  /** Where this target connects, `user@host:port`. */
  get address(): string {
    return `${this.o.user}@${this.o.host}:${this.o.port}`;
  }

  /**
   * Opens (or reuses) the connection.
   * @throws WorkbenchError E_UNREACHABLE, E_AUTH, E_HOSTKEY_CHANGED, E_HOSTKEY_UNKNOWN.
   */
  connect(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    if (this.connecting) return this.connecting;
    this.connecting = new Promise<Client>((resolve, reject) => {
      const c = new Client();
      const alias = this.o.hostKeyAlias ?? hostPattern(this.o.host, this.o.port);
      this.hostKeyError = undefined;
      const cfg: ConnectConfig = {
        host: this.o.host,
        port: this.o.port,
        username: this.o.user,
        readyTimeout: this.o.connectTimeoutMs ?? 10_000,
        keepaliveInterval: this.o.keepaliveMs ?? 5_000,
        keepaliveCountMax: 3,
        tryKeyboard: false,
        hostVerifier: (key: Buffer) => {
          try {
            verifyHostKey(this.o.knownHostsFile, alias, key, this.o.trust ?? 'strict');
            return true;
          } catch (e) {
            this.hostKeyError = e as WorkbenchError;
            return false;
          }
        },
      };
      if (this.o.identityFile) {
        try {
          cfg.privateKey = readFileSync(this.o.identityFile);
        } catch (e) {
          reject(
            new WorkbenchError('E_AUTH', `cannot read identity file ${this.o.identityFile} for board ${this.name}`, {
              hint: 'fix `identity` in boards.toml',
              cause: e,
            }),
          );
          return;
        }
      } else if (process.env.SSH_AUTH_SOCK) {
        cfg.agent = process.env.SSH_AUTH_SOCK;
      } else {
        reject(
          new WorkbenchError('E_AUTH', `board ${this.name} has no identity file and no SSH agent is running`, {
            hint: 'set `identity` in boards.toml or start ssh-agent and add your key',
          }),
        );
        return;
      }
      c.once('ready', () => {
        this.client = c;
        this.connecting = undefined;
        resolve(c);
      });
      c.once('error', (err: Error & { level?: string }) => {
        this.connecting = undefined;
        this.client = undefined;
        if (this.hostKeyError) return reject(this.hostKeyError);
        if (err.level === 'client-authentication') {
          return reject(
            new WorkbenchError('E_AUTH', `permission denied for ${this.address} (key authentication failed)`, {
              hint: `check the board's authorized_keys and \`identity\` in boards.toml, then \`workbench boards check ${this.name}\``,
            }),
          );
        }
        reject(
          new WorkbenchError('E_UNREACHABLE', `board ${this.name} unreachable at ${this.o.host}:${this.o.port} (timeout ${this.o.connectTimeoutMs ?? 10_000} ms): ${err.message}`, {
            hint: `is it powered and on the network? try \`workbench boards check ${this.name}\``,
          }),
        );
      });
      c.on('close', () => {
        if (this.client === c) this.client = undefined;
      });
      c.connect(cfg);
    });
    return this.connecting;
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const c = await this.connect();
    const line = quoteArgv(argv);
    const started = Date.now();
    return new Promise<ExecResult>((resolve, reject) => {
      c.exec(line, (err, stream) => {
        if (err) {
          reject(new WorkbenchError('E_UNREACHABLE', `board ${this.name}: cannot open a channel: ${err.message}`, { cause: err }));
          return;
        }
        const out: Buffer[] = [];
        const errChunks: Buffer[] = [];
        let timedOut = false;
        let aborted = false;
        const kill = () => {
          try {
            stream.signal('KILL');
          } catch {
            /* channel gone */
          }
          stream.close();
        };
        const timer = opts.timeoutMs
          ? setTimeout(() => {
              timedOut = true;
              kill();
            }, opts.timeoutMs)
          : undefined;
        const onAbort = () => {
          aborted = true;
          kill();
        };
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        stream.on('data', (b: Buffer) => {
          out.push(b);
          opts.onStdoutBytes?.(b);
          opts.onStdout?.(b.toString('utf8'));
        });
        stream.stderr.on('data', (b: Buffer) => {
          errChunks.push(b);
          opts.onStderr?.(b.toString('utf8'));
        });
        stream.on('close', (code: number | null) => {
          if (timer) clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          const stdoutBuf = Buffer.concat(out);
          const r: ExecResult = {
            argv,
            exitCode: typeof code === 'number' && !timedOut && !aborted ? code : -1,
            stdout: opts.binaryStdout ? '' : stdoutBuf.toString('utf8'),
            stderr: Buffer.concat(errChunks).toString('utf8'),
            durationMs: Date.now() - started,
            timedOut,
            ...(opts.binaryStdout ? { stdoutBytes: stdoutBuf } : {}),
          };
          if (opts.allowFailure) return resolve(r);
          if (timedOut) {
            return reject(new WorkbenchError('E_REMOTE_TIMEOUT', `${this.name}: \`${line}\` killed after ${opts.timeoutMs} ms`));
          }
          if (aborted) return reject(new WorkbenchError('E_ABORTED', `${this.name}: \`${line}\` aborted`));
          if (r.exitCode !== 0) {
            return reject(
              new WorkbenchError('E_REMOTE_FAILED', `${this.name}: \`${line}\` exited with ${r.exitCode}: ${r.stderr.trim().split('\n').slice(-10).join('\n')}`),
            );
          }
          resolve(r);
        });
        if (opts.input !== undefined) stream.end(opts.input);
        else stream.end();
      });
    });
  }

  async upload(localPath: string, remotePath: string, opts: { mode?: number } = {}): Promise<{ bytes: number; sha256: string }> {
    validateRemotePath(remotePath);
    const c = await this.connect();
    const bytes = (await stat(localPath)).size;
    const h = createHash('sha256');
    await new Promise<void>((resolve, reject) => {
      c.exec(quoteArgv(['sh', '-c', 'cat > "$1"', 'sh', remotePath]), (err, stream) => {
        if (err) return reject(err);
        stream.on('close', (code: number) =>
          code === 0 ? resolve() : reject(new WorkbenchError('E_TRANSFER', `${this.name}: writing ${remotePath} failed (exit ${code})`)),
        );
        stream.stderr.on('data', () => undefined);
        stream.on('data', () => undefined);
        const rs = createReadStream(localPath);
        rs.on('data', (chunk) => h.update(chunk));
        rs.on('error', reject);
        rs.pipe(stream);
      });
    });
    const sha256 = h.digest('hex');
    const r = await this.exec(['sha256sum', remotePath]);
    const remote = r.stdout.split(/\s+/)[0];
    if (remote !== sha256) {
      throw new WorkbenchError('E_TRANSFER', `${this.name}: ${remotePath} SHA-256 ${remote} differs from local ${sha256}`, {
        hint: 'the transfer was corrupted or the board disk is full; retry',
      });
    }
    if (opts.mode !== undefined) await this.exec(['chmod', opts.mode.toString(8), remotePath]);
    return { bytes, sha256 };
  }

  async download(remotePath: string, localPath: string): Promise<{ bytes: number; sha256: string }> {
    validateRemotePath(remotePath);
    const r = await this.exec(['cat', remotePath], { binaryStdout: true });
    const data = r.stdoutBytes ?? Buffer.alloc(0);
    const sha256 = createHash('sha256').update(data).digest('hex');
    const remote = (await this.exec(['sha256sum', remotePath])).stdout.split(/\s+/)[0];
    if (remote !== sha256) {
      throw new WorkbenchError('E_TRANSFER', `${this.name}: download of ${remotePath} corrupted (SHA-256 mismatch)`);
    }
    await writeFile(localPath, data);
    return { bytes: data.length, sha256 };
  }

  async kernelRelease(): Promise<string> {
    return (await this.exec(['uname', '-r'])).stdout.trim();
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    c?.end();
  }
}
