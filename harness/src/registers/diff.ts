import { allowedBy, type AllowEntry, type AllowList } from './allowList.ts';
import type { CaptureRegs } from './capture.ts';
import { registerMap, type FrameRecord } from './records.ts';
import { fieldValue, type RegField } from './regFields.ts';
import { ADDRESS_ROLES } from './roles.ts';
import type { FrameTable, RegisterRow } from '../model/captures.ts';

/**
 * The role-aware register differential between MPP's record of a frame and
 * the series' programming of the same frame (a simboard capture job).
 *
 * Value registers are compared field by field under MPP's field names
 * (regFields.ts table of vdpu34x_vp9d.h / vdpu34x_com.h). Address
 * registers hold fds (MPP) or IOVAs (the series), which never match; they
 * are compared by what they point at, as a label both sides compute the
 * same way from their own history of the stream:
 * - a role the hardware writes for this frame (output, colmv-current,
 *   counts, segment-map-current, probability-write-back): `this frame`;
 * - a role that reads what an earlier frame wrote (references, colmv and
 *   segment map of earlier frames, probability contexts): `<writer role>
 *   of frame N`, the last job that had the same address in a writer role;
 * - a role that reads what software or nobody wrote (tables, error
 *   reference, unused bases): `<role> first used at frame N`;
 * - roles whose allocation is the implementation's own business (stream,
 *   RCB scratch, software-written tables): only present / absent, and the
 *   buffer content where both sides hashed it.
 * Null / zero addresses are `none`. References and colmv references are
 * not compared on key and intra-only frames (the hardware reads none).
 */

/** Registers of MPP's vdpu34x VP9 set that hold addresses (Vdpu34xRegCommonAddr 128..142, Vdpu34xRegVp9dAddr 160..172 and 180..197). */
export function isAddressRegister(reg: number): boolean {
  return (reg >= 128 && reg <= 142) || (reg >= 160 && reg <= 172) || (reg >= 180 && reg <= 197);
}

/** Role of an address register (roles.ts ADDRESS_ROLES; colmv bases 184..196 numbered). */
export function roleOf(reg: number): string {
  return ADDRESS_ROLES[reg] ?? (reg >= 181 && reg <= 196 ? `colmv-${reg - 181}` : `reg${reg}`);
}

type Policy = 'writer' | 'reader' | 'reference' | 'presence';
/** How each address role is compared (see the module comment); reference = reader not compared on key / intra-only frames. */
function policyOf(reg: number): Policy {
  if ([130, 131, 167, 169, 172].includes(reg)) return 'writer';
  if ((reg >= 164 && reg <= 166) || reg === 170 || (reg >= 181 && reg <= 196)) return 'reference';
  if ([128, 129, 160, 180, 197].includes(reg) || (reg >= 133 && reg <= 142)) return 'presence';
  return 'reader';
}

/**
 * Roles whose buffer content is written by software before the job and
 * does not depend on the allocation (MPP hal_vp9d_vdpu34x.c: delta
 * probabilities hal_vp9d_output_probe, default probabilities
 * hal_vp9d_prob_default, the scan list and CABAC tables), so equal streams
 * give equal bytes. last-probabilities only while no frame wrote it back.
 */
const CONTENT_ROLES = new Set([160, 162, 180, 197]);

/** An address register of one job: `key` identifies the buffer+offset within one side's run (null: none). */
export interface JobAddress {
  value: number;
  key: string | null;
  sha256?: string;
}

/** One job of either side, as the differential reads it. */
export interface JobRegisters {
  /** Where it came from, for messages (`records.jsonl:3`, `capture.jsonl:12`). */
  source: string;
  /** Register index -> the value the hardware saw. */
  regs: ReadonlyMap<number, number>;
  /** Registers written for this job (the others kept an earlier value). */
  written: ReadonlySet<number>;
  addresses: ReadonlyMap<number, JobAddress>;
}

/** An MPP record as a job: registers written, addresses resolved to buffer id + offset with the buffer's hash. */
export function mppJob(r: FrameRecord, source: string): JobRegisters {
  const regs = registerMap(r);
  const addresses = new Map<number, JobAddress>();
  for (const [reg, v] of regs) if (isAddressRegister(reg)) addresses.set(reg, { value: v, key: null });
  for (const a of r.addresses) {
    if (!isAddressRegister(a.reg)) continue;
    // The region hash of a probability table when the shim took one, else the whole buffer's.
    const sha = a.buffer === null ? undefined : (a.sha256 ?? r.buffers.find((b) => b.id === a.buffer)?.sha256);
    addresses.set(a.reg, { value: a.value, key: a.buffer === null ? null : `buffer ${a.buffer}+${a.offset ?? 0}`, ...(sha ? { sha256: sha } : {}) });
  }
  return { source, regs, written: new Set(regs.keys()), addresses };
}

