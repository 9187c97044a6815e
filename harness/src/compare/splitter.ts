import { WorkbenchError } from '../core/errors.ts';
import { frameBytes, type FrameGeometry } from './geometry.ts';

/** Receives the frames a {@link FrameSplitter} cuts out of a byte stream. */
export interface FrameSink {
  /** A new frame starts (index = output order, 0-based). */
  frameStart?(index: number, geometry: FrameGeometry): void;
  /** Part of the current frame (zero-copy views of the incoming chunks). */
  frameData(index: number, bytes: Buffer): void;
  /**
   * The frame is complete. `slices` are the views passed to frameData, in
   * order; they stay valid (the splitter never reuses memory), so a consumer
   * may keep them to rebuild the frame (e.g. for mismatch artifacts).
   */
  frameEnd(index: number, geometry: FrameGeometry, slices: Buffer[]): void;
}

/** What was left when the stream ended. */
export interface SplitSummary {
  /** Complete frames cut. */
  frames: number;
  /** Bytes of an incomplete last frame (0 when the stream ended on a frame boundary). */
  trailingBytes: number;
  /** Total bytes seen. */
  totalBytes: number;
  /** Frames cut with a geometry the provider did not know (extra frames, last geometry reused). */
  framesBeyondExpected: number;
}

/** Options of {@link FrameSplitter}. */
export interface SplitterOptions {
  /** Bytes of one frame of a geometry (default: the planar i420 layout, geometry.ts frameBytes). */
  frameSize?: (g: FrameGeometry) => number;
  /**
   * Bytes after the last frame the provider knows: `reuse` cuts them with
   * the last geometry ("extra frames" for the verdict, the default),
   * `refuse` throws `E_STREAM_LONG`.
   */
  beyond?: 'reuse' | 'refuse';
}

/**
 * The one frame splitter of the workbench (references and decodes): cuts a
 * stream of packed frames (see layout.ts) into frames as the bytes arrive,
 * with one geometry per output frame, so resolution changes inside a vector
 * split correctly. Frames beyond the provider's list reuse the last known
 * geometry (they are "extra frames" for the verdict) unless the options
 * refuse them.
 *
 * No bytes are copied: the sink gets subarray views of the pushed chunks.
 */
export class FrameSplitter {
  private index = 0;
  private cur: FrameGeometry | undefined;
  private need = 0;
  private have = 0;
  private slices: Buffer[] = [];
  private total = 0;
  private beyond = 0;
  private last: FrameGeometry | undefined;
  private unsplit = 0;
  private curBeyond = false;

  /**
   * @param geometryOf geometry of output frame `i` (0-based), or undefined
   *   when the expectation has no such frame.
   * @param sink receiver of frame data.
   */
  constructor(
    private readonly geometryOf: (index: number) => FrameGeometry | undefined,
    private readonly sink: FrameSink,
    private readonly opts: SplitterOptions = {},
  ) {}

  /** Output frames cut so far (the index of the frame in progress). */
  get framesCut(): number {
    return this.index;
  }

  /** Starts the next frame; false when no geometry is known at all. */
  private startFrame(extra: number): boolean {
    let g = this.geometryOf(this.index);
    if (!g) {
      if (this.opts.beyond === 'refuse') {
        throw new WorkbenchError(
          'E_STREAM_LONG',
          `decoded stream has more bytes than the ${this.index} expected frames (${extra} extra bytes after byte ${this.total - extra})`,
          { hint: 'the decoder output more frames (or bigger frames) than the bitstream shows; compare the frame sizes' },
        );
      }
      g = this.last;
      if (!g) return false;
      this.curBeyond = true;
    } else {
      this.curBeyond = false;
    }
    this.cur = g;
    this.last = g;
    this.need = (this.opts.frameSize ?? frameBytes)(g);
    this.have = 0;
    this.slices = [];
    this.sink.frameStart?.(this.index, g);
    return true;
  }

  /** Feeds a chunk of the stream (any size, any alignment). */
  push(chunk: Buffer): void {
    this.total += chunk.length;
    let off = 0;
    while (off < chunk.length) {
      if (!this.cur && !this.startFrame(chunk.length - off)) {
        // No geometry for any frame: the bytes cannot be split.
        this.unsplit += chunk.length - off;
        return;
      }
      const take = Math.min(this.need - this.have, chunk.length - off);
      const view = chunk.subarray(off, off + take);
      this.slices.push(view);
      this.sink.frameData(this.index, view);
      this.have += take;
      off += take;
      if (this.have === this.need) {
        const g = this.cur!;
        const slices = this.slices;
        this.cur = undefined;
        this.slices = [];
        if (this.curBeyond) this.beyond++;
        this.sink.frameEnd(this.index, g, slices);
        this.index++;
      }
    }
  }

  /** Geometry and bytes so far of an incomplete frame in progress, if any. */
  get partial(): { index: number; geometry: FrameGeometry; bytes: number; need: number } | undefined {
    return this.cur ? { index: this.index, geometry: this.cur, bytes: this.have, need: this.need } : undefined;
  }

  /** Ends the stream; an incomplete last frame is reported, not emitted. */
  end(): SplitSummary {
    return { frames: this.index, trailingBytes: (this.cur ? this.have : 0) + this.unsplit, totalBytes: this.total, framesBeyondExpected: this.beyond };
  }
}
