import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheKey } from '../../src/core/cache.ts';
import { cacheRoot } from '../../src/core/paths.ts';
import { ExecaRunner } from '../../src/core/runner.ts';
import { ensureModelCore, modelRootInputs, type ModelCore } from '../../src/simboard/modelCore.ts';

/**
 * The vdpu381 model core for real: Debian's libvpx source patched with
 * harness/simboard-model/patches/, built in the simboard build chroot, then
 * the offline decoder run on a recorded simboard job (the series' driver
 * decoding p0-odd-tiny on the simboard, `--full-buffers`): the key frame the
 * model decodes from the driver's registers and probability tables must be
 * libvpx's picture (libvpx's own vpxdec on the same frame bytes, and the
 * workbench's stored libvpx reference of that vector frame); likewise three
 * 10-bit jobs of p2-10bit (NV15 in and out).
 *
 * Runs with WORKBENCH_SIMBOARD_INT=1, or when the model build chroot is
 * already in the cache (then: libvpx fetch + build a few minutes cold at
 * -j2, a few seconds warm). Needs root (chroot). Run:
 *   WORKBENCH_SIMBOARD_INT=1 npx vitest run harness/test/simboard/modelCore.int.test.ts
 */
const run = promisify(execFile);
const log = (s: string) => process.stderr.write(`[model-core-int] ${s}\n`);
const chrootCached = existsSync(join(cacheRoot(), 'simboard-model-root', cacheKey(modelRootInputs('sid'))));
const enabled = process.env.WORKBENCH_SIMBOARD_INT === '1' || (chrootCached && process.getuid?.() === 0);

const FIXTURE = join(import.meta.dirname, 'fixtures', 'vdpu381-model-p0-odd-tiny-key.jsonl.gz');
/**
 * Jobs 639-641 of the series' driver decoding p2-10bit (352x288, profile 2)
 * on the simboard with the model (`patches/simboard`, 2026-12-03,
 * `--full-buffers`): key frame, hidden alt-ref, inter frame; the stream,
 * reg160 and reg162 bytes (reg162 of job 641 is job 639's write-back, left
 * out: the model wrote it).
 */
const FIXTURE_10BIT = join(import.meta.dirname, 'fixtures', 'vdpu381-model-p2-10bit-3jobs.jsonl.gz');
/**
 * libvpx's frames 0 and 1 of p2-10bit as 16-bit little-endian I420, from the
 * workbench's references (host vpxdec 1.12.0 `--rawvideo`, cross-checked by
 * ffmpeg 5.1.9's native vp9 decoder).
 */
const P2_10BIT_FRAME_I420_SHA256 = [
  '78f3617df04eef31133dec4d23aa8330a24658c9bf0c84992e8fb5c27fb67efa',
  'af0ccac70600e049b85bcf4dca2635b30b1148fa2b91f4cc7604959882842f81',
];
const P2_10BIT_I420_BYTES = 352 * 288 * 3; // 352x288 + 2 x 176x144 samples, 2 bytes each
/** libvpx's frame 0 of p0-odd-tiny as I420, from the workbench's references (vpxdec 1.12.0 on the host). */
const P0_ODD_TINY_FRAME0_I420_SHA256 = 'f2b379a9eb540bee57199bbc5e74d430c758d428531b70471989bea354d51b2a';

interface Record {
  function: string;
  buffers: { stream: { base64: string }; last_prob: { base64: string } };
}

const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** One-frame IVF file (IVF: 32-byte file header, 12-byte frame header). */
function ivf(frame: Buffer, width: number, height: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('DKIF', 0, 'latin1');
  h.writeUInt16LE(0, 4);
  h.writeUInt16LE(32, 6);
  h.write('VP90', 8, 'latin1');
  h.writeUInt16LE(width, 12);
  h.writeUInt16LE(height, 14);
  h.writeUInt32LE(30, 16);
  h.writeUInt32LE(1, 20);
  h.writeUInt32LE(1, 24);
  h.writeUInt32LE(frame.length, 32);
  return Buffer.concat([h, frame]);
}

