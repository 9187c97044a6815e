import { WorkbenchError } from '../core/errors.ts';
import type { Runner } from '../core/runner.ts';
import type { Target } from '../target/types.ts';

/**
 * Decoder backends, as a small registry in the style of Fluster's
 * (`@register_decoder` classes with a name, a description and a
 * `decode()`): a decoder takes a vector file and streams the decoded frames
 * (compare/geometry.ts layout: planar, visible size, no padding) to a
 * callback, and says how the run ended. The built-in backends are listed in
 * plugins.ts; which one runs is chosen from the board profile
 * (`decoder`, else the first board backend) or the request (`--decoder`).
 */

/** What a decoder is and what it is bound to, from {@link Decoder.probe}. */
export interface DecoderBinding {
  /** Implementation, for the run record's `decoder.name` (e.g. `gstreamer`, `libvpx`). */
  implementation: string;
  /** Its version (`1.28.8`), or `unknown`. */
  version: string;
  /** The piece of it that decodes (GStreamer element `v4l2slvp9dec`, `vpxdec`). */
  detail?: string;
  /** The V4L2 device a hardware decoder is bound to; absent for host decoders. */
  device?: { driver: string; media?: string; video?: string };
}

/** Which device a hardware decoder really used (evidence for the report). */
export interface DeviceProof {
  /** GStreamer element used, e.g. `v4l2slvp9dec` or `v4l2slvideo1vp9dec`. */
  element: string;
  /** Device nodes the element is bound to (its media-device / video-device properties). */
  mediaDevice: string;
  videoDevice: string;
  /** Kernel driver of the video device (sysfs), e.g. `visl`, `rkvdec`. */
  driver: string;
  /** Device nodes the decoder process held open during the run (/proc/PID/fd). */
  opened: string[];
}

/** How one decode run ended. */
export interface DecoderRun {
  /** Exact command that ran (argv), for the reproducer line. */
  argv: string[];
  exitCode: number;
  timedOut: boolean;
  durationMs: number;
  /** Last lines of the decoder's diagnostics (stderr). */
  stderrTail: string;
  /** The driver/decoder refused the stream; the reason quotes the driver where possible. */
  notSupported?: string;
  /** Failure other than a refusal. */
  error?: string;
  proof?: DeviceProof;
  /** MD5 the decoder itself computed over its output (videocodectestsink), to cross-check the transport. */
  decoderMd5?: string;
  /** ms the decoder process needed to go away after a timeout kill (a hang in the kernel keeps it alive). */
  releaseMs?: number;
  /** CAPTURE formats the decoder selected (GStreamer's log), in order. */
  captureFormats?: string[];
  /** What the driver advertises, for people (`OUTPUT 'VP9F' (...) and CAPTURE 'NV12', 'YU12'`). */
  driverOffers?: string;
  /** Threads of the killed decoder stuck in the kernel (D state) with the top of their kernel stack. */
  stuckThreads?: string[];
  /** Set when the killed decoder did not release the device in time (the board is not usable). */
  releaseError?: string;
}

/** One decode request. */
export interface DecodeRequest {
  /** Local vector file (IVF or WebM). */
  vectorPath: string;
  /** Vector name (used for remote file names; validated). */
  vectorName: string;
  /** Receives decoded bytes as they arrive. */
  onFrameBytes: (chunk: Buffer) => void;
  /** Kill the decoder after this many ms. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** A decoder instance bound to where it runs. */
export interface Decoder {
  /** Backend name (`gst-v4l2sl-vp9`). */
  readonly name: string;
  /** Codec it decodes. */
  readonly codec: 'vp9';
  /**
   * Checks the decoder can run and what it is bound to (cached until {@link refresh}).
   * @throws WorkbenchError when it cannot run (missing element, driver absent...).
   */
  probe(): Promise<DecoderBinding>;
  /** Command that shows the decoder by hand on its machine (`gst-inspect-1.0 v4l2slvp9dec`), for the run record. */
  inspectArgv?(): string[];
  decode(req: DecodeRequest): Promise<DecoderRun>;
  /** Forget cached device bindings (the driver was reloaded and its nodes may have moved). */
  refresh?(): Promise<void>;
  /**
   * Board decoders: puts the vector files (local path -> vector name) on the
   * board ahead of the decodes, in as few round trips as it can; decode()
   * then skips the upload. Optional: decode() uploads what is missing.
   */
  stageInputs?(files: ReadonlyMap<string, string>): Promise<void>;
}

/** What a decoder needs to be created. */
export interface DecoderContext {
  /** Board target (hardware decoders). */
  target?: Target;
  /** Local processes (host decoders). */
  runner?: Runner;
  /** Kernel driver to bind to when several stateless decoders exist (`visl`, `rkvdec`). */
  driver?: string;
}

/** A decoder backend: one file in decode/backends/, one line in plugins.ts. */
export interface DecoderBackend {
  name: string;
  description: string;
  codec: 'vp9';
  /** Where it runs: on the board (through a Target) or on the host (through the Runner). */
  where: 'host' | 'target';
  /** Hardware (kernel driver) decoder. */
  hw: boolean;
  /** @throws WorkbenchError E_INTERNAL when the context lacks what it needs (a Target, a Runner). */
  create(ctx: DecoderContext): Decoder;
}

/** The registered decoder backends. */
export class DecoderBackends {
  private readonly byName = new Map<string, DecoderBackend>();

  constructor(backends: readonly DecoderBackend[] = []) {
    for (const b of backends) this.register(b);
  }

  /** Adds a backend. @throws WorkbenchError E_INTERNAL when the name is taken. */
  register(b: DecoderBackend): this {
    if (this.byName.has(b.name)) throw new WorkbenchError('E_INTERNAL', `decoder ${b.name} registered twice`);
    this.byName.set(b.name, b);
    return this;
  }

  /**
   * The backend called `name`.
   * @throws WorkbenchError `E_UNKNOWN_DECODER` listing the known ones.
   */
  get(name: string): DecoderBackend {
    const f = this.byName.get(name);
    if (!f) {
      throw new WorkbenchError('E_UNKNOWN_DECODER', `unknown decoder '${name}'`, {
        hint: `known decoders: ${[...this.byName.keys()].join(', ')}`,
      });
    }
    return f;
  }

  /**
   * The backend for a board: the one its profile names, else the first
   * board-side backend registered.
   * @throws WorkbenchError `E_UNKNOWN_DECODER`.
   */
  forBoard(board: { name: string; decoder?: string }): DecoderBackend {
    if (board.decoder) return this.get(board.decoder);
    const b = this.list().find((x) => x.where === 'target');
    if (!b) throw new WorkbenchError('E_UNKNOWN_DECODER', `no board-side decoder is registered for board ${board.name}`, { hint: 'name one with --decoder' });
    return b;
  }

  /** Every backend, in registration order. */
  list(): DecoderBackend[] {
    return [...this.byName.values()];
  }
}
