import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { WorkbenchError, isWorkbenchError } from '../../src/core/errors.ts';
import { loadLocalJournal, saveLocalJournal, type Journal } from '../../src/deploy/journal.ts';
import { unloadRetry } from '../../src/deploy/modgraph.ts';
import { reachIfInterrupted, repairBeforeListing, repairInterrupted, rollback } from '../../src/deploy/rollback.ts';
import { vboardBoard } from '../../src/target/providers/vboard.ts';
import { FakeTarget, type FakeCall } from '../target/fakeTarget.ts';
import { scriptNameOf } from '../../src/core/scripts.ts';

/**
 * Repairs that cannot unload a module (fake board): what the error says,
 * that the failure is recorded in the board's journal, that a read-only
 * look does not retry it, and that a board with power control is
 * power-cycled exactly once and the repair finished on the new connection.
 */
const REL = '7.2.13+deb14-amd64';
const DIR = `/lib/modules/${REL}/updates`;
const ID = '20261202T000000Z-beef';
const pending: Journal = {
  version: 1,
  kind: 'deploy',
  id: ID,
  board: 'vboard',
  phase: 'reload',
  release: REL,
  moduleDir: DIR,
  backupDir: `/var/lib/workbench/backups/${ID}`,
  entries: [
    { module: 'visl', dest: `${DIR}/visl.ko`, existed: true, backupFile: 'visl.ko', previousSha256: 'aaaa', sha256: 'bbbb', wasLoaded: true, holders: [] },
  ],
  reloadAfterRestore: ['visl'],
  startedAt: '2026-12-02T00:00:00Z',
  owner: { host: 'elsewhere', pid: 1 },
};

function step(c: FakeCall): string {
  if (c.kind !== 'exec') return c.kind;
  const script = scriptNameOf(c.argv);
  if (script === 'boardLock') return `lock-${c.argv[4]}`;
  if (script === 'modstate') return c.argv[4] === '--why' ? 'why' : 'modstate';
  if (script === 'modswap') return 'swap';
  if (script === 'restore' || script === 'finish' || script === 'journal') return script;
  if (script === 'listBackups') return 'list';
  const s = c.argv[2] ?? '';
  if (s.includes('[ -e "$1" ] && cat "$1" || true')) return 'read-journal';
  return c.argv[0]!;
}

/** A board where visl is held open by PID 812 (`stuck`), or where the swap hangs after the unload (`hung`: the command times out), or neither. */
function board(st: { journal?: string; stuck: boolean; hung?: boolean }): FakeTarget {
  return new FakeTarget('vboard', (argv, input) => {
    const k = step({ kind: 'exec', argv });
    if (input) st.journal = input;
    switch (k) {
      case 'lock-acquire':
        return { stdout: 'acquired\n' };
      case 'read-journal':
        return { stdout: st.journal ?? '' };
      case 'list':
        return { stdout: st.journal ? `journal\t${st.journal}\n` : '' };
      case 'restore':
        return { stdout: `restored\t${DIR}/visl.ko\taaaa\n` };
      case 'modstate':
        return { stdout: `mod\tvisl\tlive\t${st.stuck ? 1 : 0}\t\t\nmod\tv4l2_mem2mem\tlive\t1\t\tvisl\nfile\tvisl\t${DIR}/visl.ko\t\tv4l2-mem2mem\n` };
      case 'why':
        return { stdout: `mod\tvisl\tlive\t1\t\t\nopen\t812\tgst-launch-1.0\t/dev/video0\tvisl\n` };
      case 'swap':
        if (st.hung) return { exitCode: -1, timedOut: true, stdout: 'unloaded\tvisl\n' };
        return st.stuck
          ? { exitCode: 4, stdout: 'unload-failed\tvisl\n', stderr: 'rmmod: ERROR: Module visl is in use' }
          : { stdout: 'unloaded\tvisl\nloaded\tvisl\n' };
      case 'finish':
        st.journal = undefined;
        return {};
      default:
        return {};
    }
  });
}

beforeEach(() => {
  unloadRetry.delayMs = 0;
  process.env.WORKBENCH_STATE_DIR = mkdtempSync(join(tmpdir(), 'wb-state-'));
});

