import { WorkbenchError } from '../../core/errors.ts';

import type { TraceElement } from '../../model/vp9Header.ts';

/**
 * MSB-first bit reader over a byte buffer, implementing the VP9 descriptors
 * `f(n)` and `su(n)` (VP9 bitstream spec section 4.x "Descriptors").
 * Every element can be recorded into a trace (name, bit offset, value) so
 * the inspector's view can be compared element by element with other
 * parsers (ffmpeg's `trace_headers`).
 */
export class BitReader {
  private pos = 0;
  /** Elements read so far, in bitstream order (when tracing is on). */
  readonly trace: TraceElement[] = [];

  /**
   * @param buf bytes of one frame (after superframe splitting)
   * @param what a label for error messages (e.g. "frame 3 at offset 1234")
   * @param tracing record every named element into {@link trace}
   */
  constructor(
    private readonly buf: Uint8Array,
    private readonly what = 'frame',
    private readonly tracing = true,
  ) {}

  /** Current position in bits from the start of the buffer. */
  get bitPosition(): number {
    return this.pos;
  }

  /** Bytes consumed so far, counting a partly read byte as consumed. */
  get bytePosition(): number {
    return (this.pos + 7) >> 3;
  }

  /** Total size of the buffer in bits. */
  get bitLength(): number {
    return this.buf.length * 8;
  }

  /**
   * Reads `n` bits (0..32) as an unsigned number, MSB first (`f(n)`).
   * @throws WorkbenchError `E_VP9_TRUNCATED` when the buffer ends first.
   */
  f(n: number, name?: string): number {
    const start = this.pos;
    const v = this.readBits(n, name);
    if (name && this.tracing) this.trace.push({ name, bitOffset: start, bits: n, value: v });
    return v;
  }

  /** Reads one bit as a boolean (a named `f(1)`). */
  flag(name?: string): boolean {
    return this.f(1, name) === 1;
  }

  /**
   * `su(n)`: n magnitude bits then a sign bit; returns the signed value
   * (VP9 spec: `value = sign ? -magnitude : magnitude`).
   */
  su(n: number, name?: string): number {
    const start = this.pos;
    const mag = this.readBits(n, name);
    const sign = this.readBits(1, name);
    const v = sign ? -mag : mag;
    if (name && this.tracing) this.trace.push({ name, bitOffset: start, bits: n + 1, value: v });
    return v;
  }

  /** Records a value that is derived (or coded in several reads) under `name`. */
  record(name: string, bitOffset: number, value: number): void {
    if (this.tracing) this.trace.push({ name, bitOffset, bits: this.pos - bitOffset, value });
  }

  /** Skips to the next byte boundary (VP9 `trailing_bits()`); returns the zero bits' count. */
  byteAlign(): number {
    const pad = (8 - (this.pos & 7)) & 7;
    this.readBits(pad, 'trailing_bits');
    return pad;
  }

  private readBits(n: number, name?: string): number {
    if (n === 0) return 0;
    if (this.pos + n > this.buf.length * 8) {
      throw new WorkbenchError(
        'E_VP9_TRUNCATED',
        `${this.what}: uncompressed header ends early: reading ${name ?? 'a field'} (${n} bits) at bit ${this.pos} of ${this.buf.length * 8}`,
        { hint: 'the frame is truncated or not a VP9 frame; check the container and the superframe index' },
      );
    }
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.buf[this.pos >> 3]!;
      const bit = (byte >> (7 - (this.pos & 7))) & 1;
      v = v * 2 + bit;
      this.pos++;
    }
    return v;
  }
}
