import { WorkbenchError } from '../../core/errors.ts';
import type { TraceElement } from '../../model/vp9Header.ts';
import { BitReader } from './bitreader.ts';
import {
  COLOR_SPACES,
  LITERAL_TO_INTERP,
  type ColorConfig,
  type LoopFilterParams,
  type QuantParams,
  type SegmentationParams,
  type TileInfo,
  type UncompressedHeader,
} from '../../model/vp9Header.ts';

/** What a reference slot holds for header parsing (spec `RefFrameWidth[]` etc.). */
export interface RefSlot {
  width: number;
  height: number;
  color: ColorConfig;
}

/**
 * State carried from frame to frame that the uncompressed header depends on
 * (spec section 7.2 and 8.4.1/setup_past_independence): the eight reference
 * slots' sizes and colour configs, the colour config in force, loop filter
 * deltas and segmentation features. Create one per stream and pass it to
 * every {@link parseUncompressedHeader} call in decode order.
 */
export class Vp9HeaderState {
  refs: (RefSlot | null)[] = new Array<RefSlot | null>(8).fill(null);
  color: ColorConfig | null = null;
  refDeltas = [1, 0, -1, -1];
  modeDeltas = [0, 0];
  segFeatures = freshFeatures();
  segAbsOrDelta = false;
  /** Segmentation tree/pred probabilities persist only within a frame; kept for reporting. */
}

function freshFeatures(): { enabled: boolean; value: number }[][] {
  return Array.from({ length: 8 }, () => Array.from({ length: 4 }, () => ({ enabled: false, value: 0 })));
}

/** Bits and signedness of the segment features (spec `segmentation_feature_bits/signed`). */
const SEG_FEATURE_BITS = [8, 6, 2, 0];
const SEG_FEATURE_SIGNED = [true, true, false, false];
const SYNC = [0x49, 0x83, 0x42];

/** Result of {@link parseUncompressedHeader}. */
export interface ParsedHeader {
  header: UncompressedHeader;
  /** Every syntax element read, in order, with bit offsets (see {@link TraceElement}). */
  trace: TraceElement[];
}

/**
 * Parses the uncompressed header of one VP9 frame (spec 6.2
 * `uncompressed_header()` + `trailing_bits()`), updating `state` (reference
 * slots after `refresh_frame_flags`, persistent loop filter deltas and
 * segmentation features).
 *
 * @param frame the bytes of one frame (a superframe must be split first)
 * @param what label used in error messages, e.g. `"x.ivf frame 3 (offset 1234)"`
 * @throws WorkbenchError `E_VP9_TRUNCATED` when the frame ends inside the
 *   header, `E_VP9_SYNTAX` for values the spec forbids (frame marker, sync
 *   code, reserved bits, missing reference, header_size_in_bytes 0 or past
 *   the end of the frame).
 */
