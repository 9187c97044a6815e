import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/core/paths.ts';
import { ExecaRunner } from '../../src/core/runner.ts';
import { simboardDown, simboardStatus, simboardUp } from '../../src/simboard/simboard.ts';
import { generateSuite } from '../../src/vectors/generate/generate.ts';
import { workbenchCli } from '../cli/workbenchCli.ts';

/**
 * Issue 16's broken-build fixture: the series with one wrong reference slot
 * and the series with one wrong segmentation flag, each decoded on the real
 * simboard with the real vdpu381 model core (libvpx driven by the driver's
 * registers), must fail the pixels check at the frame where the broken
 * field first matters, with a diff PNG of that frame; the same vectors pass
 * with the series as it is, so the fixture and nothing else makes them
 * fail. With the series as it is, the whole vp9-features suite decodes:
 * every 4:2:0 vector passes the pixels check (8-bit and 10-bit, as ffprobe
 * reads them), p0-resize-inter is not-supported naming GStreamer's drop at
 * its inter-frame size change, p1-444 (4:4:4) is not-supported.
 *
 * The fixtures (harness/test/simboard/fixtures/, on top of
 * patches/simboard/series):
 * - broken-golden-ref-slot.patch: the golden reference is looked up by
 *   last_frame_ts, so reg165 holds the LAST reference's buffer;
 * - broken-seg-id-update-flag.patch: segmap_update() tests temporal_update
 *   where update_map is meant, so reg075 segment_id_update is 0 on an inter
 *   frame that codes a new map without temporal prediction, and the driver's
 *   two segment maps are not swapped after it (reg168 of a later frame names
 *   the map of the frame before).
 *
 * The expected frames come from the streams, not from the code under test
 * (driver, model, checks): ffmpeg's CBS VP9 reader (`trace_headers` after
 * `vp9_superframe_split`) gives every frame's header with bit positions,
 * and the host's libvpx (`vpxdec`) decodes. See goldenExpectation() and
 * segExpectation() for the reasoning.
 *
 * Gated by WORKBENCH_SIMBOARD_INT=1 like simboard.int and model.int; needs
 * root (the simboard), vpxenc/vpxdec and ffmpeg on the host. Its own
 * simboard (private state dir), stopped in afterAll. Run:
 *   WORKBENCH_SIMBOARD_INT=1 npx vitest run harness/test/simboard/modelPixels.int.test.ts
 */
const log = (s: string) => process.stderr.write(`[model-pixels-int] ${s}\n`);
const cli = (args: string[]) => workbenchCli(args, 1_800_000);
const run = promisify(execFile);

/** A vector with golden != last in use (35x19, 20 shown frames, hidden alt-refs). */
const GOLDEN_VECTOR = 'p0-odd-tiny';
/** Cyclic-refresh AQ: segmentation on every frame from 1 to 20, maps coded with and without temporal prediction. */
const SEG_VECTOR = 'p0-aq-cyclic-rt';

interface VectorRecord {
  name: string;
  verdict: { result: string; message: string; firstBadFrame?: number; checks: { check: string; status: string; detail?: string }[] };
  artifacts: { kind: string; path: string; frame?: number }[];
}

/** Where a fixture must show: the registers check (decode-order frame and its output frame) and the pixels check (output frame). */
interface Expectation {
  /** Decode-order frame whose registers first differ from the right programming. */
  registerJob: number;
  /** Output-order frame the registers check names for it (a hidden frame counts in the next output). */
  registerFrame: number;
  /** First output frame whose pixels differ. */
  pixelFrame: number;
}

/** One frame of ffmpeg's trace: element name -> value and bit offset in the frame. */
type TraceFrame = Map<string, { bit: number; value: number }>;

