import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { writeFileAtomic } from '../core/cache.ts';
import type { FrameInfo } from '../model/frame.ts';
import { describeGeometry, frameBytes, planeLayout, type FrameGeometry, type PlaneLayout } from './geometry.ts';

/**
 * Mismatch artifacts for the first bad frame of a vector: the decoded frame,
 * the reference frame and an amplified difference as PNG (pngjs), plus a
 * text file with the difference statistics and the frame's uncompressed
 * header summary from the inspector.
 */

/** Where each artifact went, and the statistics. */
export interface MismatchArtifacts {
  dir: string;
  decodedPng: string;
  referencePng?: string;
  diffPng?: string;
  summaryTxt: string;
  stats?: DiffStats;
}

/** Difference statistics of one plane. */
export interface PlaneDiff {
  plane: 'Y' | 'U' | 'V';
  differingSamples: number;
  maxAbsDiff: number;
  /** First differing sample (raster order), plane coordinates. */
  first?: { x: number; y: number; decoded: number; reference: number };
  /** Bounding box of differing samples, plane coordinates (inclusive). */
  box?: { x0: number; y0: number; x1: number; y1: number };
}

export interface DiffStats {
  planes: PlaneDiff[];
  /** Byte offset (in the packed frame) of the first differing byte. */
  firstDifferingByte?: number;
}

function sample(buf: Buffer, p: PlaneLayout, x: number, y: number): number {
  const i = p.offset + (y * p.width + x) * p.bytesPerSample;
  return p.bytesPerSample === 2 ? buf.readUInt16LE(i) : buf[i]!;
}

/**
 * Walks every luma position of `g` and writes the RGB `fn` returns (clamped
 * to 0..255, alpha 255) into a new PNG. `cx`/`cy` are the co-sited chroma
 * coordinates for the frame's subsampling.
 */
function paint(
  g: FrameGeometry,
  fn: (x: number, y: number, cx: number, cy: number, planes: [PlaneLayout, PlaneLayout, PlaneLayout]) => [number, number, number],
): PNG {
  const planes = planeLayout(g) as [PlaneLayout, PlaneLayout, PlaneLayout];
  const png = new PNG({ width: g.width, height: g.height });
  const ssx = (g.subsamplingX ?? 1) === 1;
  const ssy = (g.subsamplingY ?? 1) === 1;
  for (let y = 0; y < g.height; y++) {
    const cy = ssy ? y >> 1 : y;
    for (let x = 0; x < g.width; x++) {
      const rgb = fn(x, y, ssx ? x >> 1 : x, cy, planes);
      const o = (y * g.width + x) * 4;
      for (let c = 0; c < 3; c++) png.data[o + c] = Math.max(0, Math.min(255, Math.round(rgb[c]!)));
      png.data[o + 3] = 255;
    }
  }
  return png;
}

/**
 * YUV (geometry.ts layout) to RGBA, BT.601 matrix, limited range unless
 * `fullRange`; samples above 8 bits are scaled down. For viewing only.
 */
export function yuvToPng(buf: Buffer, g: FrameGeometry, fullRange = false): PNG {
  const shift = g.bitDepth - 8;
  return paint(g, (x, y, cx, cy, [Y, U, V]) => {
    let yy = sample(buf, Y, x, y) >> shift;
    const u = (sample(buf, U, cx, cy) >> shift) - 128;
    const v = (sample(buf, V, cx, cy) >> shift) - 128;
    let k = 1;
    if (!fullRange) {
      yy = yy - 16;
      k = 255 / 219;
    }
    const kc = fullRange ? 1 : 255 / 224;
    const r = k * yy + 1.402 * kc * v;
    const gg = k * yy - 0.344136 * kc * u - 0.714136 * kc * v;
    const b = k * yy + 1.772 * kc * u;
    return [r, gg, b];
  });
}