export function parseUncompressedHeader(frame: Uint8Array, state: Vp9HeaderState, what = 'frame'): ParsedHeader {
  const r = new BitReader(frame, what);
  const bad = (msg: string): never => {
    throw new WorkbenchError('E_VP9_SYNTAX', `${what}: ${msg} (bit ${r.bitPosition})`, {
      hint: 'the data is not a valid VP9 frame at this position; check the container and the superframe index',
    });
  };
  const marker = r.f(2, 'frame_marker');
  if (marker !== 2) bad(`frame_marker is ${marker}, must be 2`);
  const lo = r.f(1, 'profile_low_bit');
  const hi = r.f(1, 'profile_high_bit');
  const profile = ((hi << 1) + lo) as 0 | 1 | 2 | 3;
  if (profile === 3 && r.f(1, 'reserved_zero') !== 0) bad('reserved_zero after profile 3 is 1');
  const showExisting = r.flag('show_existing_frame');
  if (showExisting) {
    const idx = r.f(3, 'frame_to_show_map_idx');
    const slot = state.refs[idx];
    if (!slot) bad(`show_existing_frame names reference slot ${idx}, which holds no frame yet`);
    const uncompressedHeaderSize = r.bytePosition;
    r.byteAlign();
    return {
      trace: r.trace,
      header: {
        ...emptyHeader(profile, slot!.color),
        showExistingFrame: true,
        frameToShowMapIdx: idx,
        showFrame: true,
        width: slot!.width,
        height: slot!.height,
        renderWidth: slot!.width,
        renderHeight: slot!.height,
        uncompressedHeaderSize,
      },
    };
  }
  const frameType = r.f(1, 'frame_type') === 0 ? 'key' : 'inter';
  const showFrame = r.flag('show_frame');
  const errorRes = r.flag('error_resilient_mode');
  let intraOnly = false;
  let resetFrameContext = 0;
  let refreshFrameFlags = 0xff;
  let color: ColorConfig | null = state.color;
  let colorConfigCoded = false;
  let width = 0;
  let height = 0;
  let sizeFromRef: number | null = null;
  let refFrameIdx: number[] | null = null;
  let refFrameSignBias: boolean[] | null = null;
  let allowHp = false;
  let interpFilter: UncompressedHeader['interpFilter'] = null;
  let refSizes: UncompressedHeader['refSizes'] = null;

  const syncCode = () => {
    for (let i = 0; i < 3; i++) {
      const b = r.f(8, `frame_sync_byte_${i}`);
      if (b !== SYNC[i]) bad(`frame_sync_byte_${i} is 0x${b.toString(16)}, must be 0x${SYNC[i]!.toString(16)}`);
    }
  };
  const frameSize = () => {
    width = r.f(16, 'frame_width_minus_1') + 1;
    height = r.f(16, 'frame_height_minus_1') + 1;
  };
  let renderW = 0;
  let renderH = 0;
  let renderDifferent = false;
  const renderSize = () => {
    renderDifferent = r.flag('render_and_frame_size_different');
    if (renderDifferent) {
      renderW = r.f(16, 'render_width_minus_1') + 1;
      renderH = r.f(16, 'render_height_minus_1') + 1;
    } else {
      renderW = width;
      renderH = height;
    }
  };

  if (frameType === 'key') {
    syncCode();
    color = colorConfig(r, profile, bad);
    colorConfigCoded = true;
    frameSize();
    renderSize();
  } else {
    if (!showFrame) intraOnly = r.flag('intra_only');
    if (!errorRes) resetFrameContext = r.f(2, 'reset_frame_context');
    if (intraOnly) {
      syncCode();
      if (profile > 0) {
        color = colorConfig(r, profile, bad);
        colorConfigCoded = true;
      } else {
        color = { bitDepth: 8, colorSpace: 1, colorSpaceName: 'bt601', colorRange: 0, subsamplingX: 1, subsamplingY: 1 };
      }
      refreshFrameFlags = r.f(8, 'refresh_frame_flags');
      frameSize();
      renderSize();
    } else {
      refreshFrameFlags = r.f(8, 'refresh_frame_flags');
      refFrameIdx = [];
      refFrameSignBias = [];
      for (let i = 0; i < 3; i++) {
        refFrameIdx.push(r.f(3, `ref_frame_idx[${i}]`));
        refFrameSignBias.push(r.flag(`ref_frame_sign_bias[${i + 1}]`));
      }
      for (let i = 0; i < 3; i++) {
        if (r.flag(`found_ref[${i}]`)) {
          const slot = state.refs[refFrameIdx[i]!];
          if (!slot) bad(`found_ref[${i}] copies the size of reference slot ${refFrameIdx[i]}, which holds no frame`);
          width = slot!.width;
          height = slot!.height;
          sizeFromRef = i;
          break;
        }
      }
      if (sizeFromRef === null) frameSize();
      renderSize();
      allowHp = r.flag('allow_high_precision_mv');
      if (r.flag('is_filter_switchable')) interpFilter = 'switchable';
      else interpFilter = LITERAL_TO_INTERP[r.f(2, 'raw_interpolation_filter')]!;
      refSizes = refFrameIdx.map((idx) => {
        const s = state.refs[idx];
        return s ? { width: s.width, height: s.height } : { width: 0, height: 0 };
      });
      if (!color) bad('inter frame before any key frame or intra-only frame (no colour config in force)');
    }
  }
  let refreshFrameContext = false;
  let frameParallel = true;
  if (!errorRes) {
    refreshFrameContext = r.flag('refresh_frame_context');
    frameParallel = r.flag('frame_parallel_decoding_mode');
  }
  const frameContextIdx = r.f(2, 'frame_context_idx');
  const frameIsIntra = frameType === 'key' || intraOnly;
  if (frameIsIntra || errorRes) {
    // setup_past_independence(): defaults for loop filter deltas and segmentation.
    state.refDeltas = [1, 0, -1, -1];
    state.modeDeltas = [0, 0];
    state.segFeatures = freshFeatures();
    state.segAbsOrDelta = false;
  }
  const loopFilter = loopFilterParams(r, state);
  const quant = quantParams(r);
  const segmentation = segmentationParams(r, state);
  const tile = tileInfo(r, width);
  const headerSizeInBytes = r.f(16, 'header_size_in_bytes');
  const uncompressedHeaderSize = r.bytePosition;
  r.byteAlign();
  if (headerSizeInBytes === 0) bad('header_size_in_bytes is 0 (the compressed header may not be empty)');
  if (uncompressedHeaderSize + headerSizeInBytes > frame.length) {
    throw new WorkbenchError(
      'E_VP9_TRUNCATED',
      `${what}: compressed header (${headerSizeInBytes} bytes after a ${uncompressedHeaderSize}-byte uncompressed header) runs past the end of the ${frame.length}-byte frame`,
      { hint: 'the frame is truncated; check the container frame size and the superframe index' },
    );
  }
  // Reference update process (spec 8.10): slots named by refresh_frame_flags take this frame.
  for (let i = 0; i < 8; i++) {
    if (refreshFrameFlags & (1 << i)) state.refs[i] = { width, height, color: color! };
  }
  state.color = color;
  const refScaling = refSizes ? refSizes.some((s) => s.width !== width || s.height !== height) : false;
  return {
    trace: r.trace,
    header: {
      profile,
      showExistingFrame: false,
      frameToShowMapIdx: null,
      frameType,
      showFrame,
      errorResilientMode: errorRes,
      intraOnly,
      resetFrameContext,
      color: color!,
      colorConfigCoded,
      width,
      height,
      renderWidth: renderW,
      renderHeight: renderH,
      renderSizeDifferent: renderDifferent,
      sizeFromRef,
      refreshFrameFlags,
      refFrameIdx,
      refFrameSignBias,
      allowHighPrecisionMv: allowHp,
      interpFilter,
      refSizes,
      refScaling,
      refreshFrameContext,
      frameParallelDecodingMode: frameParallel,
      frameContextIdx,
      loopFilter,
      quant,
      segmentation,
      tile,
      headerSizeInBytes,
      uncompressedHeaderSize,
    },
  };
}

