import type { KernelLogFinding as LogFinding } from './kernelLog.ts';
import type { KernelLogFinding } from '../model/record.ts';

/** Kernel-log finding kinds that make a vector's verdict `crash` (oops, BUG, panic, lockups, watchdogs). */
export const CRASH_KINDS: ReadonlySet<string> = new Set(['panic', 'oops', 'bug', 'soft_lockup', 'rcu_stall', 'hung_task', 'rkvdec_timeout', 'codec_timeout']);

/**
 * A classified kernel-log line (irq/kernelLog.ts) in run-record form
 * (model/record.ts): crash kinds get severity `crash`; `stage` and, for the
 * decode stage, `vector` say where the line was seen.
 */
export function toRecordFinding(f: LogFinding, stage: string, vector?: string): KernelLogFinding {
  return {
    kind: f.kind,
    severity: CRASH_KINDS.has(f.kind) ? 'crash' : f.severity,
    line: f.line,
    ...(f.time !== undefined ? { time: f.time } : {}),
    ...(f.context.length ? { context: f.context } : {}),
    ...(f.modules.length ? { modules: f.modules } : {}),
    stage,
    ...(vector !== undefined ? { vector } : {}),
  };
}
