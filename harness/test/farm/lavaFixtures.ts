/**
 * Shared pieces of the farm unit tests: references built from known frame
 * bytes (their hashes computed here with node's crypto, independent of the
 * code under test) and a small bundle naming those vectors.
 */
import { createHash } from 'node:crypto';
import type { Bundle } from '../../src/farm/bundle.ts';
import type { ReferenceSet } from '../../src/vectors/references.ts';

export const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
export const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const W = 4;
const H = 2;
/** Bytes of one I420 4x2 frame. */
export const FRAME = (W * H * 3) / 2;
/** A frame whose every byte is `n`. */
export const frame = (n: number) => Buffer.alloc(FRAME, n);

/** A libvpx reference set of 4x2 I420 frames. */
export function reference(name: string, frames: Buffer[]): ReferenceSet {
  return {
    vector: name,
    vectorSha256: 'f'.repeat(64),
    decoder: 'WebM Project VP9 Decoder v1.15.0',
    command: 'vpxdec',
    frames: frames.map((b, index) => ({
      index,
      width: W,
      height: H,
      bitDepth: 8,
      pixelFormat: 'yuv420p',
      i420: { sha256: sha(b), xxh64: '0'.repeat(16) },
      nv12: null,
    })),
    md5: md5(Buffer.concat(frames)),
    bytes: frames.length * FRAME,
    crossCheck: null,
  };
}

/** A bundle of vectors `<name>.ivf` (case `<name>-ivf`), two frames each. */
export function testBundle(
  names: string[],
  o: { mode?: 'pixels' | 'visl'; board?: string; recordKind?: Bundle['recordKind']; kernel?: Bundle['kernel'] } = {},
): Bundle {
  const mode = o.mode ?? 'pixels';
  return {
    schema: 'vp9-workbench/lava-bundle',
    version: 2,
    createdAt: '2026-12-01T00:00:00Z',
    profile: 'ssh',
    jobName: 't',
    urlBase: 'http://10.0.2.2:1',
    suite: 'vp9-features',
    driver: mode === 'visl' ? 'visl' : 'rkvdec',
    mode,
    board: o.board ?? 'vboard',
    recordKind: o.recordKind ?? 'vboard',
    kernelRelease: '7.2.13+deb14-amd64',
    modules: [{ name: 'visl', file: '/lib/modules/7.2.13+deb14-amd64/updates/visl.ko', sha256: 'a'.repeat(64), vermagic: '7.2.13+deb14-amd64 SMP', size: 1 }],
    modulesTarSha256: 'b'.repeat(64),
    ...(o.kernel ? { kernel: o.kernel } : {}),
    vectors: names.map((n) => ({
      name: `${n}.ivf`,
      caseName: `${n}-ivf`,
      suite: 'vp9-features',
      features: [],
      path: `/x/${n}.ivf`,
      file: `${n}.ivf`,
      sha256: 'c'.repeat(64),
      demuxer: 'ivfparse' as const,
      frameSizes: [FRAME, FRAME],
      md5: null,
    })),
  };
}
