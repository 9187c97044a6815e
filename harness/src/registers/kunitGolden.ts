import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { WorkbenchError } from '../core/errors.ts';
import type { Vp9CompressedHdrControls, Vp9FrameControls } from '../model/vp9Controls.ts';
import type { FrameInfo } from '../vectors/inspect.ts';
import { allowedBy, type AllowList } from './allowList.ts';
import { isAddressRegister } from './diff.ts';
import { registerMap, type FrameRecord } from './records.ts';
import type { RegField } from './regFields.ts';

/**
 * Golden data for the series' KUnit test of the VDPU381 VP9 register
 * packing (patches/0005, rkvdec-vdpu381-vp9-golden.h), made from two
 * sources the series' authors did not write:
 * - the inputs: the V4L2 controls a real userspace (GStreamer's
 *   v4l2slvp9dec) sent for each frame of a conformance stream, as the
 *   kernel received them (visl's trace events, decode/visl/);
 * - the expected register words: what Rockchip MPP's vdpu34x VP9 HAL
 *   programmed for the same frames (mppRecord.ts records), value
 *   registers only (addresses are allocations), each compared on the bits
 *   of MPP's fields (vdpu34x_vp9d.h, vdpu34x_com.h) minus the fields an
 *   allow-list entry covers for that kind of frame (the series differs
 *   there on purpose, allow-list.toml says why).
 * The test feeds every frame of the stream prefix in order, so the state
 * the backend carries between frames (probability contexts, segment maps,
 * last frame) is exercised as in a real decode.
 */

/** One register word to check: `(reg & mask) == value`. */
export interface GoldenReg {
  reg: number;
  mask: number;
  value: number;
}

/** A reference of a golden frame: decode index of the frame whose buffer it is (-1: the frame itself, as the driver does when no buffer has the timestamp) and its size. */
export interface GoldenRef {
  frame: number;
  width: number;
  height: number;
}

/** One frame of a golden stream. */
export interface GoldenFrame {
  /** Index in the file after superframe splitting (the inspector's) and in decode order without show_existing_frame. */
  split: number;
  decode: number;
  kind: 'key' | 'inter' | 'intra-only';
  params: Vp9FrameControls;
  probs: Vp9CompressedHdrControls;
  /** Payload of the OUTPUT buffer, bytes (the frame's size in the stream). */
  streamLen: number;
  refs: [GoldenRef, GoldenRef, GoldenRef];
  regs: GoldenReg[];
  /** The delta-probability buffer MPP wrote for the frame (reg160, {@link PROB_SIZE} bytes). */
  deltaProbs: Uint8Array;
}

/** Bytes of the probability buffers (MPP hal_vp9d_com.h PROB_SIZE; the series' VDPU381_VP9_PROB_SIZE). */
export const PROB_SIZE = 4864;

/** reg160: vp9_delta_prob_base (vdpu34x_vp9d.h), the buffer software fills before each job. */
const DELTA_PROB_REG = 160;

/**
 * The first {@link PROB_SIZE} bytes at reg160's address of a record made
 * with `--dump-buffers` (mppRecord.ts: `<dir>/buffers/<sha256>.bin`).
 * @throws WorkbenchError `E_GOLDEN` when the record has no reg160 buffer or its bytes were not dumped.
 */
export async function mppDeltaProbs(rec: FrameRecord, buffersDir: string): Promise<Uint8Array> {
  const a = rec.addresses.find((x) => x.reg === DELTA_PROB_REG);
  const b = a && a.buffer !== null ? rec.buffers.find((x) => x.id === a.buffer) : undefined;
  if (!a || !b) throw new WorkbenchError('E_GOLDEN', `MPP record of frame ${rec.frame}: reg160 points at no buffer`);
  const file = join(buffersDir, `${b.sha256}.bin`);
  const bytes = await readFile(file).catch((e: Error) => {
    throw new WorkbenchError('E_GOLDEN', `MPP record of frame ${rec.frame}: ${file}: ${e.message}`, { hint: 'record with --dump-buffers' });
  });
  const off = a.offset ?? 0;
  if (bytes.length < off + PROB_SIZE) {
    throw new WorkbenchError('E_GOLDEN', `MPP record of frame ${rec.frame}: reg160 buffer holds ${bytes.length} bytes, need ${off + PROB_SIZE}`);
  }
  return new Uint8Array(bytes.subarray(off, off + PROB_SIZE));
}

