import { WorkbenchError } from '../../core/errors.ts';
import { tileColsBounds } from './header.ts';
import { LITERAL_TO_INTERP, type UncompressedHeader } from '../../model/vp9Header.ts';

/** MSB-first bit writer (the inverse of BitReader), `f(n)` and `su(n)`. */
export class BitWriter {
  private bytes: number[] = [];
  private cur = 0;
  private n = 0;

  /** Writes `v` in `bits` bits, MSB first. */
  f(bits: number, v: number): this {
    if (v < 0 || v >= 2 ** bits) throw new WorkbenchError('E_VP9_WRITE', `value ${v} does not fit in ${bits} bits`);
    for (let i = bits - 1; i >= 0; i--) this.bit(Math.floor(v / 2 ** i) & 1);
    return this;
  }

  /** `su(n)`: magnitude in n bits, then the sign bit. */
  su(bits: number, v: number): this {
    this.f(bits, Math.abs(v));
    return this.bit(v < 0 ? 1 : 0);
  }

  /** One bit. */
  bit(b: number | boolean): this {
    this.cur = (this.cur << 1) | (b ? 1 : 0);
    if (++this.n === 8) {
      this.bytes.push(this.cur);
      this.cur = 0;
      this.n = 0;
    }
    return this;
  }

  /** Bits written so far. */
  get bitLength(): number {
    return this.bytes.length * 8 + this.n;
  }

  /** Pads with zero bits to a byte boundary (`trailing_bits()`) and returns the bytes. */
  finish(): Uint8Array {
    while (this.n !== 0) this.bit(0);
    return Uint8Array.from(this.bytes);
  }
}

/**
 * Serializes an uncompressed header (VP9 spec 6.2) from the coded values in
 * `h`, including `trailing_bits()`. Parsing the result with
 * `parseUncompressedHeader` gives `h` back, and for headers written by
 * libvpx the bytes are identical (tested on every generated vector). Used
 * to derive vectors libvpx's encoder cannot produce from its command line
 * (intra-only frames, loop filter sharpness, quantizer deltas) and to build
 * unit-test inputs.
 *
 * Coded-value conventions: probabilities of 255 and delta_q of 0 are
 * written as "not coded"; loop filter deltas are written where
 * `refDeltaUpdates` / `modeDeltaUpdates` are not null; segment features are
 * written (all 8x4) when `segmentation.updateData`.
 */
