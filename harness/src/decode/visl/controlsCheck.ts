import type { FrameInfo } from '../../vectors/inspect.ts';
import type { InterpFilter, UncompressedHeader } from '../../model/vp9Header.ts';
import type { VislVp9Frame } from './vp9FrameTrace.ts';

/**
 * The "controls" check of visl mode: every `struct v4l2_ctrl_vp9_frame` the
 * driver received (visl trace events, decode order) is compared field by
 * field with what the inspector parsed from the same frame.
 *
 * Expected values follow the V4L2 VP9 uAPI (Documentation/userspace-api/
 * media/v4l/ext-ctrls-codec-stateless.rst, "VP9 Frame"): effective loop
 * filter deltas and segmentation features (persistent state, spec 7.2 and
 * setup_past_independence), sizes minus 1, flags as V4L2_VP9_FRAME_FLAG_*.
 * Fields that only matter under a condition are compared only then
 * (deltas when loop_filter_delta_enabled; segmentation data when enabled;
 * tree/pred probs when update_map; interpolation filter, sign bias and
 * reference timestamps on inter frames). `reference_mode` comes from the
 * compressed header, which the inspector does not parse: it is listed as
 * not compared.
 */

/** One frame as the inspector gives it (vectors/inspect.ts FrameInfo): `index` = split frame index, decode order. */
export type InspectedFrame = Pick<FrameInfo, 'index' | 'header'>;

/** One differing field. */
export interface ControlMismatch {
  /** Index among the frames the driver received (decode order, 0-based). */
  decodeIndex: number;
  /** Index in the split frame list (show-existing frames included). */
  splitIndex: number;
  field: string;
  expected: string;
  got: string;
}

/** Result of the controls check. */
export interface ControlsCheckResult {
  /** Frames the driver should have received (show-existing frames excluded). */
  framesExpected: number;
  /** `v4l2_ctrl_vp9_frame` records traced. */
  framesTraced: number;
  /** Frames compared (the shorter of the two lists). */
  framesCompared: number;
  /** Field comparisons done, summed over frames. */
  fieldsCompared: number;
  mismatches: ControlMismatch[];
  /** Fields never compared, with the reason. */
  notCompared: string[];
  pass: boolean;
}

const V4L2_INTERP: Record<InterpFilter, number> = {
  eighttap: 0,
  eighttap_smooth: 1,
  eighttap_sharp: 2,
  bilinear: 3,
  switchable: 4,
};

/**
 * spec `reset_frame_context` (0/1 none, 2 reset the context named by
 * frame_context_idx, 3 reset all) to V4L2_VP9_RESET_FRAME_CTX_* (0 NONE,
 * 1 SPEC, 2 ALL).
 */
export function v4l2ResetFrameContext(coded: number): number {
  return coded <= 1 ? 0 : coded - 1;
}

/** V4L2_VP9_FRAME_FLAG_* names the header implies. */
export function expectedFrameFlags(h: UncompressedHeader): string[] {
  const f: string[] = [];
  if (h.frameType === 'key') f.push('KEY_FRAME');
  if (h.showFrame) f.push('SHOW_FRAME');
  if (h.errorResilientMode) f.push('ERROR_RESILIENT');
  if (h.intraOnly) f.push('INTRA_ONLY');
  if (h.allowHighPrecisionMv) f.push('ALLOW_HIGH_PREC_MV');
  if (h.refreshFrameContext) f.push('REFRESH_FRAME_CTX');
  if (h.frameParallelDecodingMode) f.push('PARALLEL_DEC_MODE');
  if (h.color.subsamplingX) f.push('X_SUBSAMPLING');
  if (h.color.subsamplingY) f.push('Y_SUBSAMPLING');
  if (h.color.colorRange === 1) f.push('COLOR_RANGE_FULL_SWING');
  return f;
}

const setStr = (a: readonly string[]): string => [...a].sort().join('|') || '(none)';
const arrStr = (a: readonly number[]): string => `[${a.join(',')}]`;

/**
 * Compares traced controls with the inspector's headers.
 * @param frames every split frame in decode order (show-existing included; they are skipped,
 *   GStreamer does not send them to the driver).
 * @param traced the `v4l2_ctrl_vp9_frame` records in trace order.
 */
