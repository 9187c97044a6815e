/**
 * Hashing throughput on 1080p NV12 frames (3,110,400 bytes each): XXH64
 * (xxhash-wasm), SHA-256 (node:crypto / OpenSSL), MD5, and the streaming
 * hasher as the decode stage uses it (NV12 in, both layouts + Fluster MD5
 * out). Prints MB/s (1 MB = 1e6 bytes) and frames/s.
 *
 *   node --import tsx harness/bench/hash-throughput.ts [frames]
 */
import { createHash } from 'node:crypto';
import { xxhashApi } from '../src/compare/hash.ts';
import { FrameStreamHasher } from '../src/compare/streamHasher.ts';
import { frameBytes } from '../src/compare/layout.ts';

const frames = Number(process.argv[2] ?? 60);
const g = { width: 1920, height: 1080, bitDepth: 8 };
const size = frameBytes(g, 'nv12');
const buf = new Uint8Array(size);
let s = 12345;
for (let i = 0; i < size; i++) {
  s = (s * 1103515245 + 12345) >>> 0;
  buf[i] = s >>> 24;
}
const xx = await xxhashApi();

function bench(name: string, fn: () => void): void {
  fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < frames; i++) fn();
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  const mbs = (size * frames) / 1e6 / sec;
  console.log(`${name.padEnd(44)} ${mbs.toFixed(0).padStart(6)} MB/s  ${(frames / sec).toFixed(1).padStart(7)} frames/s`);
}

console.log(`1080p NV12 frame = ${size} bytes, ${frames} frames per measurement, node ${process.version}`);
bench('XXH64 (xxhash-wasm h64Raw)', () => void xx.h64Raw(buf));
bench('XXH64 (xxhash-wasm create64, 64 KiB chunks)', () => {
  const h = xx.create64();
  for (let o = 0; o < size; o += 65536) h.update(buf.subarray(o, o + 65536));
  h.digest();
});
bench('SHA-256 (node:crypto)', () => void createHash('sha256').update(buf).digest());
bench('MD5 (node:crypto)', () => void createHash('md5').update(buf).digest());
const geo = Array.from({ length: frames + 1 }, () => g);
const one = await FrameStreamHasher.create(geo, { layout: 'nv12', both: false });
bench('stream hasher, NV12 in, NV12 digests only', () => void one.update(buf));
const both = await FrameStreamHasher.create(geo, { layout: 'nv12', both: true });
bench('stream hasher, NV12 in, NV12+I420 digests+MD5', () => void both.update(buf));