describe('a repair that cannot unload a module', () => {
  it('without power control: E_ROLLBACK_FAILED names the process and what to do; the failure is recorded; the next read-only look does not retry; the next rollback retries and says which attempt', async () => {
    const st = { journal: JSON.stringify(pending), stuck: true };
    const t = board(st);
    const err = await repairInterrupted(t, 'vboard', () => undefined).catch((e) => e);
    expect(isWorkbenchError(err, 'E_ROLLBACK_FAILED')).toBe(true);
    expect(err.message).toContain('module visl could not be unloaded: rmmod: ERROR: Module visl is in use');
    expect(err.message).toContain('gst-launch-1.0 (PID 812) holds /dev/video0 (visl)');
    expect(err.message).toContain('(repair attempt 1, first failure ');
    expect(err.hint).toContain('kill 812');
    expect(err.hint).toContain('run `workbench rollback --board vboard` to finish this repair');
    expect(err.hint).toContain('has no power control');
    const j = JSON.parse(st.journal!) as Journal;
    expect(j.repair).toMatchObject({ attempts: 1 });
    expect(j.repair!.powerCycledAt).toBeUndefined();

    // read-only: not retried (no restore, no module change), says why
    const calls = t.calls.length;
    const r = await repairInterrupted(t, 'vboard', () => undefined, undefined, { unlessFailedBefore: true });
    expect(r).toMatchObject({ action: 'pending', id: ID, repair: { attempts: 1 } });
    expect(t.calls.slice(calls).map(step)).toEqual(['read-journal']);

    // rollback tries again (the process may be gone now): attempt 2
    const err2 = await rollback(t, vboardBoard(), undefined, { log: () => undefined }).catch((e) => e);
    expect(err2.message).toContain('(repair attempt 2, first failure ');
    // the process is gone: the next rollback finishes the repair
    st.stuck = false;
    const logs: string[] = [];
    expect(await rollback(t, vboardBoard(), undefined, { log: (m) => logs.push(m) })).toEqual([]);
    expect(logs.join('\n')).toMatch(/attempt 3; the last one failed: .*module visl could not be unloaded/);
    expect(st.journal).toBeUndefined();
  });

  it('with power control: power-cycled exactly once, said in the log, the repair finishes on the new connection; a failure after the power cycle never cycles again', async () => {
    const st = { journal: JSON.stringify(pending), stuck: true };
    const t = board(st);
    const fresh = { journal: undefined as string | undefined, stuck: false };
    let cycles = 0;
    let after: FakeTarget | undefined;
    let recordedBefore: string | undefined;
    const logs: string[] = [];
    const r = await repairInterrupted(
      {
        target: t,
        log: (m) => logs.push(m),
        powerCycle: async () => {
          cycles++;
          recordedBefore = (JSON.parse(st.journal!) as Journal).repair?.powerCycledAt;
          fresh.journal = st.journal; // the journal is on the board's disk: it survives the power cycle
          after = board(fresh);
          return after;
        },
      },
      'vboard',
      (m) => logs.push(m),
    );
    expect(r.action).toBe('rolled-back');
    expect(cycles).toBe(1);
    expect(logs.filter((l) => l.includes('power-cycling board vboard once to finish the repair'))).toHaveLength(1);
    expect(logs.join('\n')).toMatch(/gst-launch-1.0 \(PID 812\) holds \/dev\/video0/);
    // recorded before the cycle, so an interrupted repair never cycles twice
    expect(recordedBefore).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(after!.calls.map(step)).toEqual(['restore', 'modstate', 'swap', 'finish']);
    expect(fresh.journal).toBeUndefined();

    // still stuck after a power cycle: no second cycle, a clear error
    const st2 = { journal: JSON.stringify(pending), stuck: true };
    const t2 = board(st2);
    let cycles2 = 0;
    const err = await repairInterrupted({ target: t2, log: () => undefined, powerCycle: async () => (cycles2++, t2) }, 'vboard', () => undefined).catch(
      (e) => e,
    );
    expect(cycles2).toBe(1);
    expect(isWorkbenchError(err, 'E_ROLLBACK_FAILED')).toBe(true);
    const err2 = await repairInterrupted({ target: t2, log: () => undefined, powerCycle: async () => (cycles2++, t2) }, 'vboard', () => undefined).catch(
      (e) => e,
    );
    expect(cycles2).toBe(1);
    expect(err2.hint).toMatch(/the board was power-cycled at \S+ and the module still cannot be replaced/);
  });
});

describe('a repair whose module swap hangs (the kernel is stuck, e.g. after an oops)', () => {
  it('with power control: E_MODULE_STUCK leads to the one power cycle, and the repair finishes on the new connection', async () => {
    const st = { journal: JSON.stringify(pending), stuck: false, hung: true };
    const fresh = { journal: undefined as string | undefined, stuck: false };
    let cycles = 0;
    let after: FakeTarget | undefined;
    const logs: string[] = [];
    const r = await repairInterrupted(
      {
        target: board(st),
        log: (m) => logs.push(m),
        powerCycle: async () => {
          cycles++;
          fresh.journal = st.journal;
          after = board(fresh);
          return after;
        },
      },
      'vboard',
      (m) => logs.push(m),
    );
    expect(r.action).toBe('rolled-back');
    expect(cycles).toBe(1);
    expect(logs.join('\n')).toMatch(/the module swap hung at the step after "unloaded visl" .*: power-cycling board vboard once/);
    expect(after!.calls.map(step)).toEqual(['restore', 'modstate', 'swap', 'finish']);
  });

  it('without power control: E_ROLLBACK_FAILED, recorded, never a quiet success', async () => {
    const st = { journal: JSON.stringify(pending), stuck: false, hung: true };
    const err = await repairInterrupted({ target: board(st), log: () => undefined }, 'vboard', () => undefined).catch((e: unknown) => e);
    expect(isWorkbenchError(err, 'E_ROLLBACK_FAILED'), String(err)).toBe(true);
    expect((JSON.parse(st.journal!) as Journal).repair?.lastError).toMatch(/hung/);
  });
});

