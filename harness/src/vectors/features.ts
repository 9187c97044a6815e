import type { FrameInfo } from '../model/frame.ts';

/**
 * The VP9 features the workbench tracks per vector, each detected from the
 * parsed uncompressed headers alone (VP9 bitstream spec v0.6 section 6.2). `describe` is the
 * text of the coverage table.
 */
export const FEATURES = {
  'profile-0': 'profile 0 (8-bit 4:2:0)',
  'profile-1-444': 'profile 1 with 4:4:4 (expected unsupported by the hardware)',
  'profile-2-10bit': 'profile 2, 10-bit',
  'size-odd-width': 'odd frame width',
  'size-odd-height': 'odd frame height',
  'size-below-64': 'frame smaller than 64x64 (width and height < 64)',
  'size-1080p': 'frame of 1920x1080 or larger',
  'keyframe-only': 'every frame is a key frame',
  'long-gop': `a run of at least ${60} inter frames between key frames`,
  'intra-only': 'intra-only frame (non-key intra frame)',
  'hidden-frame': 'frame with show_frame = 0 (e.g. alt-ref)',
  superframe: 'packet holding a superframe index (several frames)',
  'show-existing-frame': 'show_existing_frame = 1',
  'ref-scaling': 'inter frame whose reference has a different size (reference scaling)',
  'resize-inter': 'size change on an inter frame',
  lossless: 'lossless frame (base_q_idx 0, no deltas)',
  'tile-columns': 'more than one tile column',
  'tile-rows': 'more than one tile row',
  segmentation: 'segmentation enabled',
  'seg-temporal-update': 'segmentation map with temporal prediction',
  'seg-alt-q': 'segment feature alternate quantizer',
  'seg-alt-lf': 'segment feature alternate loop filter level',
  'seg-ref-frame': 'segment feature reference frame',
  'seg-skip': 'segment feature skip',
  'error-resilient': 'error_resilient_mode = 1',
  'frame-parallel': 'frame_parallel_decoding_mode = 1 (no backward adaptation)',
  'backward-adaptation': 'error_resilient_mode = 0 and frame_parallel_decoding_mode = 0 (backward adaptation on)',
  'lf-level-0': 'loop filter level 0 (filter off)',
  'lf-level-high': 'loop filter level >= 32',
  'lf-sharpness': 'loop filter sharpness > 0',
  'lf-delta-update': 'loop filter ref/mode deltas updated',
  'q-index-low': 'base_q_idx between 1 and 8 (near-lossless)',
  'q-index-max': 'base_q_idx 255',
  'delta-q': 'non-zero y_dc / uv_dc / uv_ac delta_q',
  'interp-eighttap': 'frame interpolation filter EIGHTTAP (regular)',
  'interp-smooth': 'frame interpolation filter EIGHTTAP_SMOOTH',
  'interp-sharp': 'frame interpolation filter EIGHTTAP_SHARP',
  'interp-bilinear': 'frame interpolation filter BILINEAR',
  'interp-switchable': 'per-block switchable interpolation filter',
  'render-size': 'render size different from the frame size',
} as const;

/** A feature id (key of {@link FEATURES}). */
export type FeatureId = keyof typeof FEATURES;

/** Minimum run of inter frames that counts as a long GOP. */
export const LONG_GOP_FRAMES = 60;

/**
 * The features the frames exercise (sorted in {@link FEATURES} order).
 * @param superframes number of packets with a superframe index
 */