/** Spec `color_config()`. */
function colorConfig(r: BitReader, profile: number, bad: (m: string) => never): ColorConfig {
  let bitDepth: 8 | 10 | 12 = 8;
  if (profile >= 2) bitDepth = r.flag('ten_or_twelve_bit') ? 12 : 10;
  const colorSpace = r.f(3, 'color_space');
  let colorRange: 0 | 1 = 1;
  let sx: 0 | 1 = 1;
  let sy: 0 | 1 = 1;
  if (colorSpace !== 7) {
    colorRange = r.f(1, 'color_range') as 0 | 1;
    if (profile === 1 || profile === 3) {
      sx = r.f(1, 'subsampling_x') as 0 | 1;
      sy = r.f(1, 'subsampling_y') as 0 | 1;
      if (r.f(1, 'reserved_zero') !== 0) bad('reserved_zero in color_config is 1');
    }
  } else {
    if (profile === 1 || profile === 3) {
      sx = 0;
      sy = 0;
      if (r.f(1, 'reserved_zero') !== 0) bad('reserved_zero in color_config is 1');
    } else {
      bad('color_space is CS_RGB (7) in profile 0 or 2, which only carry 4:2:0');
    }
  }
  return { bitDepth, colorSpace, colorSpaceName: COLOR_SPACES[colorSpace]!, colorRange, subsamplingX: sx, subsamplingY: sy };
}

