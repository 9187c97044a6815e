import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { WorkbenchError } from '../core/errors.ts';
import { demux, type Demuxed } from './container/index.ts';
import { parseUncompressedHeader, Vp9HeaderState } from './vp9/header.ts';
import { splitSuperframe, type SuperframeIndex } from './vp9/superframe.ts';
import type { FrameInfo, OutputFrameGeometry } from '../model/frame.ts';
import { detectFeatures, type FeatureId } from './features.ts';

export type { FrameInfo, OutputFrameGeometry };

/** Result of {@link inspectFile} / {@link inspectBuffer}. */
export interface InspectResult {
  /** File name (basename). */
  file: string;
  container: Demuxed['container'];
  codec: string;
  /** Size declared by the container. */
  width: number;
  height: number;
  /** Number of container packets. */
  packets: number;
  /** Superframe indexes by packet index (only packets that have one). */
  superframes: { packetIndex: number; index: SuperframeIndex }[];
  /** Every decodable frame in decode order. */
  frames: FrameInfo[];
  /** The frames a conforming decoder outputs, in order. */
  output: OutputFrameGeometry[];
  /** VP9 features the stream exercises (see features.ts). */
  features: FeatureId[];
}

/** Options of {@link inspectBuffer}. */
export interface InspectOptions {
  /** Keep each frame's syntax element trace (bit offsets). Default false. */
  trace?: boolean;
}

/**
 * Inspects a VP9 stream in an IVF or WebM buffer: demux, superframe split
 * (Annex B), uncompressed header of every frame (spec 6.2), output frame
 * geometry and the feature summary.
 *
 * @throws WorkbenchError from the demuxers (`E_IVF_TRUNCATED` names the
 *   frame and its offset), `E_VP9_SUPERFRAME`, `E_VP9_SYNTAX`,
 *   `E_VP9_TRUNCATED` (each names the packet, frame and file offset).
 */
export function inspectBuffer(buf: Uint8Array, name = 'file', opts: InspectOptions = {}): InspectResult {
  const dm = demux(buf, name);
  const state = new Vp9HeaderState();
  const frames: FrameInfo[] = [];
  const output: OutputFrameGeometry[] = [];
  const superframes: InspectResult['superframes'] = [];
  for (const p of dm.packets) {
    const split = splitSuperframe(p.data, `${name} packet ${p.index} (offset ${p.offset})`);
    if (split.index) superframes.push({ packetIndex: p.index, index: split.index });
    split.frames.forEach((cf, k) => {
      const offset = p.offset + cf.offset;
      const what = `${name} frame ${frames.length} (packet ${p.index}, offset ${offset})`;
      const { header, trace } = parseUncompressedHeader(p.data.subarray(cf.offset, cf.offset + cf.size), state, what);
      const shown = header.showExistingFrame || header.showFrame;
      const fi: FrameInfo = {
        index: frames.length,
        packetIndex: p.index,
        indexInPacket: k,
        framesInPacket: split.frames.length,
        offset,
        size: cf.size,
        pts: p.pts,
        header,
        outputIndex: shown ? output.length : null,
        ...(opts.trace ? { trace } : {}),
      };
      frames.push(fi);
      if (shown) {
        output.push({
          index: output.length,
          frameIndex: fi.index,
          width: header.width,
          height: header.height,
          bitDepth: header.color.bitDepth,
          subsamplingX: header.color.subsamplingX,
          subsamplingY: header.color.subsamplingY,
        });
      }
    });
  }
  return {
    file: name,
    container: dm.container,
    codec: dm.codec,
    width: dm.width,
    height: dm.height,
    packets: dm.packets.length,
    superframes,
    frames,
    output,
    features: detectFeatures(frames, superframes.length),
  };
}

/**
 * Reads and inspects a vector file; see {@link inspectBuffer}.
 * @throws WorkbenchError `E_VECTOR_READ` when the file cannot be read.
 */
export async function inspectFile(path: string, opts: InspectOptions = {}): Promise<InspectResult> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new WorkbenchError('E_VECTOR_READ', `cannot read ${path}: ${(e as Error).message}`, {
      hint: 'check the path; suite vectors are fetched with `workbench vectors fetch SUITE`',
      cause: e,
    });
  }
  return inspectBuffer(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), basename(path), opts);
}
