import { WorkbenchError } from '../../core/errors.ts';
import type { Demuxed, Packet } from './types.ts';

/** IVF file header size in bytes (signature DKIF, version 0). */
export const IVF_HEADER_SIZE = 32;
/** IVF frame header: 4-byte little-endian size + 8-byte little-endian pts. */
export const IVF_FRAME_HEADER_SIZE = 12;

/** True when `buf` starts with the IVF signature `DKIF`. */
export function isIvf(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x44 && buf[1] === 0x4b && buf[2] === 0x49 && buf[3] === 0x46;
}

/**
 * Demuxes an IVF file (the libvpx test container: 32-byte file header
 * `DKIF`, version, header size, fourcc, width, height, timebase den/num,
 * frame count; then per frame a 12-byte header with the payload size and a
 * 64-bit pts).
 *
 * @param name file name used in error messages
 * @throws WorkbenchError `E_IVF` for a bad signature/header and
 *   `E_IVF_TRUNCATED` when a frame header or payload runs past the end of
 *   the file (the message names the frame number and its byte offset).
 */
export function demuxIvf(buf: Uint8Array, name = 'file'): Demuxed {
  if (!isIvf(buf)) {
    throw new WorkbenchError('E_IVF', `${name}: not an IVF file (no DKIF signature)`, { hint: 'pass an .ivf or .webm file' });
  }
  if (buf.length < IVF_HEADER_SIZE) {
    throw new WorkbenchError('E_IVF_TRUNCATED', `${name}: IVF file header is ${buf.length} bytes, needs ${IVF_HEADER_SIZE}`, {
      hint: 'the file is truncated; fetch or generate it again',
    });
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = dv.getUint16(4, true);
  const headerSize = dv.getUint16(6, true);
  if (version !== 0 || headerSize < IVF_HEADER_SIZE || headerSize > buf.length) {
    throw new WorkbenchError('E_IVF', `${name}: unsupported IVF header (version ${version}, header size ${headerSize})`, {
      hint: 'only IVF version 0 with a 32-byte header is known',
    });
  }
  const codec = String.fromCharCode(buf[8]!, buf[9]!, buf[10]!, buf[11]!);
  const width = dv.getUint16(12, true);
  const height = dv.getUint16(14, true);
  const den = dv.getUint32(16, true);
  const num = dv.getUint32(20, true);
  const packets: Packet[] = [];
  let off = headerSize;
  while (off < buf.length) {
    const index = packets.length;
    if (off + IVF_FRAME_HEADER_SIZE > buf.length) {
      throw new WorkbenchError(
        'E_IVF_TRUNCATED',
        `${name}: truncated IVF: frame ${index} header at offset ${off} needs ${IVF_FRAME_HEADER_SIZE} bytes, only ${buf.length - off} remain`,
        { hint: 'the file is truncated; fetch or generate it again (frames before this one are intact)' },
      );
    }
    const size = dv.getUint32(off, true);
    const pts = Number(dv.getBigUint64(off + 4, true));
    const payload = off + IVF_FRAME_HEADER_SIZE;
    if (payload + size > buf.length) {
      throw new WorkbenchError(
        'E_IVF_TRUNCATED',
        `${name}: truncated IVF: frame ${index} at offset ${off} declares ${size} bytes of payload (from offset ${payload}), only ${buf.length - payload} remain`,
        { hint: 'the file is truncated; fetch or generate it again (frames before this one are intact)' },
      );
    }
    packets.push({ index, offset: payload, size, pts, data: buf.subarray(payload, payload + size) });
    off = payload + size;
  }
  return { container: 'ivf', codec, width, height, timebase: { num, den }, packets };
}

/**
 * Writes an IVF file from packets (used by the vector generator when it
 * rewrites a stream, and by tests).
 */
export function muxIvf(
  packets: { data: Uint8Array; pts: number }[],
  opts: { width: number; height: number; fourcc?: string; timebase?: { num: number; den: number } },
): Uint8Array {
  const total = IVF_HEADER_SIZE + packets.reduce((a, p) => a + IVF_FRAME_HEADER_SIZE + p.data.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set([0x44, 0x4b, 0x49, 0x46], 0);
  dv.setUint16(4, 0, true);
  dv.setUint16(6, IVF_HEADER_SIZE, true);
  const fourcc = opts.fourcc ?? 'VP90';
  for (let i = 0; i < 4; i++) out[8 + i] = fourcc.charCodeAt(i);
  dv.setUint16(12, opts.width, true);
  dv.setUint16(14, opts.height, true);
  dv.setUint32(16, opts.timebase?.den ?? 30, true);
  dv.setUint32(20, opts.timebase?.num ?? 1, true);
  dv.setUint32(24, packets.length, true);
  let off = IVF_HEADER_SIZE;
  for (const p of packets) {
    dv.setUint32(off, p.data.length, true);
    dv.setBigUint64(off + 4, BigInt(p.pts), true);
    out.set(p.data, off + IVF_FRAME_HEADER_SIZE);
    off += IVF_FRAME_HEADER_SIZE + p.data.length;
  }
  return out;
}
