import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { digestFrame } from '../../src/compare/hash.ts';
import { frameBytes, i420 } from '../../src/compare/geometry.ts';
import type { DecodeRequest, Decoder, DecoderRun } from '../../src/decode/backend.ts';
import { runVector } from '../../src/decode/runVector.ts';
import { builtinChecks, type VectorCheck } from '../../src/decode/plugins.ts';
import type { ExecOptions, ExecResult, Target } from '../../src/target/types.ts';
import type { InspectResult } from '../../src/vectors/inspect.ts';
import type { ReferenceSet } from '../../src/vectors/references.ts';
import { ExecaRunner } from '../../src/core/runner.ts';

const g = i420(16, 16);
/** The checks of a board whose driver decodes (pixels, frame count, kernel log, IRQ). */
const checks = builtinChecks().forBoard({ name: 'fake', driver: 'rkvdec' });
const size = frameBytes(g);
const frames = [0, 1, 2].map((s) => Buffer.alloc(size, s + 1));

/** A board whose kernel log gets `after` appended after our marker. */
class FakeBoard implements Target {
  readonly name = 'fake';
  marker = '';
  constructor(private readonly after: string[]) {}
  async exec(argv: string[], _o?: ExecOptions): Promise<ExecResult> {
    const line = argv.join(' ');
    let stdout = '';
    if (line.includes('/dev/kmsg')) this.marker = argv.at(-1)!;
    else if (line.includes('dmesg')) stdout = ['<6>[  10.000000] booted', `<12>[  20.000000] ${this.marker}`, ...this.after].join('\n') + '\n';
    return { argv, exitCode: 0, stdout, stderr: '', durationMs: 1, timedOut: false };
  }
  async upload(): Promise<{ bytes: number; sha256: string }> {
    return { bytes: 0, sha256: '' };
  }
  async download(): Promise<{ bytes: number; sha256: string }> {
    return { bytes: 0, sha256: '' };
  }
  async kernelRelease(): Promise<string> {
    return '7.2.13';
  }
  async close(): Promise<void> {}
}

/** A decoder that streams the three frames (odd chunking) and exits 0. */
const decoder: Decoder = {
  name: 'fake',
  codec: 'vp9',
  probe: async () => ({ implementation: 'fake', version: '1' }),
  decode: async (req: DecodeRequest): Promise<DecoderRun> => {
    const all = Buffer.concat(frames);
    for (let o = 0; o < all.length; o += 100) req.onFrameBytes(all.subarray(o, o + 100));
    return { argv: ['fake'], exitCode: 0, timedOut: false, durationMs: 5, stderrTail: '' };
  },
};

const inspect = {
  file: 'v.ivf',
  frames: [0, 1, 2].map((i) => ({ index: i, header: { showExistingFrame: false }, outputIndex: i })),
  output: [0, 1, 2].map((i) => ({ index: i, frameIndex: i, width: 16, height: 16, bitDepth: 8, subsamplingX: 1, subsamplingY: 1 })),
  features: [],
} as unknown as InspectResult;

async function reference(): Promise<ReferenceSet> {
  const fr = await Promise.all(
    frames.map(async (f, i) => ({ index: i, width: 16, height: 16, bitDepth: 8, pixelFormat: 'yuv420p', i420: await digestFrame(f), nv12: null })),
  );
  return { vector: 'v.ivf', vectorSha256: '', decoder: '', command: '', frames: fr, md5: '0'.repeat(32), bytes: 0, crossCheck: null };
}