/** Spec `loop_filter_params()`; updates the persistent deltas in `state`. */
function loopFilterParams(r: BitReader, state: Vp9HeaderState): LoopFilterParams {
  const level = r.f(6, 'loop_filter_level');
  const sharpness = r.f(3, 'loop_filter_sharpness');
  const deltaEnabled = r.flag('loop_filter_delta_enabled');
  let deltaUpdate = false;
  const refDeltaUpdates: (number | null)[] = [null, null, null, null];
  const modeDeltaUpdates: (number | null)[] = [null, null];
  if (deltaEnabled) {
    deltaUpdate = r.flag('loop_filter_delta_update');
    if (deltaUpdate) {
      for (let i = 0; i < 4; i++) {
        if (r.flag(`update_ref_delta[${i}]`)) {
          refDeltaUpdates[i] = r.su(6, `loop_filter_ref_deltas[${i}]`);
          state.refDeltas[i] = refDeltaUpdates[i]!;
        }
      }
      for (let i = 0; i < 2; i++) {
        if (r.flag(`update_mode_delta[${i}]`)) {
          modeDeltaUpdates[i] = r.su(6, `loop_filter_mode_deltas[${i}]`);
          state.modeDeltas[i] = modeDeltaUpdates[i]!;
        }
      }
    }
  }
  return {
    level,
    sharpness,
    deltaEnabled,
    deltaUpdate,
    refDeltaUpdates,
    modeDeltaUpdates,
    refDeltas: [...state.refDeltas],
    modeDeltas: [...state.modeDeltas],
  };
}

/** Spec `quantization_params()` with `read_delta_q()`. */
function quantParams(r: BitReader): QuantParams {
  const baseQIdx = r.f(8, 'base_q_idx');
  const delta = (name: string) => (r.flag(`${name}.delta_coded`) ? r.su(4, `${name}.delta_q`) : 0);
  const deltaQYDc = delta('delta_q_y_dc');
  const deltaQUvDc = delta('delta_q_uv_dc');
  const deltaQUvAc = delta('delta_q_uv_ac');
  return {
    baseQIdx,
    deltaQYDc,
    deltaQUvDc,
    deltaQUvAc,
    lossless: baseQIdx === 0 && deltaQYDc === 0 && deltaQUvDc === 0 && deltaQUvAc === 0,
  };
}

/** Spec `segmentation_params()` with `read_prob()`; updates the persistent features. */
function segmentationParams(r: BitReader, state: Vp9HeaderState): SegmentationParams {
  const enabled = r.flag('segmentation_enabled');
  let updateMap = false;
  let treeProbs: number[] | null = null;
  let predProbs: number[] | null = null;
  let temporalUpdate = false;
  let updateData = false;
  const readProb = (name: string) => (r.flag(`${name}.prob_coded`) ? r.f(8, `${name}.prob`) : 255);
  if (enabled) {
    updateMap = r.flag('segmentation_update_map');
    if (updateMap) {
      treeProbs = [];
      for (let i = 0; i < 7; i++) treeProbs.push(readProb(`segmentation_tree_probs[${i}]`));
      temporalUpdate = r.flag('segmentation_temporal_update');
      predProbs = [];
      for (let i = 0; i < 3; i++) predProbs.push(temporalUpdate ? readProb(`segmentation_pred_prob[${i}]`) : 255);
    }
    updateData = r.flag('segmentation_update_data');
    if (updateData) {
      state.segAbsOrDelta = r.flag('segmentation_abs_or_delta_update');
      for (let i = 0; i < 8; i++) {
        for (let j = 0; j < 4; j++) {
          let value = 0;
          const on = r.flag(`feature_enabled[${i}][${j}]`);
          if (on) {
            value = r.f(SEG_FEATURE_BITS[j]!, `feature_value[${i}][${j}]`);
            if (SEG_FEATURE_SIGNED[j] && r.flag(`feature_sign[${i}][${j}]`)) value = -value;
          }
          state.segFeatures[i]![j] = { enabled: on, value };
        }
      }
    }
  }
  return {
    enabled,
    updateMap,
    treeProbs,
    temporalUpdate,
    predProbs,
    updateData,
    absOrDeltaUpdate: state.segAbsOrDelta,
    features: state.segFeatures.map((s) => s.map((f) => ({ ...f }))),
  };
}

