import { WorkbenchError } from '../core/errors.ts';

/**
 * Geometry of one decoded output frame as it travels from the board: planar
 * Y, U, V (I420 for 4:2:0), visible size only, no stride padding, samples of
 * 1 byte (8-bit) or 2 bytes little-endian (10/12-bit). This is the layout of
 * `vpxdec --i420`/`--rawvideo` output, of GStreamer `videocodectestsink
 * location=` output (NV12 is de-interleaved to I420 there), and of the bytes
 * Fluster's `result` MD5 is computed over (tooling-facts.md).
 */
export interface FrameGeometry {
  /** Visible width, pixels (VP9 `frame_width`, spec 7.2 frame_size()). */
  width: number;
  /** Visible height, pixels. */
  height: number;
  /** Bits per sample: 8, 10 or 12 (VP9 profiles 0/1: 8; 2/3: 10 or 12). */
  bitDepth: number;
  /** Chroma subsampling (VP9 `subsampling_x`/`subsampling_y`; 4:2:0 = both true). */
  subsamplingX: boolean;
  subsamplingY: boolean;
}

/** One plane of a {@link FrameGeometry} inside the packed frame. */
export interface PlaneLayout {
  /** 'Y', 'U' or 'V'. */
  name: 'Y' | 'U' | 'V';
  /** Byte offset of the plane inside the frame. */
  offset: number;
  /** Width and height in samples. */
  width: number;
  height: number;
  /** Bytes per sample (1 or 2). */
  bytesPerSample: number;
  /** Bytes of the whole plane (width * height * bytesPerSample). */
  bytes: number;
}

/** 4:2:0 8-bit geometry (the common case). */
export function i420(width: number, height: number, bitDepth = 8): FrameGeometry {
  return { width, height, bitDepth, subsamplingX: true, subsamplingY: true };
}

/**
 * Plane layout of a frame. Chroma sizes round up: (w + ss_x) >> ss_x, as
 * libvpx and GStreamer (`GST_ROUND_UP_2(w) / 2`) do for odd sizes.
 * @throws WorkbenchError `E_BAD_GEOMETRY` on non-positive sizes or an
 *   unsupported bit depth.
 */
export function planeLayout(g: FrameGeometry): PlaneLayout[] {
  if (!Number.isInteger(g.width) || !Number.isInteger(g.height) || g.width <= 0 || g.height <= 0) {
    throw new WorkbenchError('E_BAD_GEOMETRY', `frame geometry ${g.width}x${g.height} is not a positive integer size`, {
      hint: 'the reference or inspector gave an impossible frame size; regenerate the reference',
    });
  }
  if (g.bitDepth !== 8 && g.bitDepth !== 10 && g.bitDepth !== 12) {
    throw new WorkbenchError('E_BAD_GEOMETRY', `bit depth ${g.bitDepth} is not 8, 10 or 12`);
  }
  const bps = g.bitDepth > 8 ? 2 : 1;
  const cw = g.subsamplingX ? (g.width + 1) >> 1 : g.width;
  const ch = g.subsamplingY ? (g.height + 1) >> 1 : g.height;
  const y = g.width * g.height * bps;
  const c = cw * ch * bps;
  return [
    { name: 'Y', offset: 0, width: g.width, height: g.height, bytesPerSample: bps, bytes: y },
    { name: 'U', offset: y, width: cw, height: ch, bytesPerSample: bps, bytes: c },
    { name: 'V', offset: y + c, width: cw, height: ch, bytesPerSample: bps, bytes: c },
  ];
}

/** Bytes of one packed frame of geometry `g`. */
export function frameBytes(g: FrameGeometry): number {
  const p = planeLayout(g);
  return p[2]!.offset + p[2]!.bytes;
}

/** `352x288 8-bit 4:2:0` style label for messages and reports. */
export function describeGeometry(g: FrameGeometry): string {
  const cs = g.subsamplingX && g.subsamplingY ? '4:2:0' : g.subsamplingX ? '4:2:2' : g.subsamplingY ? '4:4:0' : '4:4:4';
  return `${g.width}x${g.height} ${g.bitDepth}-bit ${cs}`;
}

/** True when both geometries describe the same packed layout. */
export function sameGeometry(a: FrameGeometry, b: FrameGeometry): boolean {
  return (
    a.width === b.width &&
    a.height === b.height &&
    a.bitDepth === b.bitDepth &&
    a.subsamplingX === b.subsamplingX &&
    a.subsamplingY === b.subsamplingY
  );
}
