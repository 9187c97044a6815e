import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { loadNightlyPlan, nightlyExitCode, runNight } from '../../src/farm/nightly.ts';
import { loadRun } from '../../src/report/store.ts';
import { frame, md5 } from './lavaFixtures.ts';
import { KERNEL1, KERNEL2, plan, REF, runBoard } from './nightlyFixtures.ts';

/**
 * `workbench nightly` over real collect runs: each night's board run is a
 * LAVA log in lava-dispatcher 2026.10's shape (one JSON flow mapping per
 * line, as in fixtures/lava-run-vboard-visl.logs.yaml), collected by
 * collectJob into a real report folder (nightlyFixtures.ts); frame hashes
 * and MD5s are computed there with node's crypto over known frame bytes, so the expected diffs
 * follow from the bytes each night decoded, not from the code under test.
 */
describe('workbench nightly', () => {
  it('keeps one folder per night and diffs each board against its previous night, with both kernels', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-nightly-'));
    const n1 = new Date('2026-12-01T02:00:00Z');
    const n2 = new Date('2026-12-02T02:00:00Z');
    // night 1: a pass, b wrong second frame, c wrong second frame (bytes 9)
    const first = await runNight({
      plan: plan('rock5b'),
      reportsRoot: root,
      now: () => n1,
      runBoard: runBoard(root, n1, { rock5b: { k: KERNEL1, out: { a: REF.a, b: [frame(3), frame(9)], c: [frame(5), frame(9)] } } }),
    });
    expect(first.record.exitCode).toBe(1);
    expect(first.record.boards[0]!.previous).toBeUndefined();
    const firstJson = readFileSync(join(first.dir, 'nightly.json'), 'utf8');
    // night 2 (new series commit): a wrong first frame (new failure), b right (fixed), c wrong second frame with other bytes (hash changed)
    const second = await runNight({
      plan: plan('rock5b'),
      reportsRoot: root,
      now: () => n2,
      runBoard: runBoard(root, n2, { rock5b: { k: KERNEL2, out: { a: [frame(8), frame(2)], b: REF.b, c: [frame(5), frame(7)] } } }),
    });
    const e = second.record.boards[0]!;
    expect(e.previous?.runId).toBe(first.record.boards[0]!.runId);
    expect(e.previous?.nightlyId).toBe(first.record.nightlyId);
    expect(e.previous?.kernel?.seriesCommit).toBe('a'.repeat(40));
    expect(e.kernel?.seriesCommit).toBe('b'.repeat(40));
    expect(e.diff?.newFailures).toEqual([{ vector: 'a.ivf', before: 'pass', after: 'fail' }]);
    expect(e.diff?.fixes).toEqual([{ vector: 'b.ivf', before: 'fail', after: 'pass' }]);
    expect(e.diff?.changedHashes).toEqual([
      { vector: 'c.ivf', before: md5(Buffer.concat([frame(5), frame(9)])), after: md5(Buffer.concat([frame(5), frame(7)])) },
    ]);
    expect(e.diff?.changedFirstBadFrame).toEqual([]);
    expect(second.record.exitCode).toBe(1);
    // the nights are separate folders; the first one is untouched
    expect(readdirSync(join(root, 'nightly')).sort()).toEqual([first.record.nightlyId, second.record.nightlyId, 'index.html'].sort());
    expect(readFileSync(join(first.dir, 'nightly.json'), 'utf8')).toBe(firstJson);
    const text = readFileSync(join(second.dir, 'summary.txt'), 'utf8');
    expect(text).toContain('NEW FAILURE  a.ivf: pass -> fail');
    expect(text).toContain('FIXED        b.ivf: fail -> pass');
    expect(text).toContain('HASH         c.ivf');
    expect(text).toContain(`series commit ${'b'.repeat(12)}`);
    expect(text).toContain(`previous ${e.previous!.runId} (night ${first.record.nightlyId}): base ${'1'.repeat(12)}, series commit ${'a'.repeat(12)}`);
    // each board run is an ordinary report with the kernel of its bundle
    expect(loadRun(e.runId!, root).kernel?.baseCommit).toBe('1'.repeat(40));
  });

  it('exit code: 2 when a board could not run (the night goes on), 1 for failures, --fail-on new only for new ones', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-nightly-'));
    const n1 = new Date('2026-12-01T02:00:00Z');
    const n2 = new Date('2026-12-02T02:00:00Z');
    const n3 = new Date('2026-12-03T02:00:00Z');
    const failing = { k: KERNEL1, out: { a: REF.a, b: [frame(3), frame(9)], c: REF.c } };
    const night1 = await runNight({
      plan: plan('down', 'vb'),
      reportsRoot: root,
      now: () => n1,
      runBoard: runBoard(root, n1, { down: new Error('E_VBOARD_BOOT: the guest did not answer'), vb: failing }),
    });
    expect(night1.record.boards.map((b) => [b.board, b.exitCode])).toEqual([
      ['down', 2],
      ['vb', 1],
    ]);
    expect(night1.record.boards[0]!.error).toContain('the guest did not answer');
    expect(night1.record.exitCode).toBe(2);
    // the same failure again: exit 1 by default, 0 with failOn new
    const night2 = await runNight({ plan: plan('vb'), reportsRoot: root, now: () => n2, failOn: 'new', runBoard: runBoard(root, n2, { vb: failing }) });
    expect(night2.record.boards[0]!.diff?.newFailures).toEqual([]);
    expect(night2.record.exitCode).toBe(0);
    expect(nightlyExitCode(night2.record.boards, 'any')).toBe(1);
    // a job that died mid-suite: vectors never reported fail, the board is an infrastructure failure (collect's exit 2)
    const night3 = await runNight({
      plan: plan('vb'),
      reportsRoot: root,
      now: () => n3,
      runBoard: runBoard(root, n3, { vb: { k: KERNEL1, out: { a: REF.a, b: undefined, c: undefined }, health: 'fail' } }),
    });
    expect(night3.record.boards[0]!.exitCode).toBe(2);
    expect(night3.record.exitCode).toBe(2);
    expect(night3.record.boards[0]!.previous?.nightlyId).toBe(night2.record.nightlyId);
    expect(night3.record.boards[0]!.diff?.newFailures).toEqual([{ vector: 'c.ivf', before: 'pass', after: 'fail' }]);
  });

  it('a night that fails to write leaves no half folder and never replaces an earlier one', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-nightly-'));
    const n1 = new Date('2026-12-01T02:00:00Z');
    const r = await runNight({ plan: plan('vb'), reportsRoot: root, now: () => n1, runBoard: runBoard(root, n1, { vb: { k: KERNEL1, out: REF } }) });
    expect(r.record.exitCode).toBe(0);
    expect(existsSync(join(r.dir, 'nightly.json'))).toBe(true);
    expect(readdirSync(join(root, 'nightly')).filter((d) => d.startsWith('.'))).toEqual([]);
  });
});