/** ffmpeg's CBS VP9 reader on every frame (superframes split, hidden frames and show_existing_frame included), decode order. */
async function traceHeaders(file: string): Promise<TraceFrame[]> {
  const r = await run(
    'ffmpeg',
    ['-hide_banner', '-nostats', '-i', file, '-map', '0:v:0', '-c', 'copy', '-bsf:v', 'vp9_superframe_split,trace_headers', '-f', 'null', '-'],
    {
      maxBuffer: 64 << 20,
    },
  );
  const frames: TraceFrame[] = [];
  for (const line of r.stderr.split('\n')) {
    const body = /\[trace_headers @ [^\]]+\]\s+(.*)$/.exec(line)?.[1];
    if (body === undefined) continue;
    if (/^Frame\s*$/.test(body)) frames.push(new Map());
    else if (/^Packet:/.test(body)) continue;
    const m = /^(\d+)\s+(\S+)\s+[01]*\s*=\s*(-?\d+)\s*$/.exec(body);
    if (m && frames.length) frames.at(-1)!.set(m[2]!, { bit: Number(m[1]), value: Number(m[3]) });
  }
  return frames;
}

const val = (f: TraceFrame, name: string) => f.get(name)?.value;
const shown = (f: TraceFrame) => val(f, 'show_existing_frame') === 1 || val(f, 'show_frame') === 1;
const isIntra = (f: TraceFrame) => val(f, 'frame_type') === 0 || val(f, 'intra_only') === 1;
/** Output-order index of the first frame shown at or after decode-order frame d (a hidden frame shows in a later output). */
const outputIndexOf = (frames: TraceFrame[], d: number) => frames.slice(0, d).filter(shown).length;

/**
 * Byte offset in the file of every frame, decode order: IVF packets
 * (32-byte file header, 12-byte frame headers) split at their superframe
 * index (VP9 bitstream spec, Annex B: marker 0b110xxxxx last byte, sizes
 * little-endian).
 */
function frameOffsets(ivf: Buffer): number[] {
  const out: number[] = [];
  for (let off = ivf.readUInt16LE(6); off + 12 <= ivf.length;) {
    const size = ivf.readUInt32LE(off);
    const start = off + 12;
    const c = ivf[start + size - 1]!;
    if ((c & 0xe0) === 0xc0) {
      const n = (c & 7) + 1;
      const mag = ((c >> 3) & 3) + 1;
      const index = start + size - (2 + mag * n);
      expect(ivf[index]).toBe(c);
      for (let k = 0, at = start; k < n; k++) {
        out.push(at);
        at += ivf.readUIntLE(index + 1 + k * mag, mag);
      }
    } else out.push(start);
    off = start + size;
  }
  return out;
}

/** libvpx's I420 frames of an IVF file (the host's vpxdec), each `frameBytes` long. */
async function vpxdecFrames(file: string, out: string, frameBytes: number): Promise<Buffer[]> {
  await run('vpxdec', ['--i420', '-o', out, file]);
  const all = readFileSync(out);
  expect(all.length % frameBytes).toBe(0);
  return Array.from({ length: all.length / frameBytes }, (_, i) => all.subarray(i * frameBytes, (i + 1) * frameBytes));
}

/**
 * The golden fixture programs reg165 with the buffer of the LAST reference.
 * - Registers: the field is first wrong in the first inter frame whose
 *   golden ref_frame_idx names a slot that holds another decoded frame than
 *   the slot its LAST ref_frame_idx names (slots followed through
 *   refresh_frame_flags; a key frame refreshes all 8). Before it, both
 *   registers name the same buffer (p0-odd-tiny: frames 1 and 2 have
 *   last = golden = the key frame).
 * - Pixels: a frame changes only if a block predicts from GOLDEN, which no
 *   header says. libvpx says it: the same stream with every inter frame's
 *   golden ref_frame_idx bits (3 bits at the offset ffmpeg gives)
 *   overwritten with its LAST ref_frame_idx decodes as the broken hardware
 *   would (the same picture for GOLDEN; sizes are equal, sign biases and
 *   everything else untouched), and its first output frame that differs
 *   from the original stream's is where the pixels check must fail.
 */
