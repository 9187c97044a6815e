import type { ExpectedFrame } from '../../compare/frameCompare.ts';
import type { InspectResult } from '../../vectors/inspect.ts';
import type { ReferenceSet } from '../../vectors/references.ts';

/** What the frame stream of a vector is compared with. */

/** Reference frames as the comparer wants them (I420 hashes, geometry). */
export function expectedFromReference(ref: ReferenceSet): ExpectedFrame[] {
  return ref.frames.map((f) => {
    const m = /^yuv4(\d\d)p/.exec(f.pixelFormat);
    const sub = m?.[1] === '44' ? [0, 0] : m?.[1] === '22' ? [1, 0] : m?.[1] === '40' ? [0, 1] : [1, 1];
    return {
      geometry: { width: f.width, height: f.height, bitDepth: f.bitDepth, subsamplingX: sub[0] as 0 | 1, subsamplingY: sub[1] as 0 | 1 },
      hashes: { xxh64: f.i420.xxh64, sha256: f.i420.sha256 },
    };
  });
}

/** Output geometry from the inspector, without hashes (visl mode: count and split only). */
export function expectedFromInspect(info: InspectResult): ExpectedFrame[] {
  return info.output.map((o) => ({
    geometry: { width: o.width, height: o.height, bitDepth: o.bitDepth, subsamplingX: o.subsamplingX, subsamplingY: o.subsamplingY },
    hashes: {},
  }));
}

/**
 * Output-order index of the first output frame that depends on decode-order
 * frame `decodeIndex` of the frames the driver received (show-existing frames
 * excluded): the frame's own output index when it is shown, else the next
 * shown frame in decode order (a hidden frame shows up through later frames).
 */
export function outputIndexForDecoded(
  frames: readonly Pick<InspectResult['frames'][number], 'header' | 'outputIndex'>[] | undefined,
  decodeIndex: number,
): number | undefined {
  if (!frames) return undefined;
  let di = -1;
  let found = false;
  for (const f of frames) {
    if (!found && !f.header.showExistingFrame) {
      di++;
      if (di === decodeIndex) found = true;
    }
    if (found && f.outputIndex !== null) return f.outputIndex;
  }
  return undefined;
}
