/**
 * Types of the VP9 uncompressed header as the inspector reports it.
 * Field meanings follow the VP9 Bitstream & Decoding Process Specification
 * v0.6 (2016), sections 6.2 (syntax) and 7.2 (semantics). Values named
 * "effective" are the ones in force for the frame after applying the
 * persistent state (loop filter deltas, segmentation features, colour
 * config inherited by inter frames); the others are what the header codes.
 */

/** `frame_type`: 0 = KEY_FRAME, 1 = NON_KEY_FRAME (spec 7.2). */
export type FrameType = 'key' | 'inter';

/** Interpolation filter of a frame (spec 7.2 `interp_filter`, literal_to_type). */
export type InterpFilter = 'eighttap_smooth' | 'eighttap' | 'eighttap_sharp' | 'bilinear' | 'switchable';

/** Maps `raw_interpolation_filter` (2 bits) to the filter type (spec `literal_to_type`). */
export const LITERAL_TO_INTERP: readonly InterpFilter[] = ['eighttap_smooth', 'eighttap', 'eighttap_sharp', 'bilinear'];

/** `color_space` names (spec 7.2, table for color_space). 7 = CS_RGB. */
export const COLOR_SPACES = ['unknown', 'bt601', 'bt709', 'smpte170', 'smpte240', 'bt2020', 'reserved', 'srgb'] as const;

/** Colour configuration in force for a frame (spec `color_config()`). */
export interface ColorConfig {
  /** 8, 10 or 12 (profiles 2 and 3 code 10/12; 0 and 1 are 8-bit). */
  bitDepth: 8 | 10 | 12;
  /** `color_space` (0..7). */
  colorSpace: number;
  colorSpaceName: (typeof COLOR_SPACES)[number];
  /** `color_range`: 0 studio (limited), 1 full. */
  colorRange: 0 | 1;
  subsamplingX: 0 | 1;
  subsamplingY: 0 | 1;
}

/** Loop filter parameters (spec `loop_filter_params()`). */
export interface LoopFilterParams {
  /** `loop_filter_level` (0..63). */
  level: number;
  /** `loop_filter_sharpness` (0..7). */
  sharpness: number;
  /** `loop_filter_delta_enabled`. */
  deltaEnabled: boolean;
  /** `loop_filter_delta_update` (false when deltas are not enabled). */
  deltaUpdate: boolean;
  /** Deltas coded in this header (`null` = not updated), index INTRA, LAST, GOLDEN, ALTREF. */
  refDeltaUpdates: (number | null)[];
  /** Mode deltas coded in this header (`null` = not updated), index 0 (ZEROMV) and 1. */
  modeDeltaUpdates: (number | null)[];
  /** Effective `loop_filter_ref_deltas[4]` after this header. */
  refDeltas: number[];
  /** Effective `loop_filter_mode_deltas[2]` after this header. */
  modeDeltas: number[];
}

/** Quantizer parameters (spec `quantization_params()`). */
export interface QuantParams {
  /** `base_q_idx` (0..255). */
  baseQIdx: number;
  /** `delta_q_y_dc`, `delta_q_uv_dc`, `delta_q_uv_ac` (su(4), 0 when not coded). */
  deltaQYDc: number;
  deltaQUvDc: number;
  deltaQUvAc: number;
  /** `Lossless`: base_q_idx 0 and all three deltas 0 (spec 7.2). */
  lossless: boolean;
}

/** One segment feature (spec `FeatureEnabled` / `FeatureData`). */
export interface SegmentFeature {
  enabled: boolean;
  value: number;
}

/** Segmentation parameters (spec `segmentation_params()`). */
export interface SegmentationParams {
  /** `segmentation_enabled`. */
  enabled: boolean;
  /** `segmentation_update_map`. */
  updateMap: boolean;
  /** `segmentation_tree_probs[7]` when the map is updated (255 = not coded). */
  treeProbs: number[] | null;
  /** `segmentation_temporal_update`. */
  temporalUpdate: boolean;
  /** `segmentation_pred_prob[3]` when the map is updated (255 = not coded). */
  predProbs: number[] | null;
  /** `segmentation_update_data`. */
  updateData: boolean;
  /** `segmentation_abs_or_delta_update` (effective). */
  absOrDeltaUpdate: boolean;
  /**
   * Effective features [segment 0..7][feature 0..3] after this header:
   * 0 alt-Q, 1 alt-LF, 2 reference frame, 3 skip (spec SEG_LVL_*).
   */
  features: SegmentFeature[][];
}

