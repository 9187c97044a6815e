/**
 * IRQ-status summaries in the run record: what the vdpu381 interrupt status
 * register (0x380, MPP reg224) said for every decode job of a vector, and the
 * run-level answer to "does a VP9 job complete with BIT(2) (dec_rdy)?".
 *
 * Bit map: kernel-facts.md "vdpu381 register model" (MPP reg224):
 * 0 irq, 1 irq_raw, 2 dec_rdy, 3 bus_err, 4 error, 5 timeout, 6 buf_empty,
 * 7 colmv_ref_err, 8 cabu_end, 9 softreset_rdy.
 */
import { z } from 'zod';

const count = z.number().int().min(0);

/** Names of the status bits, index = bit number. */
export const IRQ_BITS = [
  'irq',
  'irq_raw',
  'dec_rdy',
  'bus_err',
  'error',
  'timeout',
  'buf_empty',
  'colmv_ref_err',
  'cabu_end',
  'softreset_rdy',
] as const;
export const IrqBitSchema = z.enum(IRQ_BITS);
export type IrqBit = z.infer<typeof IrqBitSchema>;

/** For each status bit: number of jobs with that bit set (every bit present). */
export const IrqBitsSchema = z
  .object(Object.fromEntries(IRQ_BITS.map((b) => [b, count])) as Record<IrqBit, typeof count>)
  .describe('for each status bit: number of jobs with that bit set');

/** The fixed question the run-level summary answers. */
export const BIT2_QUESTION = 'Does a VP9 job on vdpu381 complete with BIT(2) (dec_rdy) of status register 0x380?';

/** Per-vector histogram of the status words of its decode jobs. */
export const IrqVectorSummarySchema = z
  .object({
    jobs: count.describe('decode jobs recorded for this vector (all modes)'),
    vp9Jobs: count.describe('jobs whose decode mode was VP9 (VDPU381_MODE_VP9 = 2); the statuses with mode 2 add up to it'),
    bits: IrqBitsSchema,
    statuses: z
      .array(
        z.object({
          status: z.string().regex(/^0x[0-9a-f]{8}$/).describe('raw 0x380 word, 8 lower-case hex digits'),
          mode: count.optional().describe('decode mode of these jobs (VDPU381_MODE_VP9 = 2), when recorded'),
          count,
        }),
      )
      .describe('distinct (status word, mode) pairs and how many jobs had each, most frequent first'),
  })
  .describe('IRQ status histogram of one vector');
export type IrqVectorSummary = z.infer<typeof IrqVectorSummarySchema>;

/** Run-level answer to {@link BIT2_QUESTION}. */
export const IrqRunSummarySchema = z
  .object({
    question: z.string(),
    answer: z
      .enum(['yes', 'no', 'partly', 'unknown'])
      .describe('yes: every VP9 job had dec_rdy; no: none had; partly: some; unknown: no VP9 job recorded'),
    available: z.boolean().describe('false when no IRQ instrumentation ran (e.g. visl, no rkvdec jobs)'),
    reason: z.string().optional().describe('why the answer is unknown or the data unavailable'),
    jobs: count,
    vp9Jobs: count,
    vp9JobsWithDecRdy: count,
    vp9JobsWithErrorBits: count.describe('VP9 jobs with bus_err, error, timeout, buf_empty or colmv_ref_err set'),
    bits: IrqBitsSchema.describe('all vectors added up'),
    explanation: z.string().describe('one or two sentences for a person'),
  })
  .describe('run-level IRQ summary');
export type IrqRunSummary = z.infer<typeof IrqRunSummarySchema>;

/** VDPU381_MODE_VP9 (rkvdec-vdpu381-regs.h). */
export const VP9_MODE = 2;

/** bus_err | error | timeout | buf_empty | colmv_ref_err. */
const ERROR_BITS = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7);

/** An all-zero bit histogram. */
export function emptyBits(): Record<IrqBit, number> {
  return Object.fromEntries(IRQ_BITS.map((b) => [b, 0])) as Record<IrqBit, number>;
}

