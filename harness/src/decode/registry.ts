import { WorkbenchError } from '../core/errors.ts';
import type { Runner } from '../core/runner.ts';
import type { Target } from '../target/types.ts';

/**
 * Decoders, as a small registry in the style of Fluster's (`@register_decoder`
 * classes with a name, a description and a `decode()`): a decoder takes a
 * vector file and streams the decoded frames (geometry.ts layout: planar,
 * visible size, no padding) to a callback, and says how the run ended.
 */

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
  readonly name: string;
  /**
   * Checks the decoder can run and what it is bound to.
   * @throws WorkbenchError when it cannot run (missing element, driver absent...).
   */
  probe(): Promise<DeviceProof | { element: string }>;
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

/** A registered decoder kind. */
export interface DecoderFactory {
  name: string;
  description: string;
  /** Where it runs. */
  where: 'host' | 'target';
  /** Hardware (kernel driver) decoder. */
  hw: boolean;
  create(ctx: DecoderContext): Decoder;
}

const registry = new Map<string, DecoderFactory>();

/** Registers a decoder kind (name must be unique). */
export function registerDecoder(f: DecoderFactory): void {
  if (registry.has(f.name)) throw new WorkbenchError('E_INTERNAL', `decoder ${f.name} registered twice`);
  registry.set(f.name, f);
}

/**
 * The decoder kind called `name`.
 * @throws WorkbenchError `E_UNKNOWN_DECODER` listing the known ones.
 */
export function getDecoder(name: string): DecoderFactory {
  const f = registry.get(name);
  if (!f) {
    throw new WorkbenchError('E_UNKNOWN_DECODER', `unknown decoder '${name}'`, {
      hint: `known decoders: ${[...registry.keys()].join(', ')}`,
    });
  }
  return f;
}

/** Every registered decoder kind, in registration order. */
export function listDecoders(): DecoderFactory[] {
  return [...registry.values()];
}