async function goldenExpectation(file: string, work: string): Promise<Expectation> {
  const frames = await traceHeaders(file);
  const ivf = readFileSync(file);
  const offsets = frameOffsets(ivf);
  expect(offsets).toHaveLength(frames.length);
  const slots: number[] = new Array<number>(8).fill(-1);
  let firstWrong = -1;
  const broken = Buffer.from(ivf);
  frames.forEach((f, d) => {
    if (val(f, 'show_existing_frame') === 1) return;
    if (!isIntra(f)) {
      const last = f.get('ref_frame_idx[0]')!;
      const golden = f.get('ref_frame_idx[1]')!;
      if (firstWrong < 0 && slots[golden.value] !== slots[last.value]) firstWrong = d;
      for (let b = 0; b < 3; b++) {
        const bit = golden.bit + b;
        const at = offsets[d]! + (bit >> 3);
        const mask = 0x80 >> (bit & 7);
        broken[at] = (last.value >> (2 - b)) & 1 ? broken[at]! | mask : broken[at]! & ~mask;
      }
    }
    const refresh = val(f, 'frame_type') === 0 ? 0xff : val(f, 'refresh_frame_flags')!;
    for (let s = 0; s < 8; s++) if (refresh & (1 << s)) slots[s] = d;
  });
  expect(firstWrong).toBeGreaterThan(0);
  const key = frames[0]!;
  const w = val(key, 'frame_width_minus_1')! + 1;
  const h = val(key, 'frame_height_minus_1')! + 1;
  const frameBytes = w * h + 2 * Math.ceil(w / 2) * Math.ceil(h / 2);
  const brokenFile = join(work, 'golden-as-last.ivf');
  writeFileSync(brokenFile, broken);
  const good = await vpxdecFrames(file, join(work, 'good.i420'), frameBytes);
  const bad = await vpxdecFrames(brokenFile, join(work, 'golden-as-last.i420'), frameBytes);
  expect(bad).toHaveLength(good.length);
  const pixelFrame = good.findIndex((g, i) => !g.equals(bad[i]!));
  expect(pixelFrame).toBeGreaterThanOrEqual(0);
  return { registerJob: firstWrong, registerFrame: outputIndexOf(frames, firstWrong), pixelFrame };
}

/**
 * The segmentation fixture swaps the driver's two segment maps (reg168
 * previous, reg169 current) after a frame whose temporal_update is set
 * instead of one whose update_map is set (intra and error-resilient frames
 * still swap). From the headers:
 * - Registers: reg075 segment_id_update is first wrong in the first inter,
 *   non-error-resilient frame with segmentation on, update_map 1 and
 *   temporal_update 0 (libvpx's cyclic refresh codes maps both ways).
 * - Pixels: the first frame that reads the previous map (an inter frame with
 *   segmentation on and update_map 0 or temporal_update 1, VP9 spec 6.4.7
 *   inter_segment_id) whose reg168 names, under the broken rule, a buffer
 *   last written by another frame than under the right rule (a frame writes
 *   reg169 when its segmentation is on). Its predicted segment ids, and so
 *   its quantizers, come from the older map. No frame size changes in the
 *   vector (checked), so size changes do not swap.
 */
