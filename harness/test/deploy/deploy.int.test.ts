import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deployModules, rollback, DeployError } from '../../src/deploy/deploy.ts';
import { listBackups } from '../../src/deploy/backup.ts';
import { loadLocalJournal } from '../../src/deploy/journal.ts';
import { REMOTE_JOURNAL } from '../../src/deploy/remote.ts';
import { isWorkbenchError } from '../../src/core/errors.ts';
import type { Board } from '../../src/target/boards.ts';
import { vboardBoard } from '../../src/target/providers/vboard.ts';
import { SshTarget, type SshOptions } from '../../src/target/ssh.ts';
import { testSshOptions } from '../target/fixture.ts';
import { TcpProxy } from '../target/tcpProxy.ts';
import { artifact, brokenVariant, loadableVariant, vislBuild } from './testModules.ts';

/**
 * Deploy on the real vboard with its out-of-tree visl.ko. Every test ends
 * with the board as it started: the image's visl.ko installed and loaded,
 * no journal.
 */
/** Other users of the shared vboard (a decode in progress) may hold /dev/video0 for a while. */
const W = { busyWaitMs: 180_000 };
let base: SshOptions;
let t: SshTarget;
let board: Board;
let visl: string;
let release: string;
let dest: string;
let originalSha: string;

async function sha(path: string): Promise<string> {
  return (await t.exec(['sha256sum', path])).stdout.split(/\s+/)[0]!;
}
async function vislState(): Promise<string> {
  return (await t.exec(['sh', '-c', 'cat /sys/module/visl/initstate 2>/dev/null || echo absent'])).stdout.trim();
}
async function journalExists(): Promise<boolean> {
  return (await t.exec(['sh', '-c', '[ -e "$1" ] && echo yes || echo no', 'x', REMOTE_JOURNAL])).stdout.trim() === 'yes';
}
/** The known state every test must leave: original visl.ko, loaded, no journal. */
async function expectKnownState(): Promise<void> {
  expect(await sha(dest)).toBe(originalSha);
  expect(await vislState()).toBe('live');
  expect(await journalExists()).toBe(false);
}

beforeAll(async () => {
  base = await testSshOptions();
  t = new SshTarget(base);
  board = vboardBoard();
  visl = (await vislBuild()).visl;
  release = await t.kernelRelease();
  dest = `/lib/modules/${release}/updates/visl.ko`;
  // Start from the known state (the image ships this visl.ko, loaded at boot or by a decode).
  await t.exec(['sh', '-c', '[ -d /sys/module/visl ] || modprobe visl']);
  originalSha = await sha(dest);
});
afterEach(async () => {
  // Safety net for the next test and for other users of the vboard.
  await t.exec(['sh', '-c', '[ -d /sys/module/visl ] || modprobe visl']).catch(() => undefined);
});
afterAll(async () => {
  await t?.close();
});

