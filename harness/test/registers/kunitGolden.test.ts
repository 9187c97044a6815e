import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFtrace } from '../../src/decode/visl/ftrace.ts';
import { vp9FrameEvents } from '../../src/decode/visl/vp9FrameTrace.ts';
import { vp9ProbsEvents } from '../../src/decode/visl/vp9ProbsTrace.ts';
import { loadAllowList } from '../../src/registers/allowList.ts';
import { goldenRegisters, goldenStream, PROB_SIZE, renderGoldenHeader, type GoldenStreamInput } from '../../src/registers/kunitGolden.ts';
import { FrameRecordSchema, registerMap, type FrameRecord } from '../../src/registers/records.ts';
import type { RegField } from '../../src/registers/regFields.ts';
import { inspectFile } from '../../src/vectors/inspect.ts';

// Real data only (fixtures/README.md, fixtures/mpp-p0-intra-only/README.md):
// MPP's records and field table, the first two packets (3 frames) of the
// same vector, visl's trace of those frames, MPP's delta probabilities.
const FIX = join(import.meta.dirname, 'fixtures');
const MPP = join(FIX, 'mpp-p0-intra-only');
const records: FrameRecord[] = readFileSync(join(MPP, 'records.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => FrameRecordSchema.parse(JSON.parse(l)));
const fields = JSON.parse(readFileSync(join(MPP, 'fields.json'), 'utf8')) as RegField[];
const allow = loadAllowList();
const bit = (name: string) => {
  const f = fields.find((x) => x.name === name)!;
  return (((1 << f.width) - 1) << f.lsb) >>> 0;
};

async function input(count = 3): Promise<GoldenStreamInput> {
  const events = parseFtrace(readFileSync(join(FIX, 'visl-p0-intra-only-3frames.trace'), 'utf8')).events;
  const probs = readFileSync(join(MPP, 'delta-probs-0-2.bin'));
  const path = join(FIX, 'p0-intra-only-first2packets.ivf');
  return {
    vectorPath: path,
    vectorSha256: '0'.repeat(64),
    frames: (await inspectFile(path)).frames,
    traced: vp9FrameEvents(events),
    probs: vp9ProbsEvents(events),
    mpp: records,
    deltaProbs: [0, 1, 2].map((k) => new Uint8Array(probs.subarray(k * PROB_SIZE, (k + 1) * PROB_SIZE))),
    fields,
    allow,
    count,
  };
}

describe('KUnit golden data from MPP records', () => {
  it('keeps the value registers reg008-reg127 MPP wrote, on their field bits, without the start bit and the allow-listed fields', () => {
    const key = records[0]!;
    expect(key.frameType).toBe('key');
    const leftOut = new Map<string, number>();
    const regs = goldenRegisters(key, fields, allow, leftOut);
    const words = registerMap(key);
    const n = regs.map((r) => r.reg);
    expect(n).not.toContain(10); // dec_e, the start bit
    expect(n).not.toContain(16); // common.reg016_str_len: allow-listed as a whole
    expect(n.some((r) => r >= 128)).toBe(false); // addresses and statistics
    expect(n).toContain(9);
    for (const r of regs) expect(r.value).toBe((words.get(r.reg)! & r.mask) >>> 0);
    // key frame: allow_high_precision_mv (allow-listed for key frames) and last_key_frame_flag (all frames) left out
    const r103 = regs.find((r) => r.reg === 103)!;
    expect(r103.mask & bit('vp9d_param.reg103.allow_high_precision_mv')).toBe(0);
    expect(r103.mask & bit('vp9d_param.reg103.last_key_frame_flag')).toBe(0);
    expect(r103.mask & bit('vp9d_param.reg103.intra_only_flag')).not.toBe(0);
    expect(leftOut.has('vp9d_param.reg103.allow_high_precision_mv')).toBe(true);
    // an inter frame compares allow_high_precision_mv
    const inter = goldenRegisters(records[2]!, fields, allow).find((r) => r.reg === 103)!;
    expect(records[2]!.frameType).toBe('inter');
    expect(inter.mask & bit('vp9d_param.reg103.allow_high_precision_mv')).not.toBe(0);
    // reg106/107 (reference sizes) are allow-listed on key frames only
    expect(n).toContain(106);
    expect(regs.find((r) => r.reg === 106)!.mask & bit('vp9d_param.reg106.framewidth_last')).toBe(0);
    expect(goldenRegisters(records[2]!, fields, allow).find((r) => r.reg === 106)!.mask & bit('vp9d_param.reg106.framewidth_last')).not.toBe(0);
  });

  it('joins the trace, the stream and the records frame by frame; references resolve to earlier frames', async () => {
    const s = goldenStream(await input());
    expect(s.id).toBe('p0_intra_only_first2packets');
    expect(s.frames.map((f) => [f.split, f.kind, f.params.frameWidthMinus1 + 1, f.params.frameHeightMinus1 + 1])).toEqual([
      [0, 'key', 352, 288],
      [1, 'inter', 352, 288],
      [2, 'inter', 352, 288],
    ]);
    // MPP's record of frame 2: LAST = frame 0, ALTREF = frame 1 (its reference registers, roles.ts)
    expect(records[2]!.refs).toEqual({ last: 0, golden: 0, altref: 1 });
    expect(s.frames[2]!.refs.map((r) => r.frame)).toEqual([0, 0, 1]);
    expect(s.frames[0]!.refs.every((r) => r.frame === -1)).toBe(true);
    expect(s.frames[1]!.streamLen + s.frames[2]!.streamLen).toBeLessThan(749); // one superframe packet of 749 bytes
  });

  it('refuses sources that disagree, naming the frame', async () => {
    const i = await input();
    await expect(async () => goldenStream({ ...i, mpp: records.slice(1) })).rejects.toThrow(
      /frame 0 \(decode 0\): MPP's record and the stream's frame index differ: 1 vs 0/,
    );
    await expect(async () => goldenStream({ ...i, count: 4 })).rejects.toThrow(/4 frames asked, the stream has 3/);
  });

  it('renders a kernel-style header: lines within 80 columns, every frame, the provenance', async () => {
    const s = goldenStream(await input());
    const text = renderGoldenHeader([s], {
      controls: 'Linux 7.2 visl, gstreamer 1.28 v4l2slvp9dec',
      mpp: 'https://github.com/rockchip-linux/mpp ee946af015c3',
      allowList: allow.file,
    });
    const tooWide = text.split('\n').filter((l) => l.replace(/\t/g, '        ').length > 80);
    expect(tooWide).toEqual([]);
    expect(text).toContain('static const struct vp9_golden_frame p0_intra_only_first2packets_frames[] = {');
    expect(text).toContain('.frames = p0_intra_only_first2packets_frames,');
    expect(text.match(/\.stream_len = \d+,/g)).toHaveLength(3);
    expect(text).toContain('.flags = V4L2_VP9_FRAME_FLAG_KEY_FRAME |');
    expect(text).toContain(' *  vp9d_param.reg103.allow_high_precision_mv');
    expect(text).toContain('ee946af015c3');
  });
});
