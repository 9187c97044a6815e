import { collectVectorIrq, enableInstrumentation } from '../../irq/instrumentation.ts';
import type { VectorCheck } from './check.ts';

/**
 * The vdpu381 interrupt statuses of the vector (a board with the rkvdec
 * instrumentation): switched on once per session, read from the vector's
 * kernel-log slice (the kernel-log check collects it).
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
  },
  unavailableReason: (s) => (s.irq?.state === 'unavailable' ? s.irq.reason : undefined),
  judge: (v) => (v.session.irq?.state === 'enabled' && v.kernelLog ? { record: { irq: collectVectorIrq(v.kernelLog.lines.map((l) => l.text)).summary } } : {}),
};
