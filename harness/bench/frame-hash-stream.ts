/**
 * Host-side hashing throughput of the decode path: a synthetic 1080p stream
 * (I420 8-bit, the layout frames arrive in from the board) is pushed in
 * SSH-sized chunks through FrameSplitter + FrameComparer (one per-frame hash
 * + whole-stream MD5), exactly as runVector does, and the figures are
 * printed. Run: node --import tsx harness/bench/frame-hash-stream.ts [frames] [chunkKiB]
 */
import { Hashers, type FrameHashAlgo } from '../src/compare/hash.ts';
import { FrameComparer, type ExpectedFrame } from '../src/compare/frameCompare.ts';
import { frameBytes, i420 } from '../src/compare/geometry.ts';
import { FrameSplitter, type FrameSink } from '../src/compare/splitter.ts';
import { nv12ToPlanar } from '../src/compare/layout.ts';

const frames = Number(process.argv[2] ?? 120);
const chunkKiB = Number(process.argv[3] ?? 32);
const g = i420(1920, 1080);
const size = frameBytes(g);

// Four distinct frames, cycled (content does not change hashing cost).
const pool = [0, 1, 2, 3].map((s) => {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + s * 17 + (i >> 11)) & 255;
  return b;
});

/**
 * NV12 input: a splitter cuts NV12 frames, each is converted to I420 (one
 * copy, compare/layout.ts) and fed to the comparer as one chunk: the cost
 * when a board sends the driver's NV12 as is.
 */
function nv12Front(comparer: FrameComparer): FrameSink {
  const inner = new FrameSplitter(comparer.geometryOf, comparer);
  return {
    frameData: () => undefined,
    frameEnd: (_i, geo, slices) => inner.push(Buffer.from(nv12ToPlanar(Buffer.concat(slices), geo))),
  };
}

async function run(label: string, algo: FrameHashAlgo | null, nv12 = false): Promise<void> {
  const hashers = await Hashers.load();
  const expected: ExpectedFrame[] = [];
  for (let i = 0; i < frames; i++) {
    const planar = nv12 ? Buffer.from(nv12ToPlanar(pool[i % 4]!, g)) : pool[i % 4]!;
    const hashes = algo ? { [algo]: hashers.digest(algo, planar) } : {};
    expected.push({ geometry: g, hashes });
  }
  const comparer = new FrameComparer(hashers, expected, { comparePixels: algo !== null });
  const splitter = new FrameSplitter(comparer.geometryOf, nv12 ? nv12Front(comparer) : comparer);
  const chunk = chunkKiB * 1024;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < frames; i++) {
    const f = pool[i % 4]!;
    // chunk boundaries do not align with frames, like an SSH channel
    for (let off = 0; off < f.length; off += chunk) splitter.push(f.subarray(off, Math.min(off + chunk, f.length)));
  }
  splitter.end();
  const r = comparer.finish();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.mismatchingFrames !== 0 || r.framesProduced !== frames) throw new Error(`${label}: comparison wrong (${r.mismatchingFrames} bad)`);
  const mb = (frames * size) / 1e6;
  console.log(
    `${label.padEnd(34)} ${frames} frames 1920x1080 ${nv12 ? 'NV12' : 'I420'} in ${s.toFixed(2)} s: ${(frames / s).toFixed(1)} frames/s, ${(mb / s).toFixed(0)} MB/s`,
  );
}

console.log(`frame ${size} bytes, chunks of ${chunkKiB} KiB, node ${process.version}`);
await run('count only + stream MD5 (visl mode)', null);
await run('xxh64 per frame + stream MD5', 'xxh64');
await run('md5 per frame + stream MD5', 'md5');
await run('sha256 per frame + stream MD5', 'sha256');
await run('NV12 in -> I420 + xxh64 + stream MD5', 'xxh64', true);
