import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { cacheRoot } from '../../src/core/paths.ts';
import { ExecaRunner } from '../../src/core/runner.ts';
import { listBackups } from '../../src/deploy/backup.ts';
import { DeployError, deployModules, rollback } from '../../src/deploy/deploy.ts';
import { loadLocalJournal, loadRemoteJournal } from '../../src/deploy/journal.ts';
import { repairBeforeListing } from '../../src/deploy/rollback.ts';
import type { Board } from '../../src/target/boards.ts';
import { vboardBoard } from '../../src/target/providers/vboard.ts';
import { SshTarget } from '../../src/target/ssh.ts';
import type { Target } from '../../src/target/types.ts';
import { vboardConnection, vboardDown, vboardUp } from '../../src/vboard/vboard.ts';
import { artifact, loadableVariant, vislBuild } from './testModules.ts';

/**
 * The board's disk full in the middle of a deploy or a rollback, on a
 * private vboard (its own state directory and disk, booted here and stopped
 * at the end: the shared board is never filled). Found by the fault soak
 * (harness/bench/fault-soak.ts, seed 1, 2026-12-02): disk-full @ rollback
 * left `workbench rollback` exiting 0 with visl.ko restored but the record
 * still `active` (cycles 4 and 15), and disk-full @ reload left `deploy`
 * exiting 0 with a backup directory without its record (cycle 14). Neither
 * may end in a silent success: the command fails with a clear error and the
 * next plain command (`backups list`'s repair) makes the records agree with
 * what is installed.
 *
 * The disk is filled the way the soak does it (fallocate of the free space,
 * then dd to the last block, as root) at a chosen point of the real code:
 * through the deploy's onPhase hook, or, for the rollback, just before the
 * first remote command after the modules were reloaded (the record update).
 */
const log = (m: string) => process.stderr.write(`[diskfull] ${m}\n`);
let dir: string;
let t: SshTarget;
let board: Board;
let visl: string;
let dest: string;
let originalSha: string;
const saved = { state: process.env.WORKBENCH_STATE_DIR, config: process.env.WORKBENCH_CONFIG_DIR, accel: process.env.WORKBENCH_VBOARD_ACCEL };

async function sh(script: string, ...args: string[]): Promise<string> {
  return (await t.exec(['sh', '-c', script, 'diskfull', ...args], { timeoutMs: 120_000, allowFailure: true })).stdout.trim();
}
async function sha(path: string): Promise<string> {
  return (await sh('sha256sum "$1" 2>/dev/null || echo missing', path)).split(/\s+/)[0]!;
}
/** Fills the root filesystem (module directory, backups, journal) to its last block. */
async function fill(): Promise<void> {
  log('filling the board disk');
  await sh(
    'a=$(df --output=avail -B1 / | tail -1); fallocate -l $((a - 65536)) /wb-fill 2>/dev/null; dd if=/dev/zero of=/wb-fill2 bs=4k 2>/dev/null; sync; true',
  );
}
async function free(): Promise<void> {
  await sh('rm -f /wb-fill /wb-fill2; sync');
}
async function visLive(): Promise<string> {
  return sh('cat /sys/module/visl/initstate 2>/dev/null || echo absent');
}

/** `target`, but `before()` runs once before the first command after `arm()`. */
function armedTarget(target: Target, before: () => Promise<void>): { target: Target; arm: () => void; fired: () => boolean } {
  let armed = false;
  let fired = false;
  const wrapped = new Proxy(target, {
    get(o, k) {
      if (k === 'exec') {
        return async (...a: Parameters<Target['exec']>) => {
          if (armed && !fired) {
            fired = true;
            await before();
          }
          return o.exec(...a);
        };
      }
      const v = Reflect.get(o, k, o) as unknown;
      return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(o) : v;
    },
  });
  return { target: wrapped, arm: () => (armed = true), fired: () => fired };
}

/** After the repair: no journal anywhere, every backup has its record, the installed visl.ko is the one the records say. */
async function expectConsistent(): Promise<void> {
  expect((await loadRemoteJournal(t)).journal).toBeUndefined();
  expect(await loadLocalJournal(board.name)).toBeUndefined();
  const backups = await listBackups(t);
  expect(backups.filter((b) => !b.record).map((b) => b.id)).toEqual([]);
  const active = backups.find((b) => b.record?.state === 'active');
  expect(await sha(dest)).toBe(active ? active.record!.replaced.find((e) => e.module === 'visl')!.sha256 : originalSha);
  expect(await visLive()).toBe('live');
}

