import { WorkbenchError } from '../core/errors.ts';
import { bytesPerSample, chromaSize, frameBytes as layoutFrameBytes, pixelFormat, type FrameGeometry } from './layout.ts';

/**
 * Geometry of decoded output frames as they travel from the board: planar
 * Y, U, V (I420 for 4:2:0), visible size only, no stride padding, samples of
 * 1 byte (8-bit) or 2 bytes little-endian (10/12-bit): compare/layout.ts
 * `i420` layout. This is what `vpxdec --rawvideo`, GStreamer
 * `videocodectestsink location=` and Fluster's `result` MD5 use (libvpx
 * vpxdec.c write_image_file; gst-plugins-bad
 * gst/debugutils/gstvideocodectestsink.c writes each plane's visible rows;
 * Fluster fluster/decoders/libvpx.py + utils.file_checksum).
 */
export type { FrameGeometry };

/** One plane of a {@link FrameGeometry} inside the packed frame. */
export interface PlaneLayout {
  name: 'Y' | 'U' | 'V';
  /** Byte offset of the plane inside the frame. */
  offset: number;
  /** Width and height in samples. */
  width: number;
  height: number;
  /** Bytes per sample (1 or 2). */
  bytesPerSample: number;
  /** Bytes of the whole plane. */
  bytes: number;
}

/** 4:2:0 geometry. */
export function i420(width: number, height: number, bitDepth = 8): FrameGeometry {
  return { width, height, bitDepth, subsamplingX: 1, subsamplingY: 1 };
}

function check(g: FrameGeometry): void {
  if (!Number.isInteger(g.width) || !Number.isInteger(g.height) || g.width <= 0 || g.height <= 0) {
    throw new WorkbenchError('E_BAD_GEOMETRY', `frame geometry ${g.width}x${g.height} is not a positive integer size`, {
      hint: 'the reference or inspector gave an impossible frame size; regenerate the reference',
    });
  }
  if (g.bitDepth !== 8 && g.bitDepth !== 10 && g.bitDepth !== 12) {
    throw new WorkbenchError('E_BAD_GEOMETRY', `bit depth ${g.bitDepth} is not 8, 10 or 12`);
  }
}

/** Plane layout of a packed planar frame (chroma sizes round up, compare/layout.ts chromaSize). */
export function planeLayout(g: FrameGeometry): PlaneLayout[] {
  check(g);
  const bps = bytesPerSample(g);
  const { cw, ch } = chromaSize(g);
  const y = g.width * g.height * bps;
  const c = cw * ch * bps;
  return [
    { name: 'Y', offset: 0, width: g.width, height: g.height, bytesPerSample: bps, bytes: y },
    { name: 'U', offset: y, width: cw, height: ch, bytesPerSample: bps, bytes: c },
    { name: 'V', offset: y + c, width: cw, height: ch, bytesPerSample: bps, bytes: c },
  ];
}

/** Bytes of one packed planar frame. */
export function frameBytes(g: FrameGeometry): number {
  check(g);
  return layoutFrameBytes(g, 'i420');
}

/** `352x288 yuv420p` style label for messages and reports. */
export function describeGeometry(g: FrameGeometry): string {
  return `${g.width}x${g.height} ${pixelFormat(g)}`;
}

/** True when both geometries describe the same packed layout. */
export function sameGeometry(a: FrameGeometry, b: FrameGeometry): boolean {
  return a.width === b.width && a.height === b.height && a.bitDepth === b.bitDepth && pixelFormat(a) === pixelFormat(b);
}
