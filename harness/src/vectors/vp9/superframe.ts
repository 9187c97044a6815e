import { WorkbenchError } from '../../core/errors.ts';

/** One frame inside a container packet (a "chunk"). */
export interface ChunkFrame {
  /** Byte offset of the frame inside the chunk. */
  offset: number;
  /** Size of the frame in bytes. */
  size: number;
}

/** The superframe index found at the end of a chunk (VP9 spec Annex B). */
export interface SuperframeIndex {
  /** Offset of the index (its first marker byte) inside the chunk. */
  offset: number;
  /** Total index size: 2 marker bytes + frames x bytesPerFrameSize. */
  size: number;
  /** `bytes_per_framesize_minus_1 + 1` (1..4). */
  bytesPerFrameSize: number;
  /** `frame_sizes[]` as coded (little-endian). */
  frameSizes: number[];
}

/** Result of {@link splitSuperframe}. */
export interface SplitResult {
  /** The frames in decode order (one entry when the chunk is not a superframe). */
  frames: ChunkFrame[];
  /** The index, or null when the chunk holds a single frame. */
  index: SuperframeIndex | null;
  /** Bytes between the last frame and the index (not used by decoders). */
  unusedBytes: number;
}

/**
 * Splits one container packet into VP9 frames using the superframe index
 * (VP9 Bitstream Specification, Annex B "Superframes").
 *
 * The last byte of a superframe is a marker `0b110xxyyy` (xx =
 * bytes_per_framesize_minus_1, yyy = frames_in_superframe_minus_1); the
 * index is `2 + bytes * frames` bytes long and starts with the same marker
 * byte. A chunk whose last byte is not a marker, or whose would-be index
 * does not start with the same byte (or does not fit), is a single frame.
 *
 * @param buf the chunk (an IVF frame or a WebM block payload)
 * @param what label for errors, e.g. `"x.webm packet 12 (offset 4567)"`
 * @throws WorkbenchError `E_VP9_SUPERFRAME` when the index is well formed
 *   but its frame sizes are 0 or add up to more than the bytes before it.
 */
export function splitSuperframe(buf: Uint8Array, what = 'packet'): SplitResult {
  const single: SplitResult = { frames: [{ offset: 0, size: buf.length }], index: null, unusedBytes: 0 };
  if (buf.length === 0) return { frames: [], index: null, unusedBytes: 0 };
  const marker = buf[buf.length - 1]!;
  if ((marker & 0xe0) !== 0xc0) return single;
  const bytes = ((marker >> 3) & 0x3) + 1;
  const count = (marker & 0x7) + 1;
  const indexSize = 2 + bytes * count;
  if (buf.length < indexSize) return single;
  const indexOffset = buf.length - indexSize;
  if (buf[indexOffset] !== marker) return single;
  const sizes: number[] = [];
  let p = indexOffset + 1;
  for (let i = 0; i < count; i++) {
    let s = 0;
    for (let b = 0; b < bytes; b++) s += buf[p++]! * 2 ** (8 * b);
    sizes.push(s);
  }
  const frames: ChunkFrame[] = [];
  let off = 0;
  for (let i = 0; i < count; i++) {
    const size = sizes[i]!;
    if (size === 0) {
      throw new WorkbenchError('E_VP9_SUPERFRAME', `${what}: superframe index gives frame ${i} of ${count} a size of 0 bytes`, {
        hint: 'the superframe index is corrupt; the packet cannot be split into frames',
      });
    }
    if (off + size > indexOffset) {
      throw new WorkbenchError(
        'E_VP9_SUPERFRAME',
        `${what}: superframe index frame sizes [${sizes.join(', ')}] need ${sizes.reduce((a, b) => a + b, 0)} bytes, but only ${indexOffset} bytes precede the ${indexSize}-byte index (frame ${i} ends at byte ${off + size})`,
        { hint: 'the packet is truncated or its superframe index is corrupt' },
      );
    }
    frames.push({ offset: off, size });
    off += size;
  }
  return {
    frames,
    index: { offset: indexOffset, size: indexSize, bytesPerFrameSize: bytes, frameSizes: sizes },
    unusedBytes: indexOffset - off,
  };
}

/**
 * Builds a superframe from frames (the inverse of {@link splitSuperframe}),
 * choosing the smallest bytes_per_framesize that fits. Used by the vector
 * generator and by tests.
 * @throws WorkbenchError `E_VP9_SUPERFRAME` for 0 or more than 8 frames.
 */
export function buildSuperframe(frames: Uint8Array[]): Uint8Array {
  if (frames.length === 0 || frames.length > 8) {
    throw new WorkbenchError('E_VP9_SUPERFRAME', `a superframe holds 1..8 frames, not ${frames.length}`);
  }
  const max = Math.max(...frames.map((f) => f.length));
  const bytes = max < 0x100 ? 1 : max < 0x10000 ? 2 : max < 0x1000000 ? 3 : 4;
  const marker = 0xc0 | ((bytes - 1) << 3) | (frames.length - 1);
  const total = frames.reduce((a, f) => a + f.length, 0) + 2 + bytes * frames.length;
  const out = new Uint8Array(total);
  let p = 0;
  for (const f of frames) {
    out.set(f, p);
    p += f.length;
  }
  out[p++] = marker;
  for (const f of frames) {
    let s = f.length;
    for (let b = 0; b < bytes; b++) {
      out[p++] = s & 0xff;
      s = Math.floor(s / 256);
    }
  }
  out[p++] = marker;
  return out;
}