describe('deploy on the vboard', () => {
  it('normal deploy + rollback cycle: backup, replace, reload, verify; rollback restores the previous file and module', async () => {
    const variant = loadableVariant(visl, 'Z');
    const a = artifact(variant);
    expect(a.sha256).not.toBe(originalSha);
    const phases: string[] = [];
    const rec = await deployModules(t, board, [a], { ...W, onPhase: (p) => void phases.push(p) });
    expect(phases).toEqual(['preflight', 'backup', 'upload', 'install', 'reload', 'verify', 'done']);
    expect(rec.state).toBe('active');
    expect(rec.replaced).toEqual([
      expect.objectContaining({ module: 'visl', dest, existed: true, previousSha256: originalSha, sha256: a.sha256, wasLoaded: true }),
    ]);
    expect(rec.loaded).toContain('visl');
    expect(rec.kernelLogFindings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(rec.bindings[0]!.bound).toContain('visl.0');
    // The new file is in place and the new module is the one loaded.
    expect(await sha(dest)).toBe(a.sha256);
    expect(await vislState()).toBe('live');
    expect((await t.exec(['cat', `${rec.backupDir}/SHA256SUMS`])).stdout).toContain(originalSha);
    const listed = await listBackups(t);
    expect(listed[0]!.id).toBe(rec.id);
    expect(listed[0]!.record!.state).toBe('active');

    const undone = await rollback(t, board);
    expect(undone.map((r) => r.id)).toEqual([rec.id]);
    expect((await listBackups(t)).find((b) => b.id === rec.id)!.record!.state).toBe('rolled-back');
    await expectKnownState();
  });

  it('rollback --to ID undoes every deploy back to and including ID, newest first', async () => {
    const first = await deployModules(t, board, [artifact(loadableVariant(visl, 'A'))], W);
    const second = await deployModules(t, board, [artifact(loadableVariant(visl, 'B'))], W);
    expect(second.replaced[0]!.previousSha256).toBe(first.replaced[0]!.sha256);
    const undone = await rollback(t, board, first.id);
    expect(undone.map((r) => r.id)).toEqual([second.id, first.id]);
    await expectKnownState();
  });

  it('a module that fails to load (bad module parameter value) is rolled back automatically', async () => {
    const a = artifact(loadableVariant(visl, 'P'));
    const err = await deployModules(t, board, [a], { ...W, params: { visl: ['bitstream_trace_nframes=notanumber'] } }).catch((e) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect(err.code).toBe('E_MODULE_LOAD');
    expect(err.rolledBack).toBe(true);
    expect(err.message).toMatch(/rolled back/);
    // The kernel's reason is in the findings.
    expect(err.record.kernelLogFindings.map((f: { line: string }) => f.line).join('\n')).toMatch(
      /`notanumber' invalid for parameter `bitstream_trace_nframes'/,
    );
    await expectKnownState();
  });

  it('a broken build (wrong struct module size) is refused by the kernel and rolled back automatically', async () => {
    const a = artifact(brokenVariant(visl));
    const err = await deployModules(t, board, [a], W).catch((e) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect(err.code).toBe('E_MODULE_LOAD');
    expect(err.rolledBack).toBe(true);
    expect(err.record.kernelLogFindings.some((f: { kind: string }) => f.kind === 'module_error')).toBe(true);
    const backups = await listBackups(t);
    expect(backups[0]!.record!.state).toBe('failed');
    await expectKnownState();
  });

  it('a wrong kernel release is refused before anything changes, showing both releases', async () => {
    const a = { ...artifact(visl), vermagic: '7.1.0-rc1 SMP preempt mod_unload' };
    const before = (await listBackups(t)).length;
    const err = await deployModules(t, board, [a], W).catch((e) => e);
    expect(isWorkbenchError(err, 'E_VERMAGIC_MISMATCH')).toBe(true);
    expect(err.message).toContain('7.1.0-rc1');
    expect(err.message).toContain(release);
    expect((await listBackups(t)).length).toBe(before);
    await expectKnownState();
  });

  it('a full disk stops the deploy before anything is replaced', async () => {
    const mnt = '/mnt/wb-full-test';
    await t.exec([
      'sh',
      '-c',
      'mkdir -p "$1" && mount -t tmpfs -o size=4m tmpfs "$1" && cp /lib/modules/$(uname -r)/updates/visl.ko "$1/visl.ko" && (dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null; true)',
      'x',
      mnt,
    ]);
    try {
      const small: Board = { ...board, moduleDir: mnt };
      const before = (await listBackups(t)).length;
      const fillSha = await sha(`${mnt}/visl.ko`);
      const err = await deployModules(t, small, [artifact(loadableVariant(visl, 'F'))], W).catch((e) => e);
      expect(isWorkbenchError(err, 'E_DISK_FULL')).toBe(true);
      expect(err.message).toContain('nothing was replaced');
      expect(err.message).toContain(mnt);
      expect(await sha(`${mnt}/visl.ko`)).toBe(fillSha);
      expect((await listBackups(t)).length).toBe(before);
      expect((await t.exec(['sh', '-c', 'ls -a "$1" | grep -c "^\\.wb-" || true', 'x', mnt])).stdout.trim()).toBe('0');
    } finally {
      await t.exec(['sh', '-c', 'umount "$1" && rmdir "$1"', 'x', mnt]);
    }
    await expectKnownState();
  });

  it('the SSH connection cut in the middle of a deploy: the deploy reports it, the next command repairs the board', async () => {
    const proxy = new TcpProxy(base.host, base.port);
    const port = await proxy.start();
    const cut = new SshTarget({ ...base, port, reconnectBudgetMs: 2000, keepaliveMs: 1000, keepaliveCountMax: 2 });
    try {
      const a = artifact(loadableVariant(visl, 'C'));
      const err = await deployModules(cut, board, [a], {
        ...W,
        onPhase: (p) => {
          // Pull the cable while the reload runs on the board (after the new file is installed).
          if (p === 'reload') setTimeout(() => proxy.cut(true), 150);
        },
      }).catch((e) => e);
      expect(err).toBeInstanceOf(DeployError);
      expect(err.rolledBack).toBe(false);
      expect(['E_CONNECTION_LOST', 'E_UNREACHABLE']).toContain(err.code);
      expect(err.hint).toMatch(/next `workbench deploy` or `workbench rollback/);
      // The board keeps the journal; so does this machine.
      expect(await journalExists()).toBe(true);
      expect((await loadLocalJournal('vboard'))?.id).toBe(err.record.id);
      // Network back: the next command (here: rollback) finds the journal and restores the board.
      proxy.restore();
      const again = new SshTarget({ ...base, port });
      try {
        const logs: string[] = [];
        await rollback(again, board, undefined, { log: (m) => logs.push(m) }).catch((e) => {
          if (!isWorkbenchError(e, 'E_NOTHING_TO_ROLL_BACK')) throw e;
        });
        expect(logs.join('\n')).toMatch(/interrupted deploy .* repairing/);
      } finally {
        await again.close();
      }
      expect(await loadLocalJournal('vboard')).toBeUndefined();
      await expectKnownState();
    } finally {
      await cut.close();
      await proxy.stop();
    }
  });
});