/**
 * A capture job as a job: the function block at DEC_E, addresses as IOVAs,
 * with the content hash the model took at DEC_E where it took one (the
 * probability tables: `len` bytes from the address, as MPP's record hashes
 * them).
 */
export function captureJob(c: CaptureRegs): JobRegisters {
  const regs = new Map(c.snapshot.map((v, i) => [i, v] as [number, number]));
  const addresses = new Map<number, JobAddress>();
  for (const [reg, v] of regs) {
    if (!isAddressRegister(reg)) continue;
    const h = v ? c.hashes?.get(reg) : undefined;
    addresses.set(reg, { value: v, key: v ? `iova 0x${v.toString(16)}` : null, ...(h ? { sha256: h.sha256 } : {}) });
  }
  return { source: c.source, regs, written: c.written, addresses };
}

/** One difference. Values are numbers for value fields, labels for address roles, sha256 prefixes for contents. */
export interface RegDifference {
  /** Decode-order frame index (the inspector's numbering) and MPP's job number. */
  frame: number;
  job: number;
  frameKind: FrameKind;
  /** Where the series' job came from (file:line). */
  series: string;
  reg: number;
  field: string;
  kind: 'value' | 'address' | 'content';
  role?: string;
  mppValue: number | string;
  seriesValue: number | string;
  /** The series did not write this register for this job: the value is left from an earlier job or the reset. */
  notWritten?: boolean;
  /** Index of the allow-list entry that covers it. */
  allowed?: number;
  /** Contents only: the series' buffer's full SHA-256 (its bytes are kept by content, see checks/registers.ts). */
  seriesSha256?: string;
}

export type FrameKind = 'key' | 'inter' | 'intra-only';

/** Per-frame counts, in decode order. */
export interface FrameDiff {
  frame: number;
  job: number;
  frameKind: FrameKind;
  showFrame: boolean;
  width: number;
  height: number;
  fields: number;
  addresses: number;
  contents: number;
  differences: number;
  allowed: number;
}

/** The result of {@link diffRegisters}. */
export interface RegDiffReport {
  /** Frames compared (min of both job counts), MPP records and series jobs. */
  frames: number;
  mppJobs: number;
  seriesJobs: number;
  /** Totals over the compared frames. */
  fieldsCompared: number;
  addressesCompared: number;
  contentsCompared: number;
  /** Address roles whose content was to be compared but one side has no hash (a capture holds no buffer bytes). */
  contentsNotCompared: number;
  perFrame: FrameDiff[];
  /** Differences no allow-list entry covers, in frame then register order. */
  differences: RegDifference[];
  /** Differences an entry covers (listed, never dropped). */
  allowed: RegDifference[];
  /** Allow-list entries that matched nothing. */
  unusedAllow: AllowEntry[];
  allowList: string | null;
  notes: string[];
}

function frameKindOf(r: Pick<FrameRecord, 'frameType' | 'intraOnly'>): FrameKind {
  return r.frameType === 'key' ? 'key' : r.intraOnly ? 'intra-only' : 'inter';
}

/** Computes address labels job by job for one side (see the module comment). */
class Labeller {
  private readonly writer = new Map<string, string>();
  private readonly first = new Map<string, string>();

  /** Labels of one job's address registers; then records its writer roles. */
  job(frame: number, addresses: ReadonlyMap<number, JobAddress>): Map<number, { label: string; hwWritten: boolean }> {
    const out = new Map<number, { label: string; hwWritten: boolean }>();
    for (const [reg, a] of addresses) {
      const p = policyOf(reg);
      if (a.key === null) out.set(reg, { label: 'none', hwWritten: false });
      else if (p === 'writer') out.set(reg, { label: 'this frame', hwWritten: true });
      else if (p === 'presence') out.set(reg, { label: 'present', hwWritten: false });
      else {
        const w = this.writer.get(a.key);
        if (w) out.set(reg, { label: w, hwWritten: true });
        else {
          if (!this.first.has(a.key)) this.first.set(a.key, `${roleOf(reg)} first used at frame ${frame}`);
          out.set(reg, { label: this.first.get(a.key)!, hwWritten: false });
        }
      }
    }
    for (const [reg, a] of addresses) if (a.key !== null && policyOf(reg) === 'writer') this.writer.set(a.key, `${roleOf(reg)} of frame ${frame}`);
    return out;
  }
}