export function checkControls(frames: readonly InspectedFrame[], traced: readonly VislVp9Frame[]): ControlsCheckResult {
  const decoded = frames.filter((f) => !f.header.showExistingFrame);
  const n = Math.min(decoded.length, traced.length);
  const mismatches: ControlMismatch[] = [];
  let fields = 0;
  // Reference slots -> split index of the frame that last refreshed them
  // (GStreamer sets *_frame_ts = system_frame_number * 1000, and its
  // system_frame_number counts split frames from 0).
  const slotOwner: (number | undefined)[] = new Array(8).fill(undefined);
  let di = 0;
  for (const fr of frames) {
    const h = fr.header;
    if (h.showExistingFrame) continue;
    if (di >= n) break;
    const t = traced[di]!;
    const cmp = (field: string, expected: string | number, got: string | number) => {
      fields++;
      if (String(expected) !== String(got)) {
        mismatches.push({ decodeIndex: di, splitIndex: fr.index, field, expected: String(expected), got: String(got) });
      }
    };
    const inter = h.frameType === 'inter' && !h.intraOnly;
    cmp('flags', setStr(expectedFrameFlags(h)), setStr(t.flags));
    cmp('profile', h.profile, t.profile);
    cmp('bit_depth', h.color.bitDepth, t.bitDepth);
    cmp('frame_width_minus_1', h.width - 1, t.frameWidthMinus1);
    cmp('frame_height_minus_1', h.height - 1, t.frameHeightMinus1);
    cmp('render_width_minus_1', h.renderWidth - 1, t.renderWidthMinus1);
    cmp('render_height_minus_1', h.renderHeight - 1, t.renderHeightMinus1);
    cmp('compressed_header_size', h.headerSizeInBytes, t.compressedHeaderSize);
    cmp('uncompressed_header_size', h.uncompressedHeaderSize, t.uncompressedHeaderSize);
    cmp('reset_frame_context', v4l2ResetFrameContext(h.resetFrameContext), t.resetFrameContext);
    cmp('frame_context_idx', h.frameContextIdx, t.frameContextIdx);
    cmp('tile_cols_log2', h.tile.colsLog2, t.tileColsLog2);
    cmp('tile_rows_log2', h.tile.rowsLog2, t.tileRowsLog2);
    cmp('quant.base_q_idx', h.quant.baseQIdx, t.quant.baseQIdx);
    cmp('quant.delta_q_y_dc', h.quant.deltaQYDc, t.quant.deltaQYDc);
    cmp('quant.delta_q_uv_dc', h.quant.deltaQUvDc, t.quant.deltaQUvDc);
    cmp('quant.delta_q_uv_ac', h.quant.deltaQUvAc, t.quant.deltaQUvAc);
    const lf = h.loopFilter;
    cmp('lf.level', lf.level, t.lf.level);
    cmp('lf.sharpness', lf.sharpness, t.lf.sharpness);
    cmp('lf.flags', setStr([...(lf.deltaEnabled ? ['DELTA_ENABLED'] : []), ...(lf.deltaUpdate ? ['DELTA_UPDATE'] : [])]), setStr(t.lf.flags));
    if (lf.deltaEnabled) {
      cmp('lf.ref_deltas', arrStr(lf.refDeltas), arrStr(t.lf.refDeltas));
      cmp('lf.mode_deltas', arrStr(lf.modeDeltas), arrStr(t.lf.modeDeltas));
    }
    const seg = h.segmentation;
    const segFlags = seg.enabled
      ? [
          'ENABLED',
          ...(seg.updateMap ? ['UPDATE_MAP'] : []),
          ...(seg.temporalUpdate ? ['TEMPORAL_UPDATE'] : []),
          ...(seg.updateData ? ['UPDATE_DATA'] : []),
          ...(seg.absOrDeltaUpdate ? ['ABS_OR_DELTA_UPDATE'] : []),
        ]
      : [];
    if (seg.enabled) {
      cmp('seg.flags', setStr(segFlags), setStr(t.seg.flags));
      const en = seg.features.map((row) => row.reduce((m, f, j) => (f.enabled ? m | (1 << j) : m), 0));
      cmp('seg.feature_enabled', arrStr(en), arrStr(t.seg.featureEnabled));
      cmp('seg.feature_data', JSON.stringify(seg.features.map((row) => row.map((f) => f.value))), JSON.stringify(t.seg.featureData));
      if (seg.updateMap) {
        cmp('seg.tree_probs', arrStr(seg.treeProbs ?? []), arrStr(t.seg.treeProbs));
        cmp('seg.pred_probs', arrStr(seg.predProbs ?? [255, 255, 255]), arrStr(t.seg.predProbs));
      }
    } else {
      cmp('seg.flags (ENABLED)', 'no', t.seg.flags.includes('ENABLED') ? 'yes' : 'no');
    }
    if (inter) {
      cmp('interpolation_filter', h.interpFilter ? V4L2_INTERP[h.interpFilter] : '(none)', t.interpolationFilter);
      const sb = (h.refFrameSignBias ?? []).reduce((m, b, i) => (b ? m | (1 << i) : m), 0);
      cmp('ref_frame_sign_bias', sb, t.refFrameSignBias);
      const refTs = [t.lastFrameTs, t.goldenFrameTs, t.altFrameTs];
      ['last_frame_ts', 'golden_frame_ts', 'alt_frame_ts'].forEach((name, k) => {
        const slot = h.refFrameIdx?.[k];
        const owner = slot === undefined ? undefined : slotOwner[slot];
        if (owner !== undefined) cmp(name, `${BigInt(owner) * 1000n} (split frame ${owner})`, `${refTs[k]} (split frame ${Number(refTs[k]! / 1000n)})`);
      });
    }
    for (let s = 0; s < 8; s++) if (h.refreshFrameFlags & (1 << s)) slotOwner[s] = fr.index;
    di++;
  }
  return {
    framesExpected: decoded.length,
    framesTraced: traced.length,
    framesCompared: n,
    fieldsCompared: fields,
    mismatches,
    notCompared: ['reference_mode (coded in the compressed header, which the inspector does not parse)'],
    pass: mismatches.length === 0 && decoded.length === traced.length,
  };
}
