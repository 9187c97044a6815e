import type { Target } from '../target/types.ts';
import { loadScript, runScript } from '../target/scripts.ts';

/**
 * Interrupt storms of the decoder: the interrupt count of the decoder's
 * line, read from /proc/interrupts (Documentation/filesystems/proc.rst,
 * "interrupts") before and after a vector, against the jobs the vector ran.
 * A source that never clears (a stuck level interrupt: the hardware keeps
 * its status set, or the driver's acknowledge does not reach it) fires
 * again as soon as the handler returns; the decode may still look fine
 * (the threaded handler keeps returning IRQ_HANDLED, so the kernel's
 * "nobody cared" detector never disables the line) while one CPU spins in
 * the handler thread.
 */

const LINES = loadScript(import.meta.url, 'irqLines.sh');

/** One interrupt line of a decoder device: `irq` as /proc/interrupts names it (`26`), `count` summed over CPUs. */
export interface IrqLine {
  irq: string;
  device: string;
  count: number;
}

/**
 * Parses irqLines.sh output: `WB-DEV <name>` lines, each followed by the
 * /proc/interrupts lines naming that device (`NN: c0 c1 ... chip hwirq type
 * name`); the per-CPU counts are the numbers after `NN:` up to the first
 * field that is not a number.
 */
export function parseIrqLines(text: string): IrqLine[] {
  const out: IrqLine[] = [];
  let dev: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const d = /^WB-DEV (\S+)$/.exec(line);
    if (d) {
      dev = d[1];
      continue;
    }
    const m = /^(\w+):\s+(.*)$/.exec(line);
    if (!m || !dev || !line.endsWith(dev)) continue;
    let count = 0;
    for (const f of m[2]!.split(/\s+/)) {
      if (!/^\d+$/.test(f)) break;
      count += Number(f);
    }
    out.push({ irq: m[1]!, device: dev, count });
  }
  return out;
}

/** The interrupt lines of the devices bound to `driver` (platform driver name, `rkvdec`); none on boards without one (the vboard's visl). */
export async function readIrqLines(target: Target, driver = 'rkvdec'): Promise<IrqLine[]> {
  const r = await runScript(target, LINES, [driver], { timeoutMs: 30_000 });
  return parseIrqLines(r.stdout);
}

/** Interrupts of a vector, per line, and whether they look like a storm. */
export interface IrqStorm {
  irq: string;
  device: string;
  /** Interrupts counted while the vector ran. */
  interrupts: number;
  /** Decode jobs of the vector. */
  jobs: number;
}

/**
 * The lines that took more interrupts than a decode can explain: one per
 * job, plus one more per job for a double interrupt, plus 16 for stray ones
 * (a late interrupt of an earlier job, a reset). Above that, the source
 * kept firing after the jobs ended.
 */
export function findStorms(before: readonly IrqLine[], after: readonly IrqLine[], jobs: number): IrqStorm[] {
  const out: IrqStorm[] = [];
  for (const a of after) {
    const b = before.find((x) => x.irq === a.irq && x.device === a.device);
    const interrupts = a.count - (b?.count ?? 0);
    if (interrupts > 2 * jobs + 16) out.push({ irq: a.irq, device: a.device, interrupts, jobs });
  }
  return out;
}