/**
 * Compares MPP's records of a stream with the series' jobs for the same
 * stream, job k with record k (both submit one job per frame that is not
 * show_existing_frame, in decode order). Registers MPP wrote are the
 * domain: every field of the table in those registers is compared (value
 * registers bit by bit, address registers by role, see the module
 * comment); registers only the series wrote are listed in `notes`.
 * Differences an allow-list entry covers go to `allowed`.
 *
 * @param fields MPP's field table (mppFields.ts ensureMppFields).
 * @param mpp MPP's records in job order (mppRecord.ts).
 * @param series the series' jobs in order (captureJob of a capture, or mppJob for a self-check).
 * @param tables when given, receives one {@link FrameTable} per compared
 *   frame: every field, address role and content compared, with both
 *   values and whether they differ (the page's register tables).
 */
export function diffRegisters(
  fields: readonly RegField[],
  mpp: readonly FrameRecord[],
  series: readonly JobRegisters[],
  allow: AllowList | null = null,
  tables?: FrameTable[],
): RegDiffReport {
  const byReg = new Map<number, RegField[]>();
  for (const f of fields) byReg.set(f.reg, [...(byReg.get(f.reg) ?? []), f]);
  const nameOfReg = (reg: number) => byReg.get(reg)?.[0]?.name ?? `reg${reg}`;
  const report: RegDiffReport = {
    frames: Math.min(mpp.length, series.length),
    mppJobs: mpp.length,
    seriesJobs: series.length,
    fieldsCompared: 0,
    addressesCompared: 0,
    contentsCompared: 0,
    contentsNotCompared: 0,
    perFrame: [],
    differences: [],
    allowed: [],
    unusedAllow: [],
    allowList: allow?.file ?? null,
    notes: [],
  };
  if (mpp.length !== series.length) {
    report.notes.push(`MPP submitted ${mpp.length} jobs, the series ${series.length}: the first ${report.frames} are compared, in order`);
  }
  const used = new Set<number>();
  const onlySeries = new Map<number, number>();
  const mppLabels = new Labeller();
  const seriesLabels = new Labeller();
  for (let i = 0; i < report.frames; i++) {
    const rec = mpp[i]!;
    const m = mppJob(rec, `record ${i}`);
    const s = series[i]!;
    const kind = frameKindOf(rec);
    const pf: FrameDiff = {
      frame: rec.frame,
      job: rec.job,
      frameKind: kind,
      showFrame: rec.showFrame,
      width: rec.width,
      height: rec.height,
      fields: 0,
      addresses: 0,
      contents: 0,
      differences: 0,
      allowed: 0,
    };
    const rows: RegisterRow[] | undefined = tables ? [] : undefined;
    const row = (d: Omit<RegDifference, 'frame' | 'job' | 'frameKind' | 'series'>, state: RegisterRow['state']) =>
      rows?.push({
        reg: d.reg,
        field: d.field,
        kind: d.kind,
        mpp: d.mppValue,
        series: d.seriesValue,
        state,
        ...(d.notWritten ? { notWritten: true } : {}),
      });
    const add = (d: Omit<RegDifference, 'frame' | 'job' | 'frameKind' | 'series'>) => {
      const full: RegDifference = { frame: rec.frame, job: rec.job, frameKind: kind, series: s.source, ...d };
      const k = allow ? allowedBy(allow, { field: d.field, frameKind: kind, mpp: d.mppValue, series: d.seriesValue }) : -1;
      if (k >= 0) {
        full.allowed = k;
        used.add(k);
        report.allowed.push(full);
        pf.allowed++;
      } else {
        report.differences.push(full);
        pf.differences++;
      }
      row(d, k >= 0 ? 'allowed' : 'differs');
    };
    for (const reg of [...m.regs.keys()].sort((a, b) => a - b)) {
      if (isAddressRegister(reg)) continue;
      const mw = m.regs.get(reg)!;
      const sw = s.regs.get(reg);
      const notWritten = !s.written.has(reg);
      for (const f of byReg.get(reg) ?? [{ name: nameOfReg(reg), reg, lsb: 0, width: 32 }]) {
        pf.fields++;
        const mv = fieldValue(f, mw);
        const sv = sw === undefined ? 'absent' : fieldValue(f, sw);
        const d = { reg, field: f.name, kind: 'value' as const, mppValue: mv, seriesValue: sv, ...(notWritten ? { notWritten } : {}) };
        if (mv !== sv) add(d);
        else row(d, 'equal');
      }
    }
    const ml = mppLabels.job(rec.frame, m.addresses);
    const sl = seriesLabels.job(rec.frame, s.addresses);
    for (const reg of [...m.addresses.keys()].sort((a, b) => a - b)) {
      if (policyOf(reg) === 'reference' && kind !== 'inter') continue;
      const field = nameOfReg(reg);
      const role = roleOf(reg);
      const a = ml.get(reg)!;
      const b = sl.get(reg) ?? { label: 'absent', hwWritten: false };
      pf.addresses++;
      if (a.label !== b.label) {
        add({ reg, field, kind: 'address', role, mppValue: a.label, seriesValue: b.label, ...(s.written.has(reg) ? {} : { notWritten: true }) });
        continue;
      }
      row({ reg, field, kind: 'address', role, mppValue: a.label, seriesValue: b.label }, 'equal');
      if (!CONTENT_ROLES.has(reg) || a.hwWritten || a.label === 'none') continue;
      const ma = m.addresses.get(reg)?.sha256;
      const sa = s.addresses.get(reg)?.sha256;
      if (!ma || !sa) {
        report.contentsNotCompared++;
        continue;
      }
      pf.contents++;
      const c = { reg, field, kind: 'content' as const, role, mppValue: `sha256 ${ma.slice(0, 16)}`, seriesValue: `sha256 ${sa.slice(0, 16)}` };
      if (ma !== sa) add({ ...c, seriesSha256: sa });
      else row(c, 'equal');
    }
    for (const reg of s.written) if (!m.regs.has(reg)) onlySeries.set(reg, (onlySeries.get(reg) ?? 0) + 1);
    report.fieldsCompared += pf.fields;
    report.addressesCompared += pf.addresses;
    report.contentsCompared += pf.contents;
    report.perFrame.push(pf);
    if (tables && rows)
      tables.push({ frame: rec.frame, job: rec.job, frameKind: kind, showFrame: rec.showFrame, width: rec.width, height: rec.height, series: s.source, rows });
  }
  if (onlySeries.size) {
    const list = [...onlySeries].sort((a, b) => a[0] - b[0]).map(([r, n]) => `reg${r} (${nameOfReg(r)}, ${n} jobs)`);
    report.notes.push(`registers the series wrote that MPP does not write (not compared): ${list.join(', ')}`);
  }
  if (report.contentsNotCompared) {
    report.notes.push(
      `${report.contentsNotCompared} buffer contents not compared: one side holds no hash (the simboard hashes only the probability tables, counts and segment-id maps; MPP records older than the region hashes hash whole buffers)`,
    );
  }
  report.unusedAllow = allow ? allow.entries.filter((_, k) => !used.has(k)) : [];
  return report;
}

