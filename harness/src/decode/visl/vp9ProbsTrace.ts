import { WorkbenchError } from '../../core/errors.ts';
import type { Vp9CompressedHdrControls } from '../../model/vp9Controls.ts';
import type { FtraceEvent } from './ftrace.ts';
import { eventFields } from './vp9FrameTrace.ts';

/**
 * The `struct v4l2_ctrl_vp9_compressed_hdr` visl received for one frame,
 * from its three trace events (drivers/media/test-drivers/visl/visl-trace-vp9.h:
 * `v4l2_ctrl_vp9_compressed_hdr`, `v4l2_ctrl_vp9_compressed_coeff`,
 * `v4l2_vp9_mv_probs`; visl-dec.c emits them in that order right after
 * `v4l2_ctrl_vp9_frame`).
 */
export type VislVp9Probs = Vp9CompressedHdrControls;

const TX_MODE: Record<string, number> = {
  TX_MODE_ONLY_4X4: 0,
  TX_MODE_ALLOW_8X8: 1,
  TX_MODE_ALLOW_16X16: 2,
  TX_MODE_ALLOW_32X32: 3,
  TX_MODE_SELECT: 4,
};

/** Members of struct v4l2_ctrl_vp9_compressed_hdr after tx_mode, in order: [trace name, event, bytes]. */
const HDR_MEMBERS: readonly (readonly [string, 'hdr' | 'coef' | 'mv', number])[] = [
  ['tx8', 'hdr', 2],
  ['tx16', 'hdr', 4],
  ['tx32', 'hdr', 6],
  ['coef', 'coef', 4 * 2 * 2 * 6 * 6 * 3],
  ['skip', 'hdr', 3],
  ['inter_mode', 'hdr', 7 * 3],
  ['interp_filter', 'hdr', 4 * 2],
  ['is_inter', 'hdr', 4],
  ['comp_mode', 'hdr', 5],
  ['single_ref', 'hdr', 5 * 2],
  ['comp_ref', 'hdr', 5],
  ['y_mode', 'hdr', 4 * 9],
  ['uv_mode', 'hdr', 10 * 9],
  ['partition', 'hdr', 16 * 3],
  // struct v4l2_vp9_mv_probs mv
  ['joint', 'mv', 3],
  ['sign', 'mv', 2],
  ['classes', 'mv', 2 * 10],
  ['class0_bit', 'mv', 2],
  ['bits', 'mv', 2 * 10],
  ['class0_fr', 'mv', 2 * 2 * 3],
  ['fr', 'mv', 2 * 3],
  ['class0_hp', 'mv', 2],
  ['hp', 'mv', 2],
];

/** sizeof(struct v4l2_ctrl_vp9_compressed_hdr): 1 + the members above = 2040 bytes. */
export const COMPRESSED_HDR_SIZE = 1 + HDR_MEMBERS.reduce((n, m) => n + m[2], 0);

/** Byte offset of each member in struct v4l2_ctrl_vp9_compressed_hdr as this parser lays it out (`mv.joint` etc. for the MV probabilities). */
export function compressedHdrOffsets(): Record<string, number> {
  const out: Record<string, number> = { tx_mode: 0 };
  let o = 1;
  for (const [name, part, size] of HDR_MEMBERS) {
    out[part === 'mv' ? `mv.${name}` : name] = o;
    o += size;
  }
  return out;
}

function bad(event: string, field: string, value: string, time: number): WorkbenchError {
  return new WorkbenchError('E_TRACE_FORMAT', `visl trace ${event} at ${time}: field ${field} has unexpected value '${value.slice(0, 80)}'`, {
    hint: 'the visl trace format changed (visl-trace-vp9.h); update harness/src/decode/visl/vp9ProbsTrace.ts',
  });
}

/** `{0x1,0xff}` (__print_array) or `01 ff` (__print_hex_dump) → bytes. */
function bytesOf(event: FtraceEvent, field: string, v: string | undefined, size: number): number[] {
  const t = (v ?? '').trim();
  let out: number[];
  const arr = /^\{([0-9a-fx,\s]*)\}$/i.exec(t);
  if (arr) out = arr[1]!.split(',').map((x) => (/^\s*0x[0-9a-f]+\s*$/i.test(x) ? parseInt(x, 16) : NaN));
  else out = t.split(/\s+/).map((x) => (/^[0-9a-f]{2}$/i.test(x) ? parseInt(x, 16) : NaN));
  if (out.length !== size || out.some((n) => Number.isNaN(n) || n > 255)) {
    throw bad(event.event, field, `${v ?? '(missing)'} (expected ${size} bytes)`, event.time);
  }
  return out;
}

/**
 * Joins the compressed-header, coefficient and MV-probability events of a
 * trace into one {@link VislVp9Probs} per frame, in trace order. Events of
 * other names are skipped.
 * @throws WorkbenchError `E_TRACE_FORMAT` naming the event and field when a
 *   value does not have the visl-trace-vp9.h shape, or when the three events
 *   of a frame are not found in order.
 */
export function vp9ProbsEvents(events: readonly FtraceEvent[]): VislVp9Probs[] {
  const out: VislVp9Probs[] = [];
  let cur:
    { time: number; txMode: number; parts: Partial<Record<'hdr' | 'coef' | 'mv', Map<string, string>>>; ev: Partial<Record<string, FtraceEvent>> } | undefined;
  const finish = () => {
    if (!cur) return;
    const bytes = new Uint8Array(COMPRESSED_HDR_SIZE);
    bytes[0] = cur.txMode;
    let o = 1;
    for (const [name, part, size] of HDR_MEMBERS) {
      const kv = cur.parts[part];
      const ev = cur.ev[part];
      if (!kv || !ev) {
        throw new WorkbenchError(
          'E_TRACE_FORMAT',
          `visl trace at ${cur.time}: the compressed header has no ${part === 'coef' ? 'v4l2_ctrl_vp9_compressed_coeff' : 'v4l2_vp9_mv_probs'} event after it`,
          {
            hint: 'trace with every visl_vp9_controls event armed (`workbench decode --visl-trace DIR`)',
          },
        );
      }
      bytes.set(bytesOf(ev, name, kv.get(name), size), o);
      o += size;
    }
    out.push({ txMode: cur.txMode, bytes, time: cur.time });
    cur = undefined;
  };
  for (const e of events) {
    if (e.event === 'v4l2_ctrl_vp9_compressed_hdr') {
      finish();
      const kv = eventFields(e.lines);
      const tm = (kv.get('tx_mode') ?? '').trim();
      if (!(tm in TX_MODE)) throw bad(e.event, 'tx_mode', tm, e.time);
      cur = { time: e.time, txMode: TX_MODE[tm]!, parts: { hdr: kv }, ev: { hdr: e } };
    } else if (e.event === 'v4l2_ctrl_vp9_compressed_coeff' || e.event === 'v4l2_vp9_mv_probs') {
      const part = e.event === 'v4l2_vp9_mv_probs' ? 'mv' : 'coef';
      if (!cur || cur.parts[part]) {
        throw new WorkbenchError('E_TRACE_FORMAT', `visl trace at ${e.time}: ${e.event} without the v4l2_ctrl_vp9_compressed_hdr event before it`, {
          hint: 'the ring buffer may have overflowed; trace fewer frames',
        });
      }
      cur.parts[part] = eventFields(e.lines);
      cur.ev[part] = e;
    }
  }
  finish();
  return out;
}
