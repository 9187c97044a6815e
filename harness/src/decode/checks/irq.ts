import { collectVectorIrq, enableInstrumentation } from '../../irq/instrumentation.ts';
import { findStorms, readIrqLines, type IrqLine } from '../../irq/storm.ts';
import type { VectorCheck, VectorRun } from './check.ts';

const BEFORE = 'irq-lines-before';
const AFTER = 'irq-lines-after';

/** Jobs of the vector: the instrumentation's count when it is on, else the frames the driver was given. */
function jobsOf(v: VectorRun): number {
  if (v.session.irq?.state === 'enabled' && v.kernelLog) return collectVectorIrq(v.kernelLog.lines.map((l) => l.text)).summary.jobs;
  return v.inspect.frames.filter((f) => !f.header.showExistingFrame).length;
}

/**
 * The vdpu381 interrupt statuses of the vector (a board with the rkvdec
 * instrumentation): switched on once per session, read from the vector's
 * kernel-log slice (the kernel-log check collects it). On boards where a
 * device is bound to rkvdec, the interrupt count of its line is read before
 * and after the vector (irq/storm.ts): far more interrupts than jobs is an
 * interrupt storm, and the verdict is crash.
 */
export const irqCheck: VectorCheck = {
  name: 'irq',
  appliesTo: () => true,
  async setup(target, session, log) {
    session.irq = await enableInstrumentation(target);
    log(
      session.irq.state === 'enabled' ? `IRQ instrumentation on: ${session.irq.how.join(', ')}` : `IRQ instrumentation unavailable: ${session.irq.reason}`,
      session.irq.state === 'enabled' ? 'info' : 'warn',
    );
    const lines = await readIrqLines(target);
    session.irqLines = lines.length > 0;
    if (lines.length) log(`interrupt counts watched: ${lines.map((l) => `irq ${l.irq} (${l.device})`).join(', ')}`);
  },
  unavailableReason: (s) => (s.irq?.state === 'unavailable' ? s.irq.reason : undefined),
  async prepare(v) {
    if (v.target && v.session.irqLines) v.shared.set(BEFORE, await readIrqLines(v.target));
  },
  async collect(v) {
    if (v.target && v.session.irqLines && v.shared.has(BEFORE)) v.shared.set(AFTER, await readIrqLines(v.target));
  },
  judge(v) {
    const record = v.session.irq?.state === 'enabled' && v.kernelLog ? { irq: collectVectorIrq(v.kernelLog.lines.map((l) => l.text)).summary } : undefined;
    const before = v.shared.get(BEFORE) as IrqLine[] | undefined;
    const after = v.shared.get(AFTER) as IrqLine[] | undefined;
    const storms = before && after ? findStorms(before, after, jobsOf(v)) : [];
    const messages = storms.map(
      (s) => `interrupt storm: ${s.interrupts} interrupts on irq ${s.irq} (${s.device}) for ${s.jobs} decode jobs; the source kept firing after the jobs ended`,
    );
    v.notes.push(...messages);
    return {
      ...(record ? { record } : {}),
      ...(messages.length ? { conclusions: messages.map((message) => ({ kind: 'crash' as const, message })) } : {}),
    };
  },
};
