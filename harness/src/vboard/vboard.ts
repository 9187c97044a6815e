import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { acquireLock, writeFileAtomic } from '../core/cache.ts';
import { WorkbenchError, isWorkbenchError } from '../core/errors.ts';
import { requireTools } from '../core/hostTools.ts';
import type { Runner } from '../core/runner.ts';
import type { SshTarget } from '../target/ssh.ts';
import { VBOARD_READY_WITHIN_MS, bootWithOneRetry, startQemu, vboardWatch, waitForSsh } from './boot.ts';
import { connectionFor, paths, targetFor, type VboardConnection } from './connection.ts';
import { ensureDisk, ensureIdentity, ensureRecordedHostKey } from './disk.ts';
import { ensureVboardImage } from './image.ts';
import { chooseAccel, type Accel } from './qemu.ts';
import { isOurQemu, readJson, tailFile, type RunState } from './state.ts';

/**
 * Public API of the virtual board: up (build once, boot, wait for SSH),
 * status, down, and how to connect. Other stages import these names.
 */
export { VBOARD_NAME, sshArgv, type VboardConnection } from './connection.ts';

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
  /** Rebuild the cached image (and so give the board a new disk and host key). */
  rebuild?: boolean;
  /** Guest memory, MiB (default 2048). */
  memoryMiB?: number;
  /** Guest CPUs (default 2). */
  cpus?: number;
  /** Seconds to wait for SSH (default 180). */
  bootTimeoutS?: number;
  runner: Runner;
}

/**
 * Builds (once, cached) and boots the vboard, and resolves when SSH answers
 * with the recorded host key. Idempotent: a running board is returned as is;
 * a stale record (QEMU gone) is cleaned up and a hung guest (QEMU alive, SSH
 * silent) killed, both reported in the log (checkBeforeBoot).
 *
 * @throws WorkbenchError E_NOT_ROOT / E_TOOL_MISSING / E_LOCK_STALE (image
 *   build), E_VBOARD_UNRESPONSIVE (QEMU alive, SSH silent, its PID unknown; a hung guest with a known PID is killed and booted again, see checkBeforeBoot),
 *   E_VBOARD_BOOT (QEMU exited or SSH not up in time; serial log tail
 *   included), E_HOSTKEY_CHANGED.
 */
export async function vboardUp(opts: VboardUpOptions): Promise<VboardStatus> {
  const runner = opts.runner;
  const log = opts.log;
  const p = paths();
  requireTools(['qemu-system-x86_64', 'ssh-keygen', 'cp']);
  await mkdir(p.dir, { recursive: true });
  const release = await acquireLock(p.lock, log);
  try {
    const running = await checkBeforeBoot(vboardKind(), await vboardStatus(), { flag: Boolean(opts.fresh || opts.rebuild), option: '--fresh/--rebuild' }, log);
    if (running) return running;
    const img = await ensureVboardImage({ runner, log, force: Boolean(opts.rebuild) });
    const pub = await ensureIdentity(runner);
    await ensureDisk(runner, img, Boolean(opts.fresh || opts.rebuild), log);
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
    // A guest that dies or hangs in early boot is booted once more (bootWithOneRetry).
    let pid: number | undefined;
    const { run, t0 } = await bootWithOneRetry(
      vboardWatch(),
      async () => {
        const started = await startQemu(runner, spec);
        pid = started.pid;
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
        await waitForSsh(
          run,
          (opts.bootTimeoutS ?? 180) * 1000,
          (m) => log?.(`${m} (${((Date.now() - started.t0) / 1000).toFixed(1)} s after QEMU start)`),
          VBOARD_READY_WITHIN_MS,
        );
        return { run, t0: started.t0 };
      },
      () => pid,
      log,
    );
    const bootMs = Date.now() - t0;
    return { state: 'running', pid: run.pid, port: run.port, kernelRelease: run.kernelRelease, imageKey: run.imageKey, accel, bootMs };
  } finally {
    await release();
  }
}

/** A QEMU board kind as {@link qemuBoardStatus} and {@link checkBeforeBoot} see it (the vboard, the simboard). */
export interface QemuBoardKind {
  /** `vboard`, `simboard`: in messages, hints (`workbench <what> down`) and error codes (`E_<WHAT>_RUNNING`). */
  what: string;
  files: Pick<ReturnType<typeof paths>, 'runFile' | 'pidFile' | 'serialLog'>;
  /** An SshTarget (strict host key) for the forwarded port. */
  targetFor: (port: number, connectTimeoutMs: number) => SshTarget;
  /** Runs before the SSH check of a live QEMU (the vboard re-records a deleted host-key entry). */
  beforeSsh?: () => void;
}

