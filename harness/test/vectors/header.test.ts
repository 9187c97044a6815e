import { describe, expect, it } from 'vitest';
import { BitReader } from '../../src/vectors/vp9/bitreader.ts';
import { parseUncompressedHeader, tileColsBounds, Vp9HeaderState } from '../../src/vectors/vp9/header.ts';
import { writeUncompressedHeader } from '../../src/vectors/vp9/writer.ts';
import { isWorkbenchError } from '../../src/core/errors.ts';

/**
 * Hand-made bitstreams: bits written out by hand from the VP9 spec section
 * 6.2 syntax tables (spaces separate syntax elements, '|' is a comment-free
 * separator), padded with zero bits, followed by `extra` payload bytes.
 */
function bits(spec: string, extra = 64): Uint8Array {
  const s = spec.replace(/[^01]/g, '');
  const n = Math.ceil(s.length / 8);
  const out = new Uint8Array(n + extra);
  for (let i = 0; i < s.length; i++) if (s[i] === '1') out[i >> 3]! |= 0x80 >> (i & 7);
  return out;
}

const SYNC = '01001001 10000011 01000010';
const u16 = (v: number) => v.toString(2).padStart(16, '0');

// Key frame, profile 0, 352x288, BT.709 full range... every field by hand.
const keyParts = (seg = '0') =>
  [
    '10',
    '0',
    '0', // frame_marker, profile_low_bit, profile_high_bit
    '0',
    '0',
    '1',
    '0', // show_existing_frame, frame_type KEY, show_frame, error_resilient_mode
    SYNC,
    '010',
    '1', // color_space BT.709 (2), color_range full
    u16(351),
    u16(287), // frame_width_minus_1, frame_height_minus_1
    '0', // render_and_frame_size_different
    '1',
    '0',
    '00', // refresh_frame_context, frame_parallel_decoding_mode, frame_context_idx
    '100100',
    '011', // loop_filter_level 36, sharpness 3
    '1',
    '1', // delta_enabled, delta_update
    '1',
    '000001 0',
    '0',
    '1',
    '000001 1',
    '1',
    '000001 1', // ref deltas: [0]=+1, [1] not updated, [2]=-1, [3]=-1
    '0',
    '1',
    '000010 1', // mode deltas: [0] not updated, [1]=-2
    '01100100', // base_q_idx 100
    '1',
    '0011 1',
    '0',
    '1',
    '0010 0', // delta_q_y_dc -3, uv_dc not coded, uv_ac +2
    seg, // segmentation_params(): '0' = segmentation_enabled 0
    // tile cols: 352 wide -> Sb64Cols 6 -> min 0, max 0: no increment bit
    '0', // tile_rows_log2 0
    u16(123), // header_size_in_bytes
  ].join(' ');
const KEY_352x288 = keyParts();

describe('BitReader', () => {
  it('reads f(n) MSB first and su(n) as magnitude + sign', () => {
    const r = new BitReader(Uint8Array.of(0b10110010, 0b11110000));
    expect(r.f(3, 'a')).toBe(0b101);
    expect(r.f(5, 'b')).toBe(0b10010);
    expect(r.su(3, 'c')).toBe(-7);
    expect(r.bitPosition).toBe(12);
    expect(r.trace.map((t) => [t.name, t.bitOffset, t.value])).toEqual([
      ['a', 0, 5],
      ['b', 3, 18],
      ['c', 8, -7],
    ]);
  });
  it('throws E_VP9_TRUNCATED naming the field when the data ends', () => {
    const r = new BitReader(Uint8Array.of(0xff), 'x.ivf frame 3');
    r.f(6);
    expect(() => r.f(4, 'loop_filter_level')).toThrow(/x\.ivf frame 3.*loop_filter_level.*bit 6 of 8/);
  });
});

