import { existsSync, readFileSync } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { WorkbenchError, isWorkbenchError } from '../core/errors.ts';
import type { Runner } from '../core/runner.ts';
import type { SshTarget } from '../target/ssh.ts';
import { paths, targetFor } from './connection.ts';
import { freePort, qemuArgv, type QemuSpec } from './qemu.ts';
import { isOurQemu, tailFile, type RunState } from './state.ts';

/** Starting QEMU and waiting for the guest's SSH. */

/** The files a daemonized board QEMU writes (see vboardPaths). */
export interface BootFiles {
  serialLog: string;
  /** Where the previous boot's serial log is moved. */
  serialLogPrev: string;
  pidFile: string;
}

/** How a board's boot is watched: its files, how to reach it, what to call it in errors. */
export interface BootWatch {
  files: BootFiles;
  /** An SshTarget (strict host key) for the forwarded port. */
  targetFor: (port: number, connectTimeoutMs: number) => SshTarget;
  /** Error code of a failed boot (e.g. `E_VBOARD_BOOT`). */
  code: string;
  /** Board kind in messages and hints (`vboard`, `simboard`). */
  what: string;
}

/**
 * Starts the daemonized QEMU on a free port (another port when the forward
 * could not be set up, up to 3 tries) and checks its PID file.
 * @throws WorkbenchError E_VBOARD_BOOT when QEMU does not start.
 */
export async function startQemu(runner: Runner, spec: Omit<QemuSpec, 'sshPort'>): Promise<{ pid: number; port: number; argv: string[]; t0: number }> {
  return startDaemonQemu(runner, (port) => qemuArgv({ ...spec, sshPort: port }), vboardWatch());
}

/**
 * Starts a daemonized board QEMU whose argv `argvFor(port)` forwards `port`
 * to the guest's SSH and writes `w.files.pidFile`: retries on a lost port
 * race (up to 3 tries), checks that the PID file names a live QEMU.
 * @throws WorkbenchError `w.code` when QEMU does not start (its message included).
 */
export async function startDaemonQemu(
  runner: Runner,
  argvFor: (port: number) => string[],
  w: Pick<BootWatch, 'files' | 'code' | 'what'>,
): Promise<{ pid: number; port: number; argv: string[]; t0: number }> {
  const p = w.files;
  let lastErr = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    if (existsSync(p.serialLog)) await rename(p.serialLog, p.serialLogPrev);
    await rm(p.pidFile, { force: true });
    const argv = argvFor(port);
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
  throw new WorkbenchError(w.code, `QEMU did not start: ${lastErr}`, { hint: `see the message above; \`workbench doctor\` checks the ${w.what}'s QEMU` });
}

/** How the vboard's boot is watched (its files, SSH target, E_VBOARD_BOOT). */
export function vboardWatch(): BootWatch {
  return { files: paths(), targetFor: (port, ms) => targetFor(port, ms), code: 'E_VBOARD_BOOT', what: 'vboard' };
}

/**
 * The vboard's guest init prints VBOARD-READY 6-9 s after QEMU start on an
 * idle host (vboard.int and fault-soak logs); 120 s of nothing leaves a wide
 * margin for a loaded host and means the guest hung in early boot.
 */
export const VBOARD_READY_WITHIN_MS = 120_000;

/**
 * Polls the vboard's SSH (strict host key) until `true` runs; fails fast on a dead QEMU or a changed host key.
 * @throws as {@link waitForGuestSsh} (BootHungError past `readyWithinMs`).
 */
export async function waitForSsh(run: RunState, timeoutMs: number, log?: (s: string) => void, readyWithinMs?: number): Promise<void> {
  return waitForGuestSsh(run, timeoutMs, vboardWatch(), log, readyWithinMs);
}

/**
 * Polls a board's SSH (strict host key) until `true` runs: first waits for
 * the guest init's VBOARD-READY line on the serial console, then tries SSH
 * every 300 ms; fails fast on a dead QEMU or an unknown/changed host key.
 * @throws WorkbenchError `w.code` (QEMU exited, or no SSH within `timeoutMs`; last serial lines included), E_HOSTKEY_CHANGED, E_HOSTKEY_UNKNOWN.
 */
