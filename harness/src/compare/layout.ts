import { WorkbenchError } from '../core/errors.ts';

/**
 * Byte layouts of a decoded frame the workbench hashes. All are unpadded
 * (no stride padding: each row is exactly `width` samples).
 *
 * - `i420`: planar Y, then U, then V (Fluster/libvpx `--i420` order). For
 *   bit depths above 8 every sample is 16-bit little-endian holding the
 *   value in the low bits (libvpx/ffmpeg `yuv420p10le`). For 4:4:4 / 4:2:2
 *   streams the same planar order at their chroma size (ffmpeg
 *   `yuv444p`...).
 * - `nv12`: Y plane then one interleaved UV plane (U first) at 4:2:0 chroma
 *   size: V4L2 `NV12` for 8-bit; for 10-bit it is `P010`: 16-bit
 *   little-endian samples with the value in the upper 10 bits (value << 6),
 *   what a V4L2 P010 CAPTURE buffer holds. Only defined for 4:2:0.
 */
export type Layout = 'i420' | 'nv12';

/** What a hasher needs to know about one output frame. */
export interface FrameGeometry {
  width: number;
  height: number;
  /** 8, 10 or 12. */
  bitDepth: number;
  /** Chroma subsampling (1 = halved). Default 1/1 (4:2:0). */
  subsamplingX?: 0 | 1;
  subsamplingY?: 0 | 1;
}

/** Chroma plane size of a geometry: `(w + ss_x) >> ss_x` by `(h + ss_y) >> ss_y`. */
export function chromaSize(g: FrameGeometry): { cw: number; ch: number } {
  const sx = g.subsamplingX ?? 1;
  const sy = g.subsamplingY ?? 1;
  return { cw: (g.width + sx) >> sx, ch: (g.height + sy) >> sy };
}

/** Bytes per sample: 1 for 8-bit, 2 above. */
export function bytesPerSample(g: FrameGeometry): 1 | 2 {
  return g.bitDepth > 8 ? 2 : 1;
}

/** Size in bytes of one frame in `layout` (the same for i420 and nv12 at 4:2:0). */
export function frameBytes(g: FrameGeometry, layout: Layout = 'i420'): number {
  if (layout === 'nv12') assertNv12able(g);
  const { cw, ch } = chromaSize(g);
  return bytesPerSample(g) * (g.width * g.height + 2 * cw * ch);
}

/** ffmpeg pixel format name of a geometry (`yuv420p`, `yuv420p10le`, `yuv444p`, ...). */
export function pixelFormat(g: FrameGeometry): string {
  const sx = g.subsamplingX ?? 1;
  const sy = g.subsamplingY ?? 1;
  const base = sx && sy ? 'yuv420p' : sx && !sy ? 'yuv422p' : !sx && sy ? 'yuv440p' : 'yuv444p';
  return g.bitDepth > 8 ? `${base}${g.bitDepth}le` : base;
}

/** The V4L2-style name of the semi-planar layout for a geometry (`NV12`, `P010`, `P012`). */
export function semiPlanarName(g: FrameGeometry): string {
  return g.bitDepth === 8 ? 'NV12' : `P0${g.bitDepth}`;
}

/** True when the geometry is 4:2:0 (NV12/P010 exist for it). */
export function isNv12able(g: FrameGeometry): boolean {
  return (g.subsamplingX ?? 1) === 1 && (g.subsamplingY ?? 1) === 1;
}

function assertNv12able(g: FrameGeometry): void {
  if (!isNv12able(g)) {
    throw new WorkbenchError('E_LAYOUT', `the NV12/P010 layout is only defined for 4:2:0, not ${pixelFormat(g)}`, {
      hint: 'use the i420 (planar) layout for this frame',
    });
  }
}

/**
 * Converts one planar frame (`i420` layout) into the `nv12` layout (NV12 for
 * 8-bit; P010/P012 with MSB-aligned 16-bit LE samples above 8 bits).
 * @throws WorkbenchError `E_LAYOUT` for a wrong input size or non-4:2:0.
 */
