import { WorkbenchError } from '../../core/errors.ts';
import type { Vp9FrameControls } from '../../model/vp9Controls.ts';
import type { FtraceEvent } from './ftrace.ts';

/**
 * The `struct v4l2_ctrl_vp9_frame` visl received, as its trace event
 * `visl_vp9_controls/v4l2_ctrl_vp9_frame` prints it.
 *
 * Format (drivers/media/test-drivers/visl/visl-trace-vp9.h, TP_printk of
 * v4l2_ctrl_vp9_frame_tmpl; helpers in kernel/trace/trace_output.c):
 * one `name value` per line; `__print_array` prints `{0x1,0x0,...}` (each
 * element as unsigned hex of its size, so s8 -1 prints 0xff);
 * `__print_hex_dump` prints a newline then rows of 32 space-separated hex
 * bytes (used for seg.feature_data, s16[8][4] little-endian, inside `{...}`);
 * `__print_flags` prints names joined by `|` (empty for 0, leftover bits as
 * `0x..`); `__print_symbolic` prints the name or `0x..` for unknown values.
 * Enum values: include/uapi/linux/v4l2-controls.h (V4L2_VP9_*).
 */
export type VislVp9Frame = Vp9FrameControls;

const SIGN_BIAS: Record<string, number> = { SIGN_BIAS_LAST: 1, SIGN_BIAS_GOLDEN: 2, SIGN_BIAS_ALT: 4 };
const RESET_CTX: Record<string, number> = { RESET_FRAME_CTX_NONE: 0, RESET_FRAME_CTX_SPEC: 1, RESET_FRAME_CTX_ALL: 2 };
const INTERP: Record<string, number> = {
  INTERP_FILTER_EIGHTTAP: 0,
  INTERP_FILTER_EIGHTTAP_SMOOTH: 1,
  INTERP_FILTER_EIGHTTAP_SHARP: 2,
  INTERP_FILTER_BILINEAR: 3,
  INTERP_FILTER_SWITCHABLE: 4,
};
const REF_MODE: Record<string, number> = {
  REFERENCE_MODE_SINGLE_REFERENCE: 0,
  REFERENCE_MODE_COMPOUND_REFERENCE: 1,
  REFERENCE_MODE_SELECT: 2,
};

function bad(field: string, value: string, time: number): WorkbenchError {
  return new WorkbenchError('E_TRACE_FORMAT', `visl trace v4l2_ctrl_vp9_frame at ${time}: field ${field} has unexpected value '${value.slice(0, 80)}'`, {
    hint: 'the visl trace format changed (visl-trace-vp9.h); update harness/src/decode/visl/vp9FrameTrace.ts',
  });
}

function num(field: string, v: string | undefined, time: number): number {
  if (v === undefined || !/^-?\d+$/.test(v.trim())) throw bad(field, v ?? '(missing)', time);
  return Number(v.trim());
}

/** `{0x1,0xff}` → [1, 255] (or signed for `signed8`). */
function arr(field: string, v: string | undefined, time: number, signed8 = false): number[] {
  const m = v === undefined ? null : /^\{([0-9a-fx,\s]*)\}$/i.exec(v.trim());
  if (!m) throw bad(field, v ?? '(missing)', time);
  if (m[1]!.trim() === '') return [];
  return m[1]!.split(',').map((x) => {
    const n = parseInt(x.trim(), 16);
    if (Number.isNaN(n)) throw bad(field, v!, time);
    return signed8 && n > 127 ? n - 256 : n;
  });
}

function flags(v: string | undefined): string[] {
  const t = (v ?? '').trim();
  return t === '' ? [] : t.split('|');
}

function symbolic(field: string, v: string | undefined, table: Record<string, number>, time: number): number {
  const t = (v ?? '').trim();
  if (t in table) return table[t]!;
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t, 16);
  throw bad(field, t, time);
}

/**
 * The `name value` lines of one visl event as a map; a `__print_hex_dump`
 * inside braces (`name {` then rows, then `}`) becomes one value of
 * space-separated hex bytes.
 */
export function eventFields(lines: readonly string[]): Map<string, string> {
  const kv = new Map<string, string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const sp = line.indexOf(' ');
    const key = sp < 0 ? line : line.slice(0, sp);
    let value = sp < 0 ? '' : line.slice(sp + 1);
    if (value.trim() === '{' || (value.startsWith('{') && !value.includes('}'))) {
      // A hex dump inside braces: rows until the closing brace.
      const rows: string[] = [value.slice(1)];
      while (i + 1 < lines.length && !lines[i]!.includes('}')) {
        i++;
        rows.push(lines[i]!);
      }
      value = rows.join(' ').replace('}', '');
    }
    kv.set(key, value);
  }
  return kv;
}

/**
 * Parses one `v4l2_ctrl_vp9_frame` event.
 * @throws WorkbenchError `E_TRACE_FORMAT` naming the field when the text does
 *   not have the visl-trace-vp9.h shape.
 */
