import { CRASH_KINDS, toRecordFinding } from '../../irq/findings.ts';
import { failures, kernelLogSince, parseKernelLog, sliceBetween, writeMarker, type KernelLogSlice } from '../../irq/kernelLog.ts';
import type { CheckJudgement, VectorCheck } from './check.ts';

/** Crash conclusion and record findings of a vector's kernel-log slice. */
export function judgeKernelLog(slice: KernelLogSlice | undefined, vector: string): CheckJudgement {
  if (!slice) return {};
  const c = failures(slice.findings).find((f) => CRASH_KINDS.has(f.kind));
  return {
    ...(c ? { conclusions: [{ kind: 'crash' as const, message: `${c.kind}: ${c.line}` }] } : {}),
    record: { kernelLog: slice.findings.map((f) => toRecordFinding(f, 'decode', vector)) },
  };
}

/**
 * The kernel log of the vector (every board): a marker before the decode
 * (unless a check already wrote one in its own round trip), the slice after
 * it; an oops, BUG, panic or watchdog in the slice makes the verdict crash.
 */
export const kernelLogCheck: VectorCheck = {
  name: 'kernel-log',
  appliesTo: () => true,
  async prepare(v) {
    if (v.target && !v.marker) v.marker = await writeMarker(v.target, `decode ${v.vector.name}`);
  },
  async collect(v) {
    if (!v.target || !v.marker) return;
    if (v.kernelLogText !== undefined) v.kernelLog = sliceBetween(parseKernelLog(v.kernelLogText), v.marker.id);
    else {
      const t = Date.now();
      v.kernelLog = await kernelLogSince(v.target, v.marker);
      v.collectMs += Date.now() - t;
    }
    if (!v.kernelLog.markerFound) v.notes.push('kernel-log marker not found (ring buffer wrapped): the slice is the whole log');
  },
  judge: (v) => judgeKernelLog(v.kernelLog, v.vector.name),
};