/**
 * A QEMU board's state without changing anything: stale PID files and dead
 * guests are `stale`, a live QEMU whose SSH does not answer within 15 s is
 * `unresponsive`. Also returns the run record, when there is one.
 * @throws WorkbenchError E_HOSTKEY_CHANGED.
 */
export async function qemuBoardStatus<R extends RunState = RunState>(k: QemuBoardKind): Promise<VboardStatus & { run?: R }> {
  const p = k.files;
  const run = readJson<R>(p.runFile);
  if (!run) {
    if (existsSync(p.pidFile)) {
      const pid = Number((await readFile(p.pidFile, 'utf8').catch(() => '')).trim());
      if (isOurQemu(pid, p.pidFile)) return { state: 'unresponsive', pid, detail: `QEMU PID ${pid} runs but ${p.runFile} is missing` };
      return { state: 'stale', detail: `PID file ${p.pidFile} left behind (PID ${pid || '?'} is not our QEMU)` };
    }
    return { state: 'stopped' };
  }
  const base = { pid: run.pid, port: run.port, kernelRelease: run.kernelRelease, imageKey: run.imageKey, accel: run.accel, run };
  if (!isOurQemu(run.pid, p.pidFile)) {
    const tailText = tailFile(p.serialLog, 5);
    return {
      ...base,
      state: 'stale',
      detail: `QEMU PID ${run.pid} is gone or is another process (guest died or the host restarted)${tailText ? `; last serial lines:\n${tailText}` : ''}`,
    };
  }
  k.beforeSsh?.();
  // 15 s: a loaded host slows a TCG guest's SSH handshake to several seconds;
  // a guest that does not answer in that time is called unresponsive.
  const t = k.targetFor(run.port, 15_000);
  try {
    await t.exec(['true'], { timeoutMs: 15_000 });
    return { ...base, state: 'running' };
  } catch (e) {
    if (isWorkbenchError(e, 'E_HOSTKEY_CHANGED')) throw e;
    return { ...base, state: 'unresponsive', detail: (e as Error).message };
  } finally {
    await t.close();
  }
}

/**
 * What `up` does before it boots: a running board is returned as is (refused
 * when `fresh` would replace its disk), a hung one (QEMU alive, SSH silent)
 * is reported with its serial console and killed, a stale record is cleaned
 * up (both said in the log); the caller then boots.
 * @returns the running board's status (`alreadyRunning`), or undefined when the caller boots.
 * @throws WorkbenchError E_<WHAT>_RUNNING, E_<WHAT>_UNRESPONSIVE (only when the hung QEMU's PID is unknown), E_HOSTKEY_CHANGED.
 */
export async function checkBeforeBoot<S extends VboardStatus>(
  k: QemuBoardKind,
  st: S,
  fresh: { flag: boolean; option: string },
  log?: (s: string) => void,
): Promise<S | undefined> {
  const W = k.what.toUpperCase();
  if (st.state === 'running' && fresh.flag) {
    throw new WorkbenchError(`E_${W}_RUNNING`, `the ${k.what} is running (QEMU PID ${st.pid}); ${fresh.option} would replace its disk under it`, {
      hint: `stop it first: \`workbench ${k.what} down\`, then \`workbench ${k.what} up ${fresh.option.split('/')[0]}\``,
    });
  }
  if (st.state === 'running') return { ...st, alreadyRunning: true };
  if (st.state === 'unresponsive' && st.pid !== undefined) {
    // QEMU runs but the guest did not complete an SSH handshake in two attempts over 30 s
    // (qemuBoardStatus): hung (a deadlock, an interrupt storm, stopped vCPUs). Say so with its
    // serial console, kill our QEMU and boot again on the same disk (ext4 replays its journal,
    // as after the power losses of the fault soak), so no later command meets the same state.
    const tail = tailFile(k.files.serialLog, 20);
    log?.(
      `the ${k.what} hung: QEMU PID ${st.pid} runs but SSH does not answer (${st.detail ?? ''}); ${tail ? `last serial lines:\n${tail}` : 'its serial console is empty'}`,
    );
    const how = await stopOurQemu(st.pid, k.files.pidFile, 0, 'QEMU ended');
    await rm(k.files.runFile, { force: true });
    await rm(k.files.pidFile, { force: true });
    log?.(`${how} (PID ${st.pid}); booting the ${k.what} again`);
    return undefined;
  }
  if (st.state === 'unresponsive') {
    throw new WorkbenchError(`E_${W}_UNRESPONSIVE`, `the ${k.what} runs but SSH does not answer and its QEMU PID is unknown: ${st.detail ?? ''}`, {
      hint: `stop it with \`workbench ${k.what} down\` (see \`workbench ${k.what} logs\`), then \`workbench ${k.what} up\``,
    });
  }
  if (st.state === 'stale') {
    log?.(`previous ${k.what} record is stale (${st.detail}); cleaning it up`);
    await rm(k.files.runFile, { force: true });
    await rm(k.files.pidFile, { force: true });
  }
  return undefined;
}

