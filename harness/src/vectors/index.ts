/**
 * The stable API of the vectors stage, for the decode, compare, report and
 * pipeline stages. Import from here, not from the files behind it.
 *
 * - {@link inspectFile} / {@link inspectBuffer}: demux (IVF/WebM), split
 *   superframes, parse every uncompressed header; `frames` are the units a
 *   stateless decoder gets (one V4L2 request each, show-existing frames
 *   included), `output` the geometry of every frame a decoder must output.
 * - {@link splitSuperframe}: VP9 Annex B on one packet.
 * - {@link loadSuite}: a suite's vectors and their local paths.
 * - {@link ensureReferences}: libvpx per-frame hashes (I420 + NV12/P010,
 *   SHA-256 + XXH64) and the Fluster MD5, cross-checked with ffmpeg.
 * - {@link FrameStreamHasher} / {@link hashRawFile}: hash a decoded raw
 *   stream (NV12/P010 from a board, or planar) frame by frame as it arrives,
 *   given the `output` geometry list.
 *
 * Typical decode-stage use:
 * ```ts
 * const info = await inspectFile(vector);             // frames to submit, output geometry
 * const refs = await ensureReferences(vector);        // expected hashes
 * const h = await FrameStreamHasher.create(info.output, { layout: 'nv12', both: false });
 * stream.on('data', (c) => h.update(c).forEach((f) => check(f.nv12, refs.frames[f.index].nv12)));
 * const { frames } = h.end();                         // throws E_STREAM_SHORT naming the missing frame
 * ```
 */
export { inspectBuffer, inspectFile } from './inspect.ts';
export type { FrameInfo, InspectOptions, InspectResult, OutputFrameGeometry } from './inspect.ts';
export { splitSuperframe, buildSuperframe } from './vp9/superframe.ts';
export type { ChunkFrame, SplitResult, SuperframeIndex } from './vp9/superframe.ts';
export { parseUncompressedHeader, Vp9HeaderState } from './vp9/header.ts';
export type { UncompressedHeader, ColorConfig, InterpFilter, FrameType } from '../model/vp9Header.ts';
export { demux } from './container/index.ts';
export { muxIvf } from './container/ivf.ts';
export type { Demuxed, Packet } from './container/index.ts';
export { listSuites, loadSuite } from './suites.ts';
export type { Suite, SuiteVector } from './suites.ts';
export { ensureReferences } from './references.ts';
export type { Disagreement, ReferenceFrame, ReferenceSet } from './references.ts';
export { FEATURES, REQUIRED_FEATURES, detectFeatures } from './features.ts';
export type { FeatureId } from './features.ts';
export { generateSuite } from './generate/generate.ts';
export type { GeneratedVector, GenerateResult } from './generate/generate.ts';
export { loadRecipes } from './generate/recipes.ts';
export { fetchSuite } from './fetch.ts';
export { FrameStreamHasher, hashRawFile } from '../compare/streamHasher.ts';
export type { HashedFrame, StreamHashResult, StreamHasherOptions } from '../compare/streamHasher.ts';
export { digestFrame } from '../compare/hash.ts';
export type { FrameDigest } from '../compare/hash.ts';
export { frameBytes, nv12ToPlanar, planarToNv12, pixelFormat } from '../compare/layout.ts';
export type { FrameGeometry, Layout } from '../compare/layout.ts';
