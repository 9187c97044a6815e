import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { acquireLock, writeFileAtomic } from '../core/cache.ts';
import { WorkbenchError, isWorkbenchError } from '../core/errors.ts';
import { requireTools } from '../core/hostTools.ts';
import { ExecaRunner, type Runner } from '../core/runner.ts';
import { forgetHost, knownHostsPath, recordHostKey } from '../target/knownHosts.ts';
import { SshTarget } from '../target/ssh.ts';
import { ensureVboardImage, type VboardImage } from './image.ts';
import { chooseAccel, freePort, qemuArgv, type Accel, type QemuSpec } from './qemu.ts';
import { isOurQemu, readJson, tailFile, vboardPaths, type DiskState, type RunState } from './state.ts';

/** The name the vboard's host key is recorded under, and its board name. */
export const VBOARD_NAME = 'vboard';

/** How to reach the running vboard (for the board registry and `ssh`). */
export interface VboardConnection {
  host: string;
  port: number;
  user: string;
  identityFile: string;
  /** Name the host key is recorded under in the workbench known_hosts (`vboard`). */
  hostKeyAlias: string;
  knownHostsFile: string;
}

/**
 * Arguments for OpenSSH's `ssh` to the vboard (`workbench vboard ssh`): the
 * board's key only, the workbench known_hosts under the alias `vboard`, and
 * strict host-key checking (never `StrictHostKeyChecking=no`).
 */
