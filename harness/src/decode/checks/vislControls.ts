import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InspectResult } from '../../vectors/inspect.ts';
import { checkControls, type ControlsCheckResult } from '../visl/controlsCheck.ts';
import { vp9FrameEvents } from '../visl/vp9FrameTrace.ts';
import type { KernelLogSlice } from '../../irq/kernelLog.ts';
import type { CheckJudgement, Conclusion, VectorCheck, VectorRun } from './check.ts';
import { outputIndexForDecoded } from './expected.ts';
import { isVislBoard, NO_IRQ_ON_VISL, PIXELS_NOT_VERIFIED, VISL, vislCollected, vislPrepared } from './visl.ts';

/** `; the next frame (decode order N) changes the size 640x360 -> 320x180 on an inter frame` when it does. */
function resizeNote(info: InspectResult, decodeIndex: number): string {
  const decoded = info.frames.filter((f) => !f.header.showExistingFrame);
  const f = decoded[decodeIndex];
  const prev = decoded[decodeIndex - 1];
  if (!f || !prev) return '';
  const h = f.header;
  if (h.width === prev.header.width && h.height === prev.header.height) return '';
  const kind = h.frameType === 'key' ? 'a key frame' : h.intraOnly ? 'an intra-only frame' : 'an inter frame';
  return `; the next frame (decode order ${decodeIndex}) changes the size ${prev.header.width}x${prev.header.height} -> ${h.width}x${h.height} on ${kind}`;
}

/**
 * The controls check's judgement: every traced `v4l2_ctrl_vp9_frame` against
 * the inspector's parse; a reload of visl inside the vector's kernel-log
 * slice (someone else's) makes the checks untrustworthy (error).
 */
export function judgeControls(
  c: ControlsCheckResult | undefined,
  frames: InspectResult['frames'] | undefined,
  info?: InspectResult,
  slice?: KernelLogSlice,
): CheckJudgement {
  const j: CheckJudgement = { passSuffix: '; pixels NOT verified (visl)' };
  if (!c) {
    j.results = [{ check: 'controls', status: 'not-run', detail: 'no trace collected' }];
    return j;
  }
  if (c.pass) {
    j.results = [
      {
        check: 'controls',
        status: 'pass',
        detail: `${c.framesCompared} v4l2_ctrl_vp9_frame records, ${c.fieldsCompared} fields equal the inspector; not compared: ${c.notCompared.join('; ')}`,
      },
    ];
  } else {
    const m = c.mismatches[0];
    const count = c.framesTraced !== c.framesExpected ? `${c.framesTraced} records traced, ${c.framesExpected} expected; ` : '';
    j.results = [
      {
        check: 'controls',
        status: 'fail',
        detail:
          `${count}${c.mismatches.length} field mismatches` +
          (m ? `; first: decode frame ${m.decodeIndex} ${m.field} expected ${m.expected} got ${m.got}` : ''),
      },
    ];
  }
  const bad: number[] = [];
  for (const m of c.mismatches) {
    const o = outputIndexForDecoded(frames, m.decodeIndex);
    if (o !== undefined) bad.push(o);
  }
  const conclusions: Conclusion[] = [];
  if (c.framesTraced < c.framesExpected) {
    const o = outputIndexForDecoded(frames, c.framesTraced);
    if (o !== undefined) bad.push(o);
    conclusions.push({
      kind: 'not-supported-detail',
      message: `; ${c.framesTraced} of ${c.framesExpected} frames reached the driver` + (info ? resizeNote(info, c.framesTraced) : ''),
    });
  }
  // Our reload happened before the marker; one inside the slice was someone else's.
  const reload = slice?.lines.find((l) => /\bvisl\b.*(Removing visl|Device registered as)/.test(l.text));
  if (reload)
    conclusions.push({
      kind: 'error',
      message: `visl was reloaded while this vector decoded (another user of the board?): "${reload.text}"; the controls and bitstream checks cannot be trusted`,
    });
  j.badFrames = bad;
  j.conclusions = conclusions;
  return j;
}

const KEY = `${VISL}-controls`;

/** The controls comparison of a decoded vector (from {@link VectorRun.shared} or an outcome's `details`), when the check ran. */
export function vislControlsResult(details: ReadonlyMap<string, unknown>): ControlsCheckResult | undefined {
  return details.get(KEY) as ControlsCheckResult | undefined;
}

const controlsOf = (v: VectorRun) => vislControlsResult(v.shared);

/**
 * visl-controls (a visl board): the VP9 frame controls the driver received,
 * from visl's trace event, field by field against the inspector. visl draws
 * a test pattern: on such a board pixels are not verified and there is no
 * vdpu381 interrupt.
 */
export const vislControlsCheck: VectorCheck = {
  name: 'visl-controls',
  appliesTo: isVislBoard,
  excludes: { pixels: PIXELS_NOT_VERIFIED, irq: NO_IRQ_ON_VISL },
  absentDetail: { controls: 'visl mode only' },
  prepare: vislPrepared,
  async collect(v) {
    const c = await vislCollected(v);
    v.shared.set(KEY, checkControls(v.inspect.frames, vp9FrameEvents(c.trace.events)));
  },
  judge: (v) => judgeControls(controlsOf(v), v.inspect.frames, v.inspect, v.kernelLog),
  async report(v, verdict) {
    const controls = controlsOf(v);
    if (verdict.result !== 'fail' || !v.artifactsDir || !controls || controls.pass) return;
    const c = await vislCollected(v);
    await mkdir(v.artifactsDir, { recursive: true });
    const p = join(v.artifactsDir, 'visl-trace.txt');
    const mism = controls.mismatches
      .slice(0, 200)
      .map((m) => `decode ${m.decodeIndex} (split ${m.splitIndex}) ${m.field}: expected ${m.expected} got ${m.got}`);
    await writeFile(p, ['# controls mismatches', ...mism, '', '# trace', c.traceText].join('\n'));
    v.artifacts.push({ kind: 'log', path: v.relative(p), description: 'visl trace and control mismatches' });
  },
};