/**
 * Adds up per-vector summaries into the run-level answer.
 * `unavailableReason`: set when the run had no IRQ instrumentation at all
 * (e.g. "the board uses visl, which has no vdpu381 interrupt").
 */
export function summarizeIrq(
  perVector: readonly (IrqVectorSummary | undefined)[],
  unavailableReason?: string,
): IrqRunSummary {
  const bits = emptyBits();
  let jobs = 0;
  let vp9Jobs = 0;
  let vp9DecRdy = 0;
  let vp9Err = 0;
  let seen = false;
  for (const s of perVector) {
    if (!s) continue;
    seen = true;
    jobs += s.jobs;
    for (const b of IRQ_BITS) bits[b] += s.bits[b] ?? 0;
  }
  for (const s of perVector) {
    for (const st of s?.statuses ?? []) {
      if (st.mode !== VP9_MODE) continue;
      vp9Jobs += st.count;
      const w = parseInt(st.status, 16);
      if (w & (1 << 2)) vp9DecRdy += st.count;
      if (w & ERROR_BITS) vp9Err += st.count;
    }
  }
  const available = seen && unavailableReason === undefined;
  let answer: IrqRunSummary['answer'];
  let explanation: string;
  if (!available || vp9Jobs === 0) {
    answer = 'unknown';
    explanation = unavailableReason
      ? `No answer from this run: ${unavailableReason}.`
      : 'No VP9 decode job was recorded by the IRQ instrumentation in this run.';
  } else if (vp9DecRdy === vp9Jobs) {
    answer = 'yes';
    explanation = `All ${vp9Jobs} VP9 jobs signalled completion with BIT(2) dec_rdy.`;
  } else if (vp9DecRdy === 0) {
    answer = 'no';
    explanation = `None of ${vp9Jobs} VP9 jobs had BIT(2) dec_rdy set; see the per-vector status words.`;
  } else {
    answer = 'partly';
    explanation = `${vp9DecRdy} of ${vp9Jobs} VP9 jobs had BIT(2) dec_rdy set; ${vp9Err} had an error bit.`;
  }
  return {
    question: BIT2_QUESTION,
    answer,
    available,
    ...(unavailableReason ? { reason: unavailableReason } : !seen ? { reason: 'no IRQ data recorded' } : {}),
    jobs,
    vp9Jobs,
    vp9JobsWithDecRdy: vp9DecRdy,
    vp9JobsWithErrorBits: vp9Err,
    bits,
    explanation,
  };
}

/** One decode job as the IRQ instrumentation recorded it (parsed from the kernel log by irq/). */
export interface IrqJob {
  /** Raw 0x380 status word. */
  status: number;
  /** Decode mode (VDPU381_MODE_VP9 = 2), when recorded. */
  mode?: number;
  /** Job sequence number, when recorded. */
  seq?: number;
}

/** Builds a vector's histogram from its recorded jobs. */
export function irqVectorSummary(jobs: readonly IrqJob[]): IrqVectorSummary {
  const bits = emptyBits();
  const byKey = new Map<string, { status: string; mode?: number; count: number }>();
  let vp9Jobs = 0;
  for (const j of jobs) {
    IRQ_BITS.forEach((b, i) => {
      if (j.status & (1 << i)) bits[b] += 1;
    });
    if (j.mode === VP9_MODE) vp9Jobs += 1;
    const status = '0x' + (j.status >>> 0).toString(16).padStart(8, '0');
    const key = `${status}/${j.mode ?? ''}`;
    const e = byKey.get(key) ?? { status, ...(j.mode !== undefined ? { mode: j.mode } : {}), count: 0 };
    e.count += 1;
    byKey.set(key, e);
  }
  const statuses = [...byKey.values()].sort((a, b) => b.count - a.count || a.status.localeCompare(b.status));
  return { jobs: jobs.length, vp9Jobs, bits, statuses };
}
