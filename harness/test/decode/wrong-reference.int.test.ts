/**
 * A deliberately wrong reference (one flipped byte in frame 3) must make the
 * comparison report frame 3 as the first bad frame and write the PNGs. The
 * "decoded" side is a real libvpx decode streamed from vpxdec (visl draws a
 * test pattern, so this part runs on the host).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestFrame } from '../../src/compare/hash.ts';
import { ExecaRunner } from '../../src/core/runner.ts';
import { frameBytes } from '../../src/compare/geometry.ts';
import { runVector } from '../../src/decode/runVector.ts';
import { VpxdecHostDecoder } from '../../src/decode/backends/vpxdecHost.ts';
import { pixelsArtifacts } from '../../src/decode/plugins.ts';
import { builtinChecks } from '../../src/decode/plugins.ts';
import { inspectFile, type InspectResult } from '../../src/vectors/inspect.ts';
import type { ReferenceSet } from '../../src/vectors/references.ts';

const W = 128;
const H = 96;
const N = 10;
let dir: string;
let ivf: string;
let info: InspectResult;
let yuv: Buffer;
const runner = new ExecaRunner();

/** A moving gradient clip, 4:2:0 8-bit, as Y4M. */
function y4m(): Buffer {
  const parts: Buffer[] = [Buffer.from(`YUV4MPEG2 W${W} H${H} F30:1 Ip A1:1 C420jpeg\n`)];
  for (let n = 0; n < N; n++) {
    const f = Buffer.alloc((W * H * 3) / 2);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) f[y * W + x] = (x * 2 + y + 7 * n + ((x ^ y) & 8) * 4) & 255;
    for (let i = W * H; i < f.length; i++) f[i] = (128 + ((i * 3 + n * 5) % 40)) & 255;
    parts.push(Buffer.from('FRAME\n'), f);
  }
  return Buffer.concat(parts);
}

async function referenceSet(frames: Buffer): Promise<ReferenceSet> {
  const size = frameBytes({ width: W, height: H, bitDepth: 8 });
  const out: ReferenceSet['frames'] = [];
  for (let i = 0; i < N; i++) {
    const d = await digestFrame(frames.subarray(i * size, (i + 1) * size));
    out.push({ index: i, width: W, height: H, bitDepth: 8, pixelFormat: 'yuv420p', i420: d, nv12: null });
  }
  return {
    vector: 'clip.ivf',
    vectorSha256: '0'.repeat(64),
    decoder: 'test',
    command: 'test',
    frames: out,
    md5: createHash('md5').update(frames).digest('hex'),
    bytes: frames.length,
    crossCheck: null,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wb-wrongref-'));
  await writeFile(join(dir, 'clip.y4m'), y4m());
  ivf = join(dir, 'clip.ivf');
  await runner.run([
    'vpxenc',
    '-q',
    '--codec=vp9',
    '--ivf',
    '--good',
    '--cpu-used=4',
    '--target-bitrate=300',
    '--kf-max-dist=30',
    '-o',
    ivf,
    join(dir, 'clip.y4m'),
  ]);
  info = await inspectFile(ivf);
  await runner.run(['vpxdec', '--rawvideo', '-o', join(dir, 'ref.yuv'), ivf]);
  yuv = await readFile(join(dir, 'ref.yuv'));
});

afterAll(async () => {
  if (dir && !process.env.WB_KEEP_TEST_DIR) await rm(dir, { recursive: true, force: true });
});

describe('pixel comparison against a libvpx decode stream', () => {
  it('passes with the correct reference', async () => {
    const r = await runVector({
      decoder: new VpxdecHostDecoder(runner),
      vector: { name: 'clip.ivf', file: ivf },
      inspect: info,
      reference: await referenceSet(yuv),
      checks: builtinChecks().forBoard({ name: 'host', driver: '' }),
      timeoutMs: 60_000,
      runner,
    });
    expect(r.verdict.result).toBe('pass');
    expect(r.result.md5.actual).toBe(r.result.md5.expected);
    expect(r.compare.framesProduced).toBe(N);
  });

  it('reports frame 3 as the first bad frame and writes PNGs when frame 3 of the reference has one flipped byte', async () => {
    const size = frameBytes({ width: W, height: H, bitDepth: 8 });
    const wrong = Buffer.from(yuv);
    const off = 3 * size + 40 * W + 17; // luma sample (17,40) of frame 3
    wrong[off] = wrong[off]! ^ 0x80;
    const artifactsDir = join(dir, 'artifacts');
    const r = await runVector({
      decoder: new VpxdecHostDecoder(runner),
      vector: { name: 'clip.ivf', file: ivf },
      inspect: info,
      reference: await referenceSet(wrong),
      checks: builtinChecks().forBoard({ name: 'host', driver: '' }),
      timeoutMs: 60_000,
      runner,
      artifactsDir,
      referenceFrame: async (i) => wrong.subarray(i * size, (i + 1) * size),
    });
    expect(r.verdict.result).toBe('fail');
    if (r.verdict.result !== 'fail') return;
    expect(r.verdict.firstBadFrame).toBe(3);
    expect(r.verdict.mismatchingFrames).toBe(1);
    expect(r.verdict.framesExpected).toBe(N);
    expect(r.verdict.framesProduced).toBe(N);
    expect(r.verdict.checks.find((c) => c.check === 'pixels')?.status).toBe('fail');
    expect(r.result.md5.actual).not.toBe(r.result.md5.expected);
    const a = pixelsArtifacts(r.details)!;
    for (const p of [a.decodedPng, a.referencePng!, a.diffPng!]) {
      const png = PNG.sync.read(await readFile(p));
      expect([png.width, png.height]).toEqual([W, H]);
    }
    expect(a.stats!.planes.map((p) => p.differingSamples)).toEqual([1, 0, 0]);
    expect(a.stats!.planes[0]!.first).toMatchObject({ x: 17, y: 40 });
    const diff = PNG.sync.read(await readFile(a.diffPng!));
    expect(diff.data[(40 * W + 17) * 4]).toBeGreaterThanOrEqual(64);
    expect(diff.data[(40 * W + 18) * 4]).toBe(0);
    const summary = await readFile(a.summaryTxt, 'utf8');
    expect(summary).toMatch(/first bad frame 3/);
    expect(summary).toMatch(/uncompressed header \(inspector\)/);
    expect(r.result.artifacts.map((x) => x.kind).sort()).toEqual(['decoded', 'diff', 'header', 'reference']);
  });
});
