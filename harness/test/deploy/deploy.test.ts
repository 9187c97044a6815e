import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { bindingLogLines, deployModules, DeployError } from '../../src/deploy/deploy.ts';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { vboardBoard } from '../../src/target/providers/vboard.ts';
import { FakeTarget, type FakeCall } from '../target/fakeTarget.ts';
import { fakeVisl } from './elf.ts';
import type { Journal } from '../../src/deploy/journal.ts';
import { scriptNameOf } from '../../src/core/scripts.ts';

/**
 * Unit tests of the deploy orchestration against a fake board: which remote
 * steps run in which order, with which arguments, and what happens on each
 * failure. (The same code runs against the real vboard in deploy.int.test.ts.)
 */
const REL = '7.2.13+deb14-amd64';
const DIR = `/lib/modules/${REL}/updates`;

interface BoardState {
  lockHolder?: string;
  uid?: string;
  freeKiB?: number;
  busy?: string;
  failReload?: boolean;
  verifyState?: string;
  kernelLog?: string;
  journal?: string;
  /** The board's disk is full: journal and record writes fail (as the scripts report them). */
  diskFull?: boolean;
}

function step(call: FakeCall): string {
  if (call.kind !== 'exec') return call.kind;
  const script = scriptNameOf(call.argv);
  if (script === 'modstate') return 'modstate';
  if (script === 'modswap') return 'reload';
  if (script === 'boardLock') return call.argv[4] === 'acquire' ? 'lock' : call.argv[4] === 'break' ? 'break' : 'unlock';
  if (script === 'preflight' || script === 'backup' || script === 'install' || script === 'verify' || script === 'finish' || script === 'restore')
    return script;
  const s = call.argv[2] ?? call.argv.join(' ');
  if (s.includes('[ -e "$1" ] && cat "$1" || true')) return 'read-journal';
  if (s.startsWith('rm -rf "$1"')) return 'discard';
  return call.argv[0]!;
}

/** The steps without the lock/unlock around them. */
function steps(t: FakeTarget): string[] {
  return t.calls.map(step).filter((x) => x !== 'lock' && x !== 'unlock' && x !== 'break' && x !== 'modstate');
}

function fakeBoard(st: BoardState): FakeTarget {
  return new FakeTarget('vboard', (argv, input) => {
    const kind = step({ kind: 'exec', argv });
    if (input && st.diskFull) return { exitCode: 90, stderr: 'cat: write error: No space left on device\nwb-journal-failed\n' };
    if (kind === 'finish' && st.diskFull) return { exitCode: 91, stderr: 'cat: write error: No space left on device\n' };
    const j = input ? (JSON.parse(input) as Journal) : undefined;
    if (j) st.journal = input;
    switch (kind) {
      case 'lock':
        return { stdout: st.lockHolder ? `held\t5\t${st.lockHolder}\n` : 'acquired\n' };
      case 'break':
        st.lockHolder = undefined;
        return { stdout: 'removed\n' };
      case 'preflight':
        return {
          stdout: [
            `release\t${REL}`,
            `moduledir\t${DIR}`,
            `uid\t${st.uid ?? '0'}`,
            `dirreal\t/usr${DIR}`,
            `dfdir\t${st.freeKiB ?? 1_000_000}\t/`,
            `dfroot\t${st.freeKiB ?? 1_000_000}\t/`,
            'loaded\tvisl\tlive',
            `current\tvisl\t/usr${DIR}/visl.ko`,
            `dest\tvisl\t300000\t/usr${DIR}/visl.ko`,
            'oldinfo\tvisl\tdepends\tv4l2-mem2mem',
            'oldinfo\tvisl\tname\tvisl',
            ...(st.busy ? [st.busy] : []),
          ].join('\n'),
        };
      case 'backup':
        return { stdout: 'orig\tvisl.ko\taaaa\taaaa\n' };
      case 'modstate':
        return {
          stdout: 'mod\tvisl\tlive\t0\tOLDSRC\t\nmod\tv4l2_mem2mem\tlive\t1\tM2M\tvisl\nfile\tvisl\t/lib/modules/x/updates/visl.ko\tNEWSRC\tv4l2-mem2mem\n',
        };
      case 'reload':
        if (st.failReload && argv.includes(';') && !st.journal?.includes('"kind":"rollback"')) {
          return {
            exitCode: 5,
            stdout: 'unloaded\tvisl\nload-failed\tvisl\n',
            stderr: "modprobe: ERROR: could not insert 'visl': Unknown symbol in module, or unknown parameter (see dmesg)",
          };
        }
        return { stdout: 'unloaded\tvisl\nloaded\tvisl\n' };
      case 'verify':
        return {
          stdout: `state\tvisl\t${st.verifyState ?? 'live'}\ndriver\tvisl\tplatform:visl\nbound\tvisl\tplatform:visl\tvisl.0\n@@kernel-log\n<12>[ 1.0] WORKBENCH-MARK ${'x'.repeat(12)} deploy\n${st.kernelLog ?? ''}`,
        };
      case 'restore':
        return { stdout: `restored\t${DIR}/visl.ko\taaaa\n` };
      case 'read-journal':
        return { stdout: st.journal ?? '' };
      case 'discard':
      case 'finish':
        if (kind === 'finish' || kind === 'discard') st.journal = undefined;
        return {};
      default:
        return {};
    }
  });
}