async function segExpectation(file: string): Promise<Expectation> {
  const frames = await traceHeaders(file);
  const sizes = new Set(frames.filter((f) => f.has('frame_width_minus_1')).map((f) => `${val(f, 'frame_width_minus_1')}x${val(f, 'frame_height_minus_1')}`));
  expect(sizes.size).toBe(1);
  const writer = { right: [-1, -1], broken: [-1, -1] };
  const last = { right: 0, broken: 0 };
  let registerFrame = -1;
  let pixelFrame = -1;
  frames.forEach((f, d) => {
    if (val(f, 'show_existing_frame') === 1 || pixelFrame >= 0) return;
    const on = val(f, 'segmentation_enabled') === 1;
    const map = on && val(f, 'segmentation_update_map') === 1;
    const temporal = on && val(f, 'segmentation_temporal_update') === 1;
    const forced = isIntra(f) || val(f, 'error_resilient_mode') === 1;
    const reads = !isIntra(f) && on && (!map || temporal);
    if (reads && writer.right[last.right] !== writer.broken[last.broken]) pixelFrame = d;
    const swap = { right: map || forced, broken: temporal || forced };
    if (registerFrame < 0 && swap.right !== swap.broken) registerFrame = d;
    for (const k of ['right', 'broken'] as const) {
      if (on) writer[k][last[k] ^ 1] = d; // reg169 = the other map
      if (swap[k]) last[k] ^= 1;
    }
  });
  expect(registerFrame).toBeGreaterThan(0);
  expect(pixelFrame).toBeGreaterThan(registerFrame);
  return { registerJob: registerFrame, registerFrame: outputIndexOf(frames, registerFrame), pixelFrame: outputIndexOf(frames, pixelFrame) };
}