export function sshArgv(c: VboardConnection, extra: string[] = []): string[] {
  return [
    '-i', c.identityFile,
    '-p', String(c.port),
    '-o', `UserKnownHostsFile=${c.knownHostsFile}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `HostKeyAlias=${c.hostKeyAlias}`,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'LogLevel=ERROR',
    `${c.user}@${c.host}`,
    ...extra,
  ];
}

/** Status of the vboard. */
export interface VboardStatus {
  /**
   * - `stopped`: no board recorded;
   * - `running`: our QEMU is alive and SSH answers;
   * - `unresponsive`: our QEMU is alive but SSH does not answer;
   * - `stale`: a board was recorded but its QEMU is gone (guest died, host rebooted) or the PID is now another process.
   */
  state: 'stopped' | 'running' | 'stale' | 'unresponsive';
  pid?: number;
  port?: number;
  kernelRelease?: string;
  imageKey?: string;
  accel?: Accel;
  /** Human-readable detail (why stale/unresponsive; last serial lines). */
  detail?: string;
  /** `vboard up` only: ms from QEMU start to the first successful SSH command. */
  bootMs?: number;
  /** `vboard up` only: true when it found the board already running. */
  alreadyRunning?: boolean;
}

/** Options of {@link vboardUp}. */
export interface VboardUpOptions {
  log?: (msg: string) => void;
  /** Discard the guest disk's changes (deployed modules...) and start from the image. */
  fresh?: boolean;
  /** Guest memory, MiB (default 2048). */
  memoryMiB?: number;
  /** Guest CPUs (default 2). */
  cpus?: number;
  /** Seconds to wait for SSH (default 180). */
  bootTimeoutS?: number;
  runner?: Runner;
}

const paths = () => vboardPaths();

function connectionFor(port: number): VboardConnection {
  const p = paths();
  return {
    host: '127.0.0.1',
    port,
    user: 'root',
    identityFile: p.identity,
    hostKeyAlias: VBOARD_NAME,
    knownHostsFile: knownHostsPath(),
  };
}

function targetFor(port: number, connectTimeoutMs = 10_000): SshTarget {
  const c = connectionFor(port);
  return new SshTarget({
    name: VBOARD_NAME,
    host: c.host,
    port: c.port,
    user: c.user,
    identityFile: c.identityFile,
    knownHostsFile: c.knownHostsFile,
    hostKeyAlias: c.hostKeyAlias,
    trust: 'strict',
    connectTimeoutMs,
  });
}

/** Generates the board's SSH client key once (ed25519, no passphrase, 0600). */
async function ensureIdentity(runner: Runner): Promise<string> {
  const p = paths();
  if (!existsSync(p.identity) || !existsSync(`${p.identity}.pub`)) {
    await rm(p.identity, { force: true });
    await rm(`${p.identity}.pub`, { force: true });
    await runner.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'workbench-vboard', '-f', p.identity]);
  }
  return (await readFile(`${p.identity}.pub`, 'utf8')).trim();
}

/**
 * Makes sure the guest disk is a copy of `img`: copies it (sparse) when
 * absent, made from another image, or `fresh`. A new disk means a new host
 * key: the old known_hosts entry for `vboard` is forgotten on purpose and the
 * image's key (read from the image we built, not from the network) recorded.
 * If the disk is kept, the recorded key is only (re)written when none exists;
 * a different recorded key makes SSH refuse (E_HOSTKEY_CHANGED).
 */
async function ensureDisk(runner: Runner, img: VboardImage, fresh: boolean, log?: (s: string) => void): Promise<void> {
  const p = paths();
  const kh = knownHostsPath();
  const d = readJson<DiskState>(p.diskFile);
  const [type, b64] = img.hostKey.split(' ');
  if (!type || !b64) throw new WorkbenchError('E_VBOARD_IMAGE', `image ${img.dir} has no host key recorded`, { hint: 'rebuild it: workbench vboard up --rebuild' });
  if (fresh || !d || d.imageKey !== img.key || !existsSync(p.disk)) {
    log?.(fresh ? 'resetting the guest disk from the image' : 'creating the guest disk from the image');
    const tmp = `${p.disk}.tmp-${process.pid}`;
    await runner.run(['cp', '--sparse=always', img.disk, tmp]);
    await rename(tmp, p.disk);
    await writeFileAtomic(p.diskFile, JSON.stringify({ imageKey: img.key, createdAt: new Date().toISOString() } satisfies DiskState, null, 2));
    forgetHost(kh, VBOARD_NAME);
    recordHostKey(kh, VBOARD_NAME, type, b64);
    return;
  }
  const recorded = existsSync(kh) && (await readFile(kh, 'utf8')).split('\n').some((l) => l.split(/\s+/)[0]?.split(',').includes(VBOARD_NAME));
  if (!recorded) recordHostKey(kh, VBOARD_NAME, type, b64);
}

/**
 * Builds (once, cached) and boots the vboard, and resolves when SSH answers
 * with the recorded host key. Idempotent: a running board is returned as is;
 * a stale record (QEMU gone) is cleaned up and reported in the log.
 *
 * @throws WorkbenchError E_NOT_ROOT / E_TOOL_MISSING / E_LOCK_STALE (image
 *   build), E_VBOARD_UNRESPONSIVE (QEMU alive, SSH silent: run `down`),
 *   E_VBOARD_BOOT (QEMU exited or SSH not up in time; serial log tail
 *   included), E_HOSTKEY_CHANGED.
 */
export async function vboardUp(opts: VboardUpOptions = {}): Promise<VboardStatus> {
  const runner = opts.runner ?? new ExecaRunner();
  const log = opts.log;
  const p = paths();
  requireTools(['qemu-system-x86_64', 'ssh-keygen', 'cp']);
  await mkdir(p.dir, { recursive: true });
  const release = await acquireLock(p.lock, log);
  try {
    const st = await vboardStatus();
    if (st.state === 'running' && opts.fresh) {
      throw new WorkbenchError('E_VBOARD_RUNNING', `the vboard is running (QEMU PID ${st.pid}); --fresh would reset its disk under it`, {
        hint: 'stop it first: `workbench vboard down`, then `workbench vboard up --fresh`',
      });
    }
    if (st.state === 'running') return { ...st, alreadyRunning: true };
    if (st.state === 'unresponsive') {
      throw new WorkbenchError('E_VBOARD_UNRESPONSIVE', `the vboard (QEMU PID ${st.pid}, port ${st.port}) runs but SSH does not answer: ${st.detail ?? ''}`, {
        hint: 'stop it with `workbench vboard down` (see `workbench vboard logs`), then `workbench vboard up`',
      });
    }
    if (st.state === 'stale') {
      log?.(`previous vboard record is stale (${st.detail}); cleaning it up`);
      await cleanupRunFiles();
    }
    const img = await ensureVboardImage({ runner, log });
    const pub = await ensureIdentity(runner);
    await ensureDisk(runner, img, Boolean(opts.fresh), log);
    const { accel, detail } = await chooseAccel(runner, p.dir, img, log);
    log?.(`accelerator: ${accel} (${detail})`);
    const [ktype, kb64] = pub.split(/\s+/);
    const spec = {
      kernel: img.kernel,
      initrd: img.initrd,
      disk: p.disk,
      accel,
      memoryMiB: opts.memoryMiB ?? 2048,
      cpus: opts.cpus ?? 2,
      serialLog: p.serialLog,
      pidFile: p.pidFile,
      append: [`vboard.authkey=${ktype}:${kb64}`],
    };
    // A guest that dies during early boot (seen once: an oops under
    // multi-threaded TCG) is retried once; the first serial log is kept as serial.log.1.
    for (let attempt = 1; ; attempt++) {
      const started = await startQemu(runner, spec);
      const run: RunState = {
        pid: started.pid,
        port: started.port,
        imageKey: img.key,
        kernelRelease: img.kernelRelease,
        accel,
        startedAt: new Date().toISOString(),
        argv: started.argv,
      };
      await writeFileAtomic(p.runFile, JSON.stringify(run, null, 2));
      log?.(`QEMU PID ${run.pid}, SSH on 127.0.0.1:${run.port}; waiting for the guest`);
      try {
        await waitForSsh(run, (opts.bootTimeoutS ?? 180) * 1000, (m) => log?.(`${m} (${((Date.now() - started.t0) / 1000).toFixed(1)} s after QEMU start)`));
      } catch (e) {
        if (attempt < 2 && isWorkbenchError(e, 'E_VBOARD_BOOT') && !isOurQemu(run.pid, p.pidFile)) {
          log?.(`the guest died during boot; retrying once. ${e.message.split('\n')[0]}`);
          await cleanupRunFiles();
          continue;
        }
        throw e;
      }
      const bootMs = Date.now() - started.t0;
      return { state: 'running', pid: run.pid, port: run.port, kernelRelease: run.kernelRelease, imageKey: run.imageKey, accel, bootMs };
    }
  } finally {
    await release();
  }
}

/**
 * Starts the daemonized QEMU on a free port (another port when the forward
 * could not be set up, up to 3 tries) and checks its PID file.
 * @throws WorkbenchError E_VBOARD_BOOT when QEMU does not start.
 */
async function startQemu(runner: Runner, spec: Omit<QemuSpec, 'sshPort'>): Promise<{ pid: number; port: number; argv: string[]; t0: number }> {
  const p = paths();
  let lastErr = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    if (existsSync(p.serialLog)) await rename(p.serialLog, p.serialLogPrev);
    await rm(p.pidFile, { force: true });
    const argv = qemuArgv({ ...spec, sshPort: port });
    const t0 = Date.now();
    const r = await runner.run(argv, { allowFailure: true, timeoutMs: 60_000 });
    if (r.exitCode !== 0) {
      lastErr = (r.stderr || r.stdout).trim();
      if (/hostfwd|host forwarding|Could not set up/i.test(lastErr)) continue; // lost the port race: try another port
      break;
    }
    const pid = Number((await readFile(p.pidFile, 'utf8').catch(() => '')).trim());
    if (!isOurQemu(pid, p.pidFile)) {
      lastErr = `QEMU daemonized but its PID file ${p.pidFile} does not name a live QEMU`;
      break;
    }
    return { pid, port, argv, t0 };
  }
  throw new WorkbenchError('E_VBOARD_BOOT', `QEMU did not start: ${lastErr}`, { hint: 'see the message above; `workbench doctor` checks qemu-system-x86' });
}

/** Polls SSH (strict host key) until `true` runs; fails fast on a dead QEMU or a changed host key. */
async function waitForSsh(run: RunState, timeoutMs: number, log?: (s: string) => void): Promise<void> {
  const p = paths();
  const deadline = Date.now() + timeoutMs;
  let last = '';
  // The guest init prints VBOARD-READY on the serial console right after sshd
  // started. Waiting for it avoids SSH attempts that hang in QEMU's user-mode
  // network while the guest's network is still down (each costs a connect timeout).
  const readySeen = () => existsSync(p.serialLog) && readFileSync(p.serialLog, 'utf8').includes('VBOARD-READY');
  while (Date.now() < deadline && !readySeen()) {
    if (!isOurQemu(run.pid, p.pidFile)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (readySeen()) log?.('guest init reports sshd started');
  while (Date.now() < deadline) {
    if (!isOurQemu(run.pid, p.pidFile)) {
      throw new WorkbenchError('E_VBOARD_BOOT', `QEMU (PID ${run.pid}) exited during boot. Last serial lines:\n${tailFile(p.serialLog, 25)}`, {
        hint: 'see `workbench vboard logs`; `workbench vboard up --fresh` starts from a clean disk',
      });
    }
    const t = targetFor(run.port, 3_000);
    try {
      await t.exec(['true'], { timeoutMs: 5_000 });
      await t.close();
      return;
    } catch (e) {
      await t.close();
      if (isWorkbenchError(e, 'E_HOSTKEY_CHANGED') || isWorkbenchError(e, 'E_HOSTKEY_UNKNOWN')) throw e;
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new WorkbenchError('E_VBOARD_BOOT', `the vboard did not answer SSH within ${timeoutMs / 1000} s (${last}). Last serial lines:\n${tailFile(p.serialLog, 25)}`, {
    hint: 'see `workbench vboard logs`; stop it with `workbench vboard down`',
  });
}

async function cleanupRunFiles(): Promise<void> {
  const p = paths();
  await rm(p.runFile, { force: true });
  await rm(p.pidFile, { force: true });
}

/**
 * Reports the board's state without changing anything: stale PID files and
 * dead guests are detected (`stale`), a live QEMU whose SSH does not answer
 * within 5 s is `unresponsive`.
 */
export async function vboardStatus(): Promise<VboardStatus> {
  const p = paths();
  const run = readJson<RunState>(p.runFile);
  if (!run) {
    if (existsSync(p.pidFile)) {
      const pid = Number((await readFile(p.pidFile, 'utf8').catch(() => '')).trim());
      if (isOurQemu(pid, p.pidFile)) return { state: 'unresponsive', pid, detail: `QEMU PID ${pid} runs but ${p.runFile} is missing` };
      return { state: 'stale', detail: `PID file ${p.pidFile} left behind (PID ${pid || '?'} is not our QEMU)` };
    }
    return { state: 'stopped' };
  }
  const base = { pid: run.pid, port: run.port, kernelRelease: run.kernelRelease, imageKey: run.imageKey, accel: run.accel };
  if (!isOurQemu(run.pid, p.pidFile)) {
    const tailText = tailFile(p.serialLog, 5);
    return {
      ...base,
      state: 'stale',
      detail: `QEMU PID ${run.pid} is gone or is another process (guest died or the host restarted)${tailText ? `; last serial lines:\n${tailText}` : ''}`,
    };
  }
  const t = targetFor(run.port, 5_000);
  try {
    await t.exec(['true'], { timeoutMs: 5_000 });
    return { ...base, state: 'running' };
  } catch (e) {
    if (isWorkbenchError(e, 'E_HOSTKEY_CHANGED')) throw e;
    return { ...base, state: 'unresponsive', detail: (e as Error).message };
  } finally {
    await t.close();
  }
}

/**
 * Stops the vboard: a clean guest power-off over SSH (`/sbin/vboard-poweroff`:
 * sync, remount read-only, SysRq o; QEMU exits), then, if QEMU is still
 * there after 20 s, SIGTERM and SIGKILL to OUR QEMU PID only (checked via
 * /proc/PID/cmdline). Stale records are just cleaned up.
 */
export async function vboardDown(opts: { log?: (s: string) => void } = {}): Promise<VboardStatus> {
  const p = paths();
  const run = readJson<RunState>(p.runFile);
  const pid = run?.pid ?? Number((await readFile(p.pidFile, 'utf8').catch(() => '')).trim());
  if (!pid || !isOurQemu(pid, p.pidFile)) {
    const had = Boolean(run) || existsSync(p.pidFile);
    await cleanupRunFiles();
    return { state: 'stopped', detail: had ? `cleaned up a stale record (QEMU PID ${pid || '?'} was not running)` : 'was not running' };
  }
  if (run) {
    const t = targetFor(run.port, 5_000);
    try {
      // Runs detached so the SSH session can end before the guest powers off.
      await t.exec(['sh', '-c', 'nohup /sbin/vboard-poweroff >/dev/null 2>&1 &'], { timeoutMs: 10_000, allowFailure: true });
      opts.log?.('guest power-off requested');
    } catch (e) {
      opts.log?.(`clean power-off over SSH failed (${(e as Error).message}); stopping QEMU`);
    } finally {
      await t.close();
    }
  }
  const gone = async (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (!isOurQemu(pid, p.pidFile)) return true;
      await new Promise((r) => setTimeout(r, 200));
    }
    return !isOurQemu(pid, p.pidFile);
  };
  let how = 'guest powered off';
  if (!(await gone(run ? 20_000 : 0))) {
    how = 'QEMU stopped with SIGTERM';
    if (isOurQemu(pid, p.pidFile)) process.kill(pid, 'SIGTERM');
    if (!(await gone(5_000))) {
      how = 'QEMU killed with SIGKILL';
      if (isOurQemu(pid, p.pidFile)) process.kill(pid, 'SIGKILL');
      await gone(5_000);
    }
  }
  await cleanupRunFiles();
  return { state: 'stopped', pid, detail: how };
}

/**
 * Connection facts of the running vboard (the board registry's `vboard`).
 * @throws WorkbenchError E_VBOARD_DOWN when no board is recorded or its QEMU is gone.
 */
export function vboardConnection(): VboardConnection {
  const p = paths();
  const run = readJson<RunState>(p.runFile);
  if (!run || !isOurQemu(run.pid, p.pidFile)) {
    throw new WorkbenchError('E_VBOARD_DOWN', run ? `the vboard is not running (QEMU PID ${run.pid} is gone)` : 'the vboard is not running', {
      hint: 'start it with `workbench vboard up`',
    });
  }
  return connectionFor(run.port);
}

/**
 * An SshTarget for the running vboard (strict host-key check against the
 * workbench known_hosts under the alias `vboard`). The connection opens on
 * first use; call close() when done.
 * @throws WorkbenchError E_VBOARD_DOWN.
 */
export async function vboardTarget(): Promise<SshTarget> {
  const c = vboardConnection();
  return targetFor(c.port);
}