export function parseVp9FrameEvent(e: FtraceEvent): VislVp9Frame {
  const t = e.time;
  const kv = eventFields(e.lines);
  const hexBytes = (field: string): number[] => {
    const v = kv.get(field);
    if (v === undefined) throw bad(field, '(missing)', t);
    const parts = v.trim().split(/\s+/).filter(Boolean);
    return parts.map((p) => {
      if (!/^[0-9a-f]{2}$/i.test(p)) throw bad(field, v, t);
      return parseInt(p, 16);
    });
  };
  const fd = hexBytes('seg.feature_data');
  if (fd.length !== 64) throw bad('seg.feature_data', `${fd.length} bytes (expected 64)`, t);
  const featureData: number[][] = [];
  for (let s = 0; s < 8; s++) {
    const row: number[] = [];
    for (let f = 0; f < 4; f++) {
      const o = (s * 4 + f) * 2;
      const u = fd[o]! | (fd[o + 1]! << 8);
      row.push(u > 0x7fff ? u - 0x10000 : u);
    }
    featureData.push(row);
  }
  const big = (field: string): bigint => {
    const v = kv.get(field)?.trim();
    if (v === undefined || !/^\d+$/.test(v)) throw bad(field, v ?? '(missing)', t);
    return BigInt(v);
  };
  return {
    lf: {
      refDeltas: arr('lf.ref_deltas', kv.get('lf.ref_deltas'), t, true),
      modeDeltas: arr('lf.mode_deltas', kv.get('lf.mode_deltas'), t, true),
      level: num('lf.level', kv.get('lf.level'), t),
      sharpness: num('lf.sharpness', kv.get('lf.sharpness'), t),
      flags: flags(kv.get('lf.flags')),
    },
    quant: {
      baseQIdx: num('quant.base_q_idx', kv.get('quant.base_q_idx'), t),
      deltaQYDc: num('quant.delta_q_y_dc', kv.get('quant.delta_q_y_dc'), t),
      deltaQUvDc: num('quant.delta_q_uv_dc', kv.get('quant.delta_q_uv_dc'), t),
      deltaQUvAc: num('quant.delta_q_uv_ac', kv.get('quant.delta_q_uv_ac'), t),
    },
    seg: {
      featureData,
      featureEnabled: arr('seg.feature_enabled', kv.get('seg.feature_enabled'), t),
      treeProbs: arr('seg.tree_probs', kv.get('seg.tree_probs'), t),
      predProbs: arr('seg.pred_probs', kv.get('seg.pred_probs'), t),
      flags: flags(kv.get('seg.flags')),
    },
    flags: flags(kv.get('flags')),
    compressedHeaderSize: num('compressed_header_size', kv.get('compressed_header_size'), t),
    uncompressedHeaderSize: num('uncompressed_header_size', kv.get('uncompressed_header_size'), t),
    frameWidthMinus1: num('frame_width_minus_1', kv.get('frame_width_minus_1'), t),
    frameHeightMinus1: num('frame_height_minus_1', kv.get('frame_height_minus_1'), t),
    renderWidthMinus1: num('render_width_minus_1', kv.get('render_width_minus_1'), t),
    renderHeightMinus1: num('render_height_minus_1', kv.get('render_height_minus_1'), t),
    lastFrameTs: big('last_frame_ts'),
    goldenFrameTs: big('golden_frame_ts'),
    altFrameTs: big('alt_frame_ts'),
    refFrameSignBias: symbolic('ref_frame_sign_bias', kv.get('ref_frame_sign_bias'), SIGN_BIAS, t),
    resetFrameContext: symbolic('reset_frame_context', kv.get('reset_frame_context'), RESET_CTX, t),
    frameContextIdx: num('frame_context_idx', kv.get('frame_context_idx'), t),
    profile: num('profile', kv.get('profile'), t),
    bitDepth: num('bit_depth', kv.get('bit_depth'), t),
    interpolationFilter: symbolic('interpolation_filter', kv.get('interpolation_filter'), INTERP, t),
    tileColsLog2: num('tile_cols_log2', kv.get('tile_cols_log2'), t),
    // visl-trace-vp9.h labels this field "tile_rows_log_2".
    tileRowsLog2: num('tile_rows_log_2', kv.get('tile_rows_log_2') ?? kv.get('tile_rows_log2'), t),
    referenceMode: symbolic('reference_mode', kv.get('reference_mode'), REF_MODE, t),
    time: t,
  };
}

/** Every `v4l2_ctrl_vp9_frame` event of a parsed trace, in trace order. */
export function vp9FrameEvents(events: readonly FtraceEvent[]): VislVp9Frame[] {
  return events.filter((e) => e.event === 'v4l2_ctrl_vp9_frame').map(parseVp9FrameEvent);
}
