import type { CaptureSummary, Latency } from '../model/captures.ts';
import { IRQ_BITS, type IrqBit } from '../model/irq.ts';
import { parseCaptureJobs, type CaptureJob } from './capture.ts';

/** Names of the set bits of a STA_INT word (model/irq.ts IRQ_BITS, low bit first), unknown high bits as `+0x...`. */
export function statusBitNames(word: number): string[] {
  const names: string[] = IRQ_BITS.filter((_, i) => (word >>> i) & 1);
  const unknown = (word >>> 0) & ~((1 << IRQ_BITS.length) - 1);
  if (unknown) names.push(`+0x${(unknown >>> 0).toString(16)}`);
  return names;
}

/** min / median / max (µs) of durations given in ns (median of an even count: the mean of the middle two); null for none. */
export function latencyOf(ns: readonly number[]): Latency | null {
  if (!ns.length) return null;
  const s = [...ns].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: s[0]! / 1000, median: median / 1000, max: s.at(-1)! / 1000, jobs: s.length };
}

/**
 * The run record's summary of a vector's capture jobs
 * ({@link CaptureSummary}): job count against the frames the hardware is
 * asked to decode, the STA_INT words the model answered (`status_set`),
 * how the jobs were closed, and the latencies from the model's virtual
 * clock (`t_irq_ns - t_start_ns`, `t_ack_ns - t_irq_ns`; a time of -1,
 * "did not happen", leaves the job out of that figure).
 * @param frames frames decoded in decode order (not show_existing_frame) per the inspection.
 */
export function summarizeCaptureJobs(jobs: readonly CaptureJob[], frames: number, download?: string): CaptureSummary {
  const byStatus = new Map<number, number>();
  const ends: Record<string, number> = {};
  const bits = Object.fromEntries(IRQ_BITS.map((b) => [b, 0])) as Record<IrqBit, number>;
  const irq: number[] = [];
  const ack: number[] = [];
  for (const j of jobs) {
    byStatus.set(j.status_set, (byStatus.get(j.status_set) ?? 0) + 1);
    ends[j.end] = (ends[j.end] ?? 0) + 1;
    IRQ_BITS.forEach((b, i) => {
      if ((j.status_set >>> i) & 1) bits[b]++;
    });
    if (j.t_start_ns >= 0 && j.t_irq_ns >= 0) irq.push(j.t_irq_ns - j.t_start_ns);
    if (j.t_irq_ns >= 0 && j.t_ack_ns >= 0) ack.push(j.t_ack_ns - j.t_irq_ns);
  }
  const hex = (w: number) => `0x${(w >>> 0).toString(16).padStart(8, '0')}`;
  const faults = jobs.flatMap((j, frame) => (j.fault && j.fault !== 'ready' ? [{ frame, job: j.job, mode: j.fault, status: hex(j.status_set) }] : []));
  return {
    source: 'simulated',
    jobs: jobs.length,
    frames,
    equal: jobs.length === frames,
    statuses: [...byStatus]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .map(([w, count]) => ({ status: `0x${(w >>> 0).toString(16).padStart(8, '0')}`, bits: statusBitNames(w), count })),
    bits,
    ends,
    latencyUs: { irq: latencyOf(irq), ack: latencyOf(ack) },
    ...(faults.length ? { faults } : {}),
    ...(download ? { download } : {}),
  };
}

/**
 * {@link summarizeCaptureJobs} of capture text (the lines of one vector).
 * @throws WorkbenchError `E_CAPTURE` naming file and line of a bad line.
 */
export function summarizeCapture(text: string, file: string, firstLine: number, frames: number, download?: string): CaptureSummary {
  return summarizeCaptureJobs(
    parseCaptureJobs(text, file, firstLine).map((j) => j.job),
    frames,
    download,
  );
}
