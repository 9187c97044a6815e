import { describe, expect, it } from 'vitest';
import { headerReferences, referencedFrames } from '../../src/registers/roles.ts';
import type { InspectResult } from '../../src/vectors/inspect.ts';

const rec = (frame: number, out: number, refs: [number, number, number] | null) => ({
  frame,
  frameType: refs ? ('inter' as const) : ('key' as const),
  intraOnly: false,
  addresses: [{ reg: 130, buffer: out }, ...(refs ? refs.map((b, i) => ({ reg: 164 + i, buffer: b })) : [])],
});

describe('reference roles', () => {
  it('name the frame whose output buffer a reference register points at (the latest writer of that buffer)', () => {
    // frame 0 -> buffer 1; frame 1 -> buffer 2; frame 3 reuses buffer 1 (frame 0 dropped)
    const refs = referencedFrames([rec(0, 1, null), rec(1, 2, [1, 1, 1]), rec(3, 1, [2, 1, 2]), rec(4, 3, [1, 2, 9])]);
    expect(refs).toEqual([null, { last: 0, golden: 0, altref: 0 }, { last: 1, golden: 0, altref: 1 }, { last: 3, golden: 1, altref: null }]);
  });

  it('follow the slots from the headers: refresh_frame_flags fills slots, ref_frame_idx reads them, show-existing changes nothing', () => {
    const f = (index: number, h: Record<string, unknown>) => ({
      index,
      header: { showExistingFrame: false, frameType: 'inter', intraOnly: false, refFrameIdx: null, refreshFrameFlags: 0, ...h },
    });
    const info = {
      frames: [
        f(0, { frameType: 'key', refreshFrameFlags: 0xff }),
        f(1, { refFrameIdx: [0, 1, 2], refreshFrameFlags: 0x01 }),
        f(2, { showExistingFrame: true, refreshFrameFlags: 0 }),
        f(3, { intraOnly: true, refreshFrameFlags: 0x04 }),
        f(4, { refFrameIdx: [0, 1, 2], refreshFrameFlags: 0 }),
      ],
    } as unknown as InspectResult;
    expect([...headerReferences(info)]).toEqual([
      [1, { last: 0, golden: 0, altref: 0 }],
      [4, { last: 1, golden: 0, altref: 3 }],
    ]);
  });
});