/** `Sb64Cols` of a frame width (spec compute_image_size: MiCols = (w+7)>>3, Sb64Cols = (MiCols+7)>>3). */
export function sb64Cols(width: number): number {
  return (((width + 7) >> 3) + 7) >> 3;
}

/** Spec `calc_min_log2_tile_cols()` / `calc_max_log2_tile_cols()` (MAX_TILE_WIDTH_B64 64, MIN_TILE_WIDTH_B64 4). */
export function tileColsBounds(width: number): { min: number; max: number } {
  const sb = sb64Cols(width);
  let min = 0;
  while (64 << min < sb) min++;
  let max = 1;
  while (sb >> max >= 4) max++;
  return { min, max: max - 1 };
}

/** Spec `tile_info()`. Recorded as one `tile_cols_log2` / `tile_rows_log2` element each. */
function tileInfo(r: BitReader, width: number): TileInfo {
  const { min, max } = tileColsBounds(width);
  const colsStart = r.bitPosition;
  let colsLog2 = min;
  while (colsLog2 < max) {
    if (r.f(1) === 1) colsLog2++;
    else break;
  }
  r.record('tile_cols_log2', colsStart, colsLog2);
  const rowsStart = r.bitPosition;
  let rowsLog2 = r.f(1);
  if (rowsLog2 === 1) rowsLog2 += r.f(1);
  r.record('tile_rows_log2', rowsStart, rowsLog2);
  return { colsLog2, rowsLog2, minColsLog2: min, maxColsLog2: max };
}

function emptyHeader(profile: 0 | 1 | 2 | 3, color: ColorConfig): UncompressedHeader {
  return {
    profile,
    showExistingFrame: false,
    frameToShowMapIdx: null,
    frameType: 'inter',
    showFrame: false,
    errorResilientMode: false,
    intraOnly: false,
    resetFrameContext: 0,
    color,
    colorConfigCoded: false,
    width: 0,
    height: 0,
    renderWidth: 0,
    renderHeight: 0,
    renderSizeDifferent: false,
    sizeFromRef: null,
    refreshFrameFlags: 0,
    refFrameIdx: null,
    refFrameSignBias: null,
    allowHighPrecisionMv: false,
    interpFilter: null,
    refSizes: null,
    refScaling: false,
    refreshFrameContext: false,
    frameParallelDecodingMode: false,
    frameContextIdx: 0,
    loopFilter: { level: 0, sharpness: 0, deltaEnabled: false, deltaUpdate: false, refDeltaUpdates: [], modeDeltaUpdates: [], refDeltas: [], modeDeltas: [] },
    quant: { baseQIdx: 0, deltaQYDc: 0, deltaQUvDc: 0, deltaQUvAc: 0, lossless: false },
    segmentation: {
      enabled: false,
      updateMap: false,
      treeProbs: null,
      temporalUpdate: false,
      predProbs: null,
      updateData: false,
      absOrDeltaUpdate: false,
      features: [],
    },
    tile: { colsLog2: 0, rowsLog2: 0, minColsLog2: 0, maxColsLog2: 0 },
    headerSizeInBytes: 0,
    uncompressedHeaderSize: 0,
  };
}
