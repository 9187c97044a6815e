import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { listBackups } from '../../src/deploy/backup.ts';
import { deployModules, rollback } from '../../src/deploy/deploy.ts';
import { loadRemoteJournal } from '../../src/deploy/journal.ts';
import { readModState } from '../../src/deploy/modgraph.ts';
import { powerCycleFor } from '../../src/deploy/power.ts';
import { repairInterrupted } from '../../src/deploy/rollback.ts';
import type { ModuleArtifact } from '../../src/deploy/types.ts';
import { buildSeries } from '../../src/kernel/stage.ts';
import type { Board } from '../../src/target/boards.ts';
import { vboardBoard, vboardProvider } from '../../src/target/providers/vboard.ts';
import { SshTarget } from '../../src/target/ssh.ts';
import { testSshOptions } from '../target/fixture.ts';
import { artifact, loadableVariant, vislBuild } from './testModules.ts';
import { ExecaRunner } from '../../src/core/runner.ts';
import { workbenchCli } from '../cli/workbenchCli.ts';

/**
 * Restore from any board state, on the real vboard. Each test sets up the
 * module state it needs itself (the state a real `workbench iterate`
 * leaves: the series' four modules and visl loaded, rockchip_vdec holding
 * the helpers), so the tests pass in any order and right after an iterate.
 */
let t: SshTarget;
let board: Board;
let build: ModuleArtifact[];
let visl: string;
let m2m: string;
const log = (m: string) => process.stderr.write(`[deploy] ${m}\n`);
const W = { busyWaitMs: 180_000, log };
/** The CLI and the power cycle reach the board through the vboard's state (not WB_TEST_SSH). */
const realVboard = !process.env.WB_TEST_SSH;

async function sha(path: string): Promise<string> {
  return (await t.exec(['sha256sum', path])).stdout.split(/\s+/)[0]!;
}
async function live(name: string): Promise<boolean> {
  return (await t.exec(['sh', '-c', 'cat /sys/module/$1/initstate 2>/dev/null || echo absent', 'x', name])).stdout.trim() === 'live';
}
async function dest(file: string): Promise<string> {
  return `/lib/modules/${await t.kernelRelease()}/updates/${file}`;
}

/**
 * The module state a real `workbench iterate` leaves on the vboard: the
 * series' build deployed (rockchip_vdec, v4l2_mem2mem, v4l2_h264,
 * v4l2_vp9) and visl loaded by the decode stage. Reached from any state
 * (the deploy itself plans from the kernel's graph).
 */
async function afterIterate(): Promise<void> {
  await deployModules(t, board, build, W);
  await t.exec(['modprobe', 'visl']);
  const s = await readModState(t, []);
  expect(s.loaded.get('v4l2_vp9')?.holders).toContain('rockchip_vdec');
  expect(s.loaded.get('v4l2_mem2mem')?.holders).toEqual(expect.arrayContaining(['rockchip_vdec', 'visl']));
}

const cli = (args: string[], timeout = 900_000) => workbenchCli(args, timeout);

/** A new connection to the test board, retried while its SSH is slow to answer (a loaded host after a boot). */
async function reconnect(): Promise<SshTarget> {
  for (let i = 0; ; i++) {
    try {
      return new SshTarget(await testSshOptions());
    } catch (e) {
      if (i >= 5) throw e;
      await new Promise((r) => setTimeout(r, 15_000));
    }
  }
}

beforeAll(async () => {
  t = new SshTarget(await testSshOptions());
  board = vboardBoard();
  const b = await buildSeries({ runner: new ExecaRunner(), target: 'amd64', log: (m) => process.stderr.write(`[build] ${m}\n`) });
  expect(b.ok).toBe(true);
  build = b.modules.map((m) => ({ name: m.name, path: m.path, vermagic: m.vermagic, sha256: m.sha256 }));
  ({ visl, m2m } = await vislBuild());
});
afterAll(async () => {
  await t?.close();
});

