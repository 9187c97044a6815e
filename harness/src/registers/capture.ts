import { z } from 'zod';
import { WorkbenchError } from '../core/errors.ts';
import type { RegWrite } from './records.ts';

const u32 = z.number().int().min(0).max(0xffffffff);
const nat = z.number().int().nonnegative();
/** QEMU_CLOCK_VIRTUAL ns, or -1 for "did not happen". */
const time = z.number().int().min(-1);

/** Size of vdpu381-sim's function block in bytes (VDPU381_FUNC_SIZE): registers 0..319. */
export const FUNCTION_BLOCK_BYTES = 0x500;
/** DEC_E: bit 0 of function + 0x028 (Linux rkvdec-vdpu381-regs.h VDPU381_REG_DEC_E). */
export const DEC_E_OFFSET = 0x028;

/**
 * One MMIO access as vdpu381-sim logs it: `[r|w, block, offset, value, t_ns]`
 * (offset in bytes inside the block: `link` 0x000-0x0ff, `function`
 * 0x000-0x4ff, `cache` 0x000-0x0ff; value the 32-bit word read or written;
 * t_ns QEMU's virtual clock).
 */
export const CaptureAccessSchema = z.tuple([z.enum(['r', 'w']), z.enum(['link', 'function', 'cache']), nat, u32, z.number().int()]);

/**
 * One decode job of the simboard's capture file, format 1, as
 * harness/simboard-qemu/hw/misc/vdpu381_sim.c (`vdpu381_flush_job`) writes
 * it, one JSON line per job: `job` (1-based count of DEC_E starts since
 * QEMU started), `end` (what closed it: `ack` = the driver wrote 0 to
 * STA_INT after the interrupt, `next-dec-e` = a new start while it was
 * open, `flush` = the host asked for the open job (QOM property `flush`,
 * simboard/qmp.ts), `reset`, `exit`), the times, `status_set` (the STA_INT word the
 * model answered, 0 when it had not answered yet), `function` (the
 * 0x500-byte function block at the DEC_E write as 320 little-endian words
 * in hex, 8 digits each), `dropped` (accesses beyond the model's 4096 kept
 * per job) and `accesses` (every access from the end of the previous job to
 * the end of this one, in order). Keys the model adds later are ignored;
 * an incompatible change must bump `format`.
 */
export const CaptureJobSchema = z.object({
  format: z.literal(1),
  job: nat,
  end: z.enum(['ack', 'next-dec-e', 'flush', 'reset', 'exit']),
  t_start_ns: time,
  t_irq_ns: time,
  t_ack_ns: time,
  status_set: u32,
  irq_delay_us: nat,
  function: z
    .string()
    .regex(/^[0-9a-f]*$/, 'expected lower-case hex digits')
    .length(FUNCTION_BLOCK_BYTES * 2, `expected ${FUNCTION_BLOCK_BYTES * 2} hex digits (0x500 bytes)`),
  dropped: nat,
  accesses: z.array(CaptureAccessSchema),
  /** The fault mode the model answered this job with (simboard/faults.ts FAULT_MODES; absent in records older than the modes). */
  fault: z.string().optional(),
  /** Interrupts the model raised for this job (2 for double-irq). */
  irqs: nat.optional(),
  /** Interrupts of an earlier job (late-irq) raised while this one was open. */
  stray_irqs: nat.optional(),
  /** Host time the model spent on this job's capture (snapshot and hashes at DEC_E, building the record), µs. */
  host_us: nat.optional(),
  /** Input buffers at DEC_E: register, guest-physical address, bytes, SHA-256 (base64 of the bytes with `buffers full`). */
  buffers: z
    .record(
      z.string(),
      z.object({
        reg: nat,
        addr: u32,
        len: nat,
        sha256: z
          .string()
          .regex(/^[0-9a-f]{64}$/)
          .optional(),
        base64: z.string().optional(),
        error: z.string().optional(),
      }),
    )
    .optional(),
});
export type CaptureJob = z.infer<typeof CaptureJobSchema>;

/**
 * A capture job in the register-block shape of MPP's records
 * (records.ts): `writes` are the runs of consecutive function-block
 * registers the driver wrote for this job before its DEC_E write, each with
 * the values the hardware saw at DEC_E (so registerMap() reads them like
 * MPP's); `snapshot` is the whole function block at DEC_E (registers the
 * driver did not write for this job keep what an earlier job or the reset
 * left there); `written` the register indexes written before DEC_E.
 */
