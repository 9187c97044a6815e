import { readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ensureEntry, sha256File } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { formatArgv, type Runner } from '../core/runner.ts';
import { tail } from '../core/text.ts';
import { requireTools } from '../core/hostTools.ts';
import type { FrameDigest } from '../compare/hash.ts';
import { frameBytes, geometryOf, type FrameGeometry } from '../compare/layout.ts';
import { hashRawFile } from '../compare/streamHasher.ts';
import { assertNativeVp9, ffmpegDecodeArgv, ffmpegVersion, parseShowinfo, vpxdecArgv, vpxdecVersion } from './decoders.ts';
import { inspectFile } from './inspect.ts';

/** Reference hashes of one output frame (libvpx decode). */
export interface ReferenceFrame {
  /** 0-based output-order number. */
  index: number;
  width: number;
  height: number;
  bitDepth: number;
  /** ffmpeg pixel format name of the planar output (`yuv420p`, `yuv420p10le`, `yuv444p`...). */
  pixelFormat: string;
  /** Planar layout (I420; 16-bit LE above 8 bits). */
  i420: FrameDigest;
  /** NV12 (8-bit) / P010 (10-bit) layout; null when the frame is not 4:2:0. */
  nv12: FrameDigest | null;
}

/** One way ffmpeg's native decode differs from libvpx's. */
export interface Disagreement {
  /** Output frame number, or -1 for stream-level differences. */
  frame: number;
  kind: 'count' | 'geometry' | 'pixels' | 'ffmpeg-failed';
  detail: string;
}

/** The references of one vector (what `ensureReferences` returns and caches). */
export interface ReferenceSet {
  /** Vector file name and SHA-256 of its bytes (the cache key). */
  vector: string;
  vectorSha256: string;
  /** libvpx decoder that produced the references, e.g. `WebM Project VP9 Decoder v1.12.0`. */
  decoder: string;
  /** The exact command that produced the planar stream. */
  command: string;
  frames: ReferenceFrame[];
  /** MD5 of all planar frames concatenated: Fluster's `result` (`vpxdec --i420 -o - FILE | md5sum`). */
  md5: string;
  /** Total planar bytes. */
  bytes: number;
  /** The ffmpeg cross-check (null when disabled). */
  crossCheck: {
    decoder: string;
    command: string;
    /** True when every frame's geometry and hashes agree. */
    agreed: boolean;
    disagreements: Disagreement[];
  } | null;
}

/** Options of {@link ensureReferences}. */
export interface ReferenceOptions {
  runner: Runner;
  /** Cache root override (tests). */
  cacheRoot?: string;
  /** Run the ffmpeg cross-check (default true). */
  crossCheck?: boolean;
  log?: (msg: string) => void;
  force?: boolean;
}

/** Version of the reference format; bump when hashing changes. */
const REFERENCE_FORMAT = 1;

/**
 * Returns the references of a vector, computing them on a cache miss:
 * decodes with `vpxdec --rawvideo` (libvpx), splits the output with the
 * inspector's output geometry, hashes every frame in both layouts
 * (SHA-256 + XXH64) and the whole output (MD5), then decodes with ffmpeg's
 * native VP9 decoder and compares geometry and hashes frame by frame.
 *
 * Cached under `references/<key>` with key = hash of {vector SHA-256,
 * vpxdec version, ffmpeg version, format}.
 *
 * @throws WorkbenchError `E_TOOL_MISSING` (vpxdec/ffmpeg), `E_REF_DECODE`
 *   when vpxdec fails, `E_REF_GEOMETRY` when vpxdec's output size does not
 *   match the frames the bitstream shows, the inspector's errors for a
 *   malformed vector. ffmpeg failures are recorded as disagreements.
 */
export async function ensureReferences(vectorPath: string, opts: ReferenceOptions): Promise<ReferenceSet> {
  const runner = opts.runner;
  const crossCheck = opts.crossCheck ?? true;
  requireTools(crossCheck ? ['vpxdec', 'ffmpeg'] : ['vpxdec']);
  const vectorSha256 = await sha256File(vectorPath);
  const decoder = await vpxdecVersion(runner);
  const ffVersion = crossCheck ? await ffmpegVersion(runner) : null;
  const inputs = { vectorSha256, decoder, crossCheck: ffVersion, format: REFERENCE_FORMAT };
  const entry = await ensureEntry(
    'references',
    inputs,
    async (tmp) => {
      const set = await computeReferences(vectorPath, vectorSha256, decoder, ffVersion, runner, tmp, opts.log);
      const { writeFile } = await import('node:fs/promises');
      await writeFile(join(tmp, 'references.json'), JSON.stringify(set, null, 1));
      return { files: ['references.json'] };
    },
    { ...(opts.cacheRoot ? { root: opts.cacheRoot } : {}), ...(opts.log ? { log: opts.log } : {}), force: opts.force ?? false },
  );
  const set = JSON.parse(await readFile(join(entry.dir, 'references.json'), 'utf8')) as ReferenceSet;
  set.vector = basename(vectorPath);
  return set;
}

