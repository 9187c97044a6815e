/**
 * IRQ-status summaries: a vector's histogram of the vdpu381 status words of
 * its decode jobs, and the run-level answer to {@link BIT2_QUESTION}
 * (schemas in model/irq.ts).
 */
import { BIT2_QUESTION, IRQ_BITS, type IrqBit, type IrqRunSummary, type IrqVectorSummary, type SimulatedIrq } from '../model/irq.ts';
import type { CaptureSummary } from '../model/captures.ts';

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
export function summarizeIrq(perVector: readonly (IrqVectorSummary | undefined)[], unavailableReason?: string): IrqRunSummary {
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

/**
 * The run-level statement about a simulated device (the simboard's vdpu381
 * model): how many captured jobs it answered with dec_rdy. Undefined when
 * no vector has captures (every board but the simboard).
 */
export function summarizeSimulatedIrq(perVector: readonly (CaptureSummary | undefined)[]): SimulatedIrq | undefined {
  const cs = perVector.filter((c): c is CaptureSummary => c !== undefined);
  if (!cs.length) return undefined;
  const jobs = cs.reduce((n, c) => n + c.jobs, 0);
  const decRdy = cs.reduce((n, c) => n + c.bits.dec_rdy, 0);
  const others = new Map<string, number>();
  for (const c of cs) for (const s of c.statuses) if (!s.bits.includes('dec_rdy')) others.set(s.status, (others.get(s.status) ?? 0) + s.count);
  const without = others.size ? ` (others: ${[...others].map(([w, n]) => `${w} ×${n}`).join(', ')})` : '';
  return { jobs, decRdy, line: `dec_rdy on ${decRdy}/${jobs} jobs${without} — simulated device; hardware still unverified` };
}

/**
 * The run-level IRQ summary of a board with a simulated device (the
 * simboard): `simulated` attached, and an answer from the instrumentation
 * turned into `unknown`: the device model answers each job with the status
 * word it is told to (simboard/faults.ts), so its jobs say how the driver
 * handles that word, not what the vdpu381 hardware sets.
 */
export function withSimulatedDevice(irq: IrqRunSummary, simulated: SimulatedIrq | undefined): IrqRunSummary {
  if (!simulated) return irq;
  if (irq.answer === 'unknown') return { ...irq, simulated };
  return {
    ...irq,
    simulated,
    answer: 'unknown',
    explanation: `The instrumentation recorded ${irq.vp9Jobs} VP9 jobs (${irq.vp9JobsWithDecRdy} with BIT(2) dec_rdy, ${irq.vp9JobsWithErrorBits} with an error bit), all on a simulated device that answers with the status it is told to; the hardware question stays open.`,
  };
}