export function detectFeatures(frames: readonly FrameInfo[], superframes: number): FeatureId[] {
  const f = new Set<FeatureId>();
  const coded = frames.filter((x) => !x.header.showExistingFrame);
  let run = 0;
  let maxRun = 0;
  let prev: { w: number; h: number } | null = null;
  for (const { header: h } of frames) {
    if (h.showExistingFrame) {
      f.add('show-existing-frame');
      continue;
    }
    if (h.profile === 0) f.add('profile-0');
    if (h.profile === 1 && h.color.subsamplingX === 0 && h.color.subsamplingY === 0) f.add('profile-1-444');
    if (h.profile === 2 && h.color.bitDepth === 10) f.add('profile-2-10bit');
    if (h.width % 2 === 1) f.add('size-odd-width');
    if (h.height % 2 === 1) f.add('size-odd-height');
    if (h.width < 64 && h.height < 64) f.add('size-below-64');
    if (h.width >= 1920 && h.height >= 1080) f.add('size-1080p');
    if (h.frameType === 'key') run = 0;
    else if (!h.intraOnly) maxRun = Math.max(maxRun, ++run);
    if (h.intraOnly) f.add('intra-only');
    if (!h.showFrame) f.add('hidden-frame');
    if (h.refScaling) f.add('ref-scaling');
    if (h.frameType === 'inter' && !h.intraOnly && prev && (prev.w !== h.width || prev.h !== h.height)) f.add('resize-inter');
    prev = { w: h.width, h: h.height };
    if (h.quant.lossless) f.add('lossless');
    if (h.quant.baseQIdx >= 1 && h.quant.baseQIdx <= 8) f.add('q-index-low');
    if (h.quant.baseQIdx === 255) f.add('q-index-max');
    if (h.quant.deltaQYDc || h.quant.deltaQUvDc || h.quant.deltaQUvAc) f.add('delta-q');
    if (h.tile.colsLog2 > 0) f.add('tile-columns');
    if (h.tile.rowsLog2 > 0) f.add('tile-rows');
    const seg = h.segmentation;
    if (seg.enabled) {
      f.add('segmentation');
      if (seg.temporalUpdate) f.add('seg-temporal-update');
      const names: FeatureId[] = ['seg-alt-q', 'seg-alt-lf', 'seg-ref-frame', 'seg-skip'];
      for (const s of seg.features) s.forEach((x, j) => x.enabled && f.add(names[j]!));
    }
    if (h.errorResilientMode) f.add('error-resilient');
    else if (h.frameParallelDecodingMode) f.add('frame-parallel');
    else f.add('backward-adaptation');
    if (h.loopFilter.level === 0) f.add('lf-level-0');
    if (h.loopFilter.level >= 32) f.add('lf-level-high');
    if (h.loopFilter.sharpness > 0) f.add('lf-sharpness');
    if (h.loopFilter.deltaUpdate) f.add('lf-delta-update');
    const interp: Record<string, FeatureId> = {
      eighttap: 'interp-eighttap',
      eighttap_smooth: 'interp-smooth',
      eighttap_sharp: 'interp-sharp',
      bilinear: 'interp-bilinear',
      switchable: 'interp-switchable',
    };
    if (h.interpFilter) f.add(interp[h.interpFilter]!);
    if (h.renderSizeDifferent) f.add('render-size');
  }
  if (coded.length > 0 && coded.every((x) => x.header.frameType === 'key')) f.add('keyframe-only');
  if (maxRun >= LONG_GOP_FRAMES) f.add('long-gop');
  if (superframes > 0) f.add('superframe');
  const order = Object.keys(FEATURES) as FeatureId[];
  return order.filter((k) => f.has(k));
}

/**
 * The features the generated vp9-features suite must cover (each by at
 * least one vector of vectors/vp9-features/recipes.toml, or marked impossible
 * with a reason in its [impossible] table). The other FEATURES are informational.
 */
export const REQUIRED_FEATURES: readonly FeatureId[] = [
  'profile-0',
  'profile-2-10bit',
  'size-odd-width',
  'size-odd-height',
  'size-below-64',
  'size-1080p',
  'keyframe-only',
  'long-gop',
  'intra-only',
  'hidden-frame',
  'superframe',
  'show-existing-frame',
  'resize-inter',
  'ref-scaling',
  'lossless',
  'tile-columns',
  'tile-rows',
  'segmentation',
  'error-resilient',
  'frame-parallel',
  'backward-adaptation',
  'lf-level-0',
  'lf-level-high',
  'lf-sharpness',
  'q-index-low',
  'q-index-max',
  'interp-eighttap',
  'interp-smooth',
  'interp-sharp',
  'interp-bilinear',
  'interp-switchable',
  'profile-1-444',
];