export function writeUncompressedHeader(h: UncompressedHeader): Uint8Array {
  const w = new BitWriter();
  w.f(2, 2);
  w.bit(h.profile & 1).bit(h.profile >> 1);
  if (h.profile === 3) w.bit(0);
  w.bit(h.showExistingFrame);
  if (h.showExistingFrame) {
    w.f(3, h.frameToShowMapIdx ?? 0);
    return w.finish();
  }
  w.bit(h.frameType === 'inter')
    .bit(h.showFrame)
    .bit(h.errorResilientMode);
  const sync = () => w.f(8, 0x49).f(8, 0x83).f(8, 0x42);
  const frameSize = () => w.f(16, h.width - 1).f(16, h.height - 1);
  const renderSize = () => {
    w.bit(h.renderSizeDifferent);
    if (h.renderSizeDifferent) w.f(16, h.renderWidth - 1).f(16, h.renderHeight - 1);
  };
  const colorConfig = () => {
    const c = h.color;
    if (h.profile >= 2) w.bit(c.bitDepth === 12);
    w.f(3, c.colorSpace);
    if (c.colorSpace !== 7) {
      w.bit(c.colorRange);
      if (h.profile === 1 || h.profile === 3) w.bit(c.subsamplingX).bit(c.subsamplingY).bit(0);
    } else if (h.profile === 1 || h.profile === 3) w.bit(0);
  };
  if (h.frameType === 'key') {
    sync();
    colorConfig();
    frameSize();
    renderSize();
  } else {
    if (!h.showFrame) w.bit(h.intraOnly);
    if (!h.errorResilientMode) w.f(2, h.resetFrameContext);
    if (h.intraOnly) {
      sync();
      if (h.profile > 0) colorConfig();
      w.f(8, h.refreshFrameFlags);
      frameSize();
      renderSize();
    } else {
      w.f(8, h.refreshFrameFlags);
      for (let i = 0; i < 3; i++) w.f(3, h.refFrameIdx![i]!).bit(h.refFrameSignBias![i]!);
      if (h.sizeFromRef === null) {
        w.bit(0).bit(0).bit(0);
        frameSize();
      } else {
        for (let i = 0; i < h.sizeFromRef; i++) w.bit(0);
        w.bit(1);
      }
      renderSize();
      w.bit(h.allowHighPrecisionMv);
      if (h.interpFilter === 'switchable') w.bit(1);
      else w.bit(0).f(2, LITERAL_TO_INTERP.indexOf(h.interpFilter!));
    }
  }
  if (!h.errorResilientMode) w.bit(h.refreshFrameContext).bit(h.frameParallelDecodingMode);
  w.f(2, h.frameContextIdx);
  const lf = h.loopFilter;
  w.f(6, lf.level).f(3, lf.sharpness).bit(lf.deltaEnabled);
  if (lf.deltaEnabled) {
    w.bit(lf.deltaUpdate);
    if (lf.deltaUpdate) {
      for (let i = 0; i < 4; i++) {
        const d = lf.refDeltaUpdates[i];
        w.bit(d !== null && d !== undefined);
        if (d !== null && d !== undefined) w.su(6, d);
      }
      for (let i = 0; i < 2; i++) {
        const d = lf.modeDeltaUpdates[i];
        w.bit(d !== null && d !== undefined);
        if (d !== null && d !== undefined) w.su(6, d);
      }
    }
  }
  const q = h.quant;
  w.f(8, q.baseQIdx);
  for (const d of [q.deltaQYDc, q.deltaQUvDc, q.deltaQUvAc]) {
    w.bit(d !== 0);
    if (d !== 0) w.su(4, d);
  }
  const s = h.segmentation;
  w.bit(s.enabled);
  if (s.enabled) {
    const prob = (p: number) => {
      w.bit(p !== 255);
      if (p !== 255) w.f(8, p);
    };
    w.bit(s.updateMap);
    if (s.updateMap) {
      for (let i = 0; i < 7; i++) prob(s.treeProbs?.[i] ?? 255);
      w.bit(s.temporalUpdate);
      if (s.temporalUpdate) for (let i = 0; i < 3; i++) prob(s.predProbs?.[i] ?? 255);
    }
    w.bit(s.updateData);
    if (s.updateData) {
      w.bit(s.absOrDeltaUpdate);
      const bits = [8, 6, 2, 0];
      for (let i = 0; i < 8; i++) {
        for (let j = 0; j < 4; j++) {
          const f = s.features[i]?.[j] ?? { enabled: false, value: 0 };
          w.bit(f.enabled);
          if (!f.enabled) continue;
          w.f(bits[j]!, Math.abs(f.value));
          if (j < 2) w.bit(f.value < 0);
        }
      }
    }
  }
  const { min, max } = tileColsBounds(h.width);
  if (h.tile.colsLog2 < min || h.tile.colsLog2 > max) {
    throw new WorkbenchError('E_VP9_WRITE', `tile_cols_log2 ${h.tile.colsLog2} is outside ${min}..${max} for width ${h.width}`);
  }
  for (let i = min; i < h.tile.colsLog2; i++) w.bit(1);
  if (h.tile.colsLog2 < max) w.bit(0);
  w.bit(h.tile.rowsLog2 > 0);
  if (h.tile.rowsLog2 > 0) w.bit(h.tile.rowsLog2 > 1);
  w.f(16, h.headerSizeInBytes);
  return w.finish();
}

/**
 * Replaces the uncompressed header of `frame` (whose current header is
 * `oldHeaderSize` bytes) with the serialization of `h`; the compressed
 * header and tile data are kept byte for byte.
 */
export function replaceHeader(frame: Uint8Array, oldHeaderSize: number, h: UncompressedHeader): Uint8Array {
  const head = writeUncompressedHeader(h);
  const out = new Uint8Array(head.length + frame.length - oldHeaderSize);
  out.set(head, 0);
  out.set(frame.subarray(oldHeaderSize), head.length);
  return out;
}
