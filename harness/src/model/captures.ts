/**
 * What a board that records register programming (the simboard's vdpu381
 * device model, harness/simboard-qemu/hw/misc/vdpu381_sim.c) captured for a
 * vector, as the run record shows it, and the per-frame register tables of
 * the registers check (artifact `registers-frames.json`, read by index.html
 * at report time so run.json stays small).
 *
 * Status bit names are those of the vdpu381 STA_INT word (0x380, MPP reg224;
 * model/irq.ts IRQ_BITS). Latencies come from the model's QEMU virtual
 * clock: `t_irq - t_start` is the delay the simulated device waited before
 * raising its interrupt, `t_ack - t_irq` the time until the driver's handler
 * wrote STA_INT back to 0.
 */
import { z } from 'zod';
import { IrqBitsSchema } from './irq.ts';

const count = z.number().int().min(0);

/** min / median / max of a set of durations, µs (median of an even count: the mean of the middle two). */
export const LatencySchema = z
  .object({ min: z.number().min(0), median: z.number().min(0), max: z.number().min(0), jobs: count.describe('jobs the figures cover') })
  .describe('µs over the jobs that had both times');
export type Latency = z.infer<typeof LatencySchema>;

/** Per-vector summary of the device model's capture lines. */
export const CaptureSummarySchema = z
  .object({
    source: z.literal('simulated').describe('the capture was written by a simulated device (the simboard), not by hardware'),
    jobs: count.describe("decode jobs captured for this vector (the device model's lines after the decode started)"),
    frames: count.describe('frames the hardware is asked to decode: decode-order frames of the inspection that are not show_existing_frame'),
    equal: z.boolean().describe('jobs === frames'),
    statuses: z
      .array(
        z.object({
          status: z
            .string()
            .regex(/^0x[0-9a-f]{8}$/)
            .describe('STA_INT word the model answered, 8 lower-case hex digits (0x00000000: it never answered)'),
          bits: z.array(z.string()).describe('names of its set bits (IRQ_BITS), unknown bits as +0x...'),
          count,
        }),
      )
      .describe('distinct status words and how many jobs had each, most frequent first'),
    bits: IrqBitsSchema,
    ends: z.record(z.string(), count).describe('how the jobs were closed (ack, next-dec-e, reset, exit) and how many each'),
    latencyUs: z.object({
      irq: LatencySchema.nullable().describe('t_irq - t_start: the delay of the simulated device; null when no job raised an interrupt'),
      ack: LatencySchema.nullable().describe("t_ack - t_irq: until the driver's handler acknowledged (wrote 0 to STA_INT); null when none did"),
    }),
    faults: z
      .array(
        z.object({
          frame: count.describe('decode-order frame of the job (job n of the vector is frame n)'),
          job: count.describe("the device model's job number"),
          mode: z.string().describe('fault mode (simboard/faults.ts FAULT_MODES)'),
          status: z
            .string()
            .regex(/^0x[0-9a-f]{8}$/)
            .describe('STA_INT word the model answered (0x00000000: none yet when the job closed)'),
        }),
      )
      .optional()
      .describe('jobs the device model answered with an injected fault (`workbench simboard faults`); absent when none'),
    download: z
      .string()
      .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$)).+$/, 'a relative path inside the report folder')
      .optional()
      .describe("the vector's capture lines (JSON Lines, vdpu381_sim.c format 1), relative to the report folder"),
  })
  .describe("register captures of one vector (simulated device; hardware's behaviour unverified)");
export type CaptureSummary = z.infer<typeof CaptureSummarySchema>;

/** One row of a frame's register table: a field MPP programmed and what both sides had in it. */
export const RegisterRowSchema = z.object({
  reg: count.describe('register index (byte offset / 4)'),
  field: z.string().describe("MPP's field name (vdpu34x_vp9d.h / vdpu34x_com.h path)"),
  kind: z.enum(['value', 'address', 'content']),
  mpp: z.union([z.number(), z.string()]),
  series: z.union([z.number(), z.string()]),
  state: z.enum(['equal', 'differs', 'allowed']),
  notWritten: z.boolean().optional().describe('the series did not write the register for this job'),
});
export type RegisterRow = z.infer<typeof RegisterRowSchema>;

/** A frame's register table. */
export const FrameTableSchema = z.object({
  frame: count.describe('decode-order frame index'),
  job: count.describe("MPP's job number"),
  frameKind: z.enum(['key', 'inter', 'intra-only']),
  showFrame: z.boolean(),
  width: count,
  height: count,
  series: z.string().describe("where the series' job came from (capture file:line)"),
  rows: z.array(RegisterRowSchema),
});
export type FrameTable = z.infer<typeof FrameTableSchema>;

/** Name of the per-vector artifact holding the frame tables. */
export const REGISTER_FRAMES_FILE = 'registers-frames.json';

/** Contents of {@link REGISTER_FRAMES_FILE}. */
export const RegisterFramesSchema = z.object({
  format: z.literal(1),
  frames: z.array(FrameTableSchema),
});
export type RegisterFrames = z.infer<typeof RegisterFramesSchema>;
