import { describe, expect, it } from 'vitest';
import { buildSuperframe, splitSuperframe } from '../../src/vectors/vp9/superframe.ts';

const frame = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe('splitSuperframe (VP9 Annex B)', () => {
  it('treats a chunk without a marker byte as one frame', () => {
    const r = splitSuperframe(Uint8Array.of(0x82, 1, 2, 3));
    expect(r.frames).toEqual([{ offset: 0, size: 4 }]);
    expect(r.index).toBeNull();
  });

  it('splits a two-frame superframe with 1-byte sizes', () => {
    // frames of 3 and 2 bytes; marker 0b110 00 001 = 0xc1; index = c1 03 02 c1
    const buf = Uint8Array.of(0x82, 0x10, 0x11, 0x86, 0x20, 0xc1, 3, 2, 0xc1);
    const r = splitSuperframe(buf);
    expect(r.frames).toEqual([
      { offset: 0, size: 3 },
      { offset: 3, size: 2 },
    ]);
    expect(r.index).toEqual({ offset: 5, size: 4, bytesPerFrameSize: 1, frameSizes: [3, 2] });
    expect(r.unusedBytes).toBe(0);
  });

  it('reads little-endian 3-byte sizes', () => {
    const big = buildSuperframe([frame(70000, 1), frame(5, 2)]);
    const r = splitSuperframe(big);
    expect(r.index?.bytesPerFrameSize).toBe(3);
    expect(r.frames).toEqual([
      { offset: 0, size: 70000 },
      { offset: 70000, size: 5 },
    ]);
  });

  it('round-trips 8 frames and 4-byte sizes', () => {
    const frames = Array.from({ length: 8 }, (_, i) => frame(10 + i, i));
    const r = splitSuperframe(buildSuperframe(frames));
    expect(r.frames.map((f) => f.size)).toEqual(frames.map((f) => f.length));
    const sf = buildSuperframe([frame(0x1000000, 3)]);
    expect(splitSuperframe(sf).index?.bytesPerFrameSize).toBe(4);
  });

  it('ignores a marker-like last byte when the index start byte differs (a frame ending in 0xc1)', () => {
    const buf = Uint8Array.of(0x82, 0x00, 0x03, 0x02, 0xc1);
    expect(splitSuperframe(buf).index).toBeNull();
    expect(splitSuperframe(buf).frames).toEqual([{ offset: 0, size: 5 }]);
  });

  it('ignores an index that would be larger than the chunk', () => {
    expect(splitSuperframe(Uint8Array.of(0xc7, 0xc7)).index).toBeNull(); // 8 frames x 1 byte needs 10 bytes
  });

  it('reports bytes between the last frame and the index as unused', () => {
    const buf = Uint8Array.of(0x82, 0x10, 0x00, 0x00, 0xc0, 2, 0xc0);
    const r = splitSuperframe(buf);
    expect(r.frames).toEqual([{ offset: 0, size: 2 }]);
    expect(r.unusedBytes).toBe(2);
  });

  it('throws E_VP9_SUPERFRAME when the sizes need more bytes than precede the index', () => {
    const buf = Uint8Array.of(0x82, 0x10, 0xc1, 2, 9, 0xc1);
    expect(() => splitSuperframe(buf, 'x.webm packet 7 (offset 99)')).toThrow(
      /x\.webm packet 7 \(offset 99\): superframe index frame sizes \[2, 9\] need 11 bytes, but only 2 bytes precede/,
    );
  });

  it('throws on a zero frame size', () => {
    expect(() => splitSuperframe(Uint8Array.of(0x82, 0xc1, 1, 0, 0xc1))).toThrow(/size of 0 bytes/);
  });

  it('returns no frames for an empty packet', () => {
    expect(splitSuperframe(new Uint8Array(0)).frames).toEqual([]);
  });
});
