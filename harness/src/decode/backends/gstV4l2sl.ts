import { open } from 'node:fs/promises';
import { WorkbenchError } from '../../core/errors.ts';
import { tail } from '../../core/text.ts';
import { validateName } from '../../target/quote.ts';
import { scriptArgv } from '../../target/scripts.ts';
import type { Target } from '../../target/types.ts';
import type { DecodeRequest, Decoder, DecoderBackend, DecoderBinding, DecoderRun } from '../backend.ts';
import { selectedCaptureFormats } from '../captureFormat.ts';
import { BoardInputs, DECODE, parseWatchMarkers, remoteOutputPath, waitRelease } from '../requestApi.ts';
import { probeGst, selectElement, type GstProbe, type VP9Element } from './gstElements.ts';
import { classifyGstFailure, driverOffers, droppedAtSizeChange } from './gstFailure.ts';

/**
 * GStreamer `v4l2slvp9dec` (gst-plugins-bad v4l2codecs) on the board: the
 * V4L2 stateless (request API) client Fluster and KernelCI use.
 *
 * Pipeline: `filesrc ! ivfparse|matroskademux ! vp9parse ! <element> !
 * identity drop-allocation=true ! videoconvert dither=none ! <planar caps> !
 * videocodectestsink location=<file>`.
 * `identity drop-allocation=true` hides the downstream allocation query from
 * the decoder, so v4l2codecs copies each CAPTURE buffer into a system-memory
 * frame of the stream's display size instead of passing the V4L2 buffer on
 * with a GstVideoMeta of the CAPTURE format's size. A driver that follows
 * the stateless decoder spec reports the coded (aligned) size there: rkvdec
 * reports 64x64 for a 35x19 VP9 stream. Measured on the simboard
 * (GStreamer 1.28.8, Debian sid arm64): without the copy, videoconvert
 * turned that buffer into a 35x19 I420 frame holding a 19x6 picture
 * (35x19 scaled by 35/64 and 19/64) and zeros, while the decoder's own copy
 * (and this pipeline) gives libvpx's frame byte for byte. visl reports
 * 64x64 too (its smallest size), but its test pattern is never compared.
 * videocodectestsink writes frames without stride padding (it reads the
 * GstVideoMeta strides), in planar layout; videoconvert turns the driver's
 * NV12 into I420 first so the sink writes whole rows (its NV12 path writes
 * chroma one byte at a time). `dither=none`: videoconvert's default Bayer
 * dither, applied when it packs its 16-bit intermediate into 10-bit
 * I420_10LE, changed 46851 of 101376 luma samples of p2-10bit's frame 0 by
 * +1 (rkvdec's NV15 = NV12_10LE40 on the simboard, whose CAPTURE buffer
 * held libvpx's picture exactly); with dither=none the 24 frames' MD5 is
 * libvpx's (GStreamer 1.28.8). 8-bit NV12 -> I420 is not dithered either
 * way. GLib refuses to open a FIFO for that sink
 * (g_file_replace: "Target file is not a regular file"), so it writes a fresh
 * regular file in the board's temp directory and `tail -c +1 -F --pid`
 * streams that file to stdout while it grows; the file is removed at the end.
 * gst-launch's own output goes to stderr (`-m` prints the sink's
 * `conformance/checksum` MD5, used to cross-check the transport).
 */

/** Planar formats videocodectestsink writes as-is (4:2:0/4:2:2/4:4:4, 8/10/12-bit). */
export const PLANAR_CAPS = 'video/x-raw,format={ I420, I420_10LE, I420_12LE, Y42B, I422_10LE, I422_12LE, Y444, Y444_10LE, Y444_12LE }';

/**
 * GST_DEBUG used for every decode: v4l2codecs warnings and errors (they carry
 * the driver's refusals), and the VP9 base class's debug lines (a handful
 * per run, one per dropped frame: gstFailure.ts droppedAtSizeChange).
 */
export const GST_DEBUG_SPEC = 'v4l2codecs-*:4,vp9decoder:5';

