import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFtrace, type FtraceEvent } from '../../src/decode/visl/ftrace.ts';
import { COMPRESSED_HDR_SIZE, vp9ProbsEvents } from '../../src/decode/visl/vp9ProbsTrace.ts';

// A real trace (registers/fixtures/README.md): every visl_vp9_controls event
// of the first 3 frames of p0-intra-only, recorded on the vboard.
const text = readFileSync(join(import.meta.dirname, '..', 'registers', 'fixtures', 'visl-p0-intra-only-3frames.trace'), 'utf8');
const events = parseFtrace(text).events;

// Offsets in struct v4l2_ctrl_vp9_compressed_hdr, from the member list of
// include/uapi/linux/v4l2-controls.h (every member a __u8 array): tx_mode 0,
// tx8[2][1] 1, tx16[2][2] 3, tx32[2][3] 7, coef[4][2][2][6][6][3] 13,
// skip[3] 1741, ..., partition[16][3] 1923, mv 1971 (joint[3] 1971, sign[2]
// 1974, ..., hp[2] 2038). The integration test checks these with GCC.
const OFF = { coef: 13, skip: 1741, mvJoint: 1971, mvHp: 2038 };

/** `name {0x..,..}` of the n-th event with that name, as the raw text shows it. */
function rawArray(event: string, n: number, name: string): number[] {
  const e = events.filter((x) => x.event === event)[n]!;
  const line = e.lines.map((l) => l.trim()).find((l) => l.startsWith(`${name} {`))!;
  return line
    .slice(name.length + 2, -1)
    .split(',')
    .map((x) => parseInt(x, 16));
}

describe('visl compressed-header trace events', () => {
  it('joins the three events of each frame into the UAPI structure bytes', () => {
    const probs = vp9ProbsEvents(events);
    expect(probs).toHaveLength(3);
    expect(COMPRESSED_HDR_SIZE).toBe(2040);
    for (const [k, p] of probs.entries()) {
      expect(p.bytes).toHaveLength(2040);
      // TX_MODE_ALLOW_32X32 = 3 (enum v4l2_vp9_tx_mode), as the trace prints for all three frames
      expect(p.txMode).toBe(3);
      expect(p.bytes[0]).toBe(3);
      expect([...p.bytes.subarray(OFF.skip, OFF.skip + 3)]).toEqual(rawArray('v4l2_ctrl_vp9_compressed_hdr', k, 'skip'));
      expect([...p.bytes.subarray(OFF.mvJoint, OFF.mvJoint + 3)]).toEqual(rawArray('v4l2_vp9_mv_probs', k, 'joint'));
      expect([...p.bytes.subarray(OFF.mvHp, OFF.mvHp + 2)]).toEqual(rawArray('v4l2_vp9_mv_probs', k, 'hp'));
    }
    // the key frame's skip update and the third frame's, as printed
    expect([...probs[0]!.bytes.subarray(OFF.skip, OFF.skip + 3)]).toEqual([0x7d, 0, 0]);
    expect([...probs[2]!.bytes.subarray(OFF.skip, OFF.skip + 3)]).toEqual([0, 0xf1, 0x6f]);
    // coef comes from its own event: its hex dump's first row
    const coef = events.find((e) => e.event === 'v4l2_ctrl_vp9_compressed_coeff')!;
    const row = coef.lines.map((l) => l.trim()).find((l) => /^[0-9a-f]{2}( [0-9a-f]{2})+$/.test(l))!;
    expect([...probs[0]!.bytes.subarray(OFF.coef, OFF.coef + 32)]).toEqual(row.split(' ').map((x) => parseInt(x, 16)));
  });

  it('a frame whose MV event is missing is refused, naming what is missing', () => {
    const cut = events.filter((e, i) => !(e.event === 'v4l2_vp9_mv_probs' && i < 4));
    expect(() => vp9ProbsEvents(cut)).toThrow(/compressed header has no v4l2_vp9_mv_probs event after it/);
  });

  it('a truncated hex dump is refused, naming the event and the field', () => {
    const bad: FtraceEvent[] = events.map((e) =>
      e.event === 'v4l2_ctrl_vp9_compressed_hdr' ? { ...e, lines: e.lines.map((l) => (l.startsWith('skip ') ? 'skip {0x7d,0x0}' : l)) } : e,
    );
    expect(() => vp9ProbsEvents(bad)).toThrow(/v4l2_ctrl_vp9_compressed_hdr at [\d.]+: field skip has unexpected value .*expected 3 bytes/);
  });

  it('an unknown tx_mode is refused', () => {
    const bad: FtraceEvent[] = events.map((e) =>
      e.event === 'v4l2_ctrl_vp9_compressed_hdr' ? { ...e, lines: e.lines.map((l) => (l.startsWith('tx_mode ') ? 'tx_mode 0x9' : l)) } : e,
    );
    expect(() => vp9ProbsEvents(bad)).toThrow(/field tx_mode has unexpected value '0x9'/);
  });
});