beforeAll(async () => {
  const base = join(dirname(cacheRoot()), 'workbench-int');
  mkdirSync(base, { recursive: true });
  dir = mkdtempSync(join(base, 'diskfull-'));
  process.env.WORKBENCH_STATE_DIR = join(dir, 'state');
  process.env.WORKBENCH_CONFIG_DIR = join(dir, 'config');
  process.env.WORKBENCH_VBOARD_ACCEL ??= 'tcg';
  visl = (await vislBuild()).visl;
  await vboardUp({ runner: new ExecaRunner(), log, bootTimeoutS: 900 });
  const c = vboardConnection();
  t = new SshTarget({
    name: 'vboard',
    host: c.host,
    port: c.port,
    user: c.user,
    identityFile: c.identityFile,
    knownHostsFile: c.knownHostsFile,
    hostKeyAlias: c.hostKeyAlias,
  });
  board = vboardBoard();
  dest = `/lib/modules/${await t.kernelRelease()}/updates/visl.ko`;
  await sh('[ -d /sys/module/visl ] || modprobe visl');
  originalSha = await sha(dest);
});

afterAll(async () => {
  if (t) await free().catch(() => undefined);
  await t?.close();
  await vboardDown({ log }).catch(() => undefined);
  for (const [k, v] of [
    ['WORKBENCH_STATE_DIR', saved.state],
    ['WORKBENCH_CONFIG_DIR', saved.config],
    ['WORKBENCH_VBOARD_ACCEL', saved.accel],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  if (dir) rmSync(dir, { recursive: true, force: true }); // our own mkdtemp directory
});

describe('target disk full during a deploy or a rollback (private vboard)', () => {
  it('disk full when the rollback updates the record (visl.ko already restored): rollback fails with E_RECORD_FAILED naming the cause, never resolves; the next `backups list` marks the deploy rolled back', async () => {
    const variant = loadableVariant(visl, 'R');
    const rec = await deployModules(t, board, [artifact(variant)], { log });
    expect(rec.state).toBe('active');
    expect(await sha(dest)).toBe(artifact(variant).sha256);

    const a = armedTarget(t, fill);
    let err: unknown;
    try {
      await rollback(a.target, board, undefined, {
        log: (m) => {
          log(m);
          // Logged once the restored modules run: the next remote command is the record update.
          if (m.startsWith('modules: ')) a.arm();
        },
      });
    } catch (e) {
      err = e;
    } finally {
      await free();
    }
    expect(a.fired()).toBe(true);
    expect(err, 'rollback must not succeed while its record still says active').toBeDefined();
    expect(isWorkbenchError(err, 'E_RECORD_FAILED'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/restored, but its record could not be marked rolled-back/);
    expect((err as Error).message).toMatch(/No space left on device/);
    expect((err as { hint?: string }).hint).toMatch(/disk is full.*workbench backups list --board vboard/);
    // The files are back; the journal stays for the next command.
    expect(await sha(dest)).toBe(originalSha);
    expect((await loadRemoteJournal(t)).journal?.id).toBe(rec.id);

    const r = await repairBeforeListing(t, board.name, log);
    expect(r).toEqual({});
    expect((await listBackups(t)).find((b) => b.id === rec.id)?.record?.state).toBe('rolled-back');
    await expectConsistent();
  });

  it('disk full at the start of the reload: deploy fails (never resolves), and after the disk is freed the next `backups list` leaves the original visl.ko, no backup without its record, no journal', async () => {
    const variant = loadableVariant(visl, 'S');
    let err: unknown;
    try {
      await deployModules(t, board, [artifact(variant)], {
        log,
        onPhase: async (p) => {
          if (p === 'reload') await fill();
        },
      });
    } catch (e) {
      err = e;
    } finally {
      await free();
    }
    expect(err, 'a deploy whose journal and record could not be written must fail').toBeInstanceOf(DeployError);
    expect((err as Error).message).toMatch(/No space left on device/);
    log(`deploy failed as it must: ${(err as Error).message}`);
    expect(await visLive()).toBe('live');

    expect(await repairBeforeListing(t, board.name, log)).toEqual({});
    await expectConsistent();
    expect(await sha(dest)).toBe(originalSha);
  });

  it('disk full just before the deploy writes its record (verified, phase done): deploy fails with E_RECORD_FAILED; the next `backups list` undoes it and records it failed', async () => {
    const variant = loadableVariant(visl, 'T');
    const before = (await listBackups(t)).map((b) => b.id);
    let err: unknown;
    try {
      await deployModules(t, board, [artifact(variant)], {
        log,
        onPhase: async (p) => {
          if (p === 'done') await fill();
        },
      });
    } catch (e) {
      err = e;
    } finally {
      await free();
    }
    expect(err, 'a deploy whose record could not be written must fail').toBeInstanceOf(DeployError);
    expect(isWorkbenchError(err, 'E_RECORD_FAILED'), String(err)).toBe(true);
    expect((err as DeployError).rolledBack).toBe(false);

    expect(await repairBeforeListing(t, board.name, log)).toEqual({});
    await expectConsistent();
    expect(await sha(dest)).toBe(originalSha);
    const id = (err as DeployError).record!.id;
    expect(before).not.toContain(id);
    expect((await listBackups(t)).find((b) => b.id === id)?.record?.state).toBe('failed');
  });
});
