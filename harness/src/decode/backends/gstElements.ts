import { WorkbenchError } from '../../core/errors.ts';
import { loadScript, runScript } from '../../target/scripts.ts';
import type { Target } from '../../target/types.ts';

/**
 * Which GStreamer stateless VP9 element drives which kernel driver.
 *
 * GStreamer's v4l2codecs plugin registers one element per stateless decoder
 * device: the first is `v4l2slvp9dec`, every further one
 * `v4l2sl<basename of its video device>vp9dec` (gstv4l2decoder.c
 * `gst_v4l2_decoder_register`), so names depend on probe order. Each element
 * class carries its device nodes as the read-only properties `media-device`
 * and `video-device` (printed by `gst-inspect-1.0 ELEMENT` as
 * `String. Default: "/dev/video0"`). The driver behind a video node is the
 * sysfs link /sys/class/video4linux/videoN/device/driver. The workbench
 * names the chosen element explicitly in its pipeline, so ranks
 * (GST_PLUGIN_FEATURE_RANK) cannot make another decoder win.
 */

/** One stateless VP9 element and what it is bound to. */
export interface VP9Element {
  element: string;
  mediaDevice: string;
  videoDevice: string;
  /** Kernel driver name ('' when sysfs does not say). */
  driver: string;
}

/** Board facts from {@link PROBE_SCRIPT}. */
export interface GstProbe {
  gstVersion?: string;
  elements: VP9Element[];
  /** Output of `v4l2-ctl --list-formats-out-ext` / `--list-formats-ext` per video device. */
  formats: Record<string, { output: string; capture: string }>;
}

/**
 * Remote script `gstProbe.sh` (no arguments): `GST-VERSION ...`, then per
 * VP9 element `ELEMENT <name> <media> <video> <driver>`, then for each
 * video device the driver's formats between `FORMATS-OUT <dev>` /
 * `FORMATS-CAP <dev>` / `END` (see the file).
 */
const PROBE = loadScript(import.meta.url, 'gstProbe.sh');

/** The text of gstProbe.sh, for jobs that run the same probe elsewhere (farm/dutScript.ts embeds it in LAVA jobs). */
export const PROBE_SCRIPT = PROBE.text;

/** Parses the output of gstProbe.sh. */
export function parseProbe(text: string): GstProbe {
  const out: GstProbe = { elements: [], formats: {} };
  let sect: { dev: string; kind: 'output' | 'capture' } | undefined;
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^GST-VERSION (.*)$/.exec(line))) {
      if (m[1]!.trim()) out.gstVersion = m[1]!.trim();
      sect = undefined;
    } else if ((m = /^ELEMENT (\S+) (\S+) (\S+) (\S+)$/.exec(line))) {
      const dash = (s: string) => (s === '-' ? '' : s);
      out.elements.push({ element: m[1]!, mediaDevice: dash(m[2]!), videoDevice: dash(m[3]!), driver: dash(m[4]!) });
      sect = undefined;
    } else if ((m = /^FORMATS-(OUT|CAP) (\S+)$/.exec(line))) {
      const dev = m[2]!;
      out.formats[dev] ??= { output: '', capture: '' };
      sect = { dev, kind: m[1] === 'OUT' ? 'output' : 'capture' };
    } else if (line === 'END') {
      sect = undefined;
    } else if (sect) {
      out.formats[sect.dev]![sect.kind] += line + '\n';
    }
  }
  return out;
}

/** Runs the probe on the board. */
export async function probeGst(target: Target): Promise<GstProbe> {
  const r = await runScript(target, PROBE, [], { timeoutMs: 60_000 });
  if (r.stdout.includes('NO-GSTREAMER')) {
    throw new WorkbenchError('E_DECODER_MISSING', `board ${target.name} has no GStreamer (gst-inspect-1.0 not found)`, {
      hint: 'install gstreamer1.0-tools and gstreamer1.0-plugins-bad (v4l2codecs) on the board',
    });
  }
  return parseProbe(r.stdout);
}

/**
 * Picks the element bound to `driver` (or the only one when no driver is
 * asked for).
 * @throws WorkbenchError `E_DECODER_MISSING` when no VP9 stateless element
 *   exists or none is bound to the driver (the message lists what exists).
 */
export function selectElement(p: GstProbe, driver: string | undefined, board: string): VP9Element {
  const list = p.elements.map((e) => `${e.element} → ${e.videoDevice || '?'} (${e.driver || 'driver unknown'})`).join(', ');
  if (p.elements.length === 0) {
    throw new WorkbenchError('E_DECODER_MISSING', `board ${board}: GStreamer has no stateless VP9 decoder element (v4l2sl*vp9dec)`, {
      hint: 'is the driver loaded (lsmod), does it expose V4L2_PIX_FMT_VP9_FRAME and a media device? Run `gst-inspect-1.0 v4l2codecs` on the board',
    });
  }
  if (!driver) {
    if (p.elements.length > 1) {
      throw new WorkbenchError('E_DECODER_AMBIGUOUS', `board ${board} has several stateless VP9 decoders: ${list}`, {
        hint: 'name the driver to use (e.g. --driver rkvdec, or `driver` in boards.toml)',
      });
    }
    return p.elements[0]!;
  }
  const hit = p.elements.find((e) => e.driver === driver);
  if (!hit) {
    throw new WorkbenchError('E_DECODER_MISSING', `board ${board}: no stateless VP9 decoder element is bound to driver '${driver}'; found: ${list}`, {
      hint: `load the ${driver} module (and check it lists VP9F in \`v4l2-ctl --list-formats-out\`)`,
    });
  }
  return hit;
}