let stateDir: string;
beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'wb-state-'));
  process.env.WORKBENCH_STATE_DIR = stateDir;
});

describe('deployModules (fake board)', () => {
  it('holds the board lock around everything, also when the deploy fails', async () => {
    const ok = fakeBoard({});
    await deployModules(ok, vboardBoard(), [fakeVisl()]);
    expect(ok.calls.map(step)[0]).toBe('lock');
    // The lock is removed by the last remote command (finish), saving a round trip.
    expect(ok.calls.map(step).at(-1)).toBe('finish');
    expect(ok.calls.at(-1)!.argv.at(-1)).toBe('/var/lib/workbench/lock');
    const bad = fakeBoard({ freeKiB: 1 });
    await deployModules(bad, vboardBoard(), [fakeVisl()]).catch(() => undefined);
    expect(bad.calls.map(step)).toEqual(['lock', 'preflight', 'unlock']);
  });

  it('a board locked by a live deploy of another host: waits, then E_BOARD_BUSY naming the holder; nothing runs', async () => {
    const holder = JSON.stringify({ host: 'ci-runner-7', pid: 4242, at: new Date().toISOString() });
    const t = fakeBoard({ lockHolder: holder });
    const err = await deployModules(t, vboardBoard(), [fakeVisl()], { lockWaitMs: 100 }).catch((e) => e);
    expect(isWorkbenchError(err, 'E_BOARD_BUSY')).toBe(true);
    expect(err.message).toMatch(/^board vboard held by PID 4242 on ci-runner-7 since \d{4}-/);
    expect(steps(t)).toEqual([]);
  });

  it('a stale lock (dead process of this host) is broken', async () => {
    const { hostname } = await import('node:os');
    const stale = JSON.stringify({ host: hostname(), pid: 999_999_999, at: new Date().toISOString() });
    const t = fakeBoard({ lockHolder: stale });
    await deployModules(t, vboardBoard(), [fakeVisl()]);
    expect(t.calls.map(step).slice(0, 3)).toEqual(['lock', 'break', 'lock']);
    // only that holder's lock is broken (the script compares the owner line)
    expect(t.calls[1]!.argv.at(-1)).toBe(stale);
  });

  it('runs preflight, backup, upload, install, reload, verify, finish in order; journals each phase; skips depmod when the index is unchanged', async () => {
    const t = fakeBoard({});
    const a = fakeVisl(REL, { depends: 'v4l2-mem2mem' });
    const rec = await deployModules(t, vboardBoard(), [a]);
    expect(steps(t)).toEqual(['preflight', 'backup', 'upload', 'install', 'reload', 'verify', 'finish']);
    const phases = t.calls.filter((c) => c.input).map((c) => (JSON.parse(c.input!) as Journal).phase);
    expect(phases).toEqual(['backup', 'install', 'reload', 'verify']);
    const install = t.calls.find((c) => step(c) === 'install')!;
    expect(install.argv.slice(5)).toEqual([REL, 'no', `${DIR}/.wb-${rec.id}-visl.ko`, `${DIR}/visl.ko`]);
    const upload = t.calls.find((c) => c.kind === 'upload')!;
    expect(upload.argv[1]).toBe(`${DIR}/.wb-${rec.id}-visl.ko`);
    expect(rec).toMatchObject({ state: 'active', kernelRelease: REL, loaded: ['visl'] });
    expect(rec.replaced[0]).toMatchObject({ module: 'visl', existed: true, previousSha256: 'aaaa', wasLoaded: true, indexUnchanged: true });
    expect(rec.bindings[0]!.bound).toEqual(['visl.0']);
  });

  it('runs depmod when the new module changes the index (new alias)', async () => {
    const t = fakeBoard({});
    await deployModules(t, vboardBoard(), [fakeVisl(REL, { alias: 'platform:visl' })]);
    expect(t.calls.find((c) => step(c) === 'install')!.argv[6]).toBe('yes');
  });

  it('wrong kernel release: refused after the read-only preflight, shows both releases', async () => {
    const t = fakeBoard({});
    const err = await deployModules(t, vboardBoard(), [fakeVisl('7.1.0')]).catch((e) => e);
    expect(isWorkbenchError(err, 'E_VERMAGIC_MISMATCH')).toBe(true);
    expect(err.message).toContain('built for kernel 7.1.0 but board vboard runs 7.2.13+deb14-amd64');
    expect(steps(t)).toEqual(['preflight']);
  });

  it('disk too small: E_DISK_FULL, nothing replaced (no backup, no upload)', async () => {
    const t = fakeBoard({ freeKiB: 10 });
    const err = await deployModules(t, vboardBoard(), [fakeVisl()]).catch((e) => e);
    expect(isWorkbenchError(err, 'E_DISK_FULL')).toBe(true);
    expect(err.message).toMatch(/nothing was replaced/);
    expect(steps(t)).toEqual(['preflight']);
  });

  it('not root: E_PERMISSION naming the user', async () => {
    const board = { ...vboardBoard(), name: 'rock5b', ssh: { host: 'h', port: 22, user: 'debian' } };
    const err = await deployModules(fakeBoard({ uid: '1000' }), board, [fakeVisl()]).catch((e) => e);
    expect(isWorkbenchError(err, 'E_PERMISSION')).toBe(true);
    expect(err.message).toContain('uid 1000 (user debian)');
    expect(err.hint).toContain('user = "root"');
  });

  it('a process holding the decoder device stops the deploy and is named', async () => {
    const t = fakeBoard({ busy: 'busy\t812\tgst-launch-1.0\t/dev/video0\tvisl' });
    const err = await deployModules(t, vboardBoard(), [fakeVisl()]).catch((e) => e);
    expect(isWorkbenchError(err, 'E_DEVICE_BUSY')).toBe(true);
    expect(err.message).toContain('gst-launch-1.0 (PID 812) holds /dev/video0');
    expect(steps(t)).toEqual(['preflight']);
  });

  it('load failure after the install: restores the backup, reloads the previous module, reports DeployError(rolledBack)', async () => {
    const t = fakeBoard({ failReload: true, kernelLog: "<3>[ 2.0] visl: `abc' invalid for parameter `bitstream_trace_nframes'\n" });
    const err = await deployModules(t, vboardBoard(), [fakeVisl()]).catch((e) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect(err.code).toBe('E_MODULE_LOAD');
    expect(err.rolledBack).toBe(true);
    expect(err.record.kernelLogFindings.map((f: { kind: string }) => f.kind)).toEqual(['module_error']);
    expect(steps(t)).toEqual(['preflight', 'backup', 'upload', 'install', 'reload', 'verify', 'restore', 'reload', 'finish']);
    const restore = t.calls.find((c) => step(c) === 'restore')!;
    expect(restore.argv.slice(5)).toEqual([err.record.backupDir, REL, err.record.id, 'no', 'restore', `${DIR}/visl.ko`, `${err.record.backupDir}/visl.ko`]);
    const finish = t.calls.filter((c) => step(c) === 'finish').at(-1)!;
    expect(JSON.parse(finish.argv[5]!).state).toBe('failed');
  });

  it('Ctrl-C (abort) after the install stops at the next phase and rolls back; before the install it only discards the backup', async () => {
    const ac = new AbortController();
    const t = fakeBoard({});
    const err = await deployModules(t, vboardBoard(), [fakeVisl()], { signal: ac.signal, onPhase: (p) => void (p === 'install' && ac.abort()) }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(DeployError);
    expect(err.code).toBe('E_ABORTED');
    expect(err.rolledBack).toBe(true);
    expect(steps(t)).toEqual(['preflight', 'backup', 'upload', 'install', 'restore', 'reload', 'finish']);

    const ac2 = new AbortController();
    const t2 = fakeBoard({});
    const err2 = await deployModules(t2, vboardBoard(), [fakeVisl()], { signal: ac2.signal, onPhase: (p) => void (p === 'backup' && ac2.abort()) }).catch(
      (e) => e,
    );
    expect(err2.code).toBe('E_ABORTED');
    expect(steps(t2)).toEqual(['preflight', 'backup', 'read-journal', 'discard']);
  });

  it('a WARN in the kernel log after loading fails verification and rolls back', async () => {
    const log =
      '<4>[ 3.0] WARNING: CPU: 0 PID: 1 at drivers/media/test-drivers/visl/visl-core.c:10 visl_probe+0x10/0x20 [visl]\n<4>[ 3.1] ---[ end trace 0000000000000000 ]---\n';
    const t = fakeBoard({ kernelLog: log });
    const err = await deployModules(t, vboardBoard(), [fakeVisl()]).catch((e) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect(err.code).toBe('E_KERNEL_LOG');
    expect(err.rolledBack).toBe(true);
    expect(steps(t)).toContain('restore');
  });

  it('an interrupted deploy in the board journal is repaired before the next deploy', async () => {
    const pending = {
      version: 1,
      kind: 'deploy',
      id: '20261121T000000Z-dead',
      board: 'vboard',
      phase: 'reload',
      release: REL,
      moduleDir: DIR,
      backupDir: '/var/lib/workbench/backups/20261121T000000Z-dead',
      entries: [
        { module: 'visl', dest: `${DIR}/visl.ko`, existed: true, backupFile: 'visl.ko', previousSha256: 'aaaa', sha256: 'bbbb', wasLoaded: true, holders: [] },
      ],
      reloadAfterRestore: ['visl'],
      startedAt: '2026-11-21T00:00:00Z',
      owner: { host: 'elsewhere', pid: 1 },
    };
    const board = fakeBoard({ journal: JSON.stringify(pending) });
    // The preflight reports the journal line; the deploy repairs, then preflights again.
    const orig = board.exec.bind(board);
    let first = true;
    board.exec = async (argv, opts) => {
      const r = await orig(argv, opts);
      if (first && step({ kind: 'exec', argv }) === 'preflight') {
        first = false;
        r.stdout += `\njournal\t${JSON.stringify(pending)}`;
      }
      return r;
    };
    await deployModules(board, vboardBoard(), [fakeVisl()]);
    expect(steps(board).slice(0, 6)).toEqual(['preflight', 'read-journal', 'restore', 'reload', 'finish', 'preflight']);
  });

  it('disk full before the record is written (verified, phase done): DeployError E_RECORD_FAILED, not rolled back (the journal could not be written either); the journal of the verify phase stays', async () => {
    const st: BoardState = {};
    const t = fakeBoard(st);
    const err = await deployModules(t, vboardBoard(), [fakeVisl()], { onPhase: (p) => void (p === 'done' && (st.diskFull = true)) }).catch((e) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect(err.code).toBe('E_RECORD_FAILED');
    expect(err.rolledBack).toBe(false);
    expect(err.message).toMatch(/could not write .*record\.json \(state active\): cat: write error: No space left on device/);
    expect(err.message).toMatch(
      /automatic rollback did not complete: vboard: could not write the deploy journal .*No space left on device.*the step it describes was not started/,
    );
    expect(err.hint).toMatch(/disk is full/);
    expect(steps(t)).toEqual(['preflight', 'backup', 'upload', 'install', 'reload', 'verify', 'finish', 'restore']);
    expect((JSON.parse(st.journal!) as Journal).phase).toBe('verify');
  });

  it('disk full at the reload: the reload step is refused (E_JOURNAL_WRITE) and the deploy fails; nothing reports success', async () => {
    const st: BoardState = {};
    const t = fakeBoard(st);
    const err = await deployModules(t, vboardBoard(), [fakeVisl()], { onPhase: (p) => void (p === 'reload' && (st.diskFull = true)) }).catch((e) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect(err.code).toBe('E_JOURNAL_WRITE');
    expect(err.rolledBack).toBe(false);
    expect(steps(t)).toEqual(['preflight', 'backup', 'upload', 'install', 'reload', 'restore']);
    expect((JSON.parse(st.journal!) as Journal).phase).toBe('install');
  });
});

describe('bindingLogLines (the kernel log quoted with "driver did not bind")', () => {
  const m = { name: 'rockchip_vdec', binding: { module: 'rockchip_vdec', drivers: ['platform:rkvdec'], bound: [], unboundMatches: ['c000000.video-codec'] } };
  it('keeps the lines naming the module (either spelling), its driver or the unbound device', () => {
    const log = [
      'usb 1-1: new high-speed USB device',
      'rkvdec c000000.video-codec: error -EINVAL: invalid resource (null)',
      'rkvdec c000000.video-codec: probe with driver rkvdec failed with error -22',
      'rockchip-vdec: module verification failed',
      'random: crng init done',
    ];
    expect(bindingLogLines(log, [m])).toEqual([log[1], log[2], log[3]]);
  });
  it('falls back to the last 12 lines when none names them', () => {
    const log = Array.from({ length: 20 }, (_, i) => `line ${i}`);
    expect(bindingLogLines(log, [m])).toEqual(log.slice(8));
  });
});