describe('the repair `workbench backups list` runs first', () => {
  /** The journal a power loss at the start of the upload leaves (nothing replaced yet). */
  const atUpload: Journal = { ...pending, phase: 'backup' };
  const discardScript = 'rm -rf "$1"; for d in "$2"';

  it('a board that does not answer yet (just switched on, loaded host): tried again until it answers, then the partial backup is discarded', async () => {
    const st = { journal: JSON.stringify(atUpload) as string | undefined, down: 3 };
    const logs: string[] = [];
    const t = new FakeTarget('vboard', (argv) => {
      if (st.down > 0) {
        st.down--;
        throw new WorkbenchError('E_UNREACHABLE', 'board vboard unreachable at 127.0.0.1:2222 after 3 attempt(s) over 20.0 s');
      }
      const k = step({ kind: 'exec', argv });
      if (k === 'lock-acquire') return { stdout: 'acquired\n' };
      if (k === 'read-journal') return { stdout: st.journal ?? '' };
      if ((argv[2] ?? '').startsWith(discardScript)) st.journal = undefined;
      return {};
    });
    await saveLocalJournal(atUpload); // this machine ran the deploy: it knows it was interrupted
    const r = await repairBeforeListing(t, 'vboard', (m) => logs.push(m), { retryDelayMs: 0 });
    expect(r).toEqual({});
    expect(st.journal).toBeUndefined();
    expect(await loadLocalJournal('vboard')).toBeUndefined();
    expect(
      logs.filter((l) => /^board vboard does not answer .* its deploy \S+ was interrupted \(phase backup\): trying again for up to 180 s/.test(l)),
    ).toHaveLength(1);
    expect(logs.join('\n')).toContain(`discarded the partial backup ${ID}`);
  });

  it('a board that never answers: E_UNREACHABLE once the wait is over (never a quiet success); without an interrupted operation known here, at once', async () => {
    let calls = 0;
    const t = new FakeTarget('vboard', () => {
      calls++;
      throw new WorkbenchError('E_UNREACHABLE', 'board vboard unreachable');
    });
    const err = await repairBeforeListing(t, 'vboard', () => undefined, { reachMs: 50, retryDelayMs: 10 }).catch((e) => e);
    expect(isWorkbenchError(err, 'E_UNREACHABLE')).toBe(true);
    expect(calls).toBe(1);
    await saveLocalJournal(atUpload);
    const err2 = await repairBeforeListing(t, 'vboard', () => undefined, { reachMs: 50, retryDelayMs: 10 }).catch((e) => e);
    expect(isWorkbenchError(err2, 'E_UNREACHABLE')).toBe(true);
    expect(calls).toBeGreaterThan(2);
  });

  it('deploy and rollback wait the same way for a board whose interrupted operation this machine knows of (first contact only)', async () => {
    let down = 2;
    const seen: string[] = [];
    const t = new FakeTarget('vboard', (argv) => {
      seen.push(argv.join(' '));
      if (down-- > 0) throw new WorkbenchError('E_UNREACHABLE', 'board vboard unreachable');
      return {};
    });
    await reachIfInterrupted(t, 'vboard', () => undefined, { retryDelayMs: 0 });
    expect(seen).toEqual([]); // nothing interrupted known here: no round trip
    await saveLocalJournal(atUpload);
    const logs: string[] = [];
    await reachIfInterrupted(t, 'vboard', (m) => logs.push(m), { retryDelayMs: 0 });
    expect(seen).toEqual(['true', 'true', 'true']);
    expect(logs).toHaveLength(1);
  });

  it('a repair that fails without a record on the board (the discard itself fails): returned as `failed`, not swallowed', async () => {
    const t = new FakeTarget('vboard', (argv) => {
      const k = step({ kind: 'exec', argv });
      if (k === 'lock-acquire') return { stdout: 'acquired\n' };
      if (k === 'read-journal') return { stdout: JSON.stringify(atUpload) };
      if ((argv[2] ?? '').startsWith(discardScript)) return { exitCode: 1, stderr: 'rm: cannot remove: Read-only file system' };
      return {};
    });
    const r = await repairBeforeListing(t, 'vboard', () => undefined, { retryDelayMs: 0 });
    expect(r.pending).toBeUndefined();
    expect(r.failed?.message).toContain('Read-only file system');
  });

  it('a module that cannot be unloaded: the failure is recorded on the board, so it is reported as pending (listing goes on), and not retried next time', async () => {
    const st = { journal: JSON.stringify(pending), stuck: true };
    const t = board(st);
    const r = await repairBeforeListing(t, 'vboard', () => undefined, { retryDelayMs: 0 });
    expect(r.failed).toBeUndefined();
    expect(r.pending).toMatch(
      new RegExp(`^deploy ${ID} is not repaired: its last repair \\(attempt 1, first failure \\S+\\) failed: .*visl could not be unloaded`),
    );
    const calls = t.calls.length;
    expect((await repairBeforeListing(t, 'vboard', () => undefined)).pending).toContain('attempt 1');
    expect(t.calls.slice(calls).map(step)).toEqual(['lock-acquire', 'read-journal', 'lock-release']);
  });
});
