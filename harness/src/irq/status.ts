/**
 * The vdpu381 interrupt status word (register 0x380 = MPP reg224) and the
 * kernel-log lines the IRQ instrumentation writes for every rkvdec job.
 *
 * Bit map (`VDPU381_REG_STA_INT` in Linux drivers/media/platform/rockchip/rkvdec/
 * rkvdec-vdpu381-regs.h; names as Rockchip MPP's reg224; patches/instrument/README.md):
 * 0 irq, 1 irq_raw, 2 dec_rdy, 3 bus_err, 4 error, 5 timeout, 6 buf_empty,
 * 7 colmv_ref_err, 8 cabu_end, 9 softreset_rdy. The names are the run
 * record's (model/irq.ts). They apply to `variant=vdpu381` lines only:
 * RK3399's legacy register (reg=0x004) and VDPU383's link register (0x04c)
 * have other bit maps.
 *
 * Line format (patches/instrument/README.md, "Log line format"), after the
 * dev_info prefix `rkvdec <device>: `:
 *   `rkvdec-irq: seq=<u32> variant=<name> fourcc=<4cc> mode=<int> reg=0x<hex3> status=0x<hex8> src=irq|watchdog|run_error`
 * This parser reads `key=value` fields in any order after the tag (a dmesg
 * prefix may precede it); `status` is required, the others are validated
 * when present; unknown extra fields are kept in {@link IrqLogLine.extra}.
 */
import { IRQ_BITS, type IrqBit } from '../model/irq.ts';
import type { IrqJob } from './summary.ts';

export { IRQ_BITS, type IrqBit };

/** The tag that starts an instrumentation record in a kernel-log line. */
export const IRQ_TAG = 'rkvdec-irq:';

/**
 * Decode modes of vdpu381 (rkvdec-vdpu381-regs.h `VDPU381_MODE_*`:
 * HEVC 0, H264 1, VP9 2, AVS2 3), by the names the instrumentation may print.
 */
export const VDPU381_MODES: Readonly<Record<string, number>> = { hevc: 0, h265: 0, h264: 1, vp9: 2, avs2: 3 };

/** Bits named by a status word, low bit first, and any bits above 9. */
export function statusBits(word: number): { bits: IrqBit[]; unknownMask: number } {
  const bits = IRQ_BITS.filter((_, i) => (word >>> i) & 1);
  const known = (1 << IRQ_BITS.length) - 1;
  return { bits, unknownMask: (word >>> 0) & ~known };
}

/** `0x00000007 (irq|irq_raw|dec_rdy)`; `(none)` for 0; unknown bits as `+0x...`. */
export function describeStatus(word: number): string {
  const { bits, unknownMask } = statusBits(word);
  const names = bits.join('|') + (unknownMask ? `${bits.length ? '|' : ''}+0x${unknownMask.toString(16)}` : '');
  return `0x${(word >>> 0).toString(16).padStart(8, '0')} (${names || 'none'})`;
}

/** One parsed instrumentation line. */
export interface IrqLogLine extends IrqJob {
  /** Mode as printed (a number, or a name like `vp9`). */
  modeText?: string;
  /** Which status register was read: `vdpu381`, `vdpu383`, `rk3399`, `none` (run_error). */
  variant?: string;
  /** Coded format of the context (`VP9F`, `S264`, `S265`). */
  fourcc?: string;
  /** Offset of the status register read (0x380 on vdpu381). */
  reg?: number;
  /** `irq` (interrupt handler), `watchdog` (timed out, read by the watchdog), `run_error` (job refused before start). */
  src?: string;
  /** Other `key=value` fields on the line. */
  extra: Record<string, string>;
  /** The kernel-log line. */
  line: string;
}

/** Result of parsing a kernel-log slice. */
export interface IrqLogParse {
  jobs: IrqLogLine[];
  /** Lines that carry the tag but could not be parsed (reported, never dropped silently). */
  malformed: { line: string; reason: string }[];
}

/**
 * Parses one line. Returns undefined when the line carries no {@link IRQ_TAG};
 * a string (the reason) when it carries the tag but is malformed.
 */
