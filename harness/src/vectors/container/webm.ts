import { Decoder, tools, type EBMLElementDetail } from 'ts-ebml';
import { WorkbenchError } from '../../core/errors.ts';
import type { Demuxed, Packet } from './types.ts';

/** True when `buf` starts with the EBML magic 0x1A45DFA3 (Matroska/WebM). */
export function isWebm(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x1a && buf[1] === 0x45 && buf[2] === 0xdf && buf[3] === 0xa3;
}

interface Track {
  number: number;
  codec: string;
  width: number;
  height: number;
}

/**
 * Demuxes the first VP9 video track (CodecID `V_VP9`) of a WebM/Matroska
 * file with ts-ebml (EBML element walk with offsets), taking the payloads of
 * SimpleBlock and BlockGroup/Block elements (lacing handled by ts-ebml's
 * block parser). Payload offsets are file offsets.
 *
 * @throws WorkbenchError `E_WEBM` when the EBML cannot be parsed or no VP9
 *   track exists, `E_WEBM_TRUNCATED` when an element runs past the end of
 *   the file (names the element and its offset).
 */
export function demuxWebm(buf: Uint8Array, name = 'file'): Demuxed {
  let els: EBMLElementDetail[];
  try {
    els = new Decoder().decode(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength) as unknown as ArrayBuffer) as EBMLElementDetail[];
  } catch (e) {
    throw new WorkbenchError('E_WEBM', `${name}: cannot parse EBML: ${(e as Error).message}`, {
      hint: 'the file is not a valid WebM/Matroska file',
      cause: e,
    });
  }
  const tracks: Track[] = [];
  let cur: Partial<Track> | null = null;
  let timestampScale = 1_000_000;
  let clusterTs = 0;
  const blocks: { el: EBMLElementDetail; clusterTs: number }[] = [];
  let cut: { el: string; at: number; end: number } | null = null;
  let lastEnd = 0;
  for (const el of els) {
    const d = el as EBMLElementDetail & { value?: unknown; isEnd?: boolean };
    if (typeof d.dataEnd === 'number' && d.dataEnd > buf.length && !(d.type === 'm' && (d.isEnd || (d as { unknownSize?: boolean }).unknownSize))) {
      cut ??= { el: d.name, at: d.tagStart, end: d.dataEnd };
    }
    const complete = d.type !== 'm' || (d.isEnd && !(d as { unknownSize?: boolean }).unknownSize);
    if (complete && typeof d.dataEnd === 'number' && d.dataEnd <= buf.length) lastEnd = Math.max(lastEnd, d.dataEnd);
    switch (d.name) {
      case 'TrackEntry':
        if (!d.isEnd) cur = {};
        else if (cur) {
          tracks.push({ number: cur.number ?? 0, codec: cur.codec ?? '', width: cur.width ?? 0, height: cur.height ?? 0 });
          cur = null;
        }
        break;
      case 'TrackNumber':
        if (cur) cur.number = Number(d.value);
        break;
      case 'CodecID':
        if (cur) cur.codec = String(d.value);
        break;
      case 'PixelWidth':
        if (cur) cur.width = Number(d.value);
        break;
      case 'PixelHeight':
        if (cur) cur.height = Number(d.value);
        break;
      case 'TimestampScale':
      case 'TimecodeScale':
        timestampScale = Number(d.value);
        break;
      case 'Timestamp':
      case 'Timecode':
        clusterTs = Number(d.value);
        break;
      case 'SimpleBlock':
      case 'Block':
        blocks.push({ el: d, clusterTs });
        break;
    }
  }
  // Unknown-size clusters (live WebM, vpxenc -D): the decoder just stops at
  // a partial element, so bytes after the last complete element mean truncation.
  if (!cut && lastEnd < buf.length) cut = { el: 'element', at: lastEnd, end: -1 };
  if (cut) {
    throw new WorkbenchError(
      'E_WEBM_TRUNCATED',
      cut.end < 0
        ? `${name}: truncated WebM: the element at offset ${cut.at} is incomplete (the ${buf.length}-byte file ends ${buf.length - cut.at} bytes into it; ${blocks.length} complete blocks before it)`
        : `${name}: truncated WebM: ${cut.el} element at offset ${cut.at} ends at ${cut.end}, past the end of the ${buf.length}-byte file; the last complete element ends at offset ${lastEnd} (${blocks.length} blocks before it)`,
      { hint: 'the file is truncated; fetch or generate it again' },
    );
  }
  const track = tracks.find((t) => t.codec === 'V_VP9');
  if (!track) {
    throw new WorkbenchError(
      'E_WEBM',
      `${name}: no VP9 video track (CodecID V_VP9); tracks: ${tracks.map((t) => `${t.number}:${t.codec}`).join(', ') || 'none'}`,
      {
        hint: 'the workbench inspects VP9 streams only',
      },
    );
  }
  const packets: Packet[] = [];
  for (const { el, clusterTs: cts } of blocks) {
    const data = (el as unknown as { data: Buffer }).data;
    let blk;
    try {
      blk = tools.ebmlBlock(data);
    } catch (e) {
      throw new WorkbenchError('E_WEBM', `${name}: cannot parse the ${el.name} at offset ${el.tagStart}: ${(e as Error).message}`, { cause: e });
    }
    if (blk.trackNumber !== track.number) continue;
    let end = el.dataEnd;
    const starts: number[] = [];
    for (let i = blk.frames.length - 1; i >= 0; i--) {
      end -= blk.frames[i]!.length;
      starts.unshift(end);
    }
    blk.frames.forEach((f, i) => {
      const offset = starts[i]!;
      packets.push({ index: packets.length, offset, size: f.length, pts: cts + blk.timecode, data: buf.subarray(offset, offset + f.length) });
    });
  }
  return {
    container: 'webm',
    codec: track.codec,
    width: track.width,
    height: track.height,
    timebase: { num: timestampScale, den: 1_000_000_000 },
    packets,
  };
}
