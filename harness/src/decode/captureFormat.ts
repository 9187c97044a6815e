import type { InspectResult } from '../vectors/inspect.ts';

/**
 * Can the CAPTURE format the decoder chose hold the stream's pictures?
 *
 * GStreamer's v4l2codecs logs the CAPTURE format it selected
 * (gstv4l2decoder.c `gst_v4l2_decoder_select_src_format`: "Selected format
 * NV12 ..." at GST_DEBUG level 4). A driver that offers only 8-bit 4:2:0
 * formats (visl: NV12, YU12) still accepts a 10-bit or 4:4:4 VP9 stream and
 * GStreamer then negotiates NV12: every request completes, but the frames
 * cannot be the stream's. That is the driver not supporting the stream, and
 * the verdict says so instead of counting truncated frames.
 */

/** Bit depth and chroma subsampling a CAPTURE format can carry. */
export interface FormatCaps {
  bitDepth: number;
  /** '420' | '422' | '444'. */
  chroma: '420' | '422' | '444';
}

/**
 * GStreamer video format names (and V4L2 fourccs) of decoder CAPTURE
 * formats, by what they can hold (gst-plugins-bad v4l2codecs gstv4l2format.c
 * maps V4L2 fourccs to these GStreamer names).
 */
const FORMATS: Record<string, FormatCaps> = {
  NV12: { bitDepth: 8, chroma: '420' },
  YU12: { bitDepth: 8, chroma: '420' },
  I420: { bitDepth: 8, chroma: '420' },
  NV12_4L4: { bitDepth: 8, chroma: '420' },
  NV12_32L32: { bitDepth: 8, chroma: '420' },
  NV12_16L32S: { bitDepth: 8, chroma: '420' },
  MM21: { bitDepth: 8, chroma: '420' },
  YUY2: { bitDepth: 8, chroma: '422' },
  NV16: { bitDepth: 8, chroma: '422' },
  NV24: { bitDepth: 8, chroma: '444' },
  P010: { bitDepth: 10, chroma: '420' },
  P010_10LE: { bitDepth: 10, chroma: '420' },
  NV15: { bitDepth: 10, chroma: '420' },
  NV12_10LE40: { bitDepth: 10, chroma: '420' },
  NV12_10LE40_4L4: { bitDepth: 10, chroma: '420' },
  MT2110T: { bitDepth: 10, chroma: '420' },
  MT2110R: { bitDepth: 10, chroma: '420' },
  NV20: { bitDepth: 10, chroma: '422' },
  NV16_10LE40: { bitDepth: 10, chroma: '422' },
};

/** CAPTURE formats GStreamer selected, in order, from its GST_DEBUG output. */
export function selectedCaptureFormats(stderr: string): string[] {
  const out: string[] = [];
  for (const m of stderr.matchAll(/select_src_format:<[^>]*> Selected format (\S+)/g)) out.push(m[1]!);
  return out;
}

/** What the stream needs: the largest bit depth and the chroma format of its output frames. */
export function streamNeeds(info: InspectResult): FormatCaps & { profile: number } {
  let bitDepth = 8;
  let chroma: FormatCaps['chroma'] = '420';
  let profile = 0;
  for (const o of info.output) {
    bitDepth = Math.max(bitDepth, o.bitDepth);
    if (!o.subsamplingX && !o.subsamplingY) chroma = '444';
    else if (o.subsamplingX && !o.subsamplingY && chroma !== '444') chroma = '422';
  }
  for (const f of info.frames) profile = Math.max(profile, f.header.profile);
  return { bitDepth, chroma, profile };
}

/**
 * Returns why `format` cannot hold the stream (undefined when it can or when
 * the format is unknown to this table).
 */
export function formatMismatch(format: string, info: InspectResult): string | undefined {
  const caps = FORMATS[format];
  if (!caps) return undefined;
  const need = streamNeeds(info);
  if (caps.bitDepth >= need.bitDepth && caps.chroma === need.chroma) return undefined;
  return `the stream is profile ${need.profile}, ${need.bitDepth}-bit 4:${need.chroma.slice(1, 2)}:${need.chroma.slice(2)}, but the decoder's CAPTURE format is ${format} (${caps.bitDepth}-bit 4:${caps.chroma.slice(1, 2)}:${caps.chroma.slice(2)})`;
}
