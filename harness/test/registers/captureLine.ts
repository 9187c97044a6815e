/**
 * Writes simboard capture lines the way harness/simboard-qemu/hw/misc/vdpu381_sim.c
 * (vdpu381_flush_job) prints them, for tests: an independent writer, not
 * the reader under test. Offsets are inside a block (function: register
 * index * 4).
 */
export type Access = ['r' | 'w', 'link' | 'function' | 'cache', number, number, number];

/** One capture line: `function` is the 320-word snapshot at DEC_E, `accesses` the log in order. */
export function captureLine(job: number, func: readonly number[], accesses: readonly Access[], extra: Record<string, unknown> = {}): string {
  if (func.length !== 320) throw new Error('the function block has 320 words');
  const hex = func.map((w) => (w >>> 0).toString(16).padStart(8, '0')).join('');
  const acc = accesses.map((a) => `["${a[0]}","${a[1]}",${a[2]},${a[3] >>> 0},${a[4]}]`).join(',');
  const head = `{"format":1,"job":${job},"end":"ack","t_start_ns":1000,"t_irq_ns":201000,"t_ack_ns":202000,"status_set":7,"irq_delay_us":200`;
  const tail = Object.entries(extra)
    .map(([k, v]) => `,"${k}":${JSON.stringify(v)}`)
    .join('');
  return `${head},"function":"${hex}","dropped":0,"accesses":[${acc}]${tail}}`;
}

/**
 * The capture of one job that programs `regs` (register index -> value) in
 * the given order, then DEC_E (reg 10 = 0x028, bit 0), then the interrupt
 * handler's STA_INT read and acknowledge (reg 224 = 0x380); `previous` is
 * the function block before the job (registers not written keep it).
 */
export function captureJobLine(job: number, regs: ReadonlyMap<number, number>, previous: readonly number[] = new Array(320).fill(0)): string {
  const func = [...previous];
  const acc: Access[] = [];
  let t = 10;
  for (const [r, v] of regs) {
    func[r] = v >>> 0;
    acc.push(['w', 'function', r * 4, v >>> 0, t++]);
  }
  func[10] = (func[10]! | 1) >>> 0;
  acc.push(['w', 'function', 0x028, func[10]!, t++]);
  acc.push(['r', 'function', 0x380, 7, t++]);
  acc.push(['w', 'function', 0x380, 0, t++]);
  return captureLine(job, func, acc);
}

/** What {@link registersOf} needs of an MPP record (records.ts FrameRecord). */
interface MppRecordLike {
  frame: number;
  writes: { offset: number; values: number[] }[];
  addresses: { reg: number; buffer: number | null; offset?: number }[];
}

/**
 * What a driver programming exactly what MPP programmed would leave in the
 * capture, written independently of registers/diff.ts: every register MPP
 * wrote, in MPP's block order, with each dma-buf address replaced by an
 * IOVA of our own (one 4 MiB window per buffer, plus the offset into it);
 * values that are no buffer (0xffffffff...) become 0.
 */
export function registersOf(r: MppRecordLike): Map<number, number> {
  const regs = new Map<number, number>();
  for (const b of r.writes) for (let i = 0; i < b.values.length; i++) regs.set(b.offset / 4 + i, b.values[i]!);
  for (const a of r.addresses) regs.set(a.reg, a.buffer === null ? 0 : (0x10000000 + a.buffer * 0x400000 + (a.offset ?? 0)) >>> 0);
  return regs;
}

/** The capture text of MPP's records as a driver would leave it, with `edit(frame, regs)` applied to each job's registers first. */
export function synthesizeCapture(recs: readonly MppRecordLike[], edit: (frame: number, regs: Map<number, number>) => void = () => {}): string {
  let func: number[] = new Array(320).fill(0);
  return recs
    .map((r, k) => {
      const regs = registersOf(r);
      edit(r.frame, regs);
      const line = captureJobLine(k + 1, regs, func);
      func = (JSON.parse(line) as { function: string }).function.match(/.{8}/g)!.map((h) => parseInt(h, 16));
      return line;
    })
    .join('\n');
}
