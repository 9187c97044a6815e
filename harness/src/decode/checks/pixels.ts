import { isWorkbenchError } from '../../core/errors.ts';
import { writeMismatchArtifacts, type MismatchArtifacts } from '../../compare/artifacts.ts';
import type { CompareResult } from '../../compare/frameCompare.ts';
import { frameBytes } from '../../compare/geometry.ts';
import type { CheckJudgement, VectorCheck } from './check.ts';
import { expectedFromReference } from './expected.ts';
import { vpxdecFrame } from '../backends/vpxdecHost.ts';

const KEY = 'pixels-artifacts';

/** The mismatch artifacts the pixels check wrote for a vector (an outcome's `details`), if any. */
export function pixelsArtifacts(details: ReadonlyMap<string, unknown>): MismatchArtifacts | undefined {
  return details.get(KEY) as MismatchArtifacts | undefined;
}

/**
 * A Target whose decoder is not silicon says what the pixels come from
 * (the simboard with the vdpu381 model: "pixels verified against a
 * register-driven model of vdpu381, not silicon"); the pixels check's
 * detail carries it.
 */
export interface PixelsSourceTarget {
  pixelsSource(): string | undefined;
}

/** The target's {@link PixelsSourceTarget} text, if it has one. */
export function pixelsSourceOf(t: unknown): string | undefined {
  const f = (t as Partial<PixelsSourceTarget> | undefined)?.pixelsSource;
  return typeof f === 'function' ? f.call(t) : undefined;
}

/** {@link judgePixels} with the pixels' source appended to every detail ("...; pixels verified against ..."). */
export function judgePixelsFrom(c: CompareResult, source: string | undefined): CheckJudgement {
  const j = judgePixels(c);
  if (!source) return j;
  return { ...j, results: (j.results ?? []).map((r) => ({ ...r, detail: `${r.detail}; ${source}` })) };
}

/** Every decoded frame's hash against the libvpx reference's (compare/frameCompare.ts). */
export function judgePixels(c: CompareResult): CheckJudgement {
  if (!c.pixelsCompared) return { results: [{ check: 'pixels', status: 'not-run', detail: 'the reference has no per-frame hashes for this vector' }] };
  const bad = c.perFrame.filter((o) => o.problem === 'hash').length;
  if (bad === 0)
    return { results: [{ check: 'pixels', status: 'pass', detail: `${c.perFrame.filter((o) => o.match).length} frames identical to the reference` }] };
  const fm = c.firstMismatch?.outcome;
  return {
    results: [
      { check: 'pixels', status: 'fail', detail: `${bad} frames differ; first frame ${fm?.index}: ${fm?.algo} ${fm?.produced} expected ${fm?.expected}` },
    ],
  };
}

/**
 * The pixels check (a board whose driver decodes): frames compared with
 * the libvpx reference while they arrive; on a fail the first frame whose
 * pixels differ as decoded / reference / amplified-difference PNGs and its
 * header summary. That frame can come after the verdict's first bad frame
 * when another check found an earlier one (the registers check: a wrong
 * register in a frame that does not use it).
 */
export const pixelsCheck: VectorCheck = {
  name: 'pixels',
  verifiesPixels: true,
  appliesTo: (b) => b.decodesPixels !== false,
  absentDetail: {
    pixels: "the board's decoder writes no picture (the simboard without its vdpu381 model server records registers only: `workbench simboard up --model`)",
  },
  judge: (v) => judgePixelsFrom(v.decoded!.compare, pixelsSourceOf(v.target)),
  async report(v, verdict) {
    if (verdict.result !== 'fail' || !v.artifactsDir || !v.reference) return;
    const fm = v.decoded!.compare.firstMismatch;
    if (!fm || !fm.expectedGeometry) return;
    const bad = fm.outcome.index;
    const out = v.inspect.output[bad];
    const fi = out ? v.inspect.frames[out.frameIndex] : undefined;
    let reference: Buffer | undefined;
    let referenceMissing: string | undefined;
    try {
      if (v.referenceFrame) reference = await v.referenceFrame(bad, fm.expectedGeometry);
      else if (v.runner)
        reference = await vpxdecFrame(
          v.runner,
          v.vector.file,
          bad,
          expectedFromReference(v.reference).map((e) => frameBytes(e.geometry)),
        );
      else referenceMissing = 'no host runner to decode the reference frame';
    } catch (e) {
      referenceMissing = isWorkbenchError(e) ? e.message : String(e);
    }
    const a = await writeMismatchArtifacts({
      dir: v.artifactsDir,
      vector: v.vector.name,
      frameIndex: bad,
      geometry: fm.expectedGeometry,
      decoded: fm.produced,
      ...(reference ? { reference } : {}),
      ...(referenceMissing ? { referenceMissing } : {}),
      ...(fi ? { frameInfo: fi } : {}),
      notes: [
        `${fm.outcome.algo} produced ${fm.outcome.produced} expected ${fm.outcome.expected}`,
        ...(bad !== verdict.firstBadFrame
          ? [`the first frame whose pixels differ; the verdict's first bad frame is ${verdict.firstBadFrame}, found by another check`]
          : []),
      ],
    });
    v.shared.set(KEY, a);
    const rel = v.relative;
    v.artifacts.push({ kind: 'decoded', path: rel(a.decodedPng), frame: bad });
    if (a.referencePng) v.artifacts.push({ kind: 'reference', path: rel(a.referencePng), frame: bad });
    if (a.diffPng) v.artifacts.push({ kind: 'diff', path: rel(a.diffPng), frame: bad, description: 'amplified |decoded - reference|' });
    v.artifacts.push({ kind: 'header', path: rel(a.summaryTxt), frame: bad });
  },
};
