import { WorkbenchError } from '../../core/errors.ts';
import { requireTools } from '../../core/hostTools.ts';
import type { Runner } from '../../core/runner.ts';
import { tail } from '../../core/text.ts';
import { vpxdecArgv, vpxdecVersion } from '../../vectors/decoders.ts';
import type { DecodeRequest, Decoder, DecoderBackend, DecoderBinding, DecoderRun } from '../backend.ts';

/**
 * libvpx's `vpxdec` on the host: the reference decoder, also usable as the
 * "decoded" side of a comparison (tests, cross-checks). `--rawvideo` writes
 * every shown frame in its native layout (I420 for 8-bit 4:2:0, 16-bit LE
 * samples above 8 bits), visible size, no padding (libvpx vpxdec.c,
 * write_image_file: each plane row by row at its visible width) — the same
 * bytes Fluster's VP9 `result` MD5 is computed over (Fluster
 * fluster/decoders/libvpx.py: `vpxdec --i420 IN -o OUT`, then
 * utils.file_checksum, the MD5 of OUT).
 */
export class VpxdecHostDecoder implements Decoder {
  readonly name = 'libvpx-vp9';
  readonly codec = 'vp9';
  private version: string | undefined;
  constructor(private readonly runner: Runner) {}

  /** The VP9 decoder's version as `vpxdec --help` prints it (vectors/decoders.ts). */
  async probe(): Promise<DecoderBinding> {
    requireTools(['vpxdec']);
    this.version ??= await vpxdecVersion(this.runner);
    return { implementation: 'libvpx', version: this.version, detail: 'vpxdec' };
  }

  /** argv of a decode of `vectorPath` to stdout. */
  static argv(vectorPath: string, limit?: number): string[] {
    return vpxdecArgv(vectorPath, '-', limit !== undefined ? { limit } : {});
  }

  async decode(req: DecodeRequest): Promise<DecoderRun> {
    requireTools(['vpxdec']);
    const argv = VpxdecHostDecoder.argv(req.vectorPath);
    const r = await this.runner.run(argv, {
      onStdoutBytes: req.onFrameBytes,
      timeoutMs: req.timeoutMs,
      ...(req.signal ? { signal: req.signal } : {}),
      allowFailure: true,
    });
    const run: DecoderRun = {
      argv,
      exitCode: r.exitCode,
      timedOut: r.timedOut,
      durationMs: r.durationMs,
      stderrTail: tail(r.stderr, 15),
    };
    if (!r.timedOut && r.exitCode !== 0) run.error = `vpxdec exited with ${r.exitCode}: ${tail(r.stderr, 3)}`;
    return run;
  }
}

/**
 * The bytes of output frame `index` (0-based) of a vector, decoded by vpxdec
 * on the host: decodes frames 0..index (`--limit`) into memory and returns
 * the last one. Used for the reference PNG of a mismatch.
 * @param frameSizes packed size of each output frame up to `index` (bytes).
 * @throws WorkbenchError `E_REFERENCE_DECODE` when vpxdec fails or gives fewer bytes.
 */
export async function vpxdecFrame(runner: Runner, vectorPath: string, index: number, frameSizes: readonly number[]): Promise<Buffer> {
  requireTools(['vpxdec']);
  const start = frameSizes.slice(0, index).reduce((a, b) => a + b, 0);
  const size = frameSizes[index];
  if (size === undefined) throw new WorkbenchError('E_INTERNAL', `vpxdecFrame: no size for frame ${index}`);
  const chunks: Buffer[] = [];
  let seen = 0;
  const r = await runner.run(VpxdecHostDecoder.argv(vectorPath, index + 1), {
    allowFailure: true,
    onStdoutBytes: (b) => {
      // keep only the bytes of the wanted frame
      const lo = Math.max(start - seen, 0);
      const hi = Math.min(start + size - seen, b.length);
      if (hi > lo) chunks.push(Buffer.from(b.subarray(lo, hi)));
      seen += b.length;
    },
  });
  const out = Buffer.concat(chunks);
  if (r.exitCode !== 0 || out.length !== size) {
    throw new WorkbenchError(
      'E_REFERENCE_DECODE',
      `vpxdec could not give frame ${index} of ${vectorPath} (exit ${r.exitCode}, ${out.length}/${size} bytes): ${tail(r.stderr, 3)}`,
      {
        hint: 'check the vector with `vpxdec --rawvideo -o /dev/null FILE`',
      },
    );
  }
  return out;
}

/** The libvpx host backend (plugins.ts registers it). */
export const vpxdecHostBackend: DecoderBackend = {
  name: 'libvpx-vp9',
  description: 'libvpx vpxdec on the host (reference decoder, software)',
  codec: 'vp9',
  where: 'host',
  hw: false,
  create(ctx) {
    if (!ctx.runner) throw new WorkbenchError('E_INTERNAL', 'libvpx-vp9 decoder needs a Runner');
    return new VpxdecHostDecoder(ctx.runner);
  },
};