describe.skipIf(process.env.WORKBENCH_SIMBOARD_INT !== '1')(
  'broken-build fixtures on the simboard with the vdpu381 model core (issue 16; WORKBENCH_SIMBOARD_INT=1)',
  () => {
    const saved = { state: process.env.WORKBENCH_STATE_DIR, config: process.env.WORKBENCH_CONFIG_DIR };
    let dir: string;
    const ko: Record<'good' | 'golden' | 'seg', string> = { good: '', golden: '', seg: '' };
    const vectorFile: Record<string, string> = {};

    /** The series as the simboard builds it, plus `fixture` (absolute paths in a series file of our own). */
    const buildModule = async (tag: keyof typeof ko, fixture?: string) => {
      let series = join(projectRoot(), 'patches/simboard');
      if (fixture) {
        series = join(dir, `series-${tag}`);
        mkdirSync(series);
        const lines = readFileSync(join(projectRoot(), 'patches/simboard/series'), 'utf8')
          .split('\n')
          .filter((l) => l.trim() && !l.startsWith('#'))
          .map((l) => join(projectRoot(), 'patches/simboard', l.trim()));
        lines.push(join(projectRoot(), 'harness/test/simboard/fixtures', fixture));
        writeFileSync(join(series, 'series'), lines.join('\n') + '\n');
      }
      const t0 = Date.now();
      const b = await cli(['build', '--for', 'arm64', '--series', series, '--json']);
      expect(b.code, b.stderr.slice(-3000)).toBe(0);
      const path = (JSON.parse(b.stdout) as { modules: { name: string; path: string }[] }).modules.find((m) => m.name === 'rockchip-vdec')!.path;
      mkdirSync(join(dir, `ko-${tag}`));
      ko[tag] = join(dir, `ko-${tag}`, 'rockchip-vdec.ko');
      copyFileSync(path, ko[tag]); // the next build reuses the build folder
      log(`build ${tag}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    };

    const deploy = async (tag: keyof typeof ko) => {
      const dep = await cli(['deploy', '--board', 'simboard', '--modules', ko[tag]]);
      expect(dep.code, dep.stderr.slice(-3000)).toBe(0);
      expect(dep.stderr + dep.stdout).toMatch(/bound to c000000\.video-codec/);
    };

    const decode = async (vectors: string[], artifacts: string): Promise<Map<string, VectorRecord>> => {
      const dec = await cli(['decode', '--board', 'simboard', '--vectors', vectors.join(','), '--artifacts', artifacts, '--json']);
      const recs = dec.stdout
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as VectorRecord);
      expect(recs.map((r) => r.name).sort(), dec.stderr.slice(-3000)).toEqual([...vectors].sort());
      return new Map(recs.map((r) => [r.name, r]));
    };

    const check = (r: VectorRecord, name: string) => r.verdict.checks.find((c) => c.check === name)!;

    /** The diff PNG the pixels check wrote for output frame `frame`: a picture of the frame's size with some difference drawn. */
    const expectDiffPng = (r: VectorRecord, artifacts: string, frame: number) => {
      const diffs = r.artifacts.filter((a) => a.kind === 'diff');
      expect(diffs.map((a) => a.frame)).toEqual([frame]);
      const file = join(artifacts, r.name, `frame-${String(frame).padStart(4, '0')}-diff.png`);
      expect(existsSync(file), file).toBe(true);
      const png = PNG.sync.read(readFileSync(file));
      const summary = readFileSync(file.replace(/-diff\.png$/, '-summary.txt'), 'utf8');
      const size = /, (\d+)x(\d+) yuv420p/.exec(summary);
      expect([png.width, png.height]).toEqual([Number(size?.[1]), Number(size?.[2])]);
      let drawn = 0;
      for (let i = 0; i < png.data.length; i += 4) if (png.data[i]! > 0) drawn++;
      expect(drawn).toBeGreaterThan(0);
      expect(summary).toMatch(/[1-9]\d* samples differ/);
    };

    /** Deploys the `tag` build, decodes `vector`: fail, pixels failing at the expected frame, registers naming the field, a diff PNG. */
    const failsWhereExpected = async (tag: 'golden' | 'seg', vector: string, want: Expectation, registers: RegExp): Promise<VectorRecord> => {
      await deploy(tag);
      const art = join(dir, `art-${tag}`);
      const r = (await decode([vector], art)).get(vector)!;
      expect(r.verdict.result).toBe('fail');
      const pixels = check(r, 'pixels');
      expect(pixels.status).toBe('fail');
      expect(pixels.detail).toMatch(new RegExp(`first frame ${want.pixelFrame}:`));
      const regs = check(r, 'registers');
      expect(regs.status).toBe('fail');
      expect(regs.detail).toMatch(registers);
      expectDiffPng(r, art, want.pixelFrame);
      return r;
    };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'wb-model-pixels-int-'));
      process.env.WORKBENCH_STATE_DIR = join(dir, 'state');
      process.env.WORKBENCH_CONFIG_DIR = join(dir, 'config');
      const t0 = Date.now();
      await simboardUp({ runner: new ExecaRunner(), log, model: { core: 'auto' } });
      const st = await simboardStatus();
      expect(st.model, 'the model server is running').toMatchObject({ kind: 'core', serverRunning: true });
      log(`simboard up with the model core: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      await buildModule('good');
      await buildModule('golden', 'broken-golden-ref-slot.patch');
      await buildModule('seg', 'broken-seg-id-update-flag.patch');
      const gen = await generateSuite({ runner: new ExecaRunner(), only: [GOLDEN_VECTOR, SEG_VECTOR], log });
      for (const v of gen.vectors) vectorFile[v.name] = v.path;
    });

    afterAll(async () => {
      await simboardDown({ log }).catch(() => undefined); // stops QEMU, then the model server (their PIDs only)
      process.env.WORKBENCH_STATE_DIR = saved.state;
      process.env.WORKBENCH_CONFIG_DIR = saved.config;
      if (!saved.state) delete process.env.WORKBENCH_STATE_DIR;
      if (!saved.config) delete process.env.WORKBENCH_CONFIG_DIR;
      rmSync(dir, { recursive: true, force: true }); // our own mkdtemp directory
    });

    it('the series as it is: every 8-bit 4:2:0 vector of vp9-features passes the pixels check on the model; the rest say why not', async () => {
      // What each vector is comes from ffprobe (libavcodec's VP9 parser), not from the workbench.
      const gen = await generateSuite({ runner: new ExecaRunner(), log });
      const pixFmt = new Map<string, string>();
      for (const v of gen.vectors) {
        const p = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=pix_fmt', '-of', 'csv=p=0', v.path]);
        pixFmt.set(v.name, p.stdout.trim());
      }
      await deploy('good');
      const art = join(dir, 'art-good');
      const recs = await decode([...pixFmt.keys()], art);
      for (const [name, fmt] of pixFmt) {
        const r = recs.get(name)!;
        if (name === 'p0-resize-inter') {
          // 640x360 -> 480x270 on an inter frame: GStreamer's VP9 base class drops it and every frame after it.
          expect(r.verdict.result, r.verdict.message).toBe('not-supported');
          expect(r.verdict.message).toMatch(/Drop frame on non-keyframe format change/);
          expect(check(r, 'pixels').status, 'the frames before the size change').toBe('pass');
        } else if (fmt === 'yuv420p' || fmt === 'yuv420p10le') {
          expect(check(r, 'pixels').status, `${name} (${fmt}): ${r.verdict.message}`).toBe('pass');
          expect(check(r, 'pixels').detail).toMatch(/pixels verified against a register-driven model of vdpu381, not silicon/);
          expect(r.verdict.result, `${name}: ${r.verdict.message}`).toBe('pass');
        } else {
          // 4:4:4 (profile 1): rkvdec offers NV12/NV15 CAPTURE only
          expect(fmt).toMatch(/^yuv444p/);
          expect(r.verdict.result, `${name}: ${r.verdict.message}`).toBe('not-supported');
        }
      }
      expect([...pixFmt.values()].filter((f) => f === 'yuv420p').length).toBeGreaterThanOrEqual(16);
    });

    it('one wrong reference slot (reg165 = the LAST buffer): fails at the first frame that predicts from golden, with its diff PNG', async () => {
      const want = await goldenExpectation(vectorFile[GOLDEN_VECTOR]!, dir);
      log(
        `${GOLDEN_VECTOR}: reg165 first wrong in decode-order frame ${want.registerJob} (output ${want.registerFrame}), pixels first differ at output ${want.pixelFrame} (libvpx, golden ref_frame_idx = last's)`,
      );
      // Measured on p0-odd-tiny: reg165 first wrong in frame 3 (output 2: golden = the key frame, last = output 1), but no
      // block of it predicts from GOLDEN; the pixels first differ at output 3.
      expect(want.pixelFrame).toBeGreaterThanOrEqual(want.registerFrame);
      // The registers check sees the wrong address in the frame where it is first programmed (compared with MPP).
      const r = await failsWhereExpected(
        'golden',
        GOLDEN_VECTOR,
        want,
        new RegExp(`first difference: frame ${want.registerJob} \\(inter, job \\d+\\) reg165 vp9d_addr\\.reg165_ref_golden_base`),
      );
      expect(r.verdict.firstBadFrame).toBe(Math.min(want.registerFrame, want.pixelFrame));
    });

    it('one wrong segmentation flag (segment_id_update from temporal_update): fails at the first frame that reads the stale map, with its diff PNG', async () => {
      const want = await segExpectation(vectorFile[SEG_VECTOR]!);
      log(
        `${SEG_VECTOR}: segment_id_update first wrong in frame ${want.registerJob} (output ${want.registerFrame}), stale reg168 map first read at output ${want.pixelFrame}`,
      );
      // Measured on p0-aq-cyclic-rt (no hidden frames): frame 4 codes its map without temporal prediction, frame 5 predicts from it.
      const r = await failsWhereExpected(
        'seg',
        SEG_VECTOR,
        want,
        new RegExp(`first difference: frame ${want.registerJob} \\(inter, job \\d+\\) reg75 vp9d_param\\.reg75\\.vp9_segment_id_update: MPP 1, series 0`),
      );
      expect(r.verdict.firstBadFrame).toBe(want.registerFrame);
    });
  },
);
