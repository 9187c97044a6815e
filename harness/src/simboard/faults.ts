import { rm } from 'node:fs/promises';
import { writeFileAtomic } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';

/**
 * Fault injection of the simboard's device model (vdpu381_sim.c): the modes
 * it answers a decode job with, and its control file. The model reads the
 * file again at the first DEC_E after it changed; job numbers count the
 * DEC_E writes from that moment, from 1.
 */

/**
 * Every mode of vdpu381_sim.c (`vdpu381_modes`), with the STA_INT word it
 * sets (bit map: Rockchip MPP vdpu34x_com.h reg224; Linux
 * rkvdec-vdpu381-regs.h names bits 2, 4, 5, 9) and when.
 */
export const FAULT_MODES = {
  ready: { status: 0x7, what: 'irq | irq_raw | dec_rdy after irq-delay-us (the default)' },
  'bus-error': { status: 0xb, what: 'irq | irq_raw | bus_err (bit 3)' },
  error: { status: 0x13, what: 'irq | irq_raw | error (bit 4)' },
  timeout: { status: 0x23, what: 'irq | irq_raw | timeout (bit 5)' },
  'buf-empty': { status: 0x43, what: 'irq | irq_raw | buf_empty (bit 6)' },
  'colmv-ref-error': { status: 0x83, what: 'irq | irq_raw | colmv_ref_err (bit 7)' },
  'softreset-ready': { status: 0x203, what: 'irq | irq_raw | softreset_rdy (bit 9)' },
  'raw-without-ready': { status: 0x3, what: 'irq | irq_raw without dec_rdy (BIT(1) without BIT(2))' },
  'no-irq': { status: 0, what: 'no interrupt at all: only the driver watchdog ends the job' },
  'late-irq': { status: 0x7, what: 'dec_rdy after late-irq-ms (default 3000), past the driver watchdog' },
  'double-irq': { status: 0x7, what: 'dec_rdy, raised again 100 µs after the first acknowledgement' },
  'long-delay': { status: 0x7, what: 'dec_rdy after long-delay-ms (default 1000), below the watchdog' },
  'irq-storm': {
    status: 0x7,
    what: 'dec_rdy, then the interrupt never clears (STA_INT and the line stay set whatever the driver writes) until the device is reset',
  },
} as const;

/** A mode name of {@link FAULT_MODES}. */
export type FaultMode = keyof typeof FAULT_MODES;

/** One rule: the job it applies to (1-based after the file changed, or `*` for every other job) and the mode. */
export interface FaultRule {
  job: number | '*';
  mode: FaultMode;
}

/** What the control file says. */
export interface FaultPlan {
  rules: FaultRule[];
  /** Also write the input buffers' bytes into the capture (base64). */
  fullBuffers?: boolean;
  /** Delay of `late-irq`, ms (default 3000). */
  lateIrqMs?: number;
  /** Delay of `long-delay`, ms (default 1000). */
  longDelayMs?: number;
}

const isMode = (m: string): m is FaultMode => Object.hasOwn(FAULT_MODES, m);

/**
 * Parses `JOB:MODE` (JOB a positive integer or `*`), as the CLI takes it.
 * @throws WorkbenchError E_USAGE naming the rule and the valid modes.
 */
export function parseFaultRule(s: string): FaultRule {
  const m = /^(\*|[1-9]\d{0,8}):([a-z-]+)$/.exec(s.trim());
  if (!m || !isMode(m[2]!)) {
    throw new WorkbenchError(
      'E_USAGE',
      `fault rule "${s}": expected JOB:MODE, JOB a job number from 1 or *, MODE one of ${Object.keys(FAULT_MODES).join(', ')}`,
      {
        exitCode: 2,
      },
    );
  }
  return { job: m[1] === '*' ? '*' : Number(m[1]), mode: m[2] };
}

/** The control file's text for `plan` (vdpu381_sim.c's format: one directive per line). */
export function faultControlText(plan: FaultPlan): string {
  const ms = (n: number | undefined, what: string) => {
    if (n === undefined) return [];
    if (!Number.isInteger(n) || n < 0 || n > 600_000)
      throw new WorkbenchError('E_USAGE', `${what} ${n}: expected whole milliseconds 0..600000`, { exitCode: 2 });
    return [`${what} ${n}`];
  };
  return [
    '# vdpu381-sim control file, written by the workbench (harness/src/simboard/faults.ts)',
    ...plan.rules.map((r) => `${r.job} ${r.mode}`),
    ...(plan.fullBuffers ? ['buffers full'] : []),
    ...ms(plan.lateIrqMs, 'late-irq-ms'),
    ...ms(plan.longDelayMs, 'long-delay-ms'),
    '',
  ].join('\n');
}

/**
 * Writes the control file atomically (the model never reads half of it);
 * the next DEC_E is job 1 of the plan. An empty plan removes the file
 * (every job `ready`).
 */
export async function writeFaultPlan(file: string, plan: FaultPlan): Promise<void> {
  if (!plan.rules.length && !plan.fullBuffers && plan.lateIrqMs === undefined && plan.longDelayMs === undefined) {
    await rm(file, { force: true });
    return;
  }
  await writeFileAtomic(file, faultControlText(plan));
}
