import type { InspectResult } from '../../vectors/inspect.ts';
import { BITSTREAM_DIR } from '../visl/session.ts';
import { checkBitstream, type BitstreamCheckResult } from '../visl/bitstreamCheck.ts';
import type { CheckJudgement, VectorCheck, VectorRun } from './check.ts';
import { outputIndexForDecoded } from './expected.ts';
import { isVislBoard, VISL, vislCollected, vislPayloads, vislPrepared } from './visl.ts';

/** The bitstream check's judgement: visl's debugfs copy of every frame against the input frames. */
export function judgeBitstream(b: BitstreamCheckResult | undefined, frames: InspectResult['frames'] | undefined): CheckJudgement {
  if (!b) return { results: [{ check: 'bitstream', status: 'not-run', detail: 'no dumps collected' }] };
  if (b.pass) {
    return {
      results: [{ check: 'bitstream', status: 'pass', detail: `${b.framesCompared} debugfs dumps equal the input frames (superframes split)` }],
      amend: [{ check: 'frame-count', suffix: '; decode order confirmed by the bitstream dump sequence' }],
    };
  }
  const m = b.mismatches[0];
  const bad: number[] = [];
  for (const x of b.mismatches) {
    const o = outputIndexForDecoded(frames, x.decodeIndex);
    if (o !== undefined) bad.push(o);
  }
  return {
    results: [
      {
        check: 'bitstream',
        status: 'fail',
        detail:
          `${b.mismatches.length} frames differ or are missing` +
          (b.extraDumps.length ? `, ${b.extraDumps.length} extra dumps` : '') +
          (m ? `; first: decode frame ${m.decodeIndex} ${m.problem}: expected ${m.expected} got ${m.got}` : ''),
      },
    ],
    badFrames: bad,
  };
}

const KEY = `${VISL}-bitstream`;

/** The bitstream comparison of a decoded vector (from {@link VectorRun.shared} or an outcome's `details`), when the check ran. */
export function vislBitstreamResult(details: ReadonlyMap<string, unknown>): BitstreamCheckResult | undefined {
  return details.get(KEY) as BitstreamCheckResult | undefined;
}

const bitstreamOf = (v: VectorRun) => vislBitstreamResult(v.shared);

/**
 * visl-bitstream (a visl board): the driver's copy of each frame (visl's
 * debugfs bitstream dumps) equals the input frame, superframes split; the
 * dump sequence also confirms the decode order.
 */
export const vislBitstreamCheck: VectorCheck = {
  name: 'visl-bitstream',
  appliesTo: isVislBoard,
  absentDetail: { bitstream: 'visl mode only' },
  prepare: vislPrepared,
  background: (v) => void vislPayloads(v),
  async collect(v) {
    const c = await vislCollected(v);
    if (c.dumpsAvailable) v.shared.set(KEY, checkBitstream(await vislPayloads(v), c.dumps));
    else v.notes.push(`visl bitstream dumps unavailable (no ${BITSTREAM_DIR})`);
  },
  judge: (v) => judgeBitstream(bitstreamOf(v), v.inspect.frames),
};