/** A golden stream: the first frames of one vector. */
export interface GoldenStream {
  /** C identifier. */
  id: string;
  vector: string;
  vectorSha256: string;
  frames: GoldenFrame[];
  /** Field names left out of the masks, with the allow-list entry index. */
  leftOut: Map<string, number>;
}

/** Registers the KUnit helper can read: the common block from reg008 and the VP9 parameter block to reg127 (addresses are not compared). */
const FIRST_REG = 8;
const LAST_REG = 127;
/**
 * reg010 holds dec_e, the start bit (0x028 bit 0): MPP sends it with the
 * other registers and the kernel's mpp_service writes it last; the series
 * writes it itself after the register blocks. Not part of the packing.
 */
const DEC_E_REG = 10;

function maskOf(f: RegField): number {
  return f.width >= 32 ? 0xffffffff : (((1 << f.width) - 1) << f.lsb) >>> 0;
}

/**
 * The register words MPP programmed for a frame, as KUnit expectations:
 * every value register from reg008 to reg127 MPP wrote, masked to its
 * fields (a register without a known field is compared whole) minus the
 * fields an allow-list entry covers for this kind of frame (any value).
 */
export function goldenRegisters(rec: FrameRecord, fields: readonly RegField[], allow: AllowList, leftOut: Map<string, number> = new Map()): GoldenReg[] {
  const kind = rec.frameType === 'key' ? 'key' : rec.intraOnly ? 'intra-only' : 'inter';
  const byReg = new Map<number, RegField[]>();
  for (const f of fields) byReg.set(f.reg, [...(byReg.get(f.reg) ?? []), f]);
  const out: GoldenReg[] = [];
  const regs = registerMap(rec);
  for (const reg of [...regs.keys()].sort((a, b) => a - b)) {
    if (reg < FIRST_REG || reg > LAST_REG || reg === DEC_E_REG || isAddressRegister(reg)) continue;
    const fs = byReg.get(reg);
    let mask = fs ? 0 : 0xffffffff;
    for (const f of fs ?? []) {
      const k = coveredRegardlessOfValue(allow, f.name, kind);
      if (k >= 0) {
        leftOut.set(f.name, k);
        continue;
      }
      mask = (mask | maskOf(f)) >>> 0;
    }
    if (mask === 0) continue;
    out.push({ reg, mask, value: (regs.get(reg)! & mask) >>> 0 });
  }
  return out;
}

/** Index of an entry whose field glob and frame scope cover the field, whatever values it names; -1 when none. */
function coveredRegardlessOfValue(allow: AllowList, field: string, kind: 'key' | 'inter' | 'intra-only'): number {
  const anyValue: AllowList = { file: allow.file, entries: allow.entries.map(({ mpp: _m, series: _s, ...e }) => e) };
  return allowedBy(anyValue, { field, frameKind: kind, mpp: 0, series: 0 });
}

/** Inputs of {@link goldenStream}. */
export interface GoldenStreamInput {
  vectorPath: string;
  vectorSha256: string;
  /** The vector's frames (inspector), all of them, in file order. */
  frames: readonly FrameInfo[];
  /** visl's frame events and probability events of the decode, in trace order (one per decoded frame). */
  traced: readonly Vp9FrameControls[];
  probs: readonly Vp9CompressedHdrControls[];
  mpp: readonly FrameRecord[];
  /** reg160 bytes of each MPP record, in the same order ({@link mppDeltaProbs}). */
  deltaProbs: readonly Uint8Array[];
  fields: readonly RegField[];
  allow: AllowList;
  /** Decoded frames to keep (from the first). */
  count: number;
}