export interface CaptureRegs {
  /** The capture's own job number. */
  job: number;
  /** Where the job is in the file: `file:line`. */
  source: string;
  end: CaptureJob['end'];
  status: number;
  writes: RegWrite[];
  snapshot: number[];
  written: Set<number>;
  /** Accesses were dropped by the model: `written` may be incomplete. */
  dropped: number;
  /** SHA-256 of the input buffers the model hashed at DEC_E, by register (delta/last probabilities, counts, segment-id maps). */
  hashes: Map<number, { len: number; sha256: string }>;
}

/** The 320 function-block words of a job's `function` hex string (each word 8 hex digits, as the model prints `%08x`). */
export function snapshotWords(hex: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hex.length; i += 8) out.push(parseInt(hex.slice(i, i + 8), 16) >>> 0);
  return out;
}

/** Runs of consecutive register indexes, as (first, count). */
function runs(regs: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const r of [...regs].sort((a, b) => a - b)) {
    const last = out.at(-1);
    if (last && last[0] + last[1] === r) last[1]++;
    else out.push([r, 1]);
  }
  return out;
}

/**
 * One capture job as register blocks (see {@link CaptureRegs}). The DEC_E
 * write is the last function-block write of DEC_E_OFFSET with bit 0 set
 * (a job has one; the model closes the job at the next one).
 */
export function captureRegs(j: CaptureJob, source: string): CaptureRegs {
  const snapshot = snapshotWords(j.function);
  let start = -1;
  j.accesses.forEach((a, i) => {
    if (a[0] === 'w' && a[1] === 'function' && a[2] === DEC_E_OFFSET && a[3] & 1) start = i;
  });
  const setup = start < 0 ? j.accesses : j.accesses.slice(0, start + 1);
  const written = new Set<number>();
  for (const a of setup) if (a[0] === 'w' && a[1] === 'function' && a[2] < FUNCTION_BLOCK_BYTES) written.add(a[2] >> 2);
  const writes = runs([...written]).map(([first, n]) => ({ offset: first * 4, size: n * 4, values: snapshot.slice(first, first + n) }));
  const hashes = new Map<number, { len: number; sha256: string }>();
  for (const b of Object.values(j.buffers ?? {})) if (b.sha256) hashes.set(b.reg, { len: b.len, sha256: b.sha256 });
  return { job: j.job, source, end: j.end, status: j.status_set, writes, snapshot, written, dropped: j.dropped, hashes };
}

/**
 * Parses a simboard capture file (JSON Lines, {@link CaptureJobSchema}) into
 * its jobs as the model wrote them, each with `file:line`. Blank lines are
 * skipped.
 * @param file the file's name, for the messages.
 * @param firstLine line number of the text's first line in the file.
 * @throws WorkbenchError `E_CAPTURE` naming the file, the line, the field
 *   and what was expected (or "not JSON").
 */
export function parseCaptureJobs(text: string, file: string, firstLine = 1): { job: CaptureJob; source: string }[] {
  const out: { job: CaptureJob; source: string }[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${file}:${i + firstLine}`;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new WorkbenchError('E_CAPTURE', `${where}: not JSON (${(e as Error).message})`, {
        hint: 'a simboard capture has one JSON object per line (vdpu381_sim.c vdpu381_flush_job); a cut last line means QEMU was killed mid-write',
      });
    }
    const r = CaptureJobSchema.safeParse(raw);
    if (!r.success) {
      const iss = r.error.issues[0]!;
      throw new WorkbenchError('E_CAPTURE', `${where}: field "${iss.path.join('.') || '(line)'}": ${iss.message}`, {
        hint: 'the capture does not match format 1 of harness/simboard-qemu/hw/misc/vdpu381_sim.c; was it written by another version of the device model?',
      });
    }
    out.push({ job: r.data, source: where });
  });
  return out;
}

/**
 * Parses a simboard capture file (JSON Lines, {@link CaptureJobSchema}) into
 * register blocks ({@link captureRegs}). Blank lines are skipped.
 * @param file the file's name, for the messages.
 * @throws WorkbenchError `E_CAPTURE` naming the file, the line, the field
 *   and what was expected (or "not JSON").
 */
export function parseCapture(text: string, file: string, firstLine = 1): CaptureRegs[] {
  return parseCaptureJobs(text, file, firstLine).map((j) => captureRegs(j.job, j.source));
}
