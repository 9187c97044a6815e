import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkbenchError } from '../../src/core/errors.ts';
import { BootHungError, bootWithOneRetry, waitForGuestSsh, type BootWatch } from '../../src/vboard/boot.ts';
import { checkBeforeBoot } from '../../src/vboard/vboard.ts';
import { isOurQemu } from '../../src/vboard/state.ts';

/**
 * A stand-in for a daemonized board QEMU: a real process whose argv[0] is
 * `qemu-system-fake` and whose command line names the PID file, which is
 * what isOurQemu checks. It prints nothing, as a guest hung in early boot.
 */
function fakeQemu(pidFile: string): ChildProcess {
  // The file must exist before tail starts: `tail -f` on a missing file exits
  // at once, and under load bash reached its exec before this process wrote
  // the PID (the fake then never ran and `until` below waited out its 15 s).
  writeFileSync(pidFile, '');
  const c = spawn('bash', ['-c', `exec -a qemu-system-fake tail -f ${pidFile}`], { stdio: 'ignore' });
  writeFileSync(pidFile, `${c.pid}\n`);
  return c;
}

/**
 * Waits (20 ms steps, up to 15 s) for `cond`; throws when it never holds, so
 * a fake QEMU that did not start fails here with its reason, not later as a
 * wrong isOurQemu.
 */
async function until(cond: () => boolean, what = 'the fake QEMU to run'): Promise<void> {
  const end = Date.now() + 15_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`waited 15 s for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a guest that hangs in early boot', () => {
  let dir: string;
  let w: BootWatch;
  const kids: ChildProcess[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wb-bootretry-'));
    w = {
      files: { serialLog: join(dir, 'serial.log'), serialLogPrev: join(dir, 'serial.log.1'), pidFile: join(dir, 'qemu.pid') },
      targetFor: () => {
        throw new Error('no SSH attempt is expected before VBOARD-READY');
      },
      code: 'E_TESTBOARD_BOOT',
      what: 'testboard',
    };
  });
  afterEach(() => {
    for (const k of kids.splice(0)) k.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('silent serial console with QEMU alive past readyWithinMs: BootHungError with the board code, no SSH attempt', async () => {
    const q = fakeQemu(w.files.pidFile);
    kids.push(q);
    await until(() => isOurQemu(q.pid!, w.files.pidFile));
    writeFileSync(w.files.serialLog, 'SeaBIOS\n');
    const e = await waitForGuestSsh({ pid: q.pid!, port: 1 }, 60_000, w, undefined, 300).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BootHungError);
    expect(e).toMatchObject({ code: 'E_TESTBOARD_BOOT' });
    expect((e as Error).message).toMatch(/no VBOARD-READY within 0.3 s .*QEMU PID \d+ still runs[\s\S]*SeaBIOS/);
  });

  it('bootWithOneRetry kills the hung QEMU (our PID only) and boots once more', async () => {
    const pids: number[] = [];
    const logs: string[] = [];
    const out = await bootWithOneRetry(
      w,
      async () => {
        if (pids.length === 0) {
          const q = fakeQemu(w.files.pidFile);
          kids.push(q);
          pids.push(q.pid!);
          await until(() => isOurQemu(q.pid!, w.files.pidFile));
          return waitForGuestSsh({ pid: q.pid!, port: 1 }, 60_000, w, undefined, 200).then(() => 'first');
        }
        pids.push(-1);
        return 'second';
      },
      () => pids[0],
      (s) => logs.push(s),
    );
    expect(out).toBe('second');
    expect(pids.length).toBe(2);
    expect(isOurQemu(pids[0]!, w.files.pidFile)).toBe(false); // killed
    expect(logs.join('\n')).toMatch(/the guest hung during boot; booting once more/);
  });

  it('a second hang, or SSH silent after the guest said ready, is not retried', async () => {
    let calls = 0;
    const hung = () => new BootHungError(w.code, 'hung');
    await expect(
      bootWithOneRetry(
        w,
        async () => {
          calls++;
          throw hung();
        },
        () => undefined,
      ),
    ).rejects.toThrow('hung');
    expect(calls).toBe(2);

    const q = fakeQemu(w.files.pidFile);
    kids.push(q);
    await until(() => isOurQemu(q.pid!, w.files.pidFile));
    calls = 0;
    await expect(
      bootWithOneRetry(
        w,
        async () => {
          calls++;
          throw new WorkbenchError(w.code, 'did not answer SSH within 180 s');
        },
        () => q.pid,
      ),
    ).rejects.toThrow('did not answer SSH');
    expect(calls).toBe(1);
    expect(isOurQemu(q.pid!, w.files.pidFile)).toBe(true); // left alone
  });

  it('a board whose QEMU runs but whose SSH is silent (hung guest): reported with its serial console, our QEMU killed, the caller boots again', async () => {
    const q = fakeQemu(w.files.pidFile);
    kids.push(q);
    await until(() => isOurQemu(q.pid!, w.files.pidFile));
    const runFile = join(dir, 'run.json');
    writeFileSync(runFile, '{}');
    writeFileSync(w.files.serialLog, '[  312.1] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:\n');
    const logs: string[] = [];
    const kind = { what: 'testboard', files: { runFile, pidFile: w.files.pidFile, serialLog: w.files.serialLog }, targetFor: w.targetFor };
    const st = { state: 'unresponsive' as const, pid: q.pid!, port: 1, detail: 'Timed out while waiting for handshake' };
    expect(await checkBeforeBoot(kind, st, { flag: false, option: '--fresh' }, (m) => logs.push(m))).toBeUndefined();
    expect(isOurQemu(q.pid!, w.files.pidFile)).toBe(false);
    expect(existsSync(runFile)).toBe(false);
    expect(logs.join('\n')).toMatch(
      /the testboard hung: QEMU PID \d+ runs but SSH does not answer \(Timed out while waiting for handshake\); last serial lines:\n.*rcu_preempt detected stalls/,
    );
    expect(logs.join('\n')).toMatch(/QEMU stopped with SIGTERM \(PID \d+\); booting the testboard again/);
  });
});