/** Tile layout (spec `tile_info()`). */
export interface TileInfo {
  /** `tile_cols_log2` after the increments. */
  colsLog2: number;
  /** `tile_rows_log2` (0..2). */
  rowsLog2: number;
  /** Bounds from `calc_min_log2_tile_cols()` / `calc_max_log2_tile_cols()`. */
  minColsLog2: number;
  maxColsLog2: number;
}

/**
 * The parsed uncompressed header of one frame (after superframe
 * splitting). For `show_existing_frame` frames only the first fields are
 * coded; width/height/color then describe the frame being shown (from the
 * reference slot state).
 */
export interface UncompressedHeader {
  /** `Profile` 0..3 (from profile_low_bit / profile_high_bit). */
  profile: 0 | 1 | 2 | 3;
  /** `show_existing_frame`. */
  showExistingFrame: boolean;
  /** `frame_to_show_map_idx` (only with showExistingFrame). */
  frameToShowMapIdx: number | null;
  frameType: FrameType;
  showFrame: boolean;
  errorResilientMode: boolean;
  /** `intra_only` (only coded on non-key frames with show_frame = 0). */
  intraOnly: boolean;
  /** `reset_frame_context` (0..3). */
  resetFrameContext: number;
  /** Effective colour config; `colorConfigCoded` says whether this header coded it. */
  color: ColorConfig;
  colorConfigCoded: boolean;
  /** `FrameWidth` / `FrameHeight` in pixels. */
  width: number;
  height: number;
  /** `RenderWidth` / `RenderHeight` (display hint only, spec 7.2). */
  renderWidth: number;
  renderHeight: number;
  /** `render_and_frame_size_different`. */
  renderSizeDifferent: boolean;
  /**
   * For inter frames: index i (0..2) of the first `found_ref[i]` = 1, i.e.
   * the size was copied from reference `ref_frame_idx[i]`; `null` when the
   * size was coded explicitly (or the frame is intra).
   */
  sizeFromRef: number | null;
  /** `refresh_frame_flags` (0xFF for key frames, 0 for show-existing). */
  refreshFrameFlags: number;
  /** `ref_frame_idx[3]` for LAST, GOLDEN, ALTREF (inter frames only). */
  refFrameIdx: number[] | null;
  /** `ref_frame_sign_bias[LAST..ALTREF]` (inter frames only). */
  refFrameSignBias: boolean[] | null;
  /** `allow_high_precision_mv` (inter frames only, else false). */
  allowHighPrecisionMv: boolean;
  /** `interp_filter` (inter frames only, else null). */
  interpFilter: InterpFilter | null;
  /**
   * Sizes of the three active references (LAST, GOLDEN, ALTREF) when known,
   * for inter frames; a size different from the frame's means reference
   * scaling (spec 8.5.2.3 motion vector scaling).
   */
  refSizes: { width: number; height: number }[] | null;
  /** True when an active reference has a different size (reference scaling). */
  refScaling: boolean;
  /** `refresh_frame_context` / `frame_parallel_decoding_mode`. */
  refreshFrameContext: boolean;
  frameParallelDecodingMode: boolean;
  /** `frame_context_idx` as coded (0..3). */
  frameContextIdx: number;
  loopFilter: LoopFilterParams;
  quant: QuantParams;
  segmentation: SegmentationParams;
  tile: TileInfo;
  /** `header_size_in_bytes`: size of the compressed header (0 for show-existing). */
  headerSizeInBytes: number;
  /** Size of the uncompressed header in bytes, including trailing bits. */
  uncompressedHeaderSize: number;
}

/**
 * One syntax element as read by {@link BitReader}: its name (VP9 spec
 * section 6.2 naming, with `[i]` for array elements), the bit offset of its
 * first bit from the start of the frame, its bit count and its value.
 * Signed elements (`su(n)`) carry the signed value and n+1 bits.
 */
export interface TraceElement {
  name: string;
  /** Bit offset of the first bit, counted from the first byte of the frame. */
  bitOffset: number;
  /** Number of bits read for this element (0 for derived values). */
  bits: number;
  value: number;
}