/**
 * Joins the trace, the inspector's frames and MPP's records of one vector
 * into a golden stream of its first `count` decoded frames.
 * @throws WorkbenchError `E_GOLDEN` when a source has fewer frames than
 *   asked, or when the sources disagree on which frame is which (sizes,
 *   frame kinds), naming the frame and both values.
 */
export function goldenStream(i: GoldenStreamInput): GoldenStream {
  const decoded = i.frames.filter((f) => !f.header.showExistingFrame);
  const name = basename(i.vectorPath);
  const need = (what: string, have: number) => {
    if (have < i.count) {
      throw new WorkbenchError('E_GOLDEN', `${name}: ${i.count} frames asked, ${what} has ${have}`, {
        hint: what.startsWith('the trace') ? 'decode it again with `workbench decode --board vboard --visl-trace DIR`' : 'ask for fewer frames (--frames N)',
      });
    }
  };
  need('the stream', decoded.length);
  need('the trace (v4l2_ctrl_vp9_frame events)', i.traced.length);
  need('the trace (compressed-header events)', i.probs.length);
  need("MPP's records", i.mpp.length);
  need("MPP's delta-probability buffers", i.deltaProbs.length);
  const bySplit = new Map(i.frames.map((f) => [f.index, f]));
  const decodeOf = new Map(decoded.map((f, k) => [f.index, k]));
  const leftOut = new Map<string, number>();
  const out: GoldenFrame[] = [];
  for (let d = 0; d < i.count; d++) {
    const f = decoded[d]!;
    const t = i.traced[d]!;
    const rec = i.mpp[d]!;
    const h = f.header;
    const disagree = (what: string, a: unknown, b: unknown) =>
      new WorkbenchError('E_GOLDEN', `${name} frame ${f.index} (decode ${d}): ${what} differ: ${String(a)} vs ${String(b)}`, {
        hint: 'the trace, the stream and the MPP records must come from the same vector file',
      });
    if (rec.frame !== f.index) throw disagree("MPP's record and the stream's frame index", rec.frame, f.index);
    if (t.frameWidthMinus1 + 1 !== h.width || t.frameHeightMinus1 + 1 !== h.height) {
      throw disagree('the traced and coded sizes', `${t.frameWidthMinus1 + 1}x${t.frameHeightMinus1 + 1}`, `${h.width}x${h.height}`);
    }
    if (rec.width !== h.width || rec.height !== h.height) throw disagree("MPP's and the coded sizes", `${rec.width}x${rec.height}`, `${h.width}x${h.height}`);
    const kind = h.frameType === 'key' ? 'key' : h.intraOnly ? 'intra-only' : 'inter';
    const refTs = [t.lastFrameTs, t.goldenFrameTs, t.altFrameTs];
    const refs = refTs.map((ts) => {
      // GStreamer's *_frame_ts = system_frame_number * 1000 (split index);
      // rkvdec_vp9_get_ref_buf() falls back to the frame itself when no
      // earlier CAPTURE buffer has that timestamp.
      const split = ts % 1000n === 0n ? Number(ts / 1000n) : -1;
      const rd = decodeOf.get(split);
      if (rd === undefined || rd >= d) return { frame: -1, width: h.width, height: h.height };
      const rf = bySplit.get(split)!;
      return { frame: rd, width: rf.header.width, height: rf.header.height };
    }) as [GoldenRef, GoldenRef, GoldenRef];
    out.push({
      split: f.index,
      decode: d,
      kind,
      params: t,
      probs: i.probs[d]!,
      streamLen: f.size,
      refs,
      regs: goldenRegisters(rec, i.fields, i.allow, leftOut),
      deltaProbs: i.deltaProbs[d]!,
    });
  }
  const id = name
    .replace(/\.(ivf|webm)$/i, '')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toLowerCase();
  return { id, vector: name, vectorSha256: i.vectorSha256, frames: out, leftOut };
}

