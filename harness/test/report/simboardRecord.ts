import { completeChecks } from '../../src/model/verdict.ts';
import type { RunRecord, VectorResult } from '../../src/model/record.ts';
import type { RegisterFrames } from '../../src/model/captures.ts';
import { summarizeCapture } from '../../src/registers/captureSummary.ts';
import { summarizeSimulatedIrq } from '../../src/irq/summary.ts';
import { CAPTURE_FILE, captureText, fixtureTables } from '../registers/simboardFixture.ts';
import { HOSTILE, sampleRecord } from './sampleRecord.ts';

export const VECTOR = 'p0-intra-only';
export const CAPTURE_PATH = `artifacts/${VECTOR}/registers-capture.jsonl`;
export const FRAMES_PATH = `artifacts/${VECTOR}/registers-frames.json`;

/**
 * A simboard run record around the real fixture (registers/simboardFixture.ts):
 * one vector with its capture summary and the artifacts the registers check
 * writes; `files` are the artifact contents (relative path -> bytes). With
 * `hostile`, a frame table row carries HOSTILE as its field name.
 */
export function simboardRecord(opts: { hostile?: boolean } = {}): { record: RunRecord; files: Record<string, Buffer> } {
  const captures = summarizeCapture(captureText(), CAPTURE_FILE, 59, 3, CAPTURE_PATH);
  const { tables } = fixtureTables();
  if (opts.hostile) tables[0]!.rows.push({ reg: 999, field: HOSTILE, kind: 'value', mpp: HOSTILE, series: 0, state: 'differs' });
  const frames: RegisterFrames = { format: 1, frames: tables };
  const base = sampleRecord();
  const vector: VectorResult = {
    name: VECTOR,
    suite: 'vp9-features',
    features: ['intra-only'],
    verdict: {
      result: 'fail',
      checks: completeChecks([
        { check: 'frame-count', status: 'pass' },
        { check: 'registers', status: 'fail', detail: '0/3 frames equal to MPP' },
      ]),
      firstBadFrame: 0,
      mismatchingFrames: 3,
      framesExpected: 3,
      framesProduced: 3,
    },
    md5: { expected: null, actual: null },
    durationMs: 13700,
    captures,
    kernelLog: [],
    artifacts: [
      { kind: 'log', path: CAPTURE_PATH, description: "the device model's capture lines of this vector" },
      { kind: 'other', path: FRAMES_PATH, description: 'per-frame register tables' },
    ],
  };
  const record: RunRecord = {
    ...base,
    board: {
      name: 'simboard',
      kind: 'simboard',
      kernelRelease: '7.2.13+deb14-arm64',
      device: { driver: 'rkvdec', media: '/dev/media0' },
      pixelsDecoded: false,
    },
    suite: { name: 'vp9-features', vectors: [VECTOR] },
    counts: { total: 1, ran: 1, notRun: 0, pass: 0, fail: 1, timeout: 0, error: 0, 'not-supported': 0, crash: 0 },
    vectors: [vector],
    irq: { ...base.irq, simulated: summarizeSimulatedIrq([captures])! },
  };
  return { record, files: { [CAPTURE_PATH]: Buffer.from(captureText()), [FRAMES_PATH]: Buffer.from(JSON.stringify(frames)) } };
}
