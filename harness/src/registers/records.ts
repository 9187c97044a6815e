import { z } from 'zod';

const u32 = z.number().int().min(0).max(0xffffffff);
const nat = z.number().int().nonnegative();

/**
 * One register block MPP wrote for a job (MPP_CMD_SET_REG_WRITE,
 * osal/inc/mpp_service.h): `offset` in bytes from the start of the
 * decoder's register file (vdpu34x: common regs at 8*4, codec params at
 * 64*4, common addresses at 128*4, codec addresses at 160*4, statistics at
 * 256*4; mpp/hal/rkdec/inc/vdpu34x_com.h OFFSET_*), `values` the 32-bit
 * words in order (register index = offset/4 + position).
 */
export const RegWriteSchema = z.strictObject({ offset: nat, size: nat, values: z.array(u32) });
export type RegWrite = z.infer<typeof RegWriteSchema>;

/** A block MPP asked to be read back after the job (MPP_CMD_SET_REG_READ); vdpu34x reads reg224.. (interrupt status). */
export const RegReadSchema = z.strictObject({ offset: nat, size: nat });

/**
 * One address register of the job resolved to a buffer: `value` is what MPP
 * wrote (a dma-buf fd; with `regOffsetAlone` the whole value is the fd, else
 * fd = value & 0x3ff and value >> 10 is an offset), `buffer` the
 * allocation id of that dma-buf in the run (null when the value is no
 * buffer of the run, e.g. 0xffffffff for "no colmv yet"), `offset` the byte
 * offset into it (in-value offset + the one set with SET_REG_ADDR_OFFSET).
 */
export const AddressSchema = z.strictObject({
  reg: z.number().int().min(128).max(199),
  value: u32,
  buffer: nat.nullable(),
  offset: nat.optional(),
  /** Probability tables (reg160, reg162): `len` bytes (MPP's PROB_SIZE) from `offset` hashed on their own. */
  len: nat.optional(),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

/** A buffer referenced by the job's address registers, hashed when the job was sent (before the "hardware" ran). */
export const BufferSchema = z.strictObject({ id: nat, size: nat, sha256: z.string().regex(/^[0-9a-f]{64}$/) });

/**
 * The record of one hardware job as the LD_PRELOAD shim writes it (one JSON
 * line per job, shim/mpp_service_shim.c). `status` is the reg224 word the
 * stand-in answered (bit 2 dec_rdy_sta = success, bit 4 dec_error_sta with a
 * planted fault); `regOffsets` the (register, byte offset) pairs of
 * MPP_CMD_SET_REG_ADDR_OFFSET; `rcbInfo` the (register, size) pairs of
 * MPP_CMD_SET_RCB_INFO.
 */
export const ShimRecordSchema = z.strictObject({
  job: nat,
  client: z.number().int(),
  status: u32,
  fault: z.boolean(),
  regOffsetAlone: z.boolean(),
  writes: z.array(RegWriteSchema),
  reads: z.array(RegReadSchema),
  regOffsets: z.array(z.strictObject({ reg: nat, offset: u32 })),
  rcbInfo: z.array(z.strictObject({ reg: nat, size: u32 })),
  addresses: z.array(AddressSchema),
  buffers: z.array(BufferSchema),
});
export type ShimRecord = z.infer<typeof ShimRecordSchema>;

/**
 * One line of `records.jsonl` written by `workbench registers mpp-record`:
 * the shim's record of a job plus the VP9 frame it decoded (`frame`:
 * decode-order index over the file's frames after superframe splitting, as
 * the inspector numbers them; `frameType`, `showFrame`, `width`, `height`
 * from that frame's uncompressed header). `refs`: for inter frames, the
 * decode-order frames whose output buffers MPP's reference registers
 * (reg164..166, LAST/GOLDEN/ALTREF) point at (roles.ts referencedFrames);
 * null for key and intra-only frames.
 */
export const FrameRecordSchema = ShimRecordSchema.extend({
  frame: nat,
  frameType: z.enum(['key', 'inter']),
  intraOnly: z.boolean(),
  showFrame: z.boolean(),
  width: nat,
  height: nat,
  refs: z.strictObject({ last: nat.nullable(), golden: nat.nullable(), altref: nat.nullable() }).nullable(),
});
export type FrameRecord = z.infer<typeof FrameRecordSchema>;

/** `summary.json` of a recording. */
export const RecordSummarySchema = z.strictObject({
  vector: z.string(),
  vectorSha256: z.string().regex(/^[0-9a-f]{64}$/),
  mpp: z.strictObject({ upstream: z.string(), commit: z.string(), buildKey: z.string(), shimKey: z.string() }),
  command: z.array(z.string()),
  /** Frames in the file (inspector), frames MPP had to decode (all but show_existing_frame), records. */
  frames: nat,
  decodedFrames: nat,
  records: nat,
  /** Frames mpi_dec_test reported as output. */
  mppOutputFrames: nat,
  dumpedBuffers: z.boolean(),
});
export type RecordSummary = z.infer<typeof RecordSummarySchema>;

/** Register index -> value of a record (every written block flattened). */
export function registerMap(r: Pick<ShimRecord, 'writes'>): Map<number, number> {
  const m = new Map<number, number>();
  for (const b of r.writes) b.values.forEach((v, i) => m.set(b.offset / 4 + i, v));
  return m;
}

/**
 * Parses the shim's JSON Lines output.
 * @throws Error naming the line and the first schema problem (the caller wraps it).
 */
export function parseShimRecords(text: string): ShimRecord[] {
  const out: ShimRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new Error(`line ${i + 1}: not JSON (${(e as Error).message})`);
    }
    const r = ShimRecordSchema.safeParse(raw);
    if (!r.success) {
      const iss = r.error.issues[0]!;
      throw new Error(`line ${i + 1}: field "${iss.path.join('.')}": ${iss.message}`);
    }
    out.push(r.data);
  });
  return out;
}