const hex = (n: number, w = 8) => `0x${n.toString(16).padStart(w, '0')}`;

/** Display width of a C line (a tab is 8 columns, checkpatch's rule). */
function width(line: string): number {
  let w = 0;
  for (const ch of line) w = ch === '\t' ? (Math.floor(w / 8) + 1) * 8 : w + 1;
  return w;
}

/** `items` joined with ', ' on lines of `indent` no wider than 80 columns, each line ending in ','. */
function wrapItems(indent: string, items: readonly string[]): string[] {
  const out: string[] = [];
  let cur = '';
  for (const it of items) {
    const next = cur ? `${cur} ${it},` : `${indent}${it},`;
    if (cur && width(next) > 80) {
      out.push(cur);
      cur = `${indent}${it},`;
    } else cur = next;
  }
  if (cur) out.push(cur);
  return out;
}

/** `name = A | B | ...,` at `indent`, continued one tab deeper when it does not fit in 80 columns. */
function assign(indent: string, name: string, terms: readonly string[]): string[] {
  const one = `${indent}${name} = ${terms.join(' | ')},`;
  if (width(one) <= 80) return [one];
  if (terms.length === 1) return [`${indent}${name} =`, `${indent}\t${terms[0]},`];
  const out = [`${indent}${name} = ${terms[0]} |`];
  terms.slice(1).forEach((t, k) => out.push(`${indent}\t${t}${k === terms.length - 2 ? ',' : ' |'}`));
  return out;
}

function flagTerms(prefix: string, names: readonly string[]): string[] {
  if (names.length === 0) return ['0'];
  return names.map((n) => (/^0x[0-9a-f]+$/i.test(n) ? n : `${prefix}${n}`));
}

function list(xs: readonly number[]): string {
  return `{ ${xs.join(', ')} }`;
}

function paramsC(p: Vp9FrameControls): string[] {
  const fd = p.seg.featureData;
  const anyFd = fd.some((r) => r.some((v) => v !== 0));
  const u64 = (v: bigint) => `${v}ULL`;
  const t3 = '\t\t\t';
  const v = (name: string, value: string | number) => `${t3}.${name} = ${value},`;
  return [
    '\t\t.params = {',
    v('lf.ref_deltas', list(p.lf.refDeltas)),
    v('lf.mode_deltas', list(p.lf.modeDeltas)),
    v('lf.level', p.lf.level),
    v('lf.sharpness', p.lf.sharpness),
    ...assign(t3, '.lf.flags', flagTerms('V4L2_VP9_LOOP_FILTER_FLAG_', p.lf.flags)),
    v('quant.base_q_idx', p.quant.baseQIdx),
    v('quant.delta_q_y_dc', p.quant.deltaQYDc),
    v('quant.delta_q_uv_dc', p.quant.deltaQUvDc),
    v('quant.delta_q_uv_ac', p.quant.deltaQUvAc),
    ...(anyFd ? [`${t3}.seg.feature_data = {`, ...fd.map((r) => `${t3}\t${list(r)},`), `${t3}},`] : []),
    v('seg.feature_enabled', list(p.seg.featureEnabled)),
    v('seg.tree_probs', list(p.seg.treeProbs)),
    v('seg.pred_probs', list(p.seg.predProbs)),
    ...assign(t3, '.seg.flags', flagTerms('V4L2_VP9_SEGMENTATION_FLAG_', p.seg.flags)),
    ...assign(t3, '.flags', flagTerms('V4L2_VP9_FRAME_FLAG_', p.flags)),
    v('compressed_header_size', p.compressedHeaderSize),
    v('uncompressed_header_size', p.uncompressedHeaderSize),
    v('frame_width_minus_1', p.frameWidthMinus1),
    v('frame_height_minus_1', p.frameHeightMinus1),
    v('render_width_minus_1', p.renderWidthMinus1),
    v('render_height_minus_1', p.renderHeightMinus1),
    v('last_frame_ts', u64(p.lastFrameTs)),
    v('golden_frame_ts', u64(p.goldenFrameTs)),
    v('alt_frame_ts', u64(p.altFrameTs)),
    v('ref_frame_sign_bias', hex(p.refFrameSignBias, 1)),
    v('reset_frame_context', p.resetFrameContext),
    v('frame_context_idx', p.frameContextIdx),
    v('profile', p.profile),
    v('bit_depth', p.bitDepth),
    v('interpolation_filter', p.interpolationFilter),
    v('tile_cols_log2', p.tileColsLog2),
    v('tile_rows_log2', p.tileRowsLog2),
    v('reference_mode', p.referenceMode),
    '\t\t},',
  ];
}