export async function waitForGuestSsh(
  run: Pick<RunState, 'pid' | 'port'>,
  timeoutMs: number,
  w: BootWatch,
  log?: (s: string) => void,
  readyWithinMs?: number,
): Promise<void> {
  const p = w.files;
  const t0 = Date.now();
  const deadline = t0 + timeoutMs;
  let last = '';
  // The guest init prints VBOARD-READY on the serial console right after sshd
  // started. Waiting for it avoids SSH attempts that hang in QEMU's user-mode
  // network while the guest's network is still down (each costs a connect timeout).
  const readySeen = () => existsSync(p.serialLog) && readFileSync(p.serialLog, 'utf8').includes('VBOARD-READY');
  while (Date.now() < deadline && !readySeen()) {
    if (!isOurQemu(run.pid, p.pidFile)) break;
    if (readyWithinMs !== undefined && Date.now() - t0 > readyWithinMs) {
      throw new BootHungError(
        w.code,
        `the ${w.what}'s guest init printed no VBOARD-READY within ${readyWithinMs / 1000} s of QEMU start (QEMU PID ${run.pid} still runs): the guest hung in early boot. Last serial lines:\n${tailFile(p.serialLog, 25)}`,
        { hint: `see \`workbench ${w.what} logs\`; stop it with \`workbench ${w.what} down\`` },
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (readySeen()) log?.('guest init reports sshd started');
  let attempt = 0;
  while (Date.now() < deadline) {
    if (!isOurQemu(run.pid, p.pidFile)) {
      throw new WorkbenchError(w.code, `QEMU (PID ${run.pid}) exited during boot. Last serial lines:\n${tailFile(p.serialLog, 25)}`, {
        hint: `see \`workbench ${w.what} logs\`; \`workbench ${w.what} up --fresh\` starts from a clean disk`,
      });
    }
    // The SSH handshake of a TCG guest takes well under a second on an idle
    // host but several seconds on a loaded one (measured: none within 3 s at
    // load 25 on 2 cores), so every failed attempt doubles the time allowed.
    const connectMs = Math.min(30_000, 3_000 * 2 ** attempt++);
    const t = w.targetFor(run.port, connectMs);
    try {
      await t.exec(['true'], { timeoutMs: connectMs + 2_000 });
      await t.close();
      return;
    } catch (e) {
      await t.close();
      if (isWorkbenchError(e, 'E_HOSTKEY_CHANGED') || isWorkbenchError(e, 'E_HOSTKEY_UNKNOWN')) throw e;
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new WorkbenchError(
    w.code,
    `the ${w.what} did not answer SSH within ${timeoutMs / 1000} s (${last}). Last serial lines:\n${tailFile(p.serialLog, 25)}`,
    {
      hint: `see \`workbench ${w.what} logs\`; stop it with \`workbench ${w.what} down\``,
    },
  );
}

/** A guest whose init never reported ready while its QEMU kept running (see {@link waitForGuestSsh}'s `readyWithinMs`). */
export class BootHungError extends WorkbenchError {}

/**
 * Runs one boot (`once`: start QEMU, wait for SSH) and, when the guest died
 * or hung in early boot, kills what is left of that QEMU (our PID only) and
 * boots once more. Seen under multi-threaded TCG: one early-boot oops
 * (guest died) and one boot that printed nothing for 180 s with QEMU alive
 * (CI of 2026-12-02, vboard.int). The first boot's serial log is kept as
 * `serialLogPrev` (startDaemonQemu moves it).
 * @returns what `once` returned.
 * @throws what the second boot threw, or the first error when it was not a died/hung boot.
 */
export async function bootWithOneRetry<T>(w: BootWatch, once: () => Promise<T>, pidOf: () => number | undefined, log?: (s: string) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await once();
    } catch (e) {
      if (attempt >= 2 || !isWorkbenchError(e, w.code)) throw e;
      const pid = pidOf();
      const alive = pid !== undefined && isOurQemu(pid, w.files.pidFile);
      if (alive && !(e instanceof BootHungError)) throw e; // SSH silent after the guest said ready: not a boot hang
      if (alive) {
        process.kill(pid, 'SIGKILL'); // our own QEMU (isOurQemu checked its command line and PID file)
        for (let i = 0; i < 50 && isOurQemu(pid, w.files.pidFile); i++) await new Promise((r) => setTimeout(r, 100));
      }
      log?.(`the guest ${alive ? 'hung' : 'died'} during boot; booting once more. ${e.message.split('\n')[0]}`);
    }
  }
}