/** One line for a person: `frame 3 (inter) reg103 vp9d_param.reg103.allow_high_precision_mv: MPP 1, series 0`. */
export function formatDifference(d: RegDifference): string {
  const role = d.role ? ` [${d.role}]` : '';
  const nw = d.notWritten ? ' (not written by the series for this job)' : '';
  return `frame ${d.frame} (${d.frameKind}, job ${d.job}) reg${d.reg} ${d.field}${role}: MPP ${String(d.mppValue)}, series ${String(d.seriesValue)}${nw}`;
}

/** The report as text lines: the counts, every difference, the allowed ones with their entry, unused entries and notes. */
export function formatReport(r: RegDiffReport, allow: AllowList | null = null, limit = 50): string[] {
  const out: string[] = [];
  const equal = r.perFrame.filter((f) => f.differences === 0).length;
  out.push(
    `${equal}/${r.frames} frames equal to MPP (${r.fieldsCompared} value fields, ${r.addressesCompared} address roles, ${r.contentsCompared} buffer contents compared; ${r.differences.length} differences, ${r.allowed.length} allowed)`,
  );
  for (const d of r.differences.slice(0, limit)) out.push(`  ${formatDifference(d)}`);
  if (r.differences.length > limit) out.push(`  ... ${r.differences.length - limit} more`);
  for (const d of r.allowed.slice(0, limit)) {
    const e = allow?.entries[d.allowed!];
    out.push(`  allowed: ${formatDifference(d)}${e ? ` — ${e.reason} (${e.source})` : ''}`);
  }
  for (const e of r.unusedAllow) out.push(`  unused allow-list entry: field ${e.field}${e.frames ? ` (${e.frames} frames)` : ''}: ${e.reason}`);
  for (const n of r.notes) out.push(`  note: ${n}`);
  return out;
}
