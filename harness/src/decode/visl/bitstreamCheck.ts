import { createHash } from 'node:crypto';

/**
 * The "bitstream" check of visl mode: visl copies every OUTPUT buffer it
 * decodes into debugfs (`/sys/kernel/debug/visl/bitstream/bitstream<N>`,
 * N = OUTPUT buffer sequence; drivers/media/test-drivers/visl/visl-debugfs.c
 * `visl_trace_bitstream`, enabled by the module parameters
 * `bitstream_trace_frame_start` / `bitstream_trace_nframes`, kept after
 * STREAMOFF with `keep_bitstream_buffers=1`). Each dump must equal the frame
 * the driver was given: the input frames after superframe splitting,
 * show-existing frames excluded (GStreamer does not send them), in order.
 */

/** One dump as listed on the board. */
export interface BitstreamDump {
  /** Sequence number from the file name (`bitstream12` → 12). */
  sequence: number;
  bytes: number;
  sha256: string;
}

/** One frame the driver should have received. */
export interface ExpectedPayload {
  /** Index in the split frame list (show-existing frames included). */
  splitIndex: number;
  bytes: number;
  sha256: string;
}

/** A frame whose dump is missing or differs. */
export interface BitstreamMismatch {
  decodeIndex: number;
  splitIndex: number;
  problem: 'missing' | 'size' | 'content';
  expected: string;
  got: string;
}

export interface BitstreamCheckResult {
  framesExpected: number;
  dumps: number;
  framesCompared: number;
  mismatches: BitstreamMismatch[];
  /** Dumps with a sequence number past the expected frames. */
  extraDumps: number[];
  pass: boolean;
}

/** SHA-256 and size of a frame payload. */
export function payloadDigest(splitIndex: number, data: Uint8Array): ExpectedPayload {
  return { splitIndex, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}

/**
 * Parses the listing the board prints (vislCollect.sh's dumps part):
 * `WB-SIZE <name> <bytes>` and `WB-SHA <name> <sha256>` lines, joined by
 * name (a dump with only one of the two is dropped, so it counts as
 * missing), or the older one-line form `<name> <bytes> <sha256>`. Lines of
 * other shapes are ignored.
 */
export function parseDumpListing(text: string): BitstreamDump[] {
  const out = new Map<number, BitstreamDump>();
  const sizes = new Map<number, number>();
  const shas = new Map<number, string>();
  for (const line of text.split('\n')) {
    let m = /^bitstream(\d+)\s+(\d+)\s+([0-9a-f]{64})\s*$/.exec(line.trim());
    if (m) {
      out.set(Number(m[1]), { sequence: Number(m[1]), bytes: Number(m[2]), sha256: m[3]! });
      continue;
    }
    if ((m = /^WB-SIZE bitstream(\d+) (\d+)$/.exec(line.trim()))) sizes.set(Number(m[1]), Number(m[2]));
    else if ((m = /^WB-SHA bitstream(\d+) ([0-9a-f]{64})$/.exec(line.trim()))) shas.set(Number(m[1]), m[2]!);
  }
  for (const [seq, bytes] of sizes) {
    const sha256 = shas.get(seq);
    if (sha256 && !out.has(seq)) out.set(seq, { sequence: seq, bytes, sha256 });
  }
  return [...out.values()].sort((a, b) => a.sequence - b.sequence);
}

/** Compares dumps with the expected payloads (decode order). */
export function checkBitstream(expected: readonly ExpectedPayload[], dumps: readonly BitstreamDump[]): BitstreamCheckResult {
  const bySeq = new Map(dumps.map((d) => [d.sequence, d]));
  const mismatches: BitstreamMismatch[] = [];
  let compared = 0;
  expected.forEach((e, i) => {
    const d = bySeq.get(i);
    if (!d) {
      mismatches.push({ decodeIndex: i, splitIndex: e.splitIndex, problem: 'missing', expected: `${e.bytes} bytes`, got: 'no dump' });
      return;
    }
    compared++;
    if (d.bytes !== e.bytes) {
      mismatches.push({ decodeIndex: i, splitIndex: e.splitIndex, problem: 'size', expected: `${e.bytes} bytes`, got: `${d.bytes} bytes` });
    } else if (d.sha256 !== e.sha256) {
      mismatches.push({ decodeIndex: i, splitIndex: e.splitIndex, problem: 'content', expected: `sha256 ${e.sha256}`, got: `sha256 ${d.sha256}` });
    }
  });
  const extra = dumps.filter((d) => d.sequence >= expected.length).map((d) => d.sequence);
  return {
    framesExpected: expected.length,
    dumps: dumps.length,
    framesCompared: compared,
    mismatches,
    extraDumps: extra,
    pass: mismatches.length === 0 && extra.length === 0,
  };
}
