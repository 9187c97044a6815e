import { readFileSync } from 'node:fs';
import { Client, type ConnectConfig } from 'ssh2';
import { WorkbenchError } from '../core/errors.ts';
import { hostPattern, verifyHostKey, type TrustPolicy } from './knownHosts.ts';

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
  /** Timeout of one connection attempt (TCP + SSH handshake + auth), ms (default 10000). */
  connectTimeoutMs?: number;
  /** Keepalive interval, ms (default 5000); {@link keepaliveCountMax} missed answers = connection dead. */
  keepaliveMs?: number;
  /** Missed keepalives before the connection is declared dead (default 3). */
  keepaliveCountMax?: number;
  /**
   * Reconnect with exponential backoff: total time budget for (re)connecting,
   * ms (default 20000). Attempts: immediately, then after 250, 500, 1000, 2000,
   * 4000 ms (capped) while the budget lasts. Host key and authentication
   * failures are never retried.
   */
  reconnectBudgetMs?: number;
  /** At most this many channels at once on the connection (default 6; OpenSSH's MaxSessions is 10, and closing channels still count for a moment). */
  maxChannels?: number;
  /** After killing a timed-out command, wait this long for its channel to close, ms (default 5000). */
  killGraceMs?: number;
}

/**
 * One SSH connection attempt for {@link SshOptions} (host key checked
 * against the workbench's known_hosts, keys or agent only, keepalive on).
 * Reconnecting with backoff and reusing the connection is SshTarget's job.
 *
 * @param address `user@host:port` for messages.
 * @throws WorkbenchError E_HOSTKEY_CHANGED / E_HOSTKEY_UNKNOWN (from
 *   knownHosts.ts), E_AUTH, E_UNREACHABLE (retryable).
 */
export function openSshConnection(o: SshOptions, address: string): Promise<Client> {
  return new Promise<Client>((resolve, reject) => {
    const c = new Client();
    const alias = o.hostKeyAlias ?? hostPattern(o.host, o.port);
    let hostKeyError: WorkbenchError | undefined;
    let ready = false;
    const cfg: ConnectConfig = {
      host: o.host,
      port: o.port,
      username: o.user,
      readyTimeout: o.connectTimeoutMs ?? 10_000,
      keepaliveInterval: o.keepaliveMs ?? 5_000,
      keepaliveCountMax: o.keepaliveCountMax ?? 3,
      tryKeyboard: false,
      hostVerifier: (key: Buffer) => {
        try {
          verifyHostKey(o.knownHostsFile, alias, key, o.trust ?? 'strict');
          return true;
        } catch (e) {
          hostKeyError = e as WorkbenchError;
          return false;
        }
      },
    };
    if (o.identityFile) {
      try {
        cfg.privateKey = readFileSync(o.identityFile);
      } catch (e) {
        reject(
          new WorkbenchError('E_AUTH', `cannot read identity file ${o.identityFile} for board ${o.name}: ${(e as Error).message}`, {
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
        new WorkbenchError('E_AUTH', `board ${o.name} has no identity file and no SSH agent is running`, {
          hint: 'set `identity` in boards.toml or start ssh-agent and add your key',
        }),
      );
      return;
    }
    c.once('ready', () => {
      ready = true;
      resolve(c);
    });
    // A persistent listener: later errors (keepalive timeout, ECONNRESET)
    // must not crash the process; they end in 'close'.
    c.on('error', (err: Error & { level?: string }) => {
      if (ready) return;
      if (hostKeyError) return reject(hostKeyError);
      if (err.level === 'client-authentication') {
        return reject(
          new WorkbenchError('E_AUTH', `permission denied for ${address} (key authentication failed)`, {
            hint: `check the board's authorized_keys and \`identity\` in boards.toml, then \`workbench boards check ${o.name}\``,
          }),
        );
      }
      reject(new WorkbenchError('E_UNREACHABLE', `${o.host}:${o.port}: ${err.message}`, { cause: err }));
    });
    c.on('close', () => {
      if (!ready) reject(hostKeyError ?? new WorkbenchError('E_UNREACHABLE', `${o.host}:${o.port}: connection closed during handshake`));
    });
    c.connect(cfg);
  });
}

/** Simple counting semaphore (channels per connection). */
export class Semaphore {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}
  async take(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