describe('nightly.toml', () => {
  const write = (text: string) => {
    const f = join(mkdtempSync(join(tmpdir(), 'wb-nplan-')), 'nightly.toml');
    writeFileSync(f, text);
    return f;
  };

  it('reads boards with defaults', () => {
    const p = loadNightlyPlan(
      write(
        '[[board]]\nname = "vboard"\nvectors = "p0-*"\n\n[[board]]\nname = "rock5b-lab"\nprofile = "farm-rk3588"\nrun = "server"\nserver = "https://lava.example.org"\nurl_base = "https://files.example.org/vp9wb"\ntags = ["vp9"]\n',
      ),
    );
    expect(p.board.map((b) => [b.name, b.profile, b.run, b.token_env, b.timeout])).toEqual([
      ['vboard', 'ssh', 'local', 'LAVA_TOKEN', 300],
      ['rock5b-lab', 'farm-rk3588', 'server', 'LAVA_TOKEN', 300],
    ]);
  });

  it('names the file and the key of a mistake', () => {
    const f = write('[[board]]\nname = "rock5b"\nprofile = "farm-rk3588"\nrun = "server"\nserver = "https://lava.example.org"\n');
    try {
      loadNightlyPlan(f);
      expect.unreachable();
    } catch (e) {
      expect(isWorkbenchError(e, 'E_CONFIG')).toBe(true);
      expect((e as Error).message).toBe(`${f}: key 'board.0.url_base': required when run = "server"`);
    }
    expect(() => loadNightlyPlan(write('[[board]]\nname = "x"\nprofile = "farm-rk3588"\n'))).toThrow(/key 'board\.0\.run': run = "local" runs ssh jobs/);
    expect(() => loadNightlyPlan(write('[[board]]\nname = "x"\n[[board]]\nname = "x"\n'))).toThrow(/board x is listed twice/);
    expect(() => loadNightlyPlan(write('[[board]]\nname = "x"\nspeed = 3\n'))).toThrow(/speed/);
  });
});