/** Parsed markers of a decode's stderr. */
export interface GstStderr {
  opened: string[];
  exit?: number;
  md5?: string;
  /** stderr without the markers. */
  text: string;
}

/** Splits the wrapper's markers (requestApi.ts) and the sink's checksum message out of stderr. */
export function parseGstStderr(stderr: string): GstStderr {
  const w = parseWatchMarkers(stderr);
  let md5: string | undefined;
  for (const line of w.lines) {
    const c = /conformance\/checksum, checksum-type=\(string\)MD5, checksum=\(string\)([0-9a-f]{32})/.exec(line);
    if (c) md5 = c[1];
  }
  return { opened: w.opened, ...(w.exit !== undefined ? { exit: w.exit } : {}), ...(md5 ? { md5 } : {}), text: w.lines.join('\n') };
}

/** gst-launch `-m` bus messages that say nothing about a failure (tags, state changes...). */
/** The VP9 base class's DEBUG lines (GST_DEBUG_SPEC); only the one that says why frames were dropped is kept. */
const VP9_BASE_DEBUG = /\sDEBUG\s+vp9decoder\s/;
const NOISE =
  /^Got message #\d+ from \S+ "[^"]*" \((tag|state-changed|stream-status|need-context|have-context|latency|new-clock|async-done|duration-changed|stream-start|qos)\)/;

/** stderr without the routine bus messages (for the tail shown to people). */
export function quietGstOutput(text: string): string {
  return text
    .split('\n')
    .filter((l) => !NOISE.test(l) && !(VP9_BASE_DEBUG.test(l) && !/non-keyframe format change/.test(l)))
    .join('\n');
}

/** The demuxer element for a vector file (by magic: IVF `DKIF`, else WebM/Matroska); also what a LAVA job's board runs (farm/bundle.ts). */
export async function demuxerFor(path: string): Promise<'ivfparse' | 'matroskademux'> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(4);
    await fh.read(b, 0, 4, 0);
    return b.toString('latin1') === 'DKIF' ? 'ivfparse' : 'matroskademux';
  } finally {
    await fh.close();
  }
}

/** gst-launch argv of one decode. */
export function pipelineArgv(element: string, demuxer: string, input: string, output: string): string[] {
  return [
    'gst-launch-1.0',
    '-m',
    'filesrc',
    `location=${input}`,
    '!',
    demuxer,
    '!',
    'vp9parse',
    '!',
    element,
    '!',
    'identity',
    'drop-allocation=true',
    '!',
    'videoconvert',
    'dither=none',
    '!',
    PLANAR_CAPS,
    '!',
    'videocodectestsink',
    `location=${output}`,
  ];
}

/** The GStreamer stateless decoder bound to one driver on one board. */
export class GstV4l2SlDecoder implements Decoder {
  readonly name = 'gst-v4l2sl-vp9';
  readonly codec = 'vp9';
  private chosen: VP9Element | undefined;
  private probeResult: GstProbe | undefined;
  /** How long to wait for a killed decoder to release the device, ms. */
  releaseWaitMs = 120_000;
  private readonly inputs: BoardInputs;

  constructor(
    private readonly target: Target,
    private readonly driver: string | undefined,
  ) {
    this.inputs = new BoardInputs(target);
  }

  /** The element chosen by the last probe, probing when needed. */
  private async element(): Promise<VP9Element> {
    if (!this.chosen) {
      this.probeResult = await probeGst(this.target);
      if (this.driver && !this.probeResult.elements.some((e) => e.driver === this.driver)) {
        // a driver nothing loads at boot (a test driver such as visl): load its module once and look again
        const m = await this.target.exec(['modprobe', this.driver], { timeoutMs: 60_000, allowFailure: true });
        if (m.exitCode === 0) this.probeResult = await probeGst(this.target);
      }
      this.chosen = selectElement(this.probeResult, this.driver, this.target.name);
    }
    return this.chosen;
  }

