import { createHash, type Hash } from 'node:crypto';
import { sameGeometry, type FrameGeometry } from './geometry.ts';
import { ALGO_PREFERENCE, type FrameHashAlgo, type Hashers, type StreamHash } from './hash.ts';
import type { FrameSink } from './splitter.ts';

/** What the reference says about one output frame (output order). */
export interface ExpectedFrame {
  geometry: FrameGeometry;
  /** Per-frame hashes of the packed frame bytes (geometry.ts layout); at least one to compare pixels. */
  hashes: Partial<Record<FrameHashAlgo, string>>;
}

/** The per-frame result of a comparison. */
export interface FrameOutcome {
  index: number;
  geometry: FrameGeometry;
  /** Algorithm used for this frame (undefined when pixels were not compared). */
  algo?: FrameHashAlgo;
  produced?: string;
  expected?: string;
  /** true/false when compared; undefined when not compared (visl, or extra frame). */
  match?: boolean;
  /** Why the frame is bad, when it is. */
  problem?: 'hash' | 'geometry' | 'extra';
}

/** The first frame that failed, with what is needed to draw artifacts. */
export interface FirstMismatch {
  outcome: FrameOutcome;
  expectedGeometry?: FrameGeometry;
  /** The produced frame's bytes (kept only for the first bad frame). */
  produced: Buffer;
}

/** Totals of a finished comparison. */
export interface CompareResult {
  framesExpected: number;
  framesProduced: number;
  /** Frames that failed: hash or geometry mismatches, extra frames, plus missing frames. */
  mismatchingFrames: number;
  missingFrames: number;
  extraFrames: number;
  /** True when pixels were compared (at least one expected frame had a hash). */
  pixelsCompared: boolean;
  /** MD5 over every produced byte (comparable with Fluster's `result`: the MD5 of the decoder's output file, Fluster utils.file_checksum). */
  streamMd5: string;
  perFrame: FrameOutcome[];
  firstMismatch?: FirstMismatch;
  /** Index of the first bad frame: a mismatch, or the first missing frame. */
  firstBadFrame?: number;
}

/**
 * Compares a decoded frame stream with the reference as it arrives: each
 * frame is hashed once (the cheapest algorithm the reference has for it,
 * see ALGO_PREFERENCE) while the whole stream is MD5-hashed for the
 * Fluster-comparable `result`. Nothing is kept but the first bad frame.
 *
 * With `comparePixels: false` (visl: it draws a test pattern) frames are only
 * counted and the stream MD5 computed.
 */
export class FrameComparer implements FrameSink {
  private readonly whole: Hash = createHash('md5');
  private frameHash: StreamHash | undefined;
  private frameAlgo: FrameHashAlgo | undefined;
  private readonly outcomes: FrameOutcome[] = [];
  private first: FirstMismatch | undefined;

  constructor(
    private readonly hashers: Hashers,
    private readonly expected: readonly ExpectedFrame[],
    private readonly opts: { comparePixels: boolean } = { comparePixels: true },
  ) {}

  /** Geometry of output frame `i` for the splitter (undefined past the end). */
  geometryOf = (i: number): FrameGeometry | undefined => this.expected[i]?.geometry;

  frameStart(index: number): void {
    const exp = this.expected[index];
    this.frameAlgo = undefined;
    this.frameHash = undefined;
    if (!this.opts.comparePixels) return;
    const algo = exp ? ALGO_PREFERENCE.find((a) => exp.hashes[a] !== undefined) : 'xxh64';
    if (algo) {
      this.frameAlgo = algo;
      this.frameHash = this.hashers.create(algo);
    }
  }

  frameData(_index: number, bytes: Buffer): void {
    this.whole.update(bytes);
    this.frameHash?.update(bytes);
  }

  frameEnd(index: number, geometry: FrameGeometry, slices: Buffer[]): void {
    const exp = this.expected[index];
    const o: FrameOutcome = { index, geometry };
    if (this.frameHash && this.frameAlgo) {
      o.algo = this.frameAlgo;
      o.produced = this.frameHash.hex();
    }
    if (!exp) {
      o.problem = 'extra';
      o.match = false;
    } else if (!sameGeometry(exp.geometry, geometry)) {
      o.problem = 'geometry';
      o.match = false;
    } else if (o.algo && exp.hashes[o.algo] !== undefined) {
      o.expected = exp.hashes[o.algo]!.toLowerCase();
      o.match = o.produced === o.expected;
      if (!o.match) o.problem = 'hash';
    }
    this.outcomes.push(o);
    if (o.match === false && !this.first && (this.opts.comparePixels || o.problem === 'extra')) {
      this.first = { outcome: o, ...(exp ? { expectedGeometry: exp.geometry } : {}), produced: Buffer.concat(slices) };
    }
  }

  /**
   * Totals. `trailingBytes` (from the splitter) does not count as a frame.
   * Missing frames (expected but not produced) count as mismatching.
   */
  finish(): CompareResult {
    const produced = this.outcomes.length;
    const expected = this.expected.length;
    const missing = Math.max(0, expected - produced);
    const extra = Math.max(0, produced - expected);
    const bad = this.outcomes.filter((o) => o.match === false).length + missing;
    const pixelsCompared = this.opts.comparePixels && this.outcomes.some((o) => o.expected !== undefined);
    let firstBad = this.first?.outcome.index;
    if (firstBad === undefined && missing > 0) firstBad = produced;
    return {
      framesExpected: expected,
      framesProduced: produced,
      mismatchingFrames: bad,
      missingFrames: missing,
      extraFrames: extra,
      pixelsCompared,
      streamMd5: this.whole.digest('hex'),
      perFrame: this.outcomes,
      ...(this.first ? { firstMismatch: this.first } : {}),
      ...(firstBad !== undefined ? { firstBadFrame: firstBad } : {}),
    };
  }
}