/** Per-plane difference statistics of two frames of the same geometry. */
export function diffStats(decoded: Buffer, reference: Buffer, g: FrameGeometry): DiffStats {
  const planes: PlaneDiff[] = [];
  for (const p of planeLayout(g)) {
    const d: PlaneDiff = { plane: p.name, differingSamples: 0, maxAbsDiff: 0 };
    for (let y = 0; y < p.height; y++) {
      for (let x = 0; x < p.width; x++) {
        const a = sample(decoded, p, x, y);
        const b = sample(reference, p, x, y);
        if (a === b) continue;
        d.differingSamples++;
        d.maxAbsDiff = Math.max(d.maxAbsDiff, Math.abs(a - b));
        d.first ??= { x, y, decoded: a, reference: b };
        if (!d.box) d.box = { x0: x, y0: y, x1: x, y1: y };
        else {
          d.box.x0 = Math.min(d.box.x0, x);
          d.box.x1 = Math.max(d.box.x1, x);
          d.box.y1 = y;
        }
      }
    }
    planes.push(d);
  }
  let firstByte: number | undefined;
  const n = Math.min(decoded.length, reference.length);
  for (let i = 0; i < n; i++) {
    if (decoded[i] !== reference[i]) {
      firstByte = i;
      break;
    }
  }
  return { planes, ...(firstByte !== undefined ? { firstDifferingByte: firstByte } : {}) };
}

/**
 * Amplified difference image at luma resolution: each pixel shows the largest
 * absolute difference of its Y sample and its U/V samples, multiplied by
 * `gain`; any non-zero difference is drawn at least at level 64 so a single
 * changed sample stays visible. Red on black; identical pixels are black.
 */
export function diffPng(decoded: Buffer, reference: Buffer, g: FrameGeometry, gain = 16): PNG {
  const shift = g.bitDepth - 8;
  return paint(g, (x, y, cx, cy, [Y, U, V]) => {
    const dy = Math.abs(sample(decoded, Y, x, y) - sample(reference, Y, x, y));
    const du = Math.abs(sample(decoded, U, cx, cy) - sample(reference, U, cx, cy));
    const dv = Math.abs(sample(decoded, V, cx, cy) - sample(reference, V, cx, cy));
    const d = Math.max(dy, du, dv) >> shift;
    const lvl = d === 0 && Math.max(dy, du, dv) === 0 ? 0 : Math.min(255, Math.max(64, d * gain));
    return [lvl, dy ? 0 : lvl >> 2, 0];
  });
}

/** A few lines describing a frame's uncompressed header (inspector's parse). */
export function headerSummary(f: FrameInfo): string[] {
  const h = f.header;
  const lines = [
    `decode-order frame ${f.index} (packet ${f.packetIndex}, ${f.indexInPacket + 1}/${f.framesInPacket} in packet, file offset ${f.offset}, ${f.size} bytes)`,
  ];
  if (h.showExistingFrame) {
    lines.push(`show_existing_frame=1 frame_to_show_map_idx=${h.frameToShowMapIdx} (${h.width}x${h.height})`);
    return lines;
  }
  lines.push(
    `profile=${h.profile} frame_type=${h.frameType} show_frame=${+h.showFrame} intra_only=${+h.intraOnly} error_resilient_mode=${+h.errorResilientMode}`,
    `size ${h.width}x${h.height} render ${h.renderWidth}x${h.renderHeight} bit_depth=${h.color.bitDepth} subsampling=${h.color.subsamplingX},${h.color.subsamplingY} color_space=${h.color.colorSpaceName} color_range=${h.color.colorRange}`,
    `refresh_frame_flags=0x${h.refreshFrameFlags.toString(16).padStart(2, '0')} ref_frame_idx=${h.refFrameIdx ? h.refFrameIdx.join(',') : '-'} sign_bias=${h.refFrameSignBias ? h.refFrameSignBias.map(Number).join(',') : '-'} ref_scaling=${+h.refScaling}${h.sizeFromRef !== null ? ` size_from_ref=${h.sizeFromRef}` : ''}`,
    `interp_filter=${h.interpFilter ?? '-'} allow_high_precision_mv=${+h.allowHighPrecisionMv} reset_frame_context=${h.resetFrameContext} refresh_frame_context=${+h.refreshFrameContext} frame_parallel_decoding_mode=${+h.frameParallelDecodingMode} frame_context_idx=${h.frameContextIdx}`,
    `base_q_idx=${h.quant.baseQIdx} delta_q y_dc=${h.quant.deltaQYDc} uv_dc=${h.quant.deltaQUvDc} uv_ac=${h.quant.deltaQUvAc} lossless=${+h.quant.lossless}`,
    `loop_filter level=${h.loopFilter.level} sharpness=${h.loopFilter.sharpness} delta_enabled=${+h.loopFilter.deltaEnabled} ref_deltas=${h.loopFilter.refDeltas.join(',')} mode_deltas=${h.loopFilter.modeDeltas.join(',')}`,
    `segmentation enabled=${+h.segmentation.enabled} update_map=${+h.segmentation.updateMap} temporal_update=${+h.segmentation.temporalUpdate} update_data=${+h.segmentation.updateData}`,
    `tile_cols_log2=${h.tile.colsLog2} tile_rows_log2=${h.tile.rowsLog2} uncompressed_header=${h.uncompressedHeaderSize} bytes compressed_header=${h.headerSizeInBytes} bytes`,
  );
  return lines;
}

