import { describe, expect, it } from 'vitest';
import { demuxIvf, muxIvf, IVF_HEADER_SIZE } from '../../src/vectors/container/ivf.ts';
import { demux } from '../../src/vectors/container/index.ts';
import { isWorkbenchError } from '../../src/core/errors.ts';

const packets = [
  { data: Uint8Array.of(1, 2, 3), pts: 0 },
  { data: Uint8Array.of(4, 5), pts: 1 },
  { data: Uint8Array.of(6), pts: 2 },
];

describe('IVF demux', () => {
  it('round-trips header fields, payload offsets and pts', () => {
    const buf = muxIvf(packets, { width: 352, height: 288, timebase: { num: 1, den: 30 } });
    const d = demuxIvf(buf, 'a.ivf');
    expect(d).toMatchObject({ container: 'ivf', codec: 'VP90', width: 352, height: 288, timebase: { num: 1, den: 30 } });
    expect(d.packets.map((p) => [p.index, p.offset, p.size, p.pts, [...p.data]])).toEqual([
      [0, IVF_HEADER_SIZE + 12, 3, 0, [1, 2, 3]],
      [1, IVF_HEADER_SIZE + 12 + 3 + 12, 2, 1, [4, 5]],
      [2, IVF_HEADER_SIZE + 2 * 12 + 5 + 12, 1, 2, [6]],
    ]);
  });

  it('names the frame and its offset when a payload is truncated', () => {
    const buf = muxIvf(packets, { width: 16, height: 16 });
    const cut = buf.subarray(0, buf.length - 1);
    let msg = '';
    try {
      demuxIvf(cut, 'cut.ivf');
    } catch (e) {
      expect(isWorkbenchError(e, 'E_IVF_TRUNCATED')).toBe(true);
      msg = (e as Error).message;
    }
    expect(msg).toBe('cut.ivf: truncated IVF: frame 2 at offset 61 declares 1 bytes of payload (from offset 73), only 0 remain');
  });

  it('names the frame and its offset when a frame header is truncated', () => {
    const buf = muxIvf(packets, { width: 16, height: 16 });
    expect(() => demuxIvf(buf.subarray(0, 32 + 12 + 3 + 5), 'h.ivf')).toThrow(
      'h.ivf: truncated IVF: frame 1 header at offset 47 needs 12 bytes, only 5 remain',
    );
  });

  it('rejects a short file header, a bad signature and unknown containers', () => {
    expect(() => demuxIvf(Uint8Array.of(0x44, 0x4b, 0x49, 0x46, 0), 's.ivf')).toThrow(/IVF file header is 5 bytes/);
    expect(() => demuxIvf(new Uint8Array(40), 'z.ivf')).toThrow(/no DKIF signature/);
    expect(() => demux(new Uint8Array(40), 'z.bin')).toThrow(/neither IVF \(DKIF\) nor WebM/);
  });

  it('accepts an empty stream (header only)', () => {
    expect(demuxIvf(muxIvf([], { width: 1, height: 1 })).packets).toEqual([]);
  });
});