async function computeReferences(
  vectorPath: string,
  vectorSha256: string,
  decoder: string,
  ffVersion: string | null,
  runner: Runner,
  tmp: string,
  log?: (m: string) => void,
): Promise<ReferenceSet> {
  const info = await inspectFile(vectorPath);
  const geometry: FrameGeometry[] = info.output;
  const expected = geometry.reduce((a, g) => a + frameBytes(g), 0);
  const vpxOut = join(tmp, 'vpxdec.yuv');
  const vargv = vpxdecArgv(vectorPath, vpxOut);
  log?.(`references: ${formatArgv(vargv)}`);
  const vr = await runner.run(vargv, { allowFailure: true, timeoutMs: 900_000 });
  if (vr.exitCode !== 0) {
    throw new WorkbenchError('E_REF_DECODE', `vpxdec failed on ${vectorPath} (exit ${vr.exitCode}): ${tail(vr.stderr, 3, ' | ')}`, {
      hint: `reproduce with: ${formatArgv(vargv)}`,
    });
  }
  const got = (await stat(vpxOut).catch(() => ({ size: 0 }))).size;
  if (got !== expected) {
    throw new WorkbenchError(
      'E_REF_GEOMETRY',
      `vpxdec wrote ${got} bytes for ${vectorPath}, but the ${geometry.length} frames the bitstream shows need ${expected} bytes`,
      { hint: `the inspector and libvpx disagree on the output frames; compare \`workbench vectors inspect ${vectorPath}\` with ${formatArgv(vargv)}` },
    );
  }
  const vpx = await hashRawFile(vpxOut, geometry, { layout: 'i420', both: true });
  await rm(vpxOut, { force: true });
  const frames: ReferenceFrame[] = vpx.frames.map((f) => ({ ...f, i420: f.i420!, nv12: f.nv12 }));
  const set: ReferenceSet = {
    vector: basename(vectorPath),
    vectorSha256,
    decoder,
    command: formatArgv(['vpxdec', '--rawvideo', '-o', '-', basename(vectorPath)]),
    frames,
    md5: vpx.md5!,
    bytes: vpx.bytes,
    crossCheck: null,
  };
  if (ffVersion) set.crossCheck = await ffmpegCrossCheck(vectorPath, frames, geometry, ffVersion, runner, tmp, log);
  return set;
}

async function ffmpegCrossCheck(
  vectorPath: string,
  ref: ReferenceFrame[],
  geometry: FrameGeometry[],
  ffVersion: string,
  runner: Runner,
  tmp: string,
  log?: (m: string) => void,
): Promise<NonNullable<ReferenceSet['crossCheck']>> {
  const out = join(tmp, 'ffmpeg.yuv');
  const argv = ffmpegDecodeArgv(vectorPath, out);
  log?.(`cross-check: ${formatArgv(argv)}`);
  const cc = {
    decoder: `${ffVersion} (native vp9)`,
    command: formatArgv(argv.map((a) => (a === out ? 'out.yuv' : a === vectorPath ? basename(vectorPath) : a))),
  };
  const r = await runner.run(argv, { allowFailure: true, timeoutMs: 900_000 });
  const disagreements: Disagreement[] = [];
  if (r.exitCode !== 0) {
    disagreements.push({ frame: -1, kind: 'ffmpeg-failed', detail: `exit ${r.exitCode}: ${tail(r.stderr, 2, ' | ')}` });
    return { ...cc, agreed: false, disagreements };
  }
  assertNativeVp9(r.stderr, argv);
  const shown = parseShowinfo(r.stderr);
  if (shown.length !== ref.length) {
    disagreements.push({ frame: -1, kind: 'count', detail: `ffmpeg output ${shown.length} frames, libvpx ${ref.length}` });
  }
  const ffGeo: FrameGeometry[] = [];
  shown.forEach((s, i) => {
    const geo = geometryOf(s.pixelFormat, s.width, s.height);
    if (!geo) {
      disagreements.push({ frame: i, kind: 'geometry', detail: `ffmpeg output pixel format ${s.pixelFormat} is not a YUV format the workbench knows` });
      return;
    }
    ffGeo.push(geo);
    const g = ref[i];
    if (g && (g.width !== s.width || g.height !== s.height || g.pixelFormat !== s.pixelFormat)) {
      disagreements.push({
        frame: i,
        kind: 'geometry',
        detail: `ffmpeg ${s.width}x${s.height} ${s.pixelFormat}, libvpx ${g.width}x${g.height} ${g.pixelFormat}`,
      });
    }
  });
  try {
    const ff = await hashRawFile(out, ffGeo, { layout: 'i420', both: false });
    ff.frames.forEach((f, i) => {
      const g = ref[i];
      if (g && (f.i420!.sha256 !== g.i420.sha256 || f.i420!.xxh64 !== g.i420.xxh64)) {
        disagreements.push({ frame: i, kind: 'pixels', detail: `ffmpeg sha256 ${f.i420!.sha256.slice(0, 16)}..., libvpx ${g.i420.sha256.slice(0, 16)}...` });
      }
    });
  } catch (e) {
    disagreements.push({ frame: -1, kind: 'count', detail: `ffmpeg output does not match its own showinfo geometry: ${(e as Error).message}` });
  }
  await rm(out, { force: true });
  return { ...cc, agreed: disagreements.length === 0, disagreements };
}
