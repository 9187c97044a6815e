import { WorkbenchError } from '../core/errors.ts';
import { formatArgv, type Runner } from '../core/runner.ts';

/**
 * The host decoders the references come from: libvpx's `vpxdec` (the
 * reference) and ffmpeg's native VP9 decoder (the cross-check). Every run
 * goes through a Runner; argv builders are exported so tests can assert on
 * them and reports can print reproducers.
 */

/**
 * `vpxdec --rawvideo [--limit=N] -o OUT FILE`: the shown frames (the first
 * `limit` of them when given), planar, unpadded, native bit depth (16-bit LE
 * above 8); OUT `-` is stdout. The one vpxdec command line of the workbench
 * (references here, the host decoder backend in decode/).
 */
export function vpxdecArgv(file: string, out: string, opts: { limit?: number } = {}): string[] {
  return ['vpxdec', '--rawvideo', ...(opts.limit !== undefined ? [`--limit=${opts.limit}`] : []), '-o', out, file];
}

/**
 * ffmpeg decoding with the native VP9 decoder (`-c:v vp9` before `-i`; the
 * libvpx wrapper is `libvpx-vp9`), every decoded frame kept
 * (`-fps_mode passthrough`), no scaling on resolution changes
 * (`-autoscale 0`), geometry printed per frame by `showinfo`, raw planar
 * output in the decoder's own pixel format.
 */
export function ffmpegDecodeArgv(file: string, out: string): string[] {
  return [
    'ffmpeg',
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-y',
    '-threads',
    '1',
    '-c:v',
    'vp9',
    '-i',
    file,
    '-map',
    '0:v:0',
    '-fps_mode',
    'passthrough',
    '-autoscale',
    '0',
    '-vf',
    'showinfo',
    '-f',
    'rawvideo',
    out,
  ];
}

/** Version string of vpxdec's VP9 decoder, e.g. `WebM Project VP9 Decoder v1.12.0`. */
export async function vpxdecVersion(runner: Runner): Promise<string> {
  const r = await runner.run(['vpxdec', '--help'], { allowFailure: true });
  const m = /vp9\s+-\s+(.*VP9 Decoder.*?)\s*$/m.exec(r.stdout + r.stderr);
  if (!m)
    throw new WorkbenchError('E_TOOL_VERSION', 'cannot read the VP9 decoder version from `vpxdec --help`', {
      hint: 'is vpx-tools installed? run `workbench doctor`',
    });
  return m[1]!.trim();
}

/** Version string of vpxenc's VP9 encoder, e.g. `WebM Project VP9 Encoder v1.12.0`. */
export async function vpxencVersion(runner: Runner): Promise<string> {
  const r = await runner.run(['vpxenc', '--help'], { allowFailure: true });
  const m = /vp9\s+-\s+(.*VP9 Encoder.*?)(\s+\(default\))?\s*$/m.exec(r.stdout + r.stderr);
  if (!m)
    throw new WorkbenchError('E_TOOL_VERSION', 'cannot read the VP9 encoder version from `vpxenc --help`', {
      hint: 'is vpx-tools installed? run `workbench doctor`',
    });
  return m[1]!.trim();
}

/** First line of `ffmpeg -version`, e.g. `ffmpeg version 5.1.9-0+deb12u1`. */
export async function ffmpegVersion(runner: Runner): Promise<string> {
  const r = await runner.run(['ffmpeg', '-hide_banner', '-version']);
  return (r.stdout.split('\n')[0] ?? '').replace(/\s+Copyright.*$/, '').trim();
}

/** One frame as ffmpeg's showinfo filter described it. */
export interface ShowinfoFrame {
  n: number;
  pixelFormat: string;
  width: number;
  height: number;
}

/** Parses `showinfo` lines (`n: 0 ... fmt:yuv420p ... s:352x288 ...`) from ffmpeg's stderr. */
export function parseShowinfo(stderr: string): ShowinfoFrame[] {
  const out: ShowinfoFrame[] = [];
  const re = /\[Parsed_showinfo[^\]]*\]\s+n:\s*(\d+)\s.*?\bfmt:(\S+)\s.*?\bs:(\d+)x(\d+)/g;
  for (const m of stderr.matchAll(re)) out.push({ n: Number(m[1]), pixelFormat: m[2]!, width: Number(m[3]), height: Number(m[4]) });
  return out;
}

/**
 * Checks from ffmpeg's "Stream mapping" lines that the native VP9 decoder
 * decoded the stream (`vp9 (native) -> ...`), not libvpx.
 * @throws WorkbenchError `E_FFMPEG_DECODER` otherwise.
 */
export function assertNativeVp9(stderr: string, argv: string[]): void {
  const m = /Stream #\d+:\d+ -> #\d+:\d+ \((\S+) \(([^)]+)\)/.exec(stderr);
  if (!m || m[1] !== 'vp9' || m[2] !== 'native') {
    throw new WorkbenchError(
      'E_FFMPEG_DECODER',
      `ffmpeg did not decode with its native VP9 decoder (stream mapping says ${m ? `${m[1]} (${m[2]})` : 'nothing'}): ${formatArgv(argv)}`,
      { hint: 'the cross-check must be independent of libvpx; check the ffmpeg build (`ffmpeg -decoders | grep vp9`)' },
    );
  }
}
