/**
 * Turning the rkvdec IRQ instrumentation (patches/instrument/, a debug-only
 * kernel patch, never part of the upstream series) on for a board, and
 * reading it back per vector from the vector's kernel-log slice.
 *
 * The patch is gated by a module parameter and prints with dev_dbg (dynamic
 * debug) or a plain dev_info; enabling writes the parameter through sysfs and,
 * when asked, enables the module's dynamic-debug call sites. A board without
 * the module (the vboard: visl, no rkvdec hardware) gets an explicit
 * "unavailable" with the reason, so the run-level answer says "unknown" and
 * why (irq/summary.ts `summarizeIrq`).
 */
import { WorkbenchError } from '../core/errors.ts';
import { irqVectorSummary } from './summary.ts';
import type { IrqVectorSummary } from '../model/irq.ts';
import type { Target } from '../target/types.ts';
import { validateName } from '../target/quote.ts';
import { loadScript, runScript } from '../target/scripts.ts';
import { isVdpu381Status, parseIrqLog, perJob, sequenceGaps, type IrqLogLine } from './status.ts';

/** How the instrumentation is switched on (names from patches/instrument/README.md). */
export interface InstrumentationSpec {
  /** Module name as in /sys/module (rockchip-vdec.ko → `rockchip_vdec`). */
  module: string;
  /** Module parameter that gates the records; written with `1`. */
  param?: string;
  /** Also enable the module's dev_dbg call sites through dynamic debug. */
  dynamicDebug?: boolean;
}

/**
 * patches/instrument/README.md "Enabling": module `rockchip_vdec`, parameter
 * `irq_trace` (writable at run time), lines printed with dev_info (no dynamic
 * debug needed).
 */
export const DEFAULT_INSTRUMENTATION: InstrumentationSpec = { module: 'rockchip_vdec', param: 'irq_trace', dynamicDebug: false };

/** State of the instrumentation on a board. */
export type InstrumentationState = { state: 'enabled'; how: string[] } | { state: 'unavailable'; reason: string };

/** Remote script that enables the instrumentation: `irqEnable.sh MODULE PARAM DYNDBG` (see the file). */
const ENABLE = loadScript(import.meta.url, 'irqEnable.sh');

/**
 * Enables the instrumentation on `target`.
 * @returns `enabled` with what was done, or `unavailable` with the reason
 *   (module not loaded, parameter missing: the deployed module was built
 *   without the patch, no dynamic debug).
 * @throws WorkbenchError from the target (unreachable board etc.).
 */
export async function enableInstrumentation(target: Target, spec: InstrumentationSpec = DEFAULT_INSTRUMENTATION): Promise<InstrumentationState> {
  validateName(spec.module, 'instrumentation module');
  if (spec.param) validateName(spec.param, 'instrumentation parameter');
  const r = await runScript(target, ENABLE, [spec.module, spec.param ?? '', spec.dynamicDebug ? '1' : '0']);
  return interpretEnable(r.stdout, spec, target.name);
}

/** Maps the output of irqEnable.sh to a state (exported for tests). */
export function interpretEnable(stdout: string, spec: InstrumentationSpec, board: string): InstrumentationState {
  const out = stdout.trim();
  if (out === 'NOT-LOADED') {
    return {
      state: 'unavailable',
      reason: `module ${spec.module} is not loaded on ${board}: no rkvdec jobs can be observed (no vdpu381 hardware, e.g. the vboard runs visl)`,
    };
  }
  if (out === 'NO-PARAM') {
    return { state: 'unavailable', reason: `module ${spec.module} on ${board} has no parameter ${spec.param}: it was built without patches/instrument/` };
  }
  if (out === 'NO-DYNDBG') {
    return { state: 'unavailable', reason: `dynamic debug is not available on ${board} (CONFIG_DYNAMIC_DEBUG off or debugfs not mounted)` };
  }
  if (out.startsWith('ENABLED'))
    return {
      state: 'enabled',
      how: out
        .slice('ENABLED'.length)
        .trim()
        .split(/\s+(?=param:|dyndbg:)/)
        .filter(Boolean),
    };
  throw new WorkbenchError('E_INSTRUMENTATION', `unexpected answer while enabling IRQ instrumentation on ${board}: ${out.slice(0, 200)}`);
}

/** The IRQ records of one vector. */
export interface VectorIrq {
  /** Histogram in run-record form (model/irq.ts): vdpu381 reg224 words, one per job. */
  summary: IrqVectorSummary;
  /** The jobs behind the histogram. */
  jobs: IrqLogLine[];
  /** Lines left out of the histogram: run_error (no hardware job), other variants' registers, duplicate lines of a job. */
  other: IrqLogLine[];
  /** Lines with the tag that did not parse (never dropped silently). */
  malformed: { line: string; reason: string }[];
  /** Sequence numbers missing between the first and last job (lost printk lines). */
  gaps: number[];
}

/** Builds a vector's IRQ record from its kernel-log slice (lines in order). */
export function collectVectorIrq(sliceLines: readonly string[]): VectorIrq {
  const p = parseIrqLog(sliceLines);
  const jobs = perJob(p.jobs.filter(isVdpu381Status));
  const kept = new Set(jobs);
  return {
    summary: irqVectorSummary(jobs),
    jobs,
    other: p.jobs.filter((l) => !kept.has(l)),
    malformed: p.malformed,
    gaps: sequenceGaps(p.jobs),
  };
}