export function planarToNv12(planar: Uint8Array, g: FrameGeometry, out?: Uint8Array): Uint8Array {
  const size = frameBytes(g, 'nv12');
  if (planar.length !== size) {
    throw new WorkbenchError('E_LAYOUT', `planar frame is ${planar.length} bytes, ${g.width}x${g.height} ${pixelFormat(g)} needs ${size}`);
  }
  const dst = out ?? new Uint8Array(size);
  const { cw, ch } = chromaSize(g);
  const ySize = g.width * g.height;
  const cSize = cw * ch;
  if (g.bitDepth === 8) {
    dst.set(planar.subarray(0, ySize), 0);
    const u = ySize;
    const v = ySize + cSize;
    for (let i = 0, o = ySize; i < cSize; i++, o += 2) {
      dst[o] = planar[u + i]!;
      dst[o + 1] = planar[v + i]!;
    }
    return dst;
  }
  const shift = 16 - g.bitDepth;
  const src16 = new Uint16Array(planar.buffer.slice(planar.byteOffset, planar.byteOffset + planar.byteLength));
  const dst16 = new Uint16Array(dst.buffer, dst.byteOffset, size / 2);
  for (let i = 0; i < ySize; i++) dst16[i] = src16[i]! << shift;
  for (let i = 0, o = ySize; i < cSize; i++, o += 2) {
    dst16[o] = src16[ySize + i]! << shift;
    dst16[o + 1] = src16[ySize + cSize + i]! << shift;
  }
  return dst;
}

/**
 * Converts one `nv12`-layout frame (NV12 / P010) back to the planar layout
 * (16-bit LE low-bit samples above 8 bits). Used to compute Fluster's MD5
 * from a semi-planar stream.
 */
export function nv12ToPlanar(nv12: Uint8Array, g: FrameGeometry, out?: Uint8Array): Uint8Array {
  const size = frameBytes(g, 'nv12');
  if (nv12.length !== size) {
    throw new WorkbenchError('E_LAYOUT', `NV12 frame is ${nv12.length} bytes, ${g.width}x${g.height} ${semiPlanarName(g)} needs ${size}`);
  }
  const dst = out ?? new Uint8Array(size);
  const { cw, ch } = chromaSize(g);
  const ySize = g.width * g.height;
  const cSize = cw * ch;
  if (g.bitDepth === 8) {
    dst.set(nv12.subarray(0, ySize), 0);
    const u = dst.subarray(ySize, ySize + cSize);
    const v = dst.subarray(ySize + cSize, ySize + 2 * cSize);
    if ((nv12.byteOffset + ySize) % 2 === 0) {
      // little-endian 16-bit view: low byte U, high byte V (about 2x faster)
      const uv = new Uint16Array(nv12.buffer, nv12.byteOffset + ySize, cSize);
      for (let i = 0; i < cSize; i++) {
        const w = uv[i]!;
        u[i] = w & 0xff;
        v[i] = w >>> 8;
      }
    } else {
      for (let i = 0, o = ySize; i < cSize; i++, o += 2) {
        u[i] = nv12[o]!;
        v[i] = nv12[o + 1]!;
      }
    }
    return dst;
  }
  const shift = 16 - g.bitDepth;
  const src16 = new Uint16Array(nv12.buffer.slice(nv12.byteOffset, nv12.byteOffset + nv12.byteLength));
  const dst16 = new Uint16Array(dst.buffer, dst.byteOffset, size / 2);
  for (let i = 0; i < ySize; i++) dst16[i] = src16[i]! >> shift;
  for (let i = 0, o = ySize; i < cSize; i++, o += 2) {
    dst16[ySize + i] = src16[o]! >> shift;
    dst16[ySize + cSize + i] = src16[o + 1]! >> shift;
  }
  return dst;
}

/**
 * Geometry of an ffmpeg planar YUV pixel format name (`yuv420p`,
 * `yuv420p10le`, `yuv444p12le`...), or null for any other format.
 */
export function geometryOf(pixFmt: string, width: number, height: number): FrameGeometry | null {
  const m = /^yuv(420|422|440|444)p(?:(9|10|12|14|16)le)?$/.exec(pixFmt);
  if (!m) return null;
  const sub = { '420': [1, 1], '422': [1, 0], '440': [0, 1], '444': [0, 0] }[m[1] as '420'] as [0 | 1, 0 | 1];
  return { width, height, bitDepth: m[2] ? Number(m[2]) : 8, subsamplingX: sub[0], subsamplingY: sub[1] };
}
