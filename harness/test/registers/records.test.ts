import { describe, expect, it } from 'vitest';
import { decodedFrames, pairRecords, parseMppFrameLog } from '../../src/registers/mppRecord.ts';
import { parseShimRecords, registerMap, type ShimRecord } from '../../src/registers/records.ts';
import type { InspectResult } from '../../src/vectors/inspect.ts';

function rec(job: number, status = 4, fault = false): ShimRecord {
  return {
    job,
    client: 9,
    status,
    fault,
    regOffsetAlone: true,
    writes: [{ offset: 32, size: 8, values: [1, 2] }],
    reads: [{ offset: 896, size: 4 }],
    regOffsets: [{ reg: 168, offset: 4096 }],
    rcbInfo: [{ reg: 133, size: 1024 }],
    addresses: [{ reg: 128, value: 7, buffer: 0, offset: 0 }],
    buffers: [{ id: 0, size: 100, sha256: 'a'.repeat(64) }],
  };
}

/** A stream of `kinds` frames: 'k' key, 'i' inter, 's' show-existing. */
function info(kinds: string): InspectResult {
  const frames = [...kinds].map((k, index) => ({
    index,
    header: {
      showExistingFrame: k === 's',
      frameType: k === 'k' ? 'key' : 'inter',
      intraOnly: false,
      showFrame: true,
      width: 64,
      height: 48,
      profile: k === '4' ? 1 : 0,
      color: { subsamplingX: k === '4' ? 0 : 1, subsamplingY: k === '4' ? 0 : 1 },
    },
  }));
  return { frames } as unknown as InspectResult;
}

describe('shim records', () => {
  it('parse and validate line by line, naming the line and field of a bad one', () => {
    const good = JSON.stringify(rec(0));
    expect(parseShimRecords(`${good}\n\n${good}\n`)).toHaveLength(2);
    expect(() => parseShimRecords(`${good}\n{"job":1}`)).toThrow(/line 2: field "client"/);
    expect(() => parseShimRecords(`${good}\n{oops`)).toThrow(/line 2: not JSON/);
    const bad = { ...rec(0), addresses: [{ reg: 12, value: 1, buffer: null }] };
    expect(() => parseShimRecords(JSON.stringify(bad))).toThrow(/line 1: field "addresses.0.reg"/);
  });

  it('flatten written blocks into register index -> value', () => {
    const m = registerMap({
      writes: [
        { offset: 32, size: 8, values: [1, 2] },
        { offset: 640, size: 4, values: [9] },
      ],
    });
    expect([...m]).toEqual([
      [8, 1],
      [9, 2],
      [160, 9],
    ]);
  });
});

describe('pairing jobs with frames', () => {
  it('pairs job k with the k-th frame that is not show_existing_frame', () => {
    const i = info('kisi');
    expect(decodedFrames(i).map((f) => f.index)).toEqual([0, 1, 3]);
    const out = pairRecords('v', i, [rec(0), rec(1), rec(2)], '');
    expect(out.map((r) => [r.job, r.frame, r.frameType])).toEqual([
      [0, 0, 'key'],
      [1, 1, 'inter'],
      [2, 3, 'inter'],
    ]);
  });

  it('fails with both counts when MPP submitted a different number of jobs', () => {
    expect(() => pairRecords('v', info('kii'), [rec(0), rec(1)], 'a\nb')).toThrow(/MPP submitted 2 hardware jobs, the stream has 3 frames to decode/);
  });

  it('says MPP does not decode a 4:4:4 stream instead of a bare count mismatch', () => {
    expect(() => pairRecords('v', info('44'), [], '')).toThrow(/MPP submitted 0 of 2 hardware jobs: the stream is profile 1 with 4:4:4 chroma \(frame 0\)/);
  });

  it('fails naming the job, frame and status word when a job lacks dec_rdy, and what MPP logged', () => {
    const log = 'x decode get frame 0\nx decode get frame 1 err 1 discard 0\n';
    let err: unknown;
    try {
      pairRecords('v', info('kii'), [rec(0), rec(1, 0x10, true), rec(2)], log);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'E_MPP_FRAME_ERROR' });
    expect(String((err as Error).message)).toMatch(
      /job 1 \(decode-order frame 1, inter 64x48\) ended with status reg224=0x10 \(no dec_rdy_sta\) — a fault planted.*1 output frame\(s\) as erroneous \(first: frame 1 err 1\)/,
    );
  });

  it("reads mpi_dec_test's per-frame log lines", () => {
    expect(parseMppFrameLog('0x55 decode get frame 0\n0x55 decode get frame 1 tid 0 err 10 discard 1\n')).toEqual([
      { frame: 0, err: 0, discard: 0 },
      { frame: 1, err: 0x10, discard: 1 },
    ]);
  });
});
