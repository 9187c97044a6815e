import type { InspectResult } from '../vectors/index.ts';

/** The three inter references of VP9 (spec 7.2: LAST_FRAME, GOLDEN_FRAME, ALTREF_FRAME). */
export const REF_NAMES = ['last', 'golden', 'altref'] as const;
export type RefName = (typeof REF_NAMES)[number];

/**
 * Registers of MPP's vdpu34x VP9 HAL by role (mpp/hal/rkdec/inc/vdpu34x_com.h
 * Vdpu34xRegCommonAddr and vdpu34x_vp9d.h Vdpu34xRegVp9dAddr; how the HAL
 * fills them: hal_vp9d_vdpu34x.c hal_vp9d_vdpu34x_gen_regs). Addresses and
 * fds differ between two runs; roles do not.
 */
export const ADDRESS_ROLES: Readonly<Record<number, string>> = {
  128: 'stream',
  129: 'stream-write',
  130: 'output',
  131: 'colmv-current',
  132: 'error-reference',
  133: 'rcb-intra-row',
  134: 'rcb-transd-row',
  135: 'rcb-transd-col',
  136: 'rcb-streamd-row',
  137: 'rcb-inter-row',
  138: 'rcb-inter-col',
  139: 'rcb-deblock-row',
  140: 'rcb-sao-row',
  141: 'rcb-fbc-row',
  142: 'rcb-filter-col',
  160: 'delta-probabilities',
  161: 'pps',
  162: 'last-probabilities',
  163: 'rps',
  164: 'ref-last',
  165: 'ref-golden',
  166: 'ref-altref',
  167: 'counts',
  168: 'segment-map-last',
  169: 'segment-map-current',
  170: 'colmv-reference',
  171: 'intercmd',
  172: 'probability-write-back',
  180: 'scan-list',
  181: 'colmv-last',
  182: 'colmv-golden',
  183: 'colmv-altref',
  197: 'cabac-table',
};

/** What {@link referencedFrames} needs of a record. */
export interface RecordRefsInput {
  frame: number;
  frameType: 'key' | 'inter';
  intraOnly: boolean;
  addresses: { reg: number; buffer: number | null }[];
}

/**
 * For each record (jobs in decode order), the decoded frames its reference
 * registers point at, as MPP programmed them: the frame whose output
 * buffer (reg130) a reference register (reg164..166) names is the last job
 * before it that wrote that buffer. Null for key and intra-only frames
 * (their reference registers carry no reference) and when the buffer was
 * never an output.
 */
export function referencedFrames(records: readonly RecordRefsInput[]): (Record<RefName, number | null> | null)[] {
  const owner = new Map<number, number>();
  return records.map((r) => {
    let refs: Record<RefName, number | null> | null = null;
    if (r.frameType === 'inter' && !r.intraOnly) {
      refs = { last: null, golden: null, altref: null };
      REF_NAMES.forEach((n, i) => {
        const b = r.addresses.find((a) => a.reg === 164 + i)?.buffer;
        refs![n] = b === null || b === undefined ? null : (owner.get(b) ?? null);
      });
    }
    const out = r.addresses.find((a) => a.reg === 130)?.buffer;
    if (out !== null && out !== undefined) owner.set(out, r.frame);
    return refs;
  });
}

/**
 * The decoded frame each inter frame of a stream refers to, from its
 * headers alone (spec 8.10 reference frame update: every frame with
 * `refresh_frame_flags` bit i set becomes the content of slot i;
 * `ref_frame_idx[j]` names the slot of reference j). Keyed by decode-order
 * frame index; show_existing_frame frames change nothing.
 */
export function headerReferences(info: Pick<InspectResult, 'frames'>): Map<number, Record<RefName, number | null>> {
  const slots: (number | null)[] = new Array(8).fill(null);
  const out = new Map<number, Record<RefName, number | null>>();
  for (const f of info.frames) {
    const h = f.header;
    if (h.showExistingFrame) continue;
    if (h.frameType === 'inter' && !h.intraOnly && h.refFrameIdx) {
      out.set(f.index, { last: slots[h.refFrameIdx[0]!]!, golden: slots[h.refFrameIdx[1]!]!, altref: slots[h.refFrameIdx[2]!]! });
    }
    for (let i = 0; i < 8; i++) if (h.refreshFrameFlags & (1 << i)) slots[i] = f.index;
  }
  return out;
}