describe.skipIf(!enabled)('vdpu381 model core (Debian libvpx + our patch; WORKBENCH_SIMBOARD_INT=1 or a warm build chroot)', () => {
  let core: ModelCore;
  let dir: string;
  let capture: string;
  let record: Record;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wb-model-core-int-'));
    core = await ensureModelCore({ runner: new ExecaRunner(), log });
    const text = gunzipSync(readFileSync(FIXTURE)).toString('utf8');
    record = JSON.parse(text) as Record;
    capture = join(dir, 'capture.jsonl');
    writeFileSync(capture, text);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true })); // our own mkdtemp directory

  it("decodes a key frame, a hidden alt-ref and an inter frame from the driver's state (references read from reg164-166), each equal to libvpx's own decode; a wrong reg166 fails the inter frame", async () => {
    // jobs 20-22 of the same capture: key frame (written at reg130 0xbbace000), hidden alt-ref
    // (0xbbad0000), inter frame with last = golden = 0xbbace000, altref = 0xbbad0000
    const text = gunzipSync(readFileSync(join(import.meta.dirname, 'fixtures', 'vdpu381-model-p0-odd-tiny-3jobs.jsonl.gz'))).toString('utf8');
    const seq = join(dir, 'seq.jsonl');
    writeFileSync(seq, text);
    const good = await run(core.offline, ['--quiet', '--check', seq]);
    expect(good.stdout).toMatch(/^job 20: 35x19 intra .*libvpx: equal$/m);
    expect(good.stdout).toMatch(/^job 21: 35x19 inter hidden .*libvpx: equal$/m);
    expect(good.stdout).toMatch(/^job 22: 35x19 inter sta 0x00000007 .*libvpx: equal$/m);
    expect(good.stdout).toMatch(/check: 3 of 3 jobs equal/);

    // the alt-ref register of job 22 pointing at the key frame instead (one wrong reference slot)
    const recs = text.trim().split('\n');
    const r22 = JSON.parse(recs[2]!) as Record;
    expect(r22.function.slice(166 * 8, 167 * 8)).toBe('bbad0000');
    r22.function = `${r22.function.slice(0, 166 * 8)}bbace000${r22.function.slice(167 * 8)}`;
    const badSeq = join(dir, 'seq-bad-ref.jsonl');
    writeFileSync(badSeq, `${recs[0]}\n${recs[1]}\n${JSON.stringify(r22)}\n`);
    const bad = await run(core.offline, ['--quiet', '--check', badSeq]).catch((e: { stdout: string; code: number }) => e);
    expect(bad.stdout).toMatch(/^job 21: .*libvpx: equal$/m);
    expect(bad.stdout).toMatch(/^job 22: .*libvpx: DIFFERS/m);
    expect((bad as { code?: number }).code).toBe(1);
  });

  it("decodes 10-bit jobs (profile 2): references read and the picture written as NV15 with the driver's strides, equal to libvpx's frames; an 8-bit stride at reg018 is an error", async () => {
    const text = gunzipSync(readFileSync(FIXTURE_10BIT)).toString('utf8');
    const seq = join(dir, 'p2.jsonl');
    writeFileSync(seq, text);
    const checked = await run(core.offline, ['--quiet', '--check', seq]);
    expect(checked.stdout).toMatch(/^job 639: 352x288 10-bit intra sta 0x00000007 .*0 differ from the stream, 0 disagreements.*libvpx: equal$/m);
    expect(checked.stdout).toMatch(/^job 640: 352x288 10-bit inter hidden sta 0x00000007 .*libvpx: equal$/m);
    expect(checked.stdout).toMatch(/^job 641: 352x288 10-bit inter sta 0x00000007 .*libvpx: equal$/m);
    expect(checked.stdout).toMatch(/check: 3 of 3 jobs equal/);

    // every picture the model wrote (NV15 at reg130), as vpxdec's 16-bit I420: the shown ones are libvpx's frames 0 and 1
    const pics = join(dir, 'p2.i420');
    await run(core.offline, ['--quiet', '--all', '--i420', pics, seq]);
    const data = readFileSync(pics);
    expect(data.length).toBe(3 * P2_10BIT_I420_BYTES);
    const frame = (i: number) =>
      createHash('sha256')
        .update(data.subarray(i * P2_10BIT_I420_BYTES, (i + 1) * P2_10BIT_I420_BYTES))
        .digest('hex');
    expect(frame(0)).toBe(P2_10BIT_FRAME_I420_SHA256[0]);
    expect(frame(2)).toBe(P2_10BIT_FRAME_I420_SHA256[1]);

    // the core's own vpxdec (same libvpx build) decodes profile 2 too: the build has high bit depth
    const key = JSON.parse(text.split('\n')[0]!) as Record;
    writeFileSync(join(dir, 'p2-key.ivf'), ivf(Buffer.from(key.buffers.stream.base64, 'base64'), 352, 288));
    await run(core.vpxdec, ['--i420', '-o', join(dir, 'p2-vpxdec.i420'), join(dir, 'p2-key.ivf')]);
    expect(sha256(join(dir, 'p2-vpxdec.i420'))).toBe(P2_10BIT_FRAME_I420_SHA256[0]);

    // reg018 y_hor_virstride = 22 (352 bytes: an 8-bit row) cannot hold 352 NV15 samples (440 bytes)
    const bad = { ...key, function: `${key.function.slice(0, 18 * 8)}00000016${key.function.slice(19 * 8)}` };
    const badSeq = join(dir, 'p2-bad-stride.jsonl');
    writeFileSync(badSeq, `${JSON.stringify(bad)}\n`);
    const r = await run(core.offline, ['--quiet', badSeq]).catch((e: { stdout: string; code: number }) => e);
    expect(r.stdout).toMatch(/^job 639: .*sta 0x00000013: output strides too small for NV15 352x288: y 352/m);
    expect((r as { code?: number }).code).toBe(1);
  });

  it('is cached: a second call builds nothing', async () => {
    const again = await ensureModelCore({ runner: new ExecaRunner(), log });
    expect(again.hit).toBe(true);
    expect(again.key).toBe(core.key);
  });

  it("decodes the key frame from the driver's registers and buffers to libvpx's picture", async () => {
    const frame = join(dir, 'frame.ivf');
    writeFileSync(frame, ivf(Buffer.from(record.buffers.stream.base64, 'base64'), 35, 19));
    await run(core.vpxdec, ['--i420', '-o', join(dir, 'libvpx.i420'), frame]);
    const { stdout } = await run(core.offline, ['--i420', join(dir, 'model.i420'), capture]);
    expect(stdout).toMatch(/^job 13: 35x19 intra sta 0x00000007 .*0 differ from the stream, 0 disagreements/m);
    expect(sha256(join(dir, 'libvpx.i420'))).toBe(P0_ODD_TINY_FRAME0_I420_SHA256);
    // --check: the picture at reg130 against libvpx alone (no hooks) decoding the same bytes
    const checked = await run(core.offline, ['--quiet', '--check', capture]);
    expect(checked.stdout).toMatch(/libvpx: equal\ncheck: 1 of 1 jobs equal to libvpx's own decode/);
    expect(sha256(join(dir, 'model.i420'))).toBe(P0_ODD_TINY_FRAME0_I420_SHA256);
  });

  it("decodes with the driver's probabilities, not the stream's: a changed reg162 coefficient probability changes the picture and is reported", async () => {
    const last = Buffer.from(record.buffers.last_prob.base64, 'base64');
    // byte 176: coef[TX_4X4][Y][intra][band 0][ctx 0][node 0] (MPP hal_vp9d_prob_default layout, probs.c)
    last[176] = last[176]! > 128 ? 20 : 240;
    const bad = { ...record, buffers: { ...record.buffers, last_prob: { ...record.buffers.last_prob, base64: last.toString('base64') } } };
    const badCapture = join(dir, 'bad.jsonl');
    writeFileSync(badCapture, `${JSON.stringify(bad)}\n`);
    const r = await run(core.offline, ['--i420', join(dir, 'bad.i420'), badCapture]).catch((e: { stdout: string; stderr: string }) => e);
    expect(r.stdout).toMatch(/[1-9]\d* differ from the stream/);
    expect(r.stderr).toMatch(/probabilities differ from the stream's compressed header/);
    if (existsSync(join(dir, 'bad.i420'))) expect(sha256(join(dir, 'bad.i420'))).not.toBe(P0_ODD_TINY_FRAME0_I420_SHA256);
    const checked = await run(core.offline, ['--quiet', '--check', badCapture]).catch((e: { stdout: string; code: number }) => e);
    expect(checked.stdout).toMatch(/libvpx: DIFFERS/);
    expect((checked as { code?: number }).code).toBe(1);
  });
});