const vboardKind = (): QemuBoardKind => ({ what: 'vboard', files: paths(), targetFor: (port, ms) => targetFor(port, ms), beforeSsh: ensureRecordedHostKey });

/**
 * Reports the board's state without changing anything: stale PID files and
 * dead guests are detected (`stale`), a live QEMU whose SSH does not answer
 * within 15 s is `unresponsive`.
 */
export async function vboardStatus(): Promise<VboardStatus> {
  const { run: _run, ...st } = await qemuBoardStatus(vboardKind());
  return st;
}

/**
 * Stops the vboard: a clean guest power-off over SSH (`/sbin/vboard-poweroff`:
 * sync, remount read-only, SysRq o; QEMU exits), then, if QEMU is still
 * there after 60 s, SIGTERM and SIGKILL to OUR QEMU PID only (checked via
 * /proc/PID/cmdline). Stale records are just cleaned up.
 */
export async function vboardDown(opts: { log?: (s: string) => void } = {}): Promise<VboardStatus> {
  return stopBoardQemu(paths(), (port, ms) => targetFor(port, ms), opts.log);
}

/**
 * Waits up to `waitMs` for our QEMU `pid` to end by itself (a requested
 * power-off), then SIGTERM, then SIGKILL (5 s each); only a PID whose command
 * line is a QEMU naming `pidFile` is ever signalled.
 * @returns how it ended: `ended` as given, "QEMU stopped with SIGTERM" or "QEMU killed with SIGKILL".
 */
export async function stopOurQemu(pid: number, pidFile: string, waitMs: number, ended: string): Promise<string> {
  const gone = async (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (!isOurQemu(pid, pidFile)) return true;
      await new Promise((r) => setTimeout(r, 200));
    }
    return !isOurQemu(pid, pidFile);
  };
  // 60 s for a requested power-off: ~3 s on an idle host, far longer on a loaded one.
  if (await gone(waitMs)) return ended;
  if (isOurQemu(pid, pidFile)) process.kill(pid, 'SIGTERM');
  if (await gone(5_000)) return 'QEMU stopped with SIGTERM';
  if (isOurQemu(pid, pidFile)) process.kill(pid, 'SIGKILL');
  await gone(5_000);
  return 'QEMU killed with SIGKILL';
}

/**
 * Stops a board QEMU recorded in `p.runFile`/`p.pidFile` (the vboard's or
 * another board kind's that boots the same guest scripts): power-off over
 * SSH, then SIGTERM/SIGKILL to that PID only when it is still our QEMU.
 */
export async function stopBoardQemu(
  p: Pick<ReturnType<typeof paths>, 'runFile' | 'pidFile'>,
  targetForPort: (port: number, connectTimeoutMs: number) => SshTarget,
  log?: (s: string) => void,
): Promise<VboardStatus> {
  const run = readJson<RunState>(p.runFile);
  const pid = run?.pid ?? Number((await readFile(p.pidFile, 'utf8').catch(() => '')).trim());
  const cleanup = async () => {
    await rm(p.runFile, { force: true });
    await rm(p.pidFile, { force: true });
  };
  if (!pid || !isOurQemu(pid, p.pidFile)) {
    const had = Boolean(run) || existsSync(p.pidFile);
    await cleanup();
    return { state: 'stopped', detail: had ? `cleaned up a stale record (QEMU PID ${pid || '?'} was not running)` : 'was not running' };
  }
  let requested = false;
  if (run) {
    const t = targetForPort(run.port, 15_000);
    try {
      // Runs detached so the SSH session can end before the guest powers off.
      await t.exec(['sh', '-c', 'nohup /sbin/vboard-poweroff >/dev/null 2>&1 &'], { timeoutMs: 10_000, allowFailure: true });
      requested = true;
      log?.('guest power-off requested');
    } catch (e) {
      log?.(`clean power-off over SSH failed (${(e as Error).message}); stopping QEMU`);
    } finally {
      await t.close();
    }
  }
  const how = await stopOurQemu(pid, p.pidFile, requested ? 60_000 : 0, 'guest powered off');
  await cleanup();
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
  ensureRecordedHostKey();
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