describe('deploy and restore from any board state (vboard)', () => {
  it('after an iterate, deploying the four built modules in build order succeeds (holders unloaded first) and rolls back', async () => {
    await afterIterate();
    expect(build.map((m) => m.name)).toEqual(['rockchip-vdec', 'v4l2-mem2mem', 'v4l2-h264', 'v4l2-vp9']);
    const rec = await deployModules(t, board, build, W);
    expect(rec.state).toBe('active');
    for (const n of ['rockchip_vdec', 'v4l2_mem2mem', 'v4l2_h264', 'v4l2_vp9', 'visl']) expect(await live(n), n).toBe(true);
    const [undone] = await rollback(t, board, undefined, { log });
    expect(undone!.id).toBe(rec.id);
    for (const n of ['rockchip_vdec', 'v4l2_mem2mem', 'v4l2_h264', 'v4l2_vp9', 'visl']) expect(await live(n), n).toBe(true);
    expect((await loadRemoteJournal(t)).journal).toBeUndefined();
  });

  it.runIf(realVboard)(
    'after an iterate, `workbench deploy --board vboard --modules` (build order) and `workbench deploy --board vboard` (current build) exit 0',
    async () => {
      await afterIterate();
      const a = await cli(['deploy', '--board', 'vboard', '--modules', ...build.map((m) => m.path)]);
      expect(a.stderr).not.toMatch(/E_MODULE_UNLOAD|E_ROLLBACK_FAILED/);
      expect(a.code).toBe(0);
      expect(a.stdout).toMatch(/^deployed \S+ to vboard/m);
      const b = await cli(['deploy', '--board', 'vboard']);
      expect(b.code).toBe(0);
      expect(b.stderr).toMatch(/no --modules: deploying the current build of the series for vboard/);
      expect(b.stdout).toMatch(/rockchip_vdec: \/lib\/modules\/.*\/updates\/rockchip-vdec\.ko \(replaced/);
      const c = await cli(['rollback', '--board', 'vboard', '--to', /^deployed (\S+)/m.exec(a.stdout)![1]!]);
      expect(c.code).toBe(0);
      for (const n of ['rockchip_vdec', 'v4l2_mem2mem', 'v4l2_h264', 'v4l2_vp9', 'visl']) expect(await live(n), n).toBe(true);
    },
  );

  it('a restore while modules the backup never knew hold the restored module (loaded after the deploy): they are unloaded first and loaded again', async () => {
    await afterIterate();
    const d = await dest('v4l2-mem2mem.ko');
    const before = await sha(d);
    // a deploy of v4l2_mem2mem while nothing but visl holds it
    await t.exec(['sh', '-c', 'rmmod rockchip_vdec']);
    const rec = await deployModules(t, board, [artifact(loadableVariant(m2m, 'L'))], W);
    expect(rec.replaced[0]!.holders).not.toContain('rockchip_vdec');
    // later, by hand: rockchip_vdec (and through it v4l2_vp9, v4l2_h264) comes back and holds v4l2_mem2mem
    await t.exec(['modprobe', 'rockchip_vdec']);
    expect((await readModState(t, [])).loaded.get('v4l2_mem2mem')?.holders).toContain('rockchip_vdec');
    const logs: string[] = [];
    await rollback(t, board, undefined, { log: (m) => (logs.push(m), log(m)) });
    expect(await sha(d)).toBe(before);
    for (const n of ['rockchip_vdec', 'v4l2_mem2mem', 'v4l2_h264', 'v4l2_vp9', 'visl']) expect(await live(n), n).toBe(true);
    expect(logs.join('\n')).toMatch(/unloaded rockchip_vdec, .*v4l2_mem2mem; loaded v4l2_mem2mem, .*rockchip_vdec/);
  });

  // Both ran green end to end on an idle 2-core machine (2026-12-02: 49 s and
  // 39 s); on a loaded one, reconnecting after the power cycle once timed out.
  it.runIf(realVboard)(
    'a process holding /dev/video0 blocks the unload: the error names it (PID, command, device); backups list still works; with power control the board is power-cycled once and repaired',
    async () => {
      await afterIterate();
      const d = await dest('visl.ko');
      const original = await sha(d);
      const rec = await deployModules(t, board, [artifact(loadableVariant(visl, 'K'))], W);
      // a process that keeps visl's device open
      const video = (
        await t.exec(['sh', '-c', 'for v in /sys/module/visl/drivers/*/*/video4linux/video*; do echo /dev/${v##*/}; done | head -n1'])
      ).stdout.trim();
      expect(video).toMatch(/^\/dev\/video\d+$/);
      const pid = Number(
        (await t.exec(['sh', '-c', 'setsid sh -c \'exec 3<"$1"; exec sleep 900\' holder "$1" >/dev/null 2>&1 & echo $!', 'x', video])).stdout.trim(),
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(await live('visl')).toBe(true);

      // no power control: E_ROLLBACK_FAILED naming the process, recorded on the board
      const err = await rollback(t, board, undefined, { log }).catch((e) => e);
      expect(isWorkbenchError(err, 'E_ROLLBACK_FAILED')).toBe(true);
      expect(err.message).toContain(`sleep (PID ${pid}) holds ${video} (visl)`);
      expect(err.hint).toContain(`kill ${pid}`);
      expect(err.hint).toContain('workbench rollback --board vboard');
      expect((await loadRemoteJournal(t)).journal?.repair?.attempts).toBe(1);
      // a read-only look does not retry it, and works
      const pending = await repairInterrupted(t, 'vboard', log, undefined, { unlessFailedBefore: true });
      expect(pending.action).toBe('pending');
      expect((await listBackups(t)).find((b) => b.id === rec.id)).toBeDefined();
      expect(await live('visl')).toBe(true); // the board still runs a working module (the deployed one)

      if (!realVboard) {
        await t.exec(['kill', String(pid)]);
        await rollback(t, board, undefined, { log });
        expect(await sha(d)).toBe(original);
        return;
      }
      // with power control (the vboard's is QEMU): one power cycle, then the repair finishes
      const logs: string[] = [];
      const started = Date.now();
      const powerCycle = powerCycleFor(board, t, new ExecaRunner(), vboardProvider)!;
      expect(powerCycle).toBeDefined();
      try {
        await rollback(t, board, undefined, { log: (m) => (logs.push(m), log(m)), powerCycle });
      } finally {
        // the vboard comes back on another port: later tests need a new connection (SSH may be slow to answer on a loaded host)
        await t.close();
        t = await reconnect();
      }
      process.stderr.write(`[measure] repair with one power cycle: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      expect(logs.filter((l) => /power-cycling board vboard once/.test(l))).toHaveLength(1);
      expect(logs.join('\n')).toMatch(/repair of \S+ finished after one power cycle/);
      expect(await sha(d)).toBe(original);
      expect(await live('visl')).toBe(true);
      expect((await loadRemoteJournal(t)).journal).toBeUndefined();
      expect((await listBackups(t)).find((b) => b.id === rec.id)?.record?.state).toBe('rolled-back');
    },
  );

  it.runIf(realVboard)('two deploys at once: the second waits ("board vboard held by PID … on … since …"), both end with a working module', async () => {
    await afterIterate();
    const d = await dest('visl.ko');
    const original = await sha(d);
    const [a, b] = await Promise.all([
      cli(['deploy', '--board', 'vboard', '--modules', loadableVariant(visl, 'A')]),
      new Promise((r) => setTimeout(r, 1500)).then(() => cli(['deploy', '--board', 'vboard', '--modules', loadableVariant(visl, 'B')])),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const waited = [a, b].find((r) => /held by PID/.test(r.stderr));
    expect(waited?.stderr).toMatch(new RegExp(`board vboard held by PID \\d+ on ${hostname()} since \\d{4}-\\d\\d-\\d\\dT\\S+ \\(deploy\\)`));
    // never interleaved: the second deploy backed up the first one's file
    const recs = (await listBackups(t)).filter((r) => r.record?.state === 'active').map((r) => r.record!);
    expect(recs[0]!.replaced[0]!.previousSha256).toBe(recs[1]!.replaced[0]!.sha256);
    expect(await live('visl')).toBe(true);
    await rollback(t, board, recs[1]!.id, { log });
    expect(await sha(d)).toBe(original);
  });
});
