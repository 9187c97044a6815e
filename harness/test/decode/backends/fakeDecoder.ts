/**
 * A decoder backend that exists only in tests: one file, registered by the
 * test that uses it (`plugins.decoders.register(fakeDecoderBackend)`). It
 * "decodes" any vector into the frames it was given (odd chunking), so a
 * test controls exactly which bytes the compare stage sees.
 */
import type { DecodeRequest, Decoder, DecoderBackend, DecoderRun } from '../../../src/decode/backend.ts';

/** Frames the next decodes stream, by vector name. */
export const fakeOutput = new Map<string, Buffer[]>();

class FakeDecoder implements Decoder {
  readonly name = 'fake-vp9';
  readonly codec = 'vp9';
  constructor(private readonly driver: string | undefined) {}

  async probe() {
    return {
      implementation: 'fakecodec',
      version: '9.9',
      detail: 'fakedec',
      device: { driver: this.driver ?? '', media: '/dev/media7', video: '/dev/video7' },
    };
  }

  inspectArgv(): string[] {
    return ['fake-inspect'];
  }

  async decode(req: DecodeRequest): Promise<DecoderRun> {
    const all = Buffer.concat(fakeOutput.get(req.vectorName) ?? []);
    for (let o = 0; o < all.length; o += 97) req.onFrameBytes(all.subarray(o, o + 97));
    return {
      argv: ['fakedec', req.vectorName],
      exitCode: 0,
      timedOut: false,
      durationMs: 1,
      stderrTail: '',
      proof: { element: 'fakedec', mediaDevice: '/dev/media7', videoDevice: '/dev/video7', driver: this.driver ?? '', opened: ['/dev/media7', '/dev/video7'] },
    };
  }
}

/** The `fake-vp9` backend. */
export const fakeDecoderBackend: DecoderBackend = {
  name: 'fake-vp9',
  description: 'test decoder: streams the frames the test gave it',
  codec: 'vp9',
  where: 'target',
  hw: true,
  create: (ctx) => new FakeDecoder(ctx.driver),
};
