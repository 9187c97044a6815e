import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { frameBytes, i420, planeLayout, type FrameGeometry } from '../../src/compare/geometry.ts';
import { FrameSplitter } from '../../src/compare/splitter.ts';
import { FrameComparer } from '../../src/compare/frameCompare.ts';
import { Hashers } from '../../src/compare/hash.ts';

/** Deterministic frame content: byte = (seed + i * 7) & 255. */
function frame(g: FrameGeometry, seed: number): Buffer {
  const b = Buffer.alloc(frameBytes(g));
  for (let i = 0; i < b.length; i++) b[i] = (seed + i * 7) & 255;
  return b;
}

/** Cuts `b` into pieces of the given sizes (cycled). */
function chunks(b: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  let k = 0;
  while (off < b.length) {
    const n = sizes[k++ % sizes.length]!;
    out.push(b.subarray(off, off + n));
    off += n;
  }
  return out;
}

describe('geometry', () => {
  it('lays out odd-sized 4:2:0 frames with rounded-up chroma', () => {
    const p = planeLayout(i420(35, 17));
    expect(p.map((x) => [x.width, x.height, x.offset])).toEqual([
      [35, 17, 0],
      [18, 9, 595],
      [18, 9, 595 + 162],
    ]);
    expect(frameBytes(i420(35, 17))).toBe(595 + 2 * 162);
  });
  it('uses 2 bytes per sample above 8 bits', () => {
    expect(frameBytes(i420(64, 64, 10))).toBe(64 * 64 * 3);
  });
  it('rejects impossible sizes', () => {
    expect(() => frameBytes(i420(0, 10))).toThrow(/positive integer/);
  });
});

describe('FrameSplitter', () => {
  it('splits a stream with a resolution change at any chunk boundary', () => {
    const geos = [i420(64, 64), i420(64, 64), i420(32, 16), i420(35, 17), i420(64, 64)];
    const frames = geos.map((g, i) => frame(g, i));
    const stream = Buffer.concat(frames);
    for (const sizes of [[1], [7, 13], [stream.length], [4096, 3]]) {
      const got: Buffer[] = [];
      const s = new FrameSplitter((i) => geos[i], {
        frameData: () => undefined,
        frameEnd: (_i, _g, slices) => got.push(Buffer.concat(slices)),
      });
      for (const c of chunks(stream, sizes)) s.push(c);
      const sum = s.end();
      expect(sum).toMatchObject({ frames: 5, trailingBytes: 0, totalBytes: stream.length, framesBeyondExpected: 0 });
      expect(got.map((b) => b.equals(frames[got.indexOf(b)]!))).toEqual([true, true, true, true, true]);
    }
  });

  it('reports extra frames with the last geometry and a trailing partial frame', () => {
    const g = i420(16, 16);
    const stream = Buffer.concat([frame(g, 1), frame(g, 2), frame(g, 3).subarray(0, 100)]);
    let ends = 0;
    const s = new FrameSplitter((i) => (i === 0 ? g : undefined), { frameData: () => undefined, frameEnd: () => void ends++ });
    s.push(stream);
    expect(s.end()).toEqual({ frames: 2, trailingBytes: 100, totalBytes: stream.length, framesBeyondExpected: 1 });
    expect(ends).toBe(2);
  });

  it('counts bytes as unsplittable when no geometry is known', () => {
    const s = new FrameSplitter(() => undefined, { frameData: () => undefined, frameEnd: () => undefined });
    s.push(Buffer.alloc(10));
    expect(s.end()).toMatchObject({ frames: 0, trailingBytes: 10 });
  });
});

describe('FrameComparer', () => {
  it('finds the first bad frame, counts mismatches and computes the stream MD5', async () => {
    const hashers = await Hashers.load();
    const geos = [i420(64, 64), i420(64, 64), i420(32, 32), i420(32, 32), i420(32, 32)];
    const frames = geos.map((g, i) => frame(g, i));
    const expected = frames.map((f, i) => ({ geometry: geos[i]!, hashes: { xxh64: hashers.digest('xxh64', f), md5: hashers.digest('md5', f) } }));
    // produced: frame 3 has one flipped byte
    const produced = frames.map((f) => Buffer.from(f));
    produced[3]![100] = produced[3]![100]! ^ 0xff;
    const c = new FrameComparer(hashers, expected);
    const s = new FrameSplitter(c.geometryOf, c);
    for (const ch of chunks(Buffer.concat(produced), [999])) s.push(ch);
    s.end();
    const r = c.finish();
    expect(r.firstBadFrame).toBe(3);
    expect(r.mismatchingFrames).toBe(1);
    expect(r.framesProduced).toBe(5);
    expect(r.firstMismatch?.produced.equals(produced[3]!)).toBe(true);
    expect(r.perFrame[3]).toMatchObject({ algo: 'xxh64', match: false, problem: 'hash' });
    expect(r.streamMd5).toBe(createHash('md5').update(Buffer.concat(produced)).digest('hex'));
  });

  it('counts missing frames as bad and points at the first missing one', async () => {
    const hashers = await Hashers.load();
    const g = i420(16, 16);
    const frames = [0, 1, 2].map((i) => frame(g, i));
    const expected = frames.map((f) => ({ geometry: g, hashes: { sha256: hashers.digest('sha256', f) } }));
    const c = new FrameComparer(hashers, expected);
    const s = new FrameSplitter(c.geometryOf, c);
    s.push(Buffer.concat(frames.slice(0, 2)));
    s.end();
    const r = c.finish();
    expect(r).toMatchObject({ firstBadFrame: 2, missingFrames: 1, mismatchingFrames: 1, pixelsCompared: true });
    expect(r.perFrame.every((o) => o.algo === 'sha256' && o.match)).toBe(true);
  });

  it('does not compare pixels in count-only mode but still flags extra frames', async () => {
    const hashers = await Hashers.load();
    const g = i420(16, 16);
    const c = new FrameComparer(hashers, [{ geometry: g, hashes: {} }], { comparePixels: false });
    const s = new FrameSplitter(c.geometryOf, c);
    s.push(Buffer.concat([frame(g, 0), frame(g, 1)]));
    const r = c.finish();
    expect(r).toMatchObject({ pixelsCompared: false, extraFrames: 1, firstBadFrame: 1 });
    expect(r.perFrame[0]!.match).toBeUndefined();
  });
});