describe('runVector with a board', () => {
  it('a kernel oops in the vector slice makes the verdict crash, even when every frame matched', async () => {
    const board = new FakeBoard([
      '<1>[  21.000000] BUG: kernel NULL pointer dereference, address: 0000000000000008',
      '<1>[  21.000001] Oops: Oops: 0000 [#1] SMP NOPTI',
      '<4>[  21.000002] RIP: 0010:rkvdec_vp9_run+0x42/0x300 [rockchip_vdec]',
    ]);
    const o = await runVector({
      runner: new ExecaRunner(),
      target: board,
      decoder,
      vector: { name: 'v.ivf', file: '/nonexistent' },
      inspect,
      reference: await reference(),
      checks,
      timeoutMs: 1000,
      boardLock: false,
    });
    expect(o.compare.mismatchingFrames).toBe(0);
    expect(o.verdict.result).toBe('crash');
    expect(o.verdict.message).toMatch(/NULL pointer dereference/);
    expect(o.result.kernelLog.some((f) => f.severity === 'crash' && f.vector === 'v.ivf')).toBe(true);
  });

  it('collects the IRQ records of the slice when the instrumentation is on', async () => {
    const board = new FakeBoard([
      '<6>[  21.000000] rkvdec fdc38100.video-codec: rkvdec-irq: seq=1 variant=vdpu381 fourcc=VP9F mode=2 reg=0x380 status=0x00000007 src=irq',
      '<6>[  21.100000] rkvdec fdc38100.video-codec: rkvdec-irq: seq=2 variant=vdpu381 fourcc=VP9F mode=2 reg=0x380 status=0x00000007 src=irq',
    ]);
    const o = await runVector({
      runner: new ExecaRunner(),
      target: board,
      decoder,
      vector: { name: 'v.ivf', file: '/nonexistent' },
      inspect,
      reference: await reference(),
      checks,
      timeoutMs: 1000,
      boardLock: false,
      session: { irq: { state: 'enabled', how: ['param:irq_trace=1'] } },
    });
    expect(o.verdict.result).toBe('pass');
    expect(o.result.irq).toMatchObject({ jobs: 2, vp9Jobs: 2, statuses: [{ status: '0x00000007', mode: 2, count: 2 }] });
    expect(o.result.md5.actual).toMatch(/^[0-9a-f]{32}$/);
  });

  it("writes the pixels check's PNGs for the first frame whose pixels differ when another check found an earlier bad frame", async () => {
    // A registers-like check fails frame 1 (a wrong register the frame does not use); the pixels differ from frame 2 on.
    const earlier: VectorCheck = {
      name: 'registers',
      appliesTo: () => true,
      judge: () => ({ results: [{ check: 'registers', status: 'fail', detail: 'frame 1 differs' }], badFrames: [1] }),
    };
    const ref = await reference();
    const other = Buffer.alloc(size, 9);
    ref.frames[2] = { ...ref.frames[2]!, i420: await digestFrame(other) };
    const dir = mkdtempSync(join(tmpdir(), 'wb-runvector-'));
    try {
      const o = await runVector({
        runner: new ExecaRunner(),
        target: new FakeBoard([]),
        decoder,
        vector: { name: 'v.ivf', file: '/nonexistent' },
        // no inspector frame behind the outputs: the summary has no header part
        inspect: { ...inspect, output: inspect.output.map((x) => ({ ...x, frameIndex: -1 })) },
        reference: ref,
        checks: { ...checks, checks: [...checks.checks, earlier] },
        timeoutMs: 1000,
        boardLock: false,
        artifactsDir: dir,
        referenceFrame: async () => other,
      });
      expect(o.verdict.result).toBe('fail');
      if (o.verdict.result !== 'fail') return;
      expect(o.verdict.firstBadFrame).toBe(1);
      expect(o.verdict.checks.find((c) => c.check === 'pixels')?.detail).toMatch(/first frame 2:/);
      expect(o.result.artifacts.filter((a) => a.kind === 'diff').map((a) => a.frame)).toEqual([2]);
      expect(existsSync(join(dir, 'frame-0002-diff.png'))).toBe(true);
      expect(readFileSync(join(dir, 'frame-0002-summary.txt'), 'utf8')).toMatch(
        /the first frame whose pixels differ; the verdict's first bad frame is 1, found by another check/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true }); // our own mkdtemp directory
    }
  });
});
