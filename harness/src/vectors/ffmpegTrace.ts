import type { Runner } from '../core/runner.ts';
import type { TraceElement } from '../model/vp9Header.ts';

/** One syntax element printed by ffmpeg's `trace_headers` bitstream filter. */
export interface FfTraceElement {
  name: string;
  bitOffset: number;
  value: number;
}

/** The elements ffmpeg printed for one frame (one "Frame" block). */
export interface FfTraceFrame {
  elements: FfTraceElement[];
}

/** Parsed `trace_headers` output: frames in decode order and the superframe indexes. */
export interface FfTrace {
  frames: FfTraceFrame[];
  superframeIndexes: FfTraceElement[][];
}

const LINE = /^\[trace_headers @ [^\]]+\]\s+(\d+)\s+(\S+)\s+([01]*)\s*=\s*(-?\d+)\s*$/;

/**
 * Parses the stderr of `ffmpeg -i FILE -c copy -bsf:v trace_headers -f null -`
 * (ffmpeg's CBS VP9 reader): "Frame" starts a frame, "Superframe Index" an
 * index, every other `offset name bits = value` line is an element.
 */
export function parseFfmpegTrace(stderr: string): FfTrace {
  const out: FfTrace = { frames: [], superframeIndexes: [] };
  let cur: FfTraceElement[] | null = null;
  for (const raw of stderr.split(/\r?\n|\r/)) {
    const line = raw.replace(/^.*?(\[trace_headers @)/, '$1');
    if (!line.startsWith('[trace_headers')) continue;
    if (/\]\s+Frame\s*$/.test(line)) {
      cur = [];
      out.frames.push({ elements: cur });
      continue;
    }
    if (/\]\s+Superframe Index\s*$/.test(line)) {
      cur = [];
      out.superframeIndexes.push(cur);
      continue;
    }
    if (/\]\s+Packet:/.test(line)) {
      cur = null;
      continue;
    }
    const m = LINE.exec(line);
    if (m && cur) cur.push({ bitOffset: Number(m[1]), name: m[2]!, value: Number(m[4]) });
  }
  return out;
}

/** Runs ffmpeg's trace_headers on `file` and parses it (ffmpeg through the Runner). */
export async function ffmpegTraceHeaders(runner: Runner, file: string): Promise<FfTrace> {
  const r = await runner.run(['ffmpeg', '-hide_banner', '-nostats', '-i', file, '-map', '0:v:0', '-c', 'copy', '-bsf:v', 'trace_headers', '-f', 'null', '-'], {
    timeoutMs: 300_000,
  });
  return parseFfmpegTrace(r.stderr);
}

/** ffmpeg CBS names that differ from the spec names the inspector uses. */
const FF_TO_SPEC: Record<string, string> = {
  raw_interpolation_filter_type: 'raw_interpolation_filter',
  frame_to_show_map_idx: 'frame_to_show_map_idx',
};

/** ffmpeg elements that carry no header information (padding). */
const FF_IGNORED = new Set(['zero_bit']);

/** One disagreement between the inspector and ffmpeg. */
export interface TraceMismatch {
  frame: number;
  element: string;
  ffmpeg: string;
  inspector: string;
}

/**
 * Compares the inspector's trace of one frame with ffmpeg's, element by
 * element: same names (after {@link FF_TO_SPEC}), same order, same bit
 * offsets, same values. Elements that only one side has are mismatches too.
 * @returns the mismatches (empty when they agree) and how many elements were compared
 */
export function compareFrameTrace(
  frame: number,
  mine: readonly TraceElement[],
  ff: readonly FfTraceElement[],
): { mismatches: TraceMismatch[]; compared: number } {
  const theirs = ff.filter((e) => !FF_IGNORED.has(e.name)).map((e) => ({ ...e, name: FF_TO_SPEC[e.name] ?? e.name }));
  const mismatches: TraceMismatch[] = [];
  const n = Math.max(theirs.length, mine.length);
  let compared = 0;
  for (let i = 0; i < n; i++) {
    const a = theirs[i];
    const b = mine[i];
    const fa = a ? `${a.name}@${a.bitOffset}=${a.value}` : '(none)';
    const fb = b ? `${b.name}@${b.bitOffset}=${b.value}` : '(none)';
    if (!a || !b || a.name !== b.name || a.bitOffset !== b.bitOffset || a.value !== b.value) {
      mismatches.push({ frame, element: a?.name ?? b?.name ?? '?', ffmpeg: fa, inspector: fb });
      if (mismatches.length > 5) break;
    } else compared++;
  }
  return { mismatches, compared };
}
