/**
 * Fake iterate stages for unit tests and the TUI test (never used by
 * `workbench iterate` itself). Each stage waits `delayMs` (abortably),
 * records commands, and the decode stage returns the verdicts it was given.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkbenchError } from '../../src/core/errors.ts';
import type { IterateStages, PlannedVector } from '../../src/pipeline/stages.ts';
import type { StageContext } from '../../src/pipeline/graph.ts';
import type { Verdict } from '../../src/model/verdict.ts';
import type { VectorResult } from '../../src/model/record.ts';
import { completeChecks } from '../../src/model/verdict.ts';

const SHA = 'b'.repeat(64);
const MD5 = '0123456789abcdef0123456789abcdef';

/** Waits `ms`, rejecting with E_ABORTED when the stage is aborted. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new WorkbenchError('E_ABORTED', 'aborted'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new WorkbenchError('E_ABORTED', 'aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Options of {@link fakeStages}. */
export interface FakeOptions {
  /** Vector name -> verdict kind (default: all pass). Order = run order. */
  vectors?: Record<string, Verdict['result']>;
  /** Per-stage delay, ms (default 5). */
  delayMs?: number;
  /** Per-vector decode time, ms (default 5). */
  vectorMs?: number;
  /** A stage that throws, and the error it throws. */
  fail?: { stage: 'board' | 'build' | 'check' | 'deploy' | 'plan' | 'decode'; error: WorkbenchError; afterVectors?: number };
  /** Board name reported (default vboard). */
  board?: string;
  /** Called with each stage's name when it starts. */
  onStage?: (name: string) => void;
  /** Called when the board session is closed. */
  onClose?: () => void;
}

function verdictOf(kind: Verdict['result']): Verdict {
  const checks = completeChecks([
    { check: 'controls', status: kind === 'fail' ? 'fail' : 'pass' },
    { check: 'bitstream', status: 'pass' },
    { check: 'frame-count', status: 'pass' },
    { check: 'pixels', status: 'not-run', detail: 'visl does not decode pixels' },
  ]);
  switch (kind) {
    case 'pass':
      return { result: 'pass', checks, framesExpected: 10, framesProduced: 10 };
    case 'fail':
      return {
        result: 'fail',
        checks,
        firstBadFrame: 3,
        mismatchingFrames: 1,
        framesExpected: 10,
        framesProduced: 10,
        message: 'controls: base_q_idx 60 != 61',
      };
    case 'timeout':
      return { result: 'timeout', checks: completeChecks([]), timeoutMs: 30000 };
    case 'error':
      return { result: 'error', checks: completeChecks([]), message: 'gst-launch-1.0 exited with 1' };
    case 'not-supported':
      return { result: 'not-supported', checks: completeChecks([]), reason: 'VIDIOC_S_FMT refused 8x8' };
    case 'crash':
      return { result: 'crash', checks: completeChecks([]), message: 'Unable to handle kernel NULL pointer dereference' };
  }
}

/** Fake {@link IterateStages}. */
export function fakeStages(o: FakeOptions = {}): IterateStages {
  const vectors = o.vectors ?? { 'vp90-2-00-quantizer-00': 'pass', 'vp90-2-03-size-226x226': 'pass' };
  const delay = o.delayMs ?? 5;
  const step = async (ctx: StageContext, name: NonNullable<FakeOptions['fail']>['stage']) => {
    o.onStage?.(name);
    ctx.command(['echo', name, 'step with "quotes"']);
    await sleep(delay, ctx.signal);
    if (o.fail?.stage === name && o.fail.afterVectors === undefined) throw o.fail.error;
  };
  let decoded = 0;
  return {
    async board(ctx) {
      await step(ctx, 'board');
      return {
        info: {
          name: o.board ?? 'vboard',
          kind: 'vboard',
          kernelRelease: '7.2.13+deb14-amd64',
          device: { driver: 'visl', media: '/dev/media0', video: '/dev/video0' },
          pixelsDecoded: false,
        },
        target: {} as never,
        decoder: { name: 'gstreamer', version: '1.28.0', detail: 'v4l2slvp9dec' },
        close: async () => o.onClose?.(),
      };
    },
    async build(ctx) {
      await step(ctx, 'build');
      return {
        kernel: {
          manifest: 'debian-sid-7.2',
          baseCommit: null,
          baseVersion: '7.2.13-1',
          series: { hash: SHA, patches: [{ file: '0001-fake.patch', subject: 'media: fake', sha256: SHA }] },
          modules: [{ name: 'visl', path: '/tmp/visl.ko', vermagic: '7.2.13+deb14-amd64 SMP', size: 1000, sha256: SHA }],
          diagnostics: { errors: 0, warnings: 0 },
        },
        modules: [{ name: 'visl', path: '/tmp/visl.ko', vermagic: '7.2.13+deb14-amd64 SMP', size: 1000, sha256: SHA }],
        diagnostics: [],
      };
    },
    async check(ctx) {
      await step(ctx, 'check');
      return {
        diagnostics: [{ tool: 'checkpatch', file: 'drivers/media/x.c', line: 3, severity: 'warning', message: 'line length of 81 exceeds 80 columns' }],
        ran: ['checkpatch'],
        skipped: [],
      };
    },
    async deploy(ctx) {
      await step(ctx, 'deploy');
      return { info: { id: 'd1', replaced: ['/lib/modules/7.2.13+deb14-amd64/updates/visl.ko'], loaded: ['visl'], durationMs: delay }, kernelLog: [] };
    },
    async plan(ctx) {
      await step(ctx, 'plan');
      const vs: PlannedVector[] = Object.keys(vectors).map((name) => ({
        name,
        suite: 'vp9-features',
        features: [name.split('-')[2] ?? 'misc'],
        file: `/tmp/${name}.ivf`,
        expectedMd5: MD5,
      }));
      return { suite: 'vp9-features', vectors: vs, reference: { name: 'libvpx vpxdec', version: 'v1.15.0' } };
    },
    async decodeVector(ctx, _s, _p, v, artifacts): Promise<VectorResult> {
      if (decoded === 0) o.onStage?.('decode');
      if (o.fail?.stage === 'decode' && decoded === (o.fail.afterVectors ?? 0)) throw o.fail.error;
      await sleep(o.vectorMs ?? 5, ctx.signal);
      decoded += 1;
      const kind = vectors[v.name] ?? 'pass';
      const art: VectorResult['artifacts'] = [];
      if (kind === 'fail') {
        const p = join(artifacts.dir(), 'frame3-header.txt');
        writeFileSync(p, 'frame 3 header');
        art.push({ kind: 'header', path: artifacts.relative(p), frame: 3 });
      }
      return {
        name: v.name,
        suite: v.suite,
        features: v.features,
        verdict: verdictOf(kind),
        md5: { expected: MD5, actual: null },
        durationMs: o.vectorMs ?? 5,
        command: `gst-launch-1.0 filesrc location=/tmp/${v.name}.ivf ! parsebin ! v4l2slvp9dec ! fakesink`,
        kernelLog: [],
        artifacts: art,
      };
    },
    irqUnavailableReason: () => 'the board uses visl, which has no vdpu381 interrupt',
  };
}
