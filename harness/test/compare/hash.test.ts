import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digestFrame } from '../../src/compare/hash.ts';
import { chromaSize, frameBytes, geometryOf, nv12ToPlanar, pixelFormat, planarToNv12 } from '../../src/compare/layout.ts';
import { FrameStreamHasher } from '../../src/compare/streamHasher.ts';

describe('digests', () => {
  it('gives the standard SHA-256 and XXH64 values', async () => {
    const d = await digestFrame(new TextEncoder().encode('abc'));
    expect(d.sha256).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect((await digestFrame(new Uint8Array(0))).xxh64).toBe('ef46db3751d8e999');
    expect(d.xxh64).toBe('44bc2cf5ad770999');
  });
});

describe('layouts', () => {
  it('sizes odd frames with rounded-up chroma', () => {
    expect(chromaSize({ width: 35, height: 19, bitDepth: 8 })).toEqual({ cw: 18, ch: 10 });
    expect(frameBytes({ width: 35, height: 19, bitDepth: 8 })).toBe(35 * 19 + 2 * 18 * 10);
    expect(frameBytes({ width: 1920, height: 1080, bitDepth: 8 }, 'nv12')).toBe(3110400);
    expect(frameBytes({ width: 4, height: 2, bitDepth: 10 })).toBe(2 * (8 + 2 * 2));
    expect(frameBytes({ width: 4, height: 2, bitDepth: 8, subsamplingX: 0, subsamplingY: 0 })).toBe(24);
    expect(() => frameBytes({ width: 4, height: 2, bitDepth: 8, subsamplingX: 0, subsamplingY: 0 }, 'nv12')).toThrow(/only defined for 4:2:0/);
  });

  it('interleaves U and V for NV12 (8-bit)', () => {
    // 4x2: Y = 0..7, U = [10, 11], V = [20, 21]
    const planar = Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 20, 21);
    const nv12 = planarToNv12(planar, { width: 4, height: 2, bitDepth: 8 });
    expect([...nv12]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 10, 20, 11, 21]);
    expect([...nv12ToPlanar(nv12, { width: 4, height: 2, bitDepth: 8 })]).toEqual([...planar]);
  });

  it('writes P010 with MSB-aligned 16-bit little-endian samples', () => {
    const g = { width: 2, height: 2, bitDepth: 10 };
    const s = new Uint16Array([1, 2, 3, 1023, 512, 7]); // Y x4, U, V
    const planar = new Uint8Array(s.buffer);
    const p010 = planarToNv12(planar, g);
    expect([...new Uint16Array(p010.buffer)]).toEqual([1 << 6, 2 << 6, 3 << 6, 1023 << 6, 512 << 6, 7 << 6]);
    expect([...p010.subarray(0, 2)]).toEqual([0x40, 0x00]);
    expect([...nv12ToPlanar(p010, g)]).toEqual([...planar]);
  });

  it('names pixel formats like ffmpeg and parses them back', () => {
    expect(pixelFormat({ width: 1, height: 1, bitDepth: 10 })).toBe('yuv420p10le');
    expect(pixelFormat({ width: 1, height: 1, bitDepth: 8, subsamplingX: 0, subsamplingY: 0 })).toBe('yuv444p');
    expect(geometryOf('yuv422p12le', 8, 4)).toEqual({ width: 8, height: 4, bitDepth: 12, subsamplingX: 1, subsamplingY: 0 });
    expect(geometryOf('nv12', 8, 4)).toBeNull();
  });
});

describe('FrameStreamHasher', () => {
  const geo = [
    { width: 4, height: 2, bitDepth: 8 },
    { width: 3, height: 3, bitDepth: 8 },
    { width: 2, height: 2, bitDepth: 10 },
  ];
  // 10-bit samples are 16-bit LE values below 1024 (what libvpx writes).
  const frames = geo.map((g, i) =>
    g.bitDepth === 8
      ? Uint8Array.from({ length: frameBytes(g) }, (_, k) => (k * 7 + i) & 0xff)
      : new Uint8Array(Uint16Array.from({ length: frameBytes(g) / 2 }, (_, k) => (k * 97 + i) & 0x3ff).buffer),
  );
  const stream = Buffer.concat(frames);

  it('gives the same per-frame digests however the stream is chunked, and the MD5 of the planar stream', async () => {
    const one = await FrameStreamHasher.create(geo, { layout: 'i420' });
    one.update(stream);
    const a = one.end();
    for (const step of [1, 5, 13]) {
      const h = await FrameStreamHasher.create(geo, { layout: 'i420' });
      for (let p = 0; p < stream.length; p += step) h.update(stream.subarray(p, p + step));
      expect(h.end()).toEqual(a);
    }
    expect(a.md5).toBe(createHash('md5').update(stream).digest('hex'));
    for (let i = 0; i < 3; i++) expect(a.frames[i]!.i420).toEqual(await digestFrame(frames[i]!));
    expect(a.frames[1]!.nv12).toEqual(await digestFrame(planarToNv12(frames[1]!, geo[1]!)));
    expect(a.frames[2]!.pixelFormat).toBe('yuv420p10le');
  });

  it('hashing an NV12 stream gives the same digests as hashing the planar one', async () => {
    const planar = await FrameStreamHasher.create(geo, { layout: 'i420' });
    planar.update(stream);
    const nv = await FrameStreamHasher.create(geo, { layout: 'nv12' });
    nv.update(Buffer.concat(frames.map((f, i) => planarToNv12(f, geo[i]!))));
    expect(nv.end()).toEqual(planar.end());
  });

  it('reports a short stream naming the frame, and extra bytes', async () => {
    const h = await FrameStreamHasher.create(geo, { layout: 'nv12', both: false });
    h.update(stream.subarray(0, 20));
    expect(() => h.end()).toThrow(/ended in frame 1 \(3x3 yuv420p\): got 8 of 17 bytes; 2 of 3 frames missing/);
    const l = await FrameStreamHasher.create(geo.slice(0, 1), { layout: 'i420' });
    expect(() => l.update(stream.subarray(0, 13))).toThrow(/more bytes than the 1 expected frames \(1 extra bytes after byte 12\)/);
  });
});