/** Inputs of {@link writeMismatchArtifacts}. */
export interface ArtifactInput {
  dir: string;
  vector: string;
  /** Output-order index of the bad frame. */
  frameIndex: number;
  geometry: FrameGeometry;
  decoded: Buffer;
  /** Reference frame bytes (same geometry), when they could be obtained. */
  reference?: Buffer;
  /** Why the reference is absent. */
  referenceMissing?: string;
  /** The frame that produced this output (inspector), for the header summary. */
  frameInfo?: FrameInfo;
  /** Extra lines (expected vs produced hashes...). */
  notes?: string[];
  gain?: number;
}

/**
 * Writes `frame-NNNN-decoded.png`, `-reference.png`, `-diff.png` and
 * `-summary.txt` into `dir` (created). PNGs are written atomically.
 */
export async function writeMismatchArtifacts(a: ArtifactInput): Promise<MismatchArtifacts> {
  await mkdir(a.dir, { recursive: true });
  const stem = join(a.dir, `frame-${String(a.frameIndex).padStart(4, '0')}`);
  const need = frameBytes(a.geometry);
  const full = a.frameInfo?.header.color.colorRange === 1;
  const out: MismatchArtifacts = { dir: a.dir, decodedPng: `${stem}-decoded.png`, summaryTxt: `${stem}-summary.txt` };
  const lines = [`vector ${a.vector}: first bad frame ${a.frameIndex} (0-based, output order), ${describeGeometry(a.geometry)}`, ...(a.notes ?? [])];
  if (a.decoded.length === need) {
    await writeFileAtomic(out.decodedPng, PNG.sync.write(yuvToPng(a.decoded, a.geometry, full)));
  } else {
    lines.push(`decoded frame has ${a.decoded.length} bytes, geometry needs ${need}: no decoded PNG`);
  }
  if (a.reference && a.reference.length === need && a.decoded.length === need) {
    out.referencePng = `${stem}-reference.png`;
    out.diffPng = `${stem}-diff.png`;
    await writeFileAtomic(out.referencePng, PNG.sync.write(yuvToPng(a.reference, a.geometry, full)));
    await writeFileAtomic(out.diffPng, PNG.sync.write(diffPng(a.decoded, a.reference, a.geometry, a.gain)));
    out.stats = diffStats(a.decoded, a.reference, a.geometry);
    lines.push(`difference (diff PNG gain x${a.gain ?? 16}, red = luma differs, dim red = chroma only):`);
    if (out.stats.firstDifferingByte !== undefined) lines.push(`  first differing byte of the packed frame: offset ${out.stats.firstDifferingByte}`);
    for (const p of out.stats.planes) {
      lines.push(
        `  ${p.plane}: ${p.differingSamples} samples differ, max |diff| ${p.maxAbsDiff}` +
          (p.first ? `, first at (${p.first.x},${p.first.y}) decoded ${p.first.decoded} reference ${p.first.reference}` : '') +
          (p.box ? `, box (${p.box.x0},${p.box.y0})-(${p.box.x1},${p.box.y1})` : ''),
      );
    }
  } else {
    lines.push(
      `no reference PNG: ${a.referenceMissing ?? (a.reference ? `reference has ${a.reference.length} bytes, expected ${need}` : 'reference frame not available')}`,
    );
  }
  if (a.frameInfo) lines.push('uncompressed header (inspector):', ...headerSummary(a.frameInfo).map((l) => '  ' + l));
  await writeFile(out.summaryTxt, lines.join('\n') + '\n');
  return out;
}