export function parseIrqLine(line: string): IrqLogLine | string | undefined {
  const at = line.indexOf(IRQ_TAG);
  if (at < 0) return undefined;
  const fields: Record<string, string> = {};
  for (const tok of line
    .slice(at + IRQ_TAG.length)
    .trim()
    .split(/\s+/)) {
    if (tok === '') continue;
    const eq = tok.indexOf('=');
    if (eq <= 0) return `token '${tok}' is not key=value`;
    fields[tok.slice(0, eq)] = tok.slice(eq + 1);
  }
  const statusText = fields.status;
  if (statusText === undefined) return 'no status= field';
  if (!/^0x[0-9a-fA-F]{1,8}$/.test(statusText)) return `status '${statusText}' is not 0x<hex> (32 bit)`;
  const out: IrqLogLine = { status: parseInt(statusText, 16) >>> 0, extra: {}, line };
  if (fields.seq !== undefined) {
    if (!/^\d+$/.test(fields.seq)) return `seq '${fields.seq}' is not a number`;
    out.seq = Number(fields.seq);
  }
  if (fields.mode !== undefined) {
    out.modeText = fields.mode;
    const m = fields.mode.toLowerCase();
    if (/^-?\d+$/.test(m)) out.mode = Number(m);
    else if (m in VDPU381_MODES) out.mode = VDPU381_MODES[m];
    else return `mode '${fields.mode}' is neither a number nor one of ${Object.keys(VDPU381_MODES).join(', ')}`;
  }
  if (fields.variant !== undefined) {
    if (!/^[a-z0-9]+$/.test(fields.variant)) return `variant '${fields.variant}' is not a name`;
    out.variant = fields.variant;
  }
  if (fields.fourcc !== undefined) {
    if (!/^\S{4}$/.test(fields.fourcc)) return `fourcc '${fields.fourcc}' is not 4 characters`;
    out.fourcc = fields.fourcc;
  }
  if (fields.reg !== undefined) {
    if (!/^0x[0-9a-fA-F]{1,4}$/.test(fields.reg)) return `reg '${fields.reg}' is not 0x<hex>`;
    out.reg = parseInt(fields.reg, 16);
  }
  if (fields.src !== undefined) {
    if (!['irq', 'watchdog', 'run_error'].includes(fields.src)) return `src '${fields.src}' is not irq, watchdog or run_error`;
    out.src = fields.src;
  }
  const known = new Set(['status', 'seq', 'mode', 'variant', 'fourcc', 'reg', 'src']);
  for (const [k, v] of Object.entries(fields)) if (!known.has(k)) out.extra[k] = v;
  return out;
}

/** VDPU381 status register offset (reg224, `VDPU381_REG_STA_INT`). */
export const VDPU381_STATUS_REG = 0x380;

/** True for lines whose word is a vdpu381 reg224 status (the bit names apply). */
export function isVdpu381Status(l: IrqLogLine): boolean {
  if (l.src === 'run_error') return false;
  if (l.variant !== undefined && l.variant !== 'vdpu381') return false;
  if (l.reg !== undefined && l.reg !== VDPU381_STATUS_REG) return false;
  return true;
}

/**
 * One record per hardware job: lines of one job share `seq` (an interrupt
 * line and a watchdog line can both exist); the interrupt line wins, else
 * the watchdog line. Lines without `seq` stay separate.
 */
export function perJob(lines: readonly IrqLogLine[]): IrqLogLine[] {
  const bySeq = new Map<number, IrqLogLine>();
  const out: IrqLogLine[] = [];
  for (const l of lines) {
    if (l.seq === undefined) {
      out.push(l);
      continue;
    }
    const prev = bySeq.get(l.seq);
    if (!prev) {
      bySeq.set(l.seq, l);
      out.push(l);
    } else if (prev.src !== 'irq' && l.src === 'irq') {
      bySeq.set(l.seq, l);
      out[out.indexOf(prev)] = l;
    }
  }
  return out;
}

/** Parses every instrumentation line of a kernel-log slice (other lines are ignored). */
export function parseIrqLog(lines: readonly string[]): IrqLogParse {
  const out: IrqLogParse = { jobs: [], malformed: [] };
  for (const line of lines) {
    const r = parseIrqLine(line);
    if (r === undefined) continue;
    if (typeof r === 'string') out.malformed.push({ line, reason: r });
    else out.jobs.push(r);
  }
  return out;
}

/**
 * Job sequence numbers missing between the first and last recorded job
 * (printk can drop lines under load; a gap means the histogram is partial).
 */
export function sequenceGaps(jobs: readonly IrqJob[]): number[] {
  const seqs = jobs
    .map((j) => j.seq)
    .filter((s): s is number => s !== undefined)
    .sort((a, b) => a - b);
  const gaps: number[] = [];
  for (let i = 1; i < seqs.length; i++) for (let s = seqs[i - 1]! + 1; s < seqs[i]! && gaps.length < 1000; s++) gaps.push(s);
  return gaps;
}
