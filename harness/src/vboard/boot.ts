import { existsSync, readFileSync } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { WorkbenchError, isWorkbenchError } from '../core/errors.ts';
import type { Runner } from '../core/runner.ts';
import { paths, targetFor } from './connection.ts';
import { freePort, qemuArgv, type QemuSpec } from './qemu.ts';
import { isOurQemu, tailFile, type RunState } from './state.ts';

/** Starting QEMU and waiting for the guest's SSH. */

/**
 * Starts the daemonized QEMU on a free port (another port when the forward
 * could not be set up, up to 3 tries) and checks its PID file.
 * @throws WorkbenchError E_VBOARD_BOOT when QEMU does not start.
 */
export async function startQemu(runner: Runner, spec: Omit<QemuSpec, 'sshPort'>): Promise<{ pid: number; port: number; argv: string[]; t0: number }> {
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
export async function waitForSsh(run: RunState, timeoutMs: number, log?: (s: string) => void): Promise<void> {
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