  async probe(): Promise<DecoderBinding> {
    const el = await this.element();
    return {
      implementation: 'gstreamer',
      version: this.probeResult?.gstVersion ?? 'unknown',
      detail: el.element,
      device: { driver: el.driver, media: el.mediaDevice, video: el.videoDevice },
    };
  }

  inspectArgv(): string[] {
    return ['gst-inspect-1.0', this.chosen?.element ?? 'v4l2codecs'];
  }

  /** Forgets the element binding (after a driver reload changed device nodes); the next call probes again. */
  async refresh(): Promise<void> {
    this.chosen = undefined;
    this.probeResult = undefined;
  }

  /** Puts vector files on the board ahead of the decodes (requestApi.ts BoardInputs). */
  async stageInputs(files: ReadonlyMap<string, string>): Promise<void> {
    await this.inputs.stage(files);
  }

  async decode(req: DecodeRequest): Promise<DecoderRun> {
    const el = await this.element();
    validateName(req.vectorName, 'vector name');
    await this.inputs.stage(new Map([[req.vectorPath, req.vectorName]]));
    const input = this.inputs.pathOf(req.vectorPath)!;
    const output = remoteOutputPath(req.vectorName);
    const gst = pipelineArgv(el.element, await demuxerFor(req.vectorPath), input, output);
    const argv = scriptArgv(DECODE, [output, GST_DEBUG_SPEC, ...gst]);
    const r = await this.target.exec(argv, {
      onStdoutBytes: req.onFrameBytes,
      timeoutMs: req.timeoutMs,
      allowFailure: true,
      ...(req.signal ? { signal: req.signal } : {}),
    });
    const se = parseGstStderr(r.stderr);
    const run: DecoderRun = {
      argv: gst,
      exitCode: r.exitCode,
      timedOut: r.timedOut,
      durationMs: r.durationMs,
      stderrTail: tail(quietGstOutput(se.text), 20),
      proof: { ...el, opened: se.opened },
      ...(se.md5 ? { decoderMd5: se.md5 } : {}),
      captureFormats: selectedCaptureFormats(se.text),
    };
    const formats = this.probeResult?.formats[el.videoDevice];
    if (formats) run.driverOffers = driverOffers(formats);
    if (r.timedOut) {
      // the script was killed before it printed the devices it saw: read its side file
      const fds = await this.target.exec(['sh', '-c', 'sort -u "$1" 2>/dev/null; rm -f "$1"', 'wb-fds', `${output}.fds`], { allowFailure: true });
      run.proof!.opened = fds.stdout.split('\n').filter((l) => l.startsWith('/dev/'));
      try {
        const w = await waitRelease(this.target, el.videoDevice, this.releaseWaitMs);
        run.releaseMs = w.ms;
        if (w.stuck.length) run.stuckThreads = w.stuck;
      } catch (e) {
        run.releaseError = (e as Error).message;
      }
    } else if (r.exitCode !== 0) {
      const c = classifyGstFailure(se.text, el, formats);
      if (c.kind === 'not-supported') run.notSupported = c.reason;
      else run.error = c.reason;
    } else {
      const dropped = droppedAtSizeChange(se.text);
      if (dropped) run.notSupported = dropped;
    }
    // the input stays (content-addressed, reused); requestDecode.sh removed its output unless it was killed
    if (r.timedOut || r.exitCode === 97 || r.exitCode < 0) await this.target.exec(['rm', '-f', output, `${output}.fds`], { allowFailure: true });
    return run;
  }
}

/** The GStreamer v4l2codecs backend (plugins.ts registers it). */
export const gstV4l2SlBackend: DecoderBackend = {
  name: 'gst-v4l2sl-vp9',
  description: 'GStreamer v4l2slvp9dec (V4L2 stateless request API) on the board, bound to the chosen driver',
  codec: 'vp9',
  where: 'target',
  hw: true,
  create(ctx) {
    if (!ctx.target) throw new WorkbenchError('E_INTERNAL', 'gst-v4l2sl-vp9 decoder needs a Target');
    return new GstV4l2SlDecoder(ctx.target, ctx.driver);
  },
};
