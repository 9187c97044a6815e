import type { VP9Element } from './gstElements.ts';

/**
 * Tells a refusal (the driver does not support this stream: format, size,
 * profile, bit depth) from another failure, from GStreamer's diagnostics
 * (gst-launch `ERROR:` blocks and v4l2codecs warnings at GST_DEBUG level 4).
 * A refusal's reason quotes GStreamer and lists what the driver advertises
 * (`v4l2-ctl --list-formats-out-ext` / `--list-formats-ext`).
 */

/** Patterns that mean "the driver/decoder does not support this stream". */
const REFUSALS: RegExp[] = [
  /not-negotiated/i,
  /Failed to set sink format/i,
  /Unsupported (profile|bit[- ]?depth|chroma|format|resolution|pixel ?format|V4L2)/i,
  /not supported/i,
  /does not support the selected stream/i, // v4l2codecs when the driver refuses the stream's controls (rkvdec: profile 1)
  /Could not (negotiate|configure)/i,
  /Failed to configure/i,
  /No (valid|supported) (caps|format)/i,
  /VIDIOC_S_FMT failed/i,
];

/**
 * Compact list of formats from v4l2-ctl output: `'VP9F' (Stepwise 64x64 -
 * 8192x4352 with step 1/1)`; only `only` when given.
 */
export function summarizeFormats(text: string, only?: string): string {
  const out: string[] = [];
  let cur: string | undefined;
  for (const line of text.split('\n')) {
    const f = /\[\d+\]: '([^']+)'/.exec(line);
    if (f) {
      if (cur) out.push(cur);
      cur = `'${f[1]}'`;
      continue;
    }
    const s = /Size: (.*)$/.exec(line);
    if (s && cur && !cur.includes('(')) cur += ` (${s[1]!.trim()})`;
  }
  if (cur) out.push(cur);
  return (only ? out.filter((f) => f.startsWith(`'${only}'`)) : out).join(', ');
}

/** `OUTPUT 'VP9F' (Stepwise 64x64 - 8192x4352 ...) and CAPTURE 'NV12', 'YU12'` from v4l2-ctl listings. */
export function driverOffers(formats: { output: string; capture: string }): string {
  return `OUTPUT ${summarizeFormats(formats.output, 'VP9F') || '(no VP9F)'} and CAPTURE ${summarizeFormats(formats.capture) || '?'}`;
}

/** Meaningful diagnostic lines: ERROR blocks, their debug info, warnings and errors from GST_DEBUG. */
export function diagnosticLines(stderr: string): string[] {
  const lines = stderr.split('\n').map((l) => l.trim());
  const keep: string[] = [];
  lines.forEach((l, i) => {
    if (/^ERROR:/.test(l) || /\s(WARN|ERROR)\s/.test(l)) keep.push(l);
    else if (/^Additional debug info:/.test(l) && lines[i + 2]) keep.push(lines[i + 2]!);
  });
  return [...new Set(keep)];
}

/**
 * A decode GStreamer cut short without failing: its VP9 base class
 * (gst-plugins-bad `gstvp9decoder.c`, seen at GST_DEBUG `vp9decoder:5` in
 * GStreamer 1.28.8) drops the frame where the size changes on an inter
 * frame ("frame resolution changed WxH", then "Drop frame on non-keyframe
 * format change") when the subclass does not take a new size without a key
 * frame, as v4l2slvp9dec does not, and then every frame until a key frame
 * ("Drop frame before initial keyframe"); gst-launch still exits 0. Those
 * frames never reach the driver, so its scaled-reference path is not
 * exercised: a userspace limit, not a driver result.
 * @returns the not-supported reason, or undefined when nothing was dropped that way.
 */
export function droppedAtSizeChange(stderr: string): string | undefined {
  if (!/Drop frame on non-keyframe format change/.test(stderr)) return undefined;
  const size = /frame resolution changed (\d+x\d+)/.exec(stderr)?.[1];
  const after = (stderr.match(/Drop frame before initial keyframe/g) ?? []).length;
  return (
    `GStreamer's VP9 decoder base class dropped the frame that changes the size${size ? ` to ${size}` : ''} on an inter frame ` +
    `("Drop frame on non-keyframe format change": v4l2slvp9dec takes a new size only at a key frame) and the ${after} frames after it; ` +
    `they never reached the driver, so its scaled-reference path was not exercised`
  );
}

/** Classification of a failed decode. */
export interface GstFailure {
  kind: 'not-supported' | 'error';
  reason: string;
}

/** Classifies a non-zero gst-launch exit (see module doc). */
export function classifyGstFailure(stderr: string, el: VP9Element, formats?: { output: string; capture: string }): GstFailure {
  const diag = diagnosticLines(stderr);
  const refusal = diag.find((l) => REFUSALS.some((re) => re.test(l)));
  const driver = el.driver || 'the driver';
  const offers = formats ? `; ${driver} (${el.videoDevice}) offers ${driverOffers(formats)}` : '';
  if (refusal) {
    const shortMsg = refusal.replace(/^.*?(v4l2codecs|gst[a-z0-9]+\.c)[^:]*:\d+:[^:]*:(<[^>]*>)?\s*/, '');
    return { kind: 'not-supported', reason: `${driver} refused the stream: ${shortMsg}${offers}` };
  }
  const first = diag.find((l) => l.startsWith('ERROR:')) ?? diag[0] ?? stderr.trim().split('\n').slice(-1)[0] ?? 'no diagnostics';
  return { kind: 'error', reason: `gst-launch failed: ${first}` };
}
