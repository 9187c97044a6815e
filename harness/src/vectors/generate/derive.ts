import { WorkbenchError } from '../../core/errors.ts';
import { demuxIvf, muxIvf } from '../container/ivf.ts';
import { parseUncompressedHeader, Vp9HeaderState } from '../vp9/header.ts';
import { buildSuperframe, splitSuperframe } from '../vp9/superframe.ts';
import type { UncompressedHeader } from '../../model/vp9Header.ts';
import { replaceHeader } from '../vp9/writer.ts';

/**
 * Header-level transforms that derive a vector from a vpxenc output, for
 * syntax libvpx 1.12's encoder cannot emit from the vpxenc command line.
 * Only uncompressed-header fields change; the compressed header and tile
 * data stay byte for byte, so the result is a valid VP9 stream whose decode
 * is defined by the spec (and cross-checked libvpx vs ffmpeg like every
 * vector).
 *
 * - `intra-only`: the `keyframe`-th key frame (1 = the second one) becomes
 *   a hidden intra-only frame (refresh_frame_flags 0xFF, reset_frame_context
 *   3, i.e. the same state as the key frame) followed in the same
 *   superframe by `show_existing_frame` of slot 0, so the output equals the
 *   original stream's output frame for frame. libvpx emits intra-only
 *   frames only in multi-layer SVC (VP9E_SET_SVC_SPATIAL_LAYER_SYNC), which
 *   vpxenc does not expose. Profile 0 only (intra-only frames then imply
 *   8-bit 4:2:0 BT.601).
 * - `set-header`: overrides loop_filter_sharpness (libvpx always codes 0)
 *   and/or the three delta_q values (libvpx codes 0) on every coded frame
 *   (`frames = "all"`) or on inter frames only; lossless frames are left
 *   alone for delta_q (a delta would turn off Lossless and change how the
 *   compressed header is read).
 */
export type Derivation =
  | { kind: 'intra-only'; keyframe: number }
  | {
      kind: 'set-header';
      frames: 'all' | 'inter';
      loop_filter_sharpness?: number | undefined;
      delta_q_y_dc?: number | undefined;
      delta_q_uv_dc?: number | undefined;
      delta_q_uv_ac?: number | undefined;
    };

/** The 1-byte `show_existing_frame` frame for profile 0, slot `idx` (frame_marker 2, profile 0). */
export function showExistingFrame(idx: number, profile = 0): Uint8Array {
  const bits = (2 << 6) | ((profile & 1) << 5) | ((profile >> 1) << 4) | (1 << 3) | (idx & 7);
  if (profile === 3) throw new WorkbenchError('E_VP9_WRITE', 'profile 3 show-existing frames need 2 bytes; not supported');
  return Uint8Array.of(bits);
}

/**
 * Applies `d` to an IVF stream and returns the new IVF bytes.
 * @throws WorkbenchError `E_DERIVE` when the stream lacks what the
 *   derivation needs (e.g. fewer key frames than asked, profile > 0).
 */
export function deriveIvf(ivf: Uint8Array, d: Derivation, name = 'stream'): Uint8Array {
  const dm = demuxIvf(ivf, name);
  const state = new Vp9HeaderState();
  let keyframes = 0;
  let changed = 0;
  const packets = dm.packets.map((p) => {
    const split = splitSuperframe(p.data, `${name} packet ${p.index}`);
    const out: Uint8Array[] = [];
    for (const cf of split.frames) {
      const bytes = p.data.subarray(cf.offset, cf.offset + cf.size);
      const { header } = parseUncompressedHeader(bytes, state, `${name} packet ${p.index}`);
      if (header.showExistingFrame) {
        out.push(bytes);
        continue;
      }
      const nh = transform(header, d, () => keyframes++);
      if (nh === header) {
        out.push(bytes);
        continue;
      }
      changed++;
      out.push(replaceHeader(bytes, header.uncompressedHeaderSize, nh));
      if (d.kind === 'intra-only') out.push(showExistingFrame(0));
    }
    return { pts: p.pts, data: out.length === 1 && !split.index ? out[0]! : buildSuperframe(out) };
  });
  if (changed === 0) {
    throw new WorkbenchError('E_DERIVE', `${name}: derivation ${d.kind} changed no frame (${keyframes} key frames in the stream)`, {
      hint: d.kind === 'intra-only' ? 'encode more key frames (lower --kf-max-dist) or pick an earlier key frame' : 'check the frames selection',
    });
  }
  return muxIvf(packets, { width: dm.width, height: dm.height, fourcc: dm.codec, timebase: dm.timebase });
}

function transform(h: UncompressedHeader, d: Derivation, countKey: () => number): UncompressedHeader {
  if (d.kind === 'intra-only') {
    if (h.frameType !== 'key') return h;
    const n = countKey();
    if (n !== d.keyframe) return h;
    if (h.profile !== 0) {
      throw new WorkbenchError('E_DERIVE', `intra-only derivation needs profile 0 (got profile ${h.profile})`, {
        hint: 'profile > 0 intra-only frames code their own colour config; use a profile 0 base',
      });
    }
    return { ...h, frameType: 'inter', showFrame: false, intraOnly: true, resetFrameContext: 3, refreshFrameFlags: 0xff };
  }
  if (d.frames === 'inter' && (h.frameType === 'key' || h.intraOnly)) return h;
  const nh: UncompressedHeader = { ...h, loopFilter: { ...h.loopFilter }, quant: { ...h.quant } };
  if (d.loop_filter_sharpness !== undefined) nh.loopFilter.sharpness = d.loop_filter_sharpness;
  if (!h.quant.lossless) {
    if (d.delta_q_y_dc !== undefined) nh.quant.deltaQYDc = d.delta_q_y_dc;
    if (d.delta_q_uv_dc !== undefined) nh.quant.deltaQUvDc = d.delta_q_uv_dc;
    if (d.delta_q_uv_ac !== undefined) nh.quant.deltaQUvAc = d.delta_q_uv_ac;
  }
  return nh;
}
