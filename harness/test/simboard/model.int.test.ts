import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/core/paths.ts';
import { ExecaRunner } from '../../src/core/runner.ts';
import { simboardDown, simboardPaths, simboardUp } from '../../src/simboard/simboard.ts';
import { workbenchCli } from '../cli/workbenchCli.ts';

/**
 * The simboard with the vdpu381 model server attached (issue 16, the
 * plumbing): real QEMU with the device model, the series' real driver,
 * GStreamer in the guest, the model server on the host sharing the guest's
 * RAM. The stub core decodes nothing, so the server runs in its fill test
 * mode: every output picture the registers name is filled with 0x5a. Shown:
 * - every frame GStreamer hands over is 0x5a in every byte (the raw stream
 *   kept by `decode --keep-raw`; the frame size from the inspector's
 *   header of the stream, not from the decoder);
 * - the pixels check runs on the simboard and fails at frame 0 (a constant
 *   picture is not the libvpx reference), saying where the pixels came from;
 * - every job of the decode went through the model (capture records, log);
 * - a model server that dies mid-decode gives the verdict `error` naming the
 *   job, in seconds, not a hang or a timeout.
 *
 * Gated by WORKBENCH_SIMBOARD_INT=1 like simboard.int and faults.int.
 */
const log = (s: string) => process.stderr.write(`[model-int] ${s}\n`);
const cli = (args: string[]) => workbenchCli(args, 1_800_000);
const VECTOR = 'p0-odd-tiny';
const FILL = 0x5a;

interface VectorRecord {
  verdict: { result: string; message: string; firstBadFrame?: number; framesProduced: number; checks: { check: string; status: string; detail?: string }[] };
  durationMs: number;
  notes?: string[];
}

describe.skipIf(process.env.WORKBENCH_SIMBOARD_INT !== '1')('simboard with the vdpu381 model server (real guest, stub core; WORKBENCH_SIMBOARD_INT=1)', () => {
  const saved = { state: process.env.WORKBENCH_STATE_DIR, config: process.env.WORKBENCH_CONFIG_DIR };
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wb-model-int-'));
    process.env.WORKBENCH_STATE_DIR = join(dir, 'state');
    process.env.WORKBENCH_CONFIG_DIR = join(dir, 'config');
    await simboardUp({ runner: new ExecaRunner(), log, model: { core: 'stub', fill: FILL } });
    const b = await cli(['build', '--for', 'arm64', '--series', join(projectRoot(), 'patches/simboard'), '--json']);
    expect(b.code, b.stderr).toBe(0);
    const ko = (JSON.parse(b.stdout) as { modules: { name: string; path: string }[] }).modules.find((m) => m.name === 'rockchip-vdec')!.path;
    mkdirSync(join(dir, 'ko'));
    copyFileSync(ko, join(dir, 'ko', 'rockchip-vdec.ko'));
    const dep = await cli(['deploy', '--board', 'simboard', '--modules', join(dir, 'ko', 'rockchip-vdec.ko')]);
    expect(dep.code, dep.stderr).toBe(0);
    expect(dep.stderr + dep.stdout).toMatch(/bound to c000000\.video-codec/);
  });

  afterAll(async () => {
    await simboardDown().catch(() => undefined); // stops QEMU, then the model server (its PID only)
    process.env.WORKBENCH_STATE_DIR = saved.state;
    process.env.WORKBENCH_CONFIG_DIR = saved.config;
    if (!saved.state) delete process.env.WORKBENCH_STATE_DIR;
    if (!saved.config) delete process.env.WORKBENCH_CONFIG_DIR;
    rmSync(dir, { recursive: true, force: true }); // our own mkdtemp directory
  });

  const decode = async (extra: string[]): Promise<VectorRecord> => {
    const dec = await cli(['decode', '--board', 'simboard', '--vectors', VECTOR, '--json', ...extra]);
    const last = dec.stdout.trim().split('\n').at(-1) ?? '';
    expect(last.startsWith('{'), dec.stderr.slice(-3000)).toBe(true);
    return JSON.parse(last) as VectorRecord;
  };

  it('GStreamer receives the model-written pictures and the pixels check runs, failing at frame 0', async () => {
    const cap = simboardPaths().capture;
    const before = existsSync(cap) ? readFileSync(cap, 'utf8').split('\n').filter(Boolean).length : 0;
    const raw = join(dir, 'raw');
    const art = join(dir, 'art');
    mkdirSync(raw); // --keep-raw writes into an existing folder
    const rec = await decode(['--keep-raw', raw, '--artifacts', art]);
    expect(rec.verdict.result).toBe('fail');
    const pixels = rec.verdict.checks.find((c) => c.check === 'pixels')!;
    expect(pixels.status).toBe('fail');
    expect(pixels.detail).toMatch(/first frame 0:/);
    expect(pixels.detail).toMatch(/fill test mode \(every byte 0x5a\), not silicon/);
    expect(rec.verdict.firstBadFrame).toBe(0);

    // Frame size from the inspector's header of the stream (frame 0 summary: "35x19 yuv420p"), I420 as GStreamer writes it.
    const summary = readFileSync(join(art, VECTOR, 'frame-0000-summary.txt'), 'utf8');
    const m = /, (\d+)x(\d+) yuv420p/.exec(summary);
    expect(m, summary).not.toBeNull();
    const [w, h] = [Number(m![1]), Number(m![2])];
    const frameBytes = w * h + 2 * Math.ceil(w / 2) * Math.ceil(h / 2);
    const yuv = readFileSync(join(raw, `${VECTOR}.yuv`));
    expect(rec.verdict.framesProduced).toBeGreaterThan(0);
    expect(yuv.length).toBe(rec.verdict.framesProduced * frameBytes);
    const other = yuv.findIndex((b) => b !== FILL);
    expect(other, `byte ${other} of the raw stream (frame ${Math.floor(other / frameBytes)}) is not 0x5a`).toBe(-1);

    // Every job of this decode went through the model and was answered "ready" (STA_INT 0x7).
    const jobs = readFileSync(cap, 'utf8')
      .split('\n')
      .filter(Boolean)
      .slice(before)
      .map((l) => JSON.parse(l) as { job: number; status_set: number; model?: { state: string; sta_int: number; why: string } });
    expect(jobs.length).toBeGreaterThan(rec.verdict.framesProduced - 1);
    for (const j of jobs) {
      expect(j.model, `job ${j.job}`).toMatchObject({ state: 'answered', sta_int: 7 });
      expect(j.model!.why).toMatch(/^fill 0x5a: \d+ bytes at 0x[0-9a-f]{8}$/);
      expect(j.status_set).toBe(7);
    }
    expect(readFileSync(simboardPaths().modelLog, 'utf8')).toMatch(new RegExp(`job ${jobs.at(-1)!.job}: sta_int 0x00000007`));
  });

  it('a model server that dies mid-decode gives the verdict error naming the job, not a hang', async () => {
    await simboardDown({ log });
    // A fresh boot numbers jobs from 1: the server exits when job 5 arrives, without answering.
    await simboardUp({ runner: new ExecaRunner(), log, model: { core: 'stub', fill: FILL, dieAfter: 5 } });
    const t0 = Date.now();
    const rec = await decode([]);
    expect(rec.verdict.result).toBe('error');
    expect(rec.verdict.message).toMatch(/the vdpu381 model failed on \d+ job\(s\); first: job 5: model disconnected before answering/);
    expect(Date.now() - t0).toBeLessThan(120_000);
    expect(readFileSync(simboardPaths().modelLog, 'utf8')).toMatch(/job 5: --die-after 5: exiting without an answer/);
  });
});