/** Source facts printed in the header comment. */
export interface GoldenProvenance {
  /** e.g. `Linux 7.2.13+deb14-amd64 visl, GStreamer 1.28.0 v4l2slvp9dec`. */
  controls: string;
  /** e.g. `https://github.com/rockchip-linux/mpp ee946af0`. */
  mpp: string;
  allowList: string;
}

/**
 * The C header (kernel style) with the golden streams. The types it uses
 * (struct vp9_golden_*) are declared in it; the KUnit test includes it.
 */
export function renderGoldenHeader(streams: readonly GoldenStream[], prov: GoldenProvenance): string {
  const L: string[] = [];
  L.push('/* SPDX-License-Identifier: GPL-2.0 */');
  L.push('/*');
  L.push(' * Golden data for the VDPU381 VP9 KUnit test: the V4L2 controls userspace');
  L.push(' * sent for the first frames of conformance streams, and the register words');
  L.push(" * and delta probabilities Rockchip's MPP programmed for the same frames.");
  L.push(' *');
  L.push(' * Controls:');
  L.push(` *  ${prov.controls}`);
  L.push(' * Registers and probabilities:');
  L.push(` *  ${prov.mpp} (hal_vp9d_vdpu34x.c)`);
  L.push(' * Each word is compared on the bits of the fields MPP defines for it');
  L.push(' * (vdpu34x_vp9d.h, vdpu34x_com.h), except the fields where this driver');
  L.push(' * differs on purpose (listed per stream below, reasons in the cover letter).');
  L.push(' * Address registers are not compared (allocations differ). The delta');
  L.push(" * probability buffer (reg160) is compared byte by byte with MPP's.");
  L.push(' *');
  L.push(' * Generated by vp9-workbench `workbench registers kunit-golden`; do not edit.');
  L.push(' */');
  L.push('');
  L.push('#ifndef RKVDEC_VDPU381_VP9_GOLDEN_H_');
  L.push('#define RKVDEC_VDPU381_VP9_GOLDEN_H_');
  L.push('');
  L.push('#include <linux/types.h>');
  L.push('#include <linux/v4l2-controls.h>');
  L.push('');
  L.push('/* One non-zero byte: of struct v4l2_ctrl_vp9_compressed_hdr, of a buffer */');
  L.push('struct vp9_golden_byte {');
  L.push('\tu16 off;');
  L.push('\tu8 val;');
  L.push('};');
  L.push('');
  L.push('/* (reg & mask) == val */');
  L.push('struct vp9_golden_reg {');
  L.push('\tu16 n;');
  L.push('\tu32 mask;');
  L.push('\tu32 val;');
  L.push('};');
  L.push('');
  L.push('/* frame: decode index of the buffer, -1 for the frame itself */');
  L.push('struct vp9_golden_ref {');
  L.push('\tint frame;');
  L.push('\tu16 width;');
  L.push('\tu16 height;');
  L.push('};');
  L.push('');
  L.push('struct vp9_golden_frame {');
  L.push('\tstruct v4l2_ctrl_vp9_frame params;');
  L.push('\tconst struct vp9_golden_byte *hdr;');
  L.push('\tunsigned int num_hdr;');
  L.push('\tu32 stream_len;');
  L.push('\tstruct vp9_golden_ref refs[3];');
  L.push('\t/* non-zero bytes of the delta probability buffer (reg160) */');
  L.push('\tconst struct vp9_golden_byte *probs;');
  L.push('\tunsigned int num_probs;');
  L.push('\tconst struct vp9_golden_reg *regs;');
  L.push('\tunsigned int num_regs;');
  L.push('};');
  L.push('');
  L.push('struct vp9_golden_stream {');
  L.push('\tconst char *name;');
  L.push('\tconst struct vp9_golden_frame *frames;');
  L.push('\tunsigned int num_frames;');
  L.push('};');
  for (const s of streams) {
    L.push('');
    L.push('/*');
    L.push(` * ${s.vector}, decoded frames 0-${s.frames.length - 1}`);
    L.push(` * (sha256 ${s.vectorSha256}):`);
    for (const f of s.frames)
      L.push(` *  ${f.decode}: frame ${f.split} of the file, ${f.kind}, ${f.params.frameWidthMinus1 + 1}x${f.params.frameHeightMinus1 + 1}`);
    if (s.leftOut.size) {
      L.push(' * Fields not compared (this driver differs on purpose):');
      for (const name of [...s.leftOut.keys()].sort()) L.push(` *  ${name}`);
    }
    L.push(' */');
    for (const f of s.frames) {
      L.push('');
      L.push(`static const struct vp9_golden_byte ${s.id}_hdr_${f.decode}[] = {`);
      const nz: string[] = [];
      f.probs.bytes.forEach((b, o) => {
        if (b !== 0) nz.push(`{ ${o}, ${b} }`);
      });
      L.push(...wrapItems('\t', nz));
      L.push('};');
      L.push('');
      L.push(`static const struct vp9_golden_byte ${s.id}_probs_${f.decode}[] = {`);
      const pz: string[] = [];
      f.deltaProbs.forEach((b, o) => {
        if (b !== 0) pz.push(`{ ${o}, ${b} }`);
      });
      L.push(...wrapItems('\t', pz));
      L.push('};');
      L.push('');
      L.push(`static const struct vp9_golden_reg ${s.id}_regs_${f.decode}[] = {`);
      L.push(
        ...wrapItems(
          '\t',
          f.regs.map((r) => `{ ${r.reg}, ${hex(r.mask)}, ${hex(r.value)} }`),
        ),
      );
      L.push('};');
    }
    L.push('');
    L.push(`static const struct vp9_golden_frame ${s.id}_frames[] = {`);
    for (const f of s.frames) {
      L.push('\t{');
      L.push(...paramsC(f.params));
      L.push(`\t\t.hdr = ${s.id}_hdr_${f.decode},`);
      L.push(`\t\t.num_hdr = ARRAY_SIZE(${s.id}_hdr_${f.decode}),`);
      L.push(`\t\t.stream_len = ${f.streamLen},`);
      L.push('\t\t.refs = {');
      for (const r of f.refs) L.push(`\t\t\t{ ${r.frame}, ${r.width}, ${r.height} },`);
      L.push('\t\t},');
      L.push(`\t\t.probs = ${s.id}_probs_${f.decode},`);
      L.push(`\t\t.num_probs = ARRAY_SIZE(${s.id}_probs_${f.decode}),`);
      L.push(`\t\t.regs = ${s.id}_regs_${f.decode},`);
      L.push(`\t\t.num_regs = ARRAY_SIZE(${s.id}_regs_${f.decode}),`);
      L.push('\t},');
    }
    L.push('};');
  }
  L.push('');
  L.push('static const struct vp9_golden_stream vp9_golden_streams[] = {');
  for (const s of streams) {
    L.push('\t{');
    L.push(`\t\t.name = "${s.vector}",`);
    L.push(`\t\t.frames = ${s.id}_frames,`);
    L.push(`\t\t.num_frames = ARRAY_SIZE(${s.id}_frames),`);
    L.push('\t},');
  }
  L.push('};');
  L.push('');
  L.push('#endif /* RKVDEC_VDPU381_VP9_GOLDEN_H_ */');
  L.push('');
  return L.join('\n');
}
