/**
 * The vdpu381 model's decode time per frame against libvpx's own (issue 16,
 * "Speed": the model <= 3x libvpx on the host). For each capture file (a
 * simboard run's `artifacts/<vector>/registers-capture.jsonl`, recorded with
 * `workbench simboard faults --full-buffers`):
 * - model: `vdpu381-model-offline --quiet` runs every job; the time of each
 *   `vdpu381_model_run()` call (its line's "ms"), i.e. registers, tables,
 *   references in, libvpx decode, picture/counts/tables out;
 * - libvpx: the same frames (the jobs' bitstreams, decode order) as one IVF
 *   file, `vpxdec --summary` of the same libvpx build as the model's (SIMD
 *   with run-time CPU detection on x86-64), and the host's `vpxdec` when
 *   installed.
 * Prints per vector: jobs, model ms/frame, libvpx ms/frame, the ratio. The
 * model core is built (or taken from the cache) first.
 *
 *   node --import tsx harness/bench/model-speed.ts REPORT_DIR | CAPTURE.jsonl...
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ExecaRunner } from '../src/core/runner.ts';
import { ensureModelCore, libvpxTarget } from '../src/simboard/modelCore.ts';

const args = process.argv.slice(2);
if (args.length === 0 || args.includes('--help')) {
  console.log('usage: node --import tsx harness/bench/model-speed.ts REPORT_DIR | CAPTURE.jsonl...');
  process.exit(args.length === 0 ? 2 : 0);
}
const captures: string[] = [];
for (const a of args) {
  const arts = join(a, 'artifacts');
  if (existsSync(arts))
    for (const v of readdirSync(arts).sort()) {
      const c = join(arts, v, 'registers-capture.jsonl');
      if (existsSync(c)) captures.push(c);
    }
  else captures.push(a);
}

const core = await ensureModelCore({ runner: new ExecaRunner(), log: (s) => process.stderr.write(`[model-speed] ${s}\n`) });
const hostVpxdec = ['/usr/bin/vpxdec', '/usr/local/bin/vpxdec'].find((p) => existsSync(p));
const tmp = mkdtempSync(join(tmpdir(), 'wb-model-speed-'));

/** One IVF file of the capture's job bitstreams, decode order. */
function ivfOf(capture: string): { file: string; frames: number } {
  const frames: Buffer[] = [];
  let w = 0;
  let h = 0;
  for (const line of readFileSync(capture, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { function: string; buffers?: { stream?: { base64?: string } } };
    const b64 = r.buffers?.stream?.base64;
    if (!b64) throw new Error(`${capture}: a record without the stream's bytes (record with --full-buffers)`);
    frames.push(Buffer.from(b64, 'base64'));
    const reg = (i: number) => parseInt(r.function.slice(i * 8, i * 8 + 8), 16);
    w = w || reg(18) * 16; // an upper bound is enough for the IVF header
    h = h || (reg(20) / Math.max(1, reg(18))) | 0;
  }
  const head = Buffer.alloc(32);
  head.write('DKIF', 0, 'latin1');
  head.writeUInt16LE(32, 6);
  head.write('VP90', 8, 'latin1');
  head.writeUInt16LE(w & 0xffff, 12);
  head.writeUInt16LE(h & 0xffff, 14);
  head.writeUInt32LE(30, 16);
  head.writeUInt32LE(1, 20);
  head.writeUInt32LE(frames.length, 24);
  const parts: Buffer[] = [head];
  for (const f of frames) {
    const fh = Buffer.alloc(12);
    fh.writeUInt32LE(f.length, 0);
    parts.push(fh, f);
  }
  const file = join(tmp, `${basename(dirname(capture))}.ivf`);
  writeFileSync(file, Buffer.concat(parts));
  return { file, frames: frames.length };
}

/** ms per decoded frame from `vpxdec --summary` ("N decoded frames/M showed frames in T us (F fps)"), best of 3. */
function vpxdecMsPerFrame(vpxdec: string, ivf: string): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    // --summary writes to stderr
    const r = execFileSync('sh', ['-c', '"$0" --summary --md5 -t 1 "$1" 2>&1', vpxdec, ivf], { encoding: 'utf8' });
    const m = /(\d+) decoded frames\/\d+ showed frames in (\d+) us/.exec(r);
    if (!m) throw new Error(`vpxdec --summary said: ${r.trim()}`);
    best = Math.min(best, Number(m[2]) / 1000 / Number(m[1]));
  }
  return best;
}

function modelMsPerFrame(capture: string): { jobs: number; ms: number; failed: number } {
  let best = Infinity;
  let jobs = 0;
  let failed = 0;
  for (let i = 0; i < 3; i++) {
    const r = execFileSync('sh', ['-c', '"$0" --quiet "$1" || true', core.offline, capture], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const lines = r.split('\n').filter((l) => l.startsWith('job '));
    const total = lines.reduce((s, l) => s + Number(/; ([\d.]+) ms\)/.exec(l)?.[1] ?? 0), 0);
    jobs = lines.length;
    failed = lines.filter((l) => !l.includes('sta 0x00000007')).length;
    best = Math.min(best, total / Math.max(1, jobs));
  }
  return { jobs, ms: best, failed };
}

try {
  console.log(`model: ${core.offline} (libvpx ${core.version}, target ${libvpxTarget()})`);
  console.log(
    `${'vector'.padEnd(28)} ${'jobs'.padStart(5)} ${'model ms/f'.padStart(11)} ${'libvpx C ms/f'.padStart(14)} ${'ratio'.padStart(6)}${hostVpxdec ? ` ${'host vpxdec ms/f'.padStart(17)} ${'ratio'.padStart(6)}` : ''}`,
  );
  for (const c of captures) {
    const name = basename(dirname(c));
    const m = modelMsPerFrame(c);
    const { file } = ivfOf(c);
    let lib: number;
    try {
      lib = vpxdecMsPerFrame(core.vpxdec, file);
    } catch (e) {
      console.log(
        `${name.padEnd(28)} ${String(m.jobs).padStart(5)}  libvpx cannot decode it: ${((e as { stdout?: string }).stdout ?? String(e)).split('\n')[0]}`,
      );
      continue;
    }
    let line = `${name.padEnd(28)} ${String(m.jobs).padStart(5)} ${m.ms.toFixed(3).padStart(11)} ${lib.toFixed(3).padStart(14)} ${(m.ms / lib).toFixed(2).padStart(6)}`;
    if (hostVpxdec) {
      const host = vpxdecMsPerFrame(hostVpxdec, file);
      line += ` ${host.toFixed(3).padStart(17)} ${(m.ms / host).toFixed(2).padStart(6)}`;
    }
    if (m.failed) line += `  (${m.failed} job(s) not decoded)`;
    console.log(line);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true }); // our own mkdtemp directory
}
