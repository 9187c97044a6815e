/**
 * IRQ-status summaries in the run record: what the vdpu381 interrupt status
 * register (0x380, MPP reg224) said for every decode job of a vector, and the
 * run-level answer to "does a VP9 job complete with BIT(2) (dec_rdy)?".
 *
 * Bit map of `VDPU381_REG_STA_INT` (0x380 = reg224, Linux
 * drivers/media/platform/rockchip/rkvdec/rkvdec-vdpu381-regs.h; bit names as in
 * Rockchip MPP's reg224 in mpp/hal/rkdec/inc/vdpu34x_com.h): 0 irq, 1 irq_raw,
 * 2 dec_rdy, 3 bus_err, 4 error, 5 timeout, 6 buf_empty, 7 colmv_ref_err,
 * 8 cabu_end, 9 softreset_rdy. The run record names the bits, so the names live here;
 * irq/status.ts decodes status words with them.
 */
import { z } from 'zod';

const count = z.number().int().min(0);

/** Names of the status bits, index = bit number. */
export const IRQ_BITS = ['irq', 'irq_raw', 'dec_rdy', 'bus_err', 'error', 'timeout', 'buf_empty', 'colmv_ref_err', 'cabu_end', 'softreset_rdy'] as const;
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
          status: z
            .string()
            .regex(/^0x[0-9a-f]{8}$/)
            .describe('raw 0x380 word, 8 lower-case hex digits'),
          mode: count.optional().describe('decode mode of these jobs (VDPU381_MODE_VP9 = 2), when recorded'),
          count,
        }),
      )
      .describe('distinct (status word, mode) pairs and how many jobs had each, most frequent first'),
  })
  .describe('IRQ status histogram of one vector');
export type IrqVectorSummary = z.infer<typeof IrqVectorSummarySchema>;

/** Run-level statement about the simulated device's status words (next to the IRQ answer). */
export const SimulatedIrqSchema = z
  .object({
    jobs: count,
    decRdy: count.describe('jobs whose status word had dec_rdy'),
    line: z.string().describe('e.g. "dec_rdy on 60/60 jobs — simulated device; hardware still unverified"'),
  })
  .describe('what the simulated device answered over all captured jobs');
export type SimulatedIrq = z.infer<typeof SimulatedIrqSchema>;

/** Run-level answer to {@link BIT2_QUESTION}. */
export const IrqRunSummarySchema = z
  .object({
    question: z.string(),
    answer: z.enum(['yes', 'no', 'partly', 'unknown']).describe('yes: every VP9 job had dec_rdy; no: none had; partly: some; unknown: no VP9 job recorded'),
    available: z.boolean().describe('false when no IRQ instrumentation ran (e.g. visl, no rkvdec jobs)'),
    reason: z.string().optional().describe('why the answer is unknown or the data unavailable'),
    jobs: count,
    vp9Jobs: count,
    vp9JobsWithDecRdy: count,
    vp9JobsWithErrorBits: count.describe('VP9 jobs with bus_err, error, timeout, buf_empty or colmv_ref_err set'),
    bits: IrqBitsSchema.describe('all vectors added up'),
    explanation: z.string().describe('one or two sentences for a person'),
    simulated: SimulatedIrqSchema.optional().describe('boards with a simulated device (simboard): what the device model answered over the captured jobs'),
  })
  .describe('run-level IRQ summary');
export type IrqRunSummary = z.infer<typeof IrqRunSummarySchema>;
