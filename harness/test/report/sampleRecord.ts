/**
 * A run record with one vector of every verdict, hostile strings (HTML, XML
 * control characters, a token), IRQ data and kernel-log findings, for the
 * report writer tests.
 */
import { PNG } from 'pngjs';
import type { RunRecord, VectorResult } from '../../src/model/record.ts';
import { completeChecks } from '../../src/model/verdict.ts';
import { irqVectorSummary, summarizeIrq } from '../../src/irq/summary.ts';
import { countVerdicts, runChecks } from '../../src/report/summarize.ts';

const A = 'a'.repeat(64);
const md5a = '0123456789abcdef0123456789abcdef';
const md5b = 'fedcba9876543210fedcba9876543210';

/** The string that must never appear in any report. */
export const SECRET = 'sekrit-TOKEN-123';

/** A vector name that breaks any page that does not escape. */
export const HOSTILE = `vp90-2-<script>alert("x")</script>&'"`;

function v(name: string, features: string[], verdict: VectorResult['verdict'], extra: Partial<VectorResult> = {}): VectorResult {
  return {
    name,
    suite: 'vp9-features',
    features,
    verdict,
    md5: { expected: md5a, actual: verdict.result === 'pass' ? md5a : verdict.result === 'fail' ? md5b : null },
    durationMs: 1234,
    kernelLog: [],
    artifacts: [],
    ...extra,
  };
}

/** Builds the sample record; `overrides` replace top-level fields. */
export function sampleRecord(overrides: Partial<RunRecord> = {}): RunRecord {
  const visl = (status: 'pass' | 'fail') =>
    completeChecks([
      { check: 'controls', status },
      { check: 'bitstream', status: 'pass' },
      { check: 'frame-count', status: 'pass' },
      { check: 'pixels', status: 'not-run', detail: 'visl does not decode pixels' },
    ]);
  const vectors: VectorResult[] = [
    v(
      'vp90-2-00-quantizer-00',
      ['quantizer'],
      { result: 'pass', checks: visl('pass'), framesExpected: 10, framesProduced: 10 },
      {
        irq: irqVectorSummary([
          { status: 0x5, mode: 2 },
          { status: 0x5, mode: 2 },
        ]),
      },
    ),
    v(
      'vp90-2-08-tile-4x4',
      ['tiles'],
      {
        result: 'fail',
        checks: visl('fail'),
        firstBadFrame: 3,
        mismatchingFrames: 2,
        framesExpected: 10,
        framesProduced: 10,
        message: 'controls: lf.level 12 != 13',
      },
      {
        artifacts: [
          { kind: 'decoded', path: 'artifacts/vp90-2-08-tile-4x4/frame3-decoded.png', frame: 3 },
          { kind: 'diff', path: 'artifacts/vp90-2-08-tile-4x4/frame3-diff.png', frame: 3, description: 'x16' },
        ],
        header: 'frame 3: inter, 352x288, q 60, lf 13',
        irq: irqVectorSummary([
          { status: 0x5, mode: 2 },
          { status: 0x13, mode: 2 },
        ]),
      },
    ),
    v('vp90-2-02-size-08x08', ['odd-size'], { result: 'not-supported', checks: completeChecks([]), reason: 'VIDIOC_S_FMT: 8x8 below the 64x64 minimum' }),
    v('vp91-2-04-yuv444', ['profile1'], { result: 'timeout', checks: completeChecks([]), timeoutMs: 30000 }),
    v(HOSTILE, ['hostile'], { result: 'error', checks: completeChecks([]), message: `gst-launch exited 1: bad\u0001char token=${SECRET}` }),
    v(
      'vp90-2-22-svc',
      ['svc'],
      { result: 'crash', checks: completeChecks([]), message: 'Unable to handle kernel NULL pointer dereference' },
      {
        kernelLog: [
          {
            kind: 'oops',
            severity: 'crash',
            line: 'Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000',
            time: 12.5,
            context: ['Call trace:', ' visl_device_run+0x10/0x80 [visl]'],
            modules: ['visl'],
            vector: 'vp90-2-22-svc',
          },
        ],
      },
    ),
  ];
  const planned = [...vectors.map((x) => x.name), 'vp90-2-99-never-ran'];
  const board = {
    name: 'vboard',
    kind: 'vboard' as const,
    kernelRelease: '7.2.13+deb14-amd64',
    device: { driver: 'visl', media: '/dev/media0', video: '/dev/video0' },
    pixelsDecoded: false,
  };
  return {
    schema: 'vp9-workbench/run',
    schemaVersion: 1,
    runId: '20261114-101500-vboard-ab12',
    status: 'complete',
    startedAt: '2026-11-14T10:15:00.000Z',
    finishedAt: '2026-11-14T10:16:10.000Z',
    durationMs: 70000,
    exitCode: 1,
    command: `workbench iterate --board vboard`,
    workbench: { version: '0.1.0', gitCommit: 'abc123', gitDirty: false },
    kernel: {
      manifest: 'debian-sid-7.2',
      baseCommit: null,
      baseVersion: '7.2.13-1',
      series: {
        hash: A,
        changeId: '20261101-vdpu381-vp9-0123456789ab',
        patches: [{ file: '0001-media-rkvdec-add-vp9.patch', subject: 'media: rkvdec: Add VP9 <support>', sha256: A }],
      },
      modules: [
        { name: 'rockchip_vdec', path: '/tmp/rockchip-vdec.ko', vermagic: '7.2.13+deb14-amd64 SMP preempt mod_unload modversions', size: 123456, sha256: A },
      ],
      diagnostics: { errors: 0, warnings: 1 },
    },
    board,
    deploy: { id: 'd1', replaced: ['/lib/modules/x/visl.ko'], loaded: ['visl'], durationMs: 900 },
    decoder: { name: 'gstreamer', version: '1.28.0', detail: 'v4l2slvp9dec' },
    reference: { name: 'libvpx vpxdec', version: 'v1.15.0' },
    suite: { name: 'vp9-features', vectors: planned },
    stages: [
      { name: 'build', status: 'done', durationMs: 5000, commands: [`make -C /usr/src/linux M=$PWD modules`] },
      { name: 'deploy', status: 'done', durationMs: 900, commands: [`ssh -p 2222 root@localhost modprobe visl # Authorization: Token ${SECRET}`] },
      { name: 'decode', status: 'done', durationMs: 60000, commands: [] },
    ],
    checks: runChecks(vectors, board),
    counts: countVerdicts(vectors, planned.length),
    vectors,
    irq: summarizeIrq(vectors.map((x) => x.irq)),
    diagnostics: [
      {
        tool: 'gcc',
        file: 'drivers/media/platform/rockchip/rkvdec/rkvdec-vdpu381-vp9.c',
        line: 120,
        column: 7,
        severity: 'warning',
        message: "unused variable 'x' <b>",
        patch: '0003-media-rkvdec-add-a-VP9-backend.patch',
      },
    ],
    kernelLog: [
      { kind: 'taint', severity: 'info', line: 'visl: module verification failed: signature and/or required key missing - tainting kernel', stage: 'deploy' },
    ],
    ...overrides,
  };
}

/** A small valid PNG (w x h, colour ramp) written with pngjs, for artifact embedding tests. */
export function tinyPng(w = 32, h = 24): Buffer {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 4;
      png.data[o] = (x * 255) / w;
      png.data[o + 1] = (y * 255) / h;
      png.data[o + 2] = 128;
      png.data[o + 3] = 255;
    }
  return PNG.sync.write(png);
}