describe('parseUncompressedHeader on hand-made bytes', () => {
  it('parses every field of a key frame', () => {
    const st = new Vp9HeaderState();
    const { header: h, trace } = parseUncompressedHeader(bits(KEY_352x288, 200), st);
    expect(h).toMatchObject({
      profile: 0,
      frameType: 'key',
      showFrame: true,
      errorResilientMode: false,
      width: 352,
      height: 288,
      renderWidth: 352,
      refreshFrameFlags: 0xff,
      refreshFrameContext: true,
      frameParallelDecodingMode: false,
      frameContextIdx: 0,
      headerSizeInBytes: 123,
    });
    expect(h.color).toEqual({ bitDepth: 8, colorSpace: 2, colorSpaceName: 'bt709', colorRange: 1, subsamplingX: 1, subsamplingY: 1 });
    expect(h.loopFilter).toMatchObject({
      level: 36,
      sharpness: 3,
      deltaEnabled: true,
      deltaUpdate: true,
      refDeltaUpdates: [1, null, -1, -1],
      modeDeltaUpdates: [null, -2],
    });
    expect(h.loopFilter.refDeltas).toEqual([1, 0, -1, -1]);
    expect(h.loopFilter.modeDeltas).toEqual([0, -2]);
    expect(h.quant).toEqual({ baseQIdx: 100, deltaQYDc: -3, deltaQUvDc: 0, deltaQUvAc: 2, lossless: false });
    expect(h.tile).toEqual({ colsLog2: 0, rowsLog2: 0, minColsLog2: 0, maxColsLog2: 0 });
    const bitsLen = KEY_352x288.replace(/[^01]/g, '').length;
    expect(h.uncompressedHeaderSize).toBe(Math.ceil(bitsLen / 8));
    expect(trace.find((t) => t.name === 'base_q_idx')?.bitOffset).toBe(bitsLen - 16 - 1 - 1 - 13 - 8);
    expect(st.refs.every((r) => r?.width === 352 && r.height === 288)).toBe(true);
  });

  it('parses an inter frame that copies its size from reference found_ref[1], and detects scaling', () => {
    const st = new Vp9HeaderState();
    parseUncompressedHeader(bits(KEY_352x288, 200), st);
    st.refs[5] = { ...st.refs[0]!, width: 176, height: 144 };
    const inter = [
      '10 0 0',
      '0 1 1 0', // not existing, NON_KEY, show_frame 1, error_res 0
      '00', // reset_frame_context (intra_only not coded: show_frame = 1)
      '00000011', // refresh_frame_flags
      '000 0',
      '101 1',
      '010 0', // ref_frame_idx[i] + sign_bias: LAST=0, GOLDEN=5 (+), ALTREF=2
      '0',
      '1', // found_ref[0]=0, found_ref[1]=1 -> size of slot 5
      '0', // render_and_frame_size_different
      '1', // allow_high_precision_mv
      '0',
      '10', // not switchable, raw 2 = EIGHTTAP_SHARP
      '0 1 01', // refresh_frame_context 0, frame_parallel 1, frame_context_idx 1
      '000000 000',
      '0', // lf level 0, sharpness 0, delta_enabled 0
      '00000000',
      '0 0 0', // base_q_idx 0, no deltas -> lossless
      '0', // segmentation off
      '0 0', // tile cols (176 wide: max 0, no bits) ... tile_rows '0'; header_size follows
      u16(7),
    ].join(' ');
    // 176 wide: Sb64Cols 3 -> max log2 0: no increment bit, so drop one '0' above.
    const fixed = inter.replace(/0 0 (\d{16})$/, '0 $1');
    const { header: h } = parseUncompressedHeader(bits(fixed), st);
    expect(h.frameType).toBe('inter');
    expect(h.sizeFromRef).toBe(1);
    expect([h.width, h.height]).toEqual([176, 144]);
    expect(h.refFrameIdx).toEqual([0, 5, 2]);
    expect(h.refFrameSignBias).toEqual([false, true, false]);
    expect(h.interpFilter).toBe('eighttap_sharp');
    expect(h.allowHighPrecisionMv).toBe(true);
    expect(h.refScaling).toBe(true);
    expect(h.refSizes).toEqual([
      { width: 352, height: 288 },
      { width: 176, height: 144 },
      { width: 352, height: 288 },
    ]);
    expect(h.quant.lossless).toBe(true);
    expect(h.frameContextIdx).toBe(1);
    expect(h.headerSizeInBytes).toBe(7);
    // slots 0 and 1 now hold the 176x144 frame, the others keep theirs
    expect(st.refs[0]!.width).toBe(176);
    expect(st.refs[1]!.width).toBe(176);
    expect(st.refs[2]!.width).toBe(352);
  });

  it('parses a profile 0 intra-only frame (implicit 8-bit 4:2:0 BT.601) and show_existing_frame', () => {
    const st = new Vp9HeaderState();
    const io = [
      '10 0 0',
      '0 1 0 0', // NON_KEY, show_frame 0, error_res 0
      '1',
      '11', // intra_only, reset_frame_context 3
      SYNC,
      '00000101', // refresh_frame_flags: slots 0 and 2
      u16(63),
      u16(31),
      '1',
      u16(79),
      u16(39), // 64x32, render 80x40
      '1 1 00',
      '000001 000 0',
      '00001010 0 0 0',
      '0',
      '0',
      u16(2),
    ].join(' ');
    const { header: h } = parseUncompressedHeader(bits(io), st);
    expect(h).toMatchObject({
      intraOnly: true,
      showFrame: false,
      resetFrameContext: 3,
      refreshFrameFlags: 5,
      width: 64,
      height: 32,
      renderWidth: 80,
      renderHeight: 40,
      renderSizeDifferent: true,
    });
    expect(h.color).toMatchObject({ bitDepth: 8, colorSpaceName: 'bt601', subsamplingX: 1 });
    const se = parseUncompressedHeader(bits('10 0 0 1 010', 0), st).header;
    expect(se).toMatchObject({ showExistingFrame: true, frameToShowMapIdx: 2, width: 64, height: 32, showFrame: true });
    expect(() => parseUncompressedHeader(bits('10 0 0 1 001', 0), st)).toThrow(/slot 1, which holds no frame/);
  });

  it('parses segmentation with map, temporal prediction and signed feature data', () => {
    const seg = [
      '1',
      '1', // enabled, update_map
      '1 00000001',
      '0',
      '0',
      '1 10000000',
      '0',
      '0',
      '0', // tree probs: 1, 255, 255, 128, 255 x3
      '1',
      '1 00000011',
      '0',
      '0', // temporal_update, pred probs 3, 255, 255
      '1',
      '1', // update_data, abs_or_delta_update
      // segment 0: alt-q -20, alt-lf +5, ref 2, skip
      '1 00010100 1',
      '1 000101 0',
      '1 10',
      '1',
      ...Array.from({ length: 7 }, () => '0 0 0 0'),
    ].join(' ');
    const { header: h } = parseUncompressedHeader(bits(keyParts(seg), 300), new Vp9HeaderState());
    expect(h.segmentation).toMatchObject({ enabled: true, updateMap: true, temporalUpdate: true, updateData: true, absOrDeltaUpdate: true });
    expect(h.segmentation.treeProbs).toEqual([1, 255, 255, 128, 255, 255, 255]);
    expect(h.segmentation.predProbs).toEqual([3, 255, 255]);
    expect(h.segmentation.features[0]).toEqual([
      { enabled: true, value: -20 },
      { enabled: true, value: 5 },
      { enabled: true, value: 2 },
      { enabled: true, value: 0 },
    ]);
    expect(h.segmentation.features[7]!.every((f) => !f.enabled)).toBe(true);
    expect(h.headerSizeInBytes).toBe(123);
  });

  it('parses profile 2 (10-bit) and profile 1 4:4:4 colour configs', () => {
    const p2 = ['10 0 1', '0 0 1 0', SYNC, '0', '001 0', u16(63), u16(47), '0', '1 1 00', '000000 000 0', '00000001 0 0 0', '0', '0', u16(9)].join(' ');
    expect(parseUncompressedHeader(bits(p2), new Vp9HeaderState()).header.color).toMatchObject({ bitDepth: 10, colorSpace: 1, subsamplingX: 1 });
    const p1 = ['10 1 0', '0 0 1 0', SYNC, '000 0 0 0 0', u16(63), u16(47), '0', '1 1 00', '000000 000 0', '00000001 0 0 0', '0', '0', u16(9)].join(' ');
    const h1 = parseUncompressedHeader(bits(p1), new Vp9HeaderState()).header;
    expect(h1.profile).toBe(1);
    expect(h1.color).toMatchObject({ bitDepth: 8, subsamplingX: 0, subsamplingY: 0 });
  });

  it('computes tile column bounds per spec (1080p: 0..2; 4096 wide: min 0 max 4; 8192 wide: min 1)', () => {
    expect(tileColsBounds(1920)).toEqual({ min: 0, max: 2 });
    expect(tileColsBounds(4096)).toEqual({ min: 0, max: 4 });
    expect(tileColsBounds(8192)).toEqual({ min: 1, max: 5 });
    expect(tileColsBounds(64)).toEqual({ min: 0, max: 0 });
  });

  it('rejects a bad frame marker, sync code, reserved bit, empty compressed header and truncation', () => {
    const err = (b: Uint8Array) => {
      try {
        parseUncompressedHeader(b, new Vp9HeaderState(), 'v.ivf frame 0 (offset 44)');
      } catch (e) {
        return isWorkbenchError(e) ? `${e.code}: ${e.message}` : String(e);
      }
      return 'no error';
    };
    expect(err(bits('11 0 0 0', 4))).toMatch(/E_VP9_SYNTAX: v\.ivf frame 0 \(offset 44\): frame_marker is 3/);
    expect(err(bits('10 0 0 0 0 1 0 01001000', 8))).toMatch(/frame_sync_byte_0 is 0x48/);
    expect(err(bits('10 1 1 1', 4))).toMatch(/reserved_zero after profile 3/);
    expect(err(bits(KEY_352x288.replace(new RegExp(u16(123) + '$'), u16(0))))).toMatch(/header_size_in_bytes is 0/);
    expect(err(bits(KEY_352x288, 0))).toMatch(/E_VP9_TRUNCATED: .*compressed header \(123 bytes/);
    expect(err(bits('10 0 0 0 0 1 0', 0).subarray(0, 2))).toMatch(/E_VP9_TRUNCATED/);
  });
});

describe('writeUncompressedHeader', () => {
  it('round-trips the hand-made key frame bit for bit', () => {
    const b = bits(KEY_352x288, 0);
    const { header } = parseUncompressedHeader(bits(KEY_352x288, 200), new Vp9HeaderState());
    expect(Buffer.from(writeUncompressedHeader(header)).toString('hex')).toBe(Buffer.from(b).toString('hex'));
  });
});
