/**
 * A new board kind and a new decoder backend plug in without any change to
 * the pipeline: the test registers the fake kind of
 * test/target/providers/fakeBoardKind.ts and the fake backend of
 * test/decode/backends/fakeDecoder.ts on the built-in plug-ins, and runs
 * `workbench iterate`'s pipeline (runIterate) with the real board, decode
 * and IRQ stages on them (kernel build, checks, deploy and plan are the
 * usual fakes: they have nothing to do with board kinds). Expected frame
 * hashes are SHA-256/XXH64 of the bytes the fake decoder is told to emit
 * (node:crypto, xxhash-wasm), the inspector facts are written by hand.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { digestFrame } from '../../src/compare/hash.ts';
import { frameBytes, i420 } from '../../src/compare/geometry.ts';
import { ExecaRunner } from '../../src/core/runner.ts';
import { EventBus } from '../../src/core/events.ts';
import { runIterate } from '../../src/pipeline/iterate.ts';
import { builtinPlugins } from '../../src/pipeline/plugins.ts';
import { realStages } from '../../src/pipeline/realStages.ts';
import type { IterateStages, PlannedVector } from '../../src/pipeline/stages.ts';
import { closeTargets } from '../../src/target/connect.ts';
import type { InspectResult } from '../../src/vectors/inspect.ts';
import type { ReferenceSet } from '../../src/vectors/references.ts';
import { fakeDecoderBackend, fakeOutput } from '../decode/backends/fakeDecoder.ts';
import { fakeBoardKind, fakeTargets } from '../target/providers/fakeBoardKind.ts';
import { fakeStages } from './fakeStages.ts';

const g = i420(16, 16);
const frames = [0, 1, 2].map((s) => Buffer.alloc(frameBytes(g), 0x10 + s));
const inspect = {
  file: 'v.ivf',
  frames: [0, 1, 2].map((i) => ({ index: i, header: { showExistingFrame: false, width: 16, height: 16 }, outputIndex: i })),
  // frameIndex points past `frames`: a failing vector gets no header summary (this test is not about the inspector)
  output: [0, 1, 2].map((i) => ({ index: i, frameIndex: 100 + i, width: 16, height: 16, bitDepth: 8, subsamplingX: 1, subsamplingY: 1 })),
  features: ['profile-0'],
} as unknown as InspectResult;

async function reference(name: string): Promise<ReferenceSet> {
  const fr = await Promise.all(
    frames.map(async (f, i) => ({ index: i, width: 16, height: 16, bitDepth: 8, pixelFormat: 'yuv420p', i420: await digestFrame(f), nv12: null })),
  );
  return { vector: name, vectorSha256: '', decoder: 'libvpx test', command: '', frames: fr, md5: 'f'.repeat(32), bytes: 0, crossCheck: null };
}

let root: string | undefined;
afterEach(async () => {
  await closeTargets();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('plug-ins', () => {
  it('a board kind and a decoder backend registered by a test run through the real board and decode stages', async () => {
    const plugins = builtinPlugins();
    plugins.providers.register(fakeBoardKind);
    plugins.decoders.register(fakeDecoderBackend);
    const real = realStages({ plugins, runner: new ExecaRunner() });
    const fake = fakeStages({ board: 'sim0', delayMs: 1 });
    const planned: PlannedVector[] = [];
    for (const name of ['good', 'bad-frame-1'])
      planned.push({ name, suite: 'fake', features: [], file: `/nonexistent/${name}.ivf`, expectedMd5: null, inspect, reference: await reference(name) });
    fakeOutput.set('good', frames);
    fakeOutput.set('bad-frame-1', [frames[0]!, Buffer.alloc(frameBytes(g), 0x7f), frames[2]!]);
    // the kernel build, static checks, deploy and plan are not about board kinds: fakes
    const stages: IterateStages = {
      ...real,
      build: fake.build,
      check: fake.check,
      deploy: fake.deploy,
      plan: async () => ({ suite: 'fake', vectors: planned, reference: { name: 'libvpx vpxdec', version: 'test' } }),
    };
    root = mkdtempSync(join(tmpdir(), 'wb-plugins-'));
    const res = await runIterate({ stages, bus: new EventBus(), command: 'workbench iterate --board sim0', reportsRoot: root, board: 'sim0' });
    const r = res.record;
    expect(r.board).toMatchObject({
      name: 'sim0',
      kind: 'board',
      kernelRelease: '7.2.0-fake-arm64',
      device: { driver: 'fakedrv', media: '/dev/media7', video: '/dev/video7' },
      pixelsDecoded: true,
    });
    expect(r.decoder).toEqual({ name: 'fakecodec', version: '9.9', detail: 'fakedec' });
    expect(r.stages.find((s) => s.name === 'board')?.commands).toEqual(['fake-sim start']);
    const [good, bad] = r.vectors;
    expect(good!.verdict.result).toBe('pass');
    expect(Object.fromEntries(good!.verdict.checks.map((c) => [c.check, c.status]))).toEqual({
      pixels: 'pass',
      controls: 'not-run',
      bitstream: 'not-run',
      'frame-count': 'pass',
      registers: 'not-run',
    });
    expect(good!.device).toEqual({ media: '/dev/media7', video: '/dev/video7', driver: 'fakedrv' });
    expect(bad!.verdict).toMatchObject({ result: 'fail', firstBadFrame: 1, mismatchingFrames: 1 });
    expect(res.exitCode).toBe(1);
    expect(r.irq.available).toBe(true); // the IRQ check was chosen for the fake driver and set up on the fake board
    // the decode reached the fake board: lock, marker and kernel log per vector
    const cmds = fakeTargets.get('sim0')!.commands.map((c) => c.join(' '));
    expect(cmds.filter((c) => c.includes('/dev/kmsg')).length).toBe(2);
  });
});
