import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { WorkbenchError } from '../../core/errors.ts';

/**
 * A deterministic synthetic video source. Content is computed with integer
 * arithmetic only (hash-based value noise, fixed-point bilinear
 * interpolation), so the same spec gives the same bytes on every machine
 * and Node version. The picture is a textured plane panned with sub-pixel
 * motion (exercises sub-pixel interpolation), a box moving against it
 * (occlusion, motion boundaries), per-frame noise (bit rate pressure) and
 * optional scene cuts.
 */
export interface SourceSpec {
  width: number;
  height: number;
  frames: number;
  /** 8 or 10 (10-bit is written as 16-bit little-endian samples). */
  bitDepth: 8 | 10;
  /** Chroma format of the y4m. */
  chroma: '420' | '444';
  /** Pan velocity in 1/16 pixel per frame, [x, y]. */
  motion: [number, number];
  /** Amplitude (0..128, in 8-bit units) of the fine per-pixel texture. */
  detail: number;
  /** Amplitude (0..64) of temporal noise. */
  noise: number;
  /** Frames at which the content changes completely (new seed). */
  sceneCuts: number[];
  seed: number;
  /** Frame rate written to the y4m header (frames per second, integer). */
  fps: number;
}

/** Bumped when the generator's output for a given spec changes (part of the recipe hash). */
export const SYNTH_VERSION = 1;

function hash(x: number, y: number, s: number): number {
  let h = Math.imul(x, 0x27d4eb2d) ^ Math.imul(y, 0x165667b1) ^ Math.imul(s, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) & 0xff;
}

/**
 * Value noise at fixed-point position (x16, y16) in 1/16 pixel, lattice
 * cell of 2^cellShift pixels; returns 0..255.
 */
function noiseAt(x16: number, y16: number, cellShift: number, seed: number): number {
  const sh = 4 + cellShift;
  const cx = x16 >> sh;
  const cy = y16 >> sh;
  const mask = (1 << sh) - 1;
  const fx = x16 & mask;
  const fy = y16 & mask;
  const one = 1 << sh;
  const a = hash(cx, cy, seed);
  const b = hash(cx + 1, cy, seed);
  const c = hash(cx, cy + 1, seed);
  const d = hash(cx + 1, cy + 1, seed);
  const top = a * (one - fx) + b * fx;
  const bot = c * (one - fx) + d * fx;
  return Math.floor((top * (one - fy) + bot * fy) / (one * one));
}

function clamp(v: number, max: number): number {
  return v < 0 ? 0 : v > max ? max : v;
}

/**
 * Computes one plane of frame `t` into `out` (8-bit values scaled to the
 * bit depth). `plane` 0 = Y, 1 = U, 2 = V; (pw, ph) is the plane size and
 * (sx, sy) its subsampling shift.
 */
function renderPlane(spec: SourceSpec, t: number, plane: number, pw: number, ph: number, sx: number, sy: number, out: (i: number, v: number) => void): void {
  const scene = spec.sceneCuts.filter((c) => c <= t).length;
  const seed = spec.seed * 7 + scene * 1013 + plane * 101;
  const [vx, vy] = spec.motion;
  const maxv = (1 << spec.bitDepth) - 1;
  const up = spec.bitDepth - 8;
  // Moving box: 1/4 of the frame, moving opposite to the pan, wrapping.
  const bw = Math.max(2, spec.width >> 2);
  const bh = Math.max(2, spec.height >> 2);
  const bx = ((((spec.width >> 1) - ((vx * 3 * t) >> 4)) % spec.width) + spec.width) % spec.width;
  const by = ((((spec.height >> 2) + ((vy * 2 * t) >> 4) + t) % spec.height) + spec.height) % spec.height;
  let i = 0;
  for (let y = 0; y < ph; y++) {
    const ly = y << sy;
    const y16 = (ly << 4) + vy * t;
    for (let x = 0; x < pw; x++) {
      const lx = x << sx;
      const x16 = (lx << 4) + vx * t;
      let v: number;
      const inBox = lx >= bx && lx < bx + bw && ly >= by && ly < by + bh;
      if (inBox) {
        v = 40 + ((((lx - bx) >> 2) ^ ((ly - by) >> 2)) & 1) * 150 + (plane === 0 ? 0 : plane * 20);
      } else {
        v = (noiseAt(x16, y16, 5, seed) * 3) >> 2;
        v += ((noiseAt(x16, y16, 0, seed + 1) - 128) * spec.detail) >> 7;
        v += 32;
      }
      if (spec.noise) v += ((hash(lx, ly, seed + 17 + t * 31) - 128) * spec.noise) >> 7;
      out(i++, clamp(v << up, maxv));
    }
  }
}

/** Bytes of one y4m frame payload (without the FRAME line). */
export function y4mFrameBytes(spec: SourceSpec): number {
  const s = spec.chroma === '420' ? 1 : 0;
  const cw = (spec.width + s) >> s;
  const ch = (spec.height + s) >> s;
  return (spec.bitDepth > 8 ? 2 : 1) * (spec.width * spec.height + 2 * cw * ch);
}

/** The y4m stream header line for a spec (vpxenc's y4m reader understands these tags). */
export function y4mHeader(spec: SourceSpec): string {
  const c = spec.chroma === '420' ? (spec.bitDepth === 8 ? 'C420jpeg' : 'C420p10 XYSCSS=420P10') : spec.bitDepth === 8 ? 'C444' : 'C444p10 XYSCSS=444P10';
  return `YUV4MPEG2 W${spec.width} H${spec.height} F${spec.fps}:1 Ip A1:1 ${c}\n`;
}

/** Renders frame `t` as one planar buffer (Y, U, V; 16-bit LE above 8 bits). */
export function renderFrame(spec: SourceSpec, t: number): Uint8Array {
  const s = spec.chroma === '420' ? 1 : 0;
  const cw = (spec.width + s) >> s;
  const ch = (spec.height + s) >> s;
  const wide = spec.bitDepth > 8;
  const buf = new Uint8Array(y4mFrameBytes(spec));
  const dv = new DataView(buf.buffer);
  let base = 0;
  const planes: [number, number, number][] = [
    [spec.width, spec.height, 0],
    [cw, ch, s],
    [cw, ch, s],
  ];
  planes.forEach(([pw, ph, sh], p) => {
    const b = base;
    if (wide) renderPlane(spec, t, p, pw, ph, sh, sh, (i, v) => dv.setUint16(b + 2 * i, v, true));
    else renderPlane(spec, t, p, pw, ph, sh, sh, (i, v) => (buf[b + i] = v));
    base += pw * ph * (wide ? 2 : 1);
  });
  return buf;
}

/**
 * Writes the source as a y4m file.
 * @throws WorkbenchError `E_SYNTH` for sizes/frame counts out of range.
 */
export async function writeY4m(spec: SourceSpec, path: string): Promise<void> {
  if (spec.width < 1 || spec.height < 1 || spec.width > 8192 || spec.height > 8192 || spec.frames < 1) {
    throw new WorkbenchError('E_SYNTH', `source ${spec.width}x${spec.height}, ${spec.frames} frames is out of range`, {
      hint: 'sizes 1..8192, at least one frame',
    });
  }
  const ws = createWriteStream(path);
  const write = async (b: string | Uint8Array) => {
    if (!ws.write(b)) await once(ws, 'drain');
  };
  await write(y4mHeader(spec));
  for (let t = 0; t < spec.frames; t++) {
    await write('FRAME\n');
    await write(renderFrame(spec, t));
  }
  ws.end();
  await once(ws, 'finish');
}
