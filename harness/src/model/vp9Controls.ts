/** V4L2 stateless VP9 controls of one frame, as the kernel received them. */

/**
 * A `struct v4l2_ctrl_vp9_frame` (include/uapi/linux/v4l2-controls.h) as
 * userspace sent it for one frame; decode/visl/vp9FrameTrace.ts reads it
 * from visl's trace event `visl_vp9_controls/v4l2_ctrl_vp9_frame`.
 * Names of flags are the trace's (`KEY_FRAME` for V4L2_VP9_FRAME_FLAG_KEY_FRAME),
 * enum values those of the UAPI header (V4L2_VP9_*).
 */
export interface Vp9FrameControls {
  lf: { refDeltas: number[]; modeDeltas: number[]; level: number; sharpness: number; flags: string[] };
  quant: { baseQIdx: number; deltaQYDc: number; deltaQUvDc: number; deltaQUvAc: number };
  seg: { featureData: number[][]; featureEnabled: number[]; treeProbs: number[]; predProbs: number[]; flags: string[] };
  /** V4L2_VP9_FRAME_FLAG_* names. */
  flags: string[];
  compressedHeaderSize: number;
  uncompressedHeaderSize: number;
  frameWidthMinus1: number;
  frameHeightMinus1: number;
  renderWidthMinus1: number;
  renderHeightMinus1: number;
  /** Reference timestamps, ns (GStreamer: system_frame_number * 1000). */
  lastFrameTs: bigint;
  goldenFrameTs: bigint;
  altFrameTs: bigint;
  /** Bit mask: 1 LAST, 2 GOLDEN, 4 ALT (V4L2_VP9_SIGN_BIAS_*). */
  refFrameSignBias: number;
  /** 0 NONE, 1 SPEC, 2 ALL (V4L2_VP9_RESET_FRAME_CTX_*). */
  resetFrameContext: number;
  frameContextIdx: number;
  profile: number;
  bitDepth: number;
  /** 0 EIGHTTAP, 1 EIGHTTAP_SMOOTH, 2 EIGHTTAP_SHARP, 3 BILINEAR, 4 SWITCHABLE (V4L2_VP9_INTERP_FILTER_*). */
  interpolationFilter: number;
  tileColsLog2: number;
  tileRowsLog2: number;
  /** 0 SINGLE, 1 COMPOUND, 2 SELECT (V4L2_VP9_REFERENCE_MODE_*). */
  referenceMode: number;
  /** Trace clock of the event, seconds. */
  time: number;
}

/**
 * A `struct v4l2_ctrl_vp9_compressed_hdr` (include/uapi/linux/v4l2-controls.h)
 * as the bytes of the UAPI structure: every member is a `__u8` array, so it
 * has no padding and its bytes are the members in order (2040 bytes).
 */
export interface Vp9CompressedHdrControls {
  /** V4L2_VP9_TX_MODE_* (0 ONLY_4X4 .. 4 SELECT). */
  txMode: number;
  /** The whole structure. */
  bytes: Uint8Array;
  /** Trace clock of the event it was read from, seconds. */
  time: number;
}
