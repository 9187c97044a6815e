import { createHash, type Hash } from 'node:crypto';
import type { XXHashAPI } from 'xxhash-wasm';
import { WorkbenchError } from '../core/errors.ts';
import { FrameDigester, xxhashApi, type FrameDigest } from './hash.ts';
import { frameBytes, isNv12able, nv12ToPlanar, pixelFormat, planarToNv12, type FrameGeometry, type Layout } from './layout.ts';
import { FrameSplitter, type FrameSink } from './splitter.ts';

/** Hashes of one output frame. */
export interface HashedFrame {
  /** 0-based output-order number. */
  index: number;
  width: number;
  height: number;
  bitDepth: number;
  /** ffmpeg pixel format of the planar layout, e.g. `yuv420p`, `yuv420p10le`. */
  pixelFormat: string;
  /** Digest of the planar (I420 / 16-bit LE) bytes; null when not computed. */
  i420: FrameDigest | null;
  /** Digest of the NV12 / P010 bytes; null when not computed or not 4:2:0. */
  nv12: FrameDigest | null;
}

/** Options of {@link FrameStreamHasher}. */
export interface StreamHasherOptions {
  /** Layout of the bytes fed to {@link FrameStreamHasher.update}. */
  layout: Layout;
  /**
   * Also compute the other layout's digests and the planar whole-stream MD5
   * (needs one frame of buffering and a conversion). Default true.
   */
  both?: boolean;
  /** Called as soon as a frame is complete. */
  onFrame?: (f: HashedFrame) => void;
}

/** Final result of a stream. */
export interface StreamHashResult {
  frames: HashedFrame[];
  /**
   * MD5 (hex) of all frames in planar layout, concatenated: Fluster's
   * `result` for VP9 (`vpxdec --i420 -o - | md5sum`). Null when `both` is
   * false and the input is not planar.
   */
  md5: string | null;
  /** Total bytes fed. */
  bytes: number;
}

/**
 * Hashes a raw decoded stream (frames back to back, unpadded) as bytes
 * arrive, e.g. an NV12 stream read from a board over SSH. The geometry of
 * every expected frame is given up front (from the inspector's output list,
 * {@link import('../vectors/inspect.ts').OutputFrameGeometry}); frame
 * boundaries follow from it (the workbench's one splitter, splitter.ts), so
 * chunks may split frames anywhere.
 *
 * Throughput: the input layout is hashed without copying (SHA-256 via
 * OpenSSL, XXH64 via xxhash-wasm); `both` adds one copy and a layout
 * conversion per frame (see harness/bench/hash-throughput.ts).
 */
export class FrameStreamHasher implements FrameSink {
  private readonly frames: HashedFrame[] = [];
  private readonly splitter: FrameSplitter;
  private digester: FrameDigester | null = null;
  private convert: Uint8Array | null = null;
  private readonly md5: Hash | null;
  private readonly both: boolean;
  private done: HashedFrame[] = [];

  /** Prefer {@link FrameStreamHasher.create}, which loads xxhash-wasm. */
  constructor(
    private readonly xx: XXHashAPI,
    private readonly geometry: readonly FrameGeometry[],
    private readonly opts: StreamHasherOptions,
  ) {
    this.both = opts.both ?? true;
    this.md5 = this.both || opts.layout === 'i420' ? createHash('md5') : null;
    this.splitter = new FrameSplitter((i) => geometry[i], this, { frameSize: (g) => frameBytes(g, opts.layout), beyond: 'refuse' });
  }

  /** Creates a hasher (loads xxhash-wasm once per process). */
  static async create(geometry: readonly FrameGeometry[], opts: StreamHasherOptions): Promise<FrameStreamHasher> {
    return new FrameStreamHasher(await xxhashApi(), geometry, opts);
  }

  /** Frames completed so far. */
  get completed(): readonly HashedFrame[] {
    return this.frames;
  }

  /**
   * Feeds bytes; returns the frames completed by this chunk.
   * @throws WorkbenchError `E_STREAM_LONG` when bytes arrive after the last expected frame.
   */
  update(chunk: Uint8Array): HashedFrame[] {
    this.done = [];
    this.splitter.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    return this.done;
  }

  /**
   * Ends the stream.
   * @throws WorkbenchError `E_STREAM_SHORT` naming the first frame that is
   *   missing or incomplete.
   */
  end(): StreamHashResult {
    const p = this.splitter.partial;
    const sum = this.splitter.end();
    if (sum.frames < this.geometry.length) {
      const g = this.geometry[sum.frames]!;
      throw new WorkbenchError(
        'E_STREAM_SHORT',
        `decoded stream ended in frame ${sum.frames} (${g.width}x${g.height} ${pixelFormat(g)}): got ${p?.bytes ?? 0} of ${frameBytes(g, this.opts.layout)} bytes; ${this.geometry.length - sum.frames} of ${this.geometry.length} frames missing`,
        { hint: 'the decoder stopped early or dropped frames' },
      );
    }
    return { frames: this.frames, md5: this.md5 ? this.md5.digest('hex') : null, bytes: sum.totalBytes };
  }

  /** FrameSink: a frame starts. */
  frameStart(): void {
    this.digester = new FrameDigester(this.xx);
  }

  /** FrameSink: bytes of the current frame (hashed in the input layout at once). */
  frameData(_index: number, bytes: Buffer): void {
    this.digester!.update(bytes);
    if (this.md5 && this.opts.layout === 'i420') this.md5.update(bytes);
  }

  /** A reusable conversion buffer of `n` bytes (no per-frame allocation). */
  private scratch(n: number): Uint8Array {
    if (!this.convert || this.convert.length !== n) this.convert = new Uint8Array(n);
    return this.convert;
  }

  /** FrameSink: the frame is complete; the other layout is derived from its bytes when `both`. */
  frameEnd(index: number, g: FrameGeometry, slices: Buffer[]): void {
    const own = this.digester!.digest();
    const needOther = this.both && (this.opts.layout === 'nv12' || isNv12able(g));
    const bytes = needOther ? (slices.length === 1 ? slices[0]! : Buffer.concat(slices)) : undefined;
    let i420: FrameDigest | null = null;
    let nv12: FrameDigest | null = null;
    if (this.opts.layout === 'i420') {
      i420 = own;
      if (bytes) nv12 = digestSync(this.xx, planarToNv12(bytes, g, this.scratch(bytes.length)));
    } else {
      nv12 = own;
      if (bytes) {
        const planar = nv12ToPlanar(bytes, g, this.scratch(bytes.length));
        this.md5!.update(planar);
        i420 = digestSync(this.xx, planar);
      }
    }
    const f: HashedFrame = { index, width: g.width, height: g.height, bitDepth: g.bitDepth, pixelFormat: pixelFormat(g), i420, nv12 };
    this.frames.push(f);
    this.done.push(f);
    this.opts.onFrame?.(f);
    this.digester = null;
  }
}

function digestSync(xx: XXHashAPI, bytes: Uint8Array): FrameDigest {
  const d = new FrameDigester(xx);
  d.update(bytes);
  return d.digest();
}

/**
 * Streams a raw decoded file (frames back to back) through a
 * {@link FrameStreamHasher}.
 * @throws WorkbenchError `E_STREAM_SHORT` / `E_STREAM_LONG` when the file
 *   size does not match the geometry list.
 */
export async function hashRawFile(path: string, geometry: readonly FrameGeometry[], opts: StreamHasherOptions): Promise<StreamHashResult> {
  const { createReadStream } = await import('node:fs');
  const h = await FrameStreamHasher.create(geometry, opts);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.end();
}
