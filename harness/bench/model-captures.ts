/**
 * Decodes a simboard run's captures with the vdpu381 model offline and
 * compares every shown picture with libvpx's reference frames of the vector
 * (the workbench's references cache, `<cache>/references/<key>/references.json`,
 * I420 sha256 per frame). For each vector (`artifacts/<vector>/registers-capture.jsonl`,
 * recorded with `workbench simboard faults --full-buffers`): jobs, jobs the
 * model decoded, shown pictures equal to a reference frame, shown pictures
 * equal to none, hidden pictures (alt-refs: no reference of their own), and
 * the disagreements between the driver's state and the stream the model
 * logged. Exit 1 when a shown picture matches no reference or a job failed.
 *
 *   node --import tsx harness/bench/model-captures.ts REPORT_DIR
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheRoot } from '../src/core/paths.ts';
import { ExecaRunner } from '../src/core/runner.ts';
import { ensureModelCore } from '../src/simboard/modelCore.ts';

const report = process.argv[2];
if (!report || !existsSync(join(report, 'artifacts'))) {
  console.log('usage: node --import tsx harness/bench/model-captures.ts REPORT_DIR');
  process.exit(2);
}

/** vector name (file name without extension) -> I420 sha256 of each reference frame. */
function referenceFrames(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const dir = join(cacheRoot(), 'references');
  if (!existsSync(dir)) return out;
  for (const k of readdirSync(dir)) {
    const f = join(dir, k, 'references.json');
    if (!existsSync(f)) continue;
    const j = JSON.parse(readFileSync(f, 'utf8')) as { vector: string; frames: { i420?: { sha256: string } }[] };
    out.set(j.vector.replace(/\.[^.]+$/, ''), new Set(j.frames.map((fr) => fr.i420?.sha256 ?? '')));
  }
  return out;
}

const core = await ensureModelCore({ runner: new ExecaRunner(), log: (s) => process.stderr.write(`[model-captures] ${s}\n`) });
const refs = referenceFrames();
const tmp = mkdtempSync(join(tmpdir(), 'wb-model-captures-'));
let bad = false;
try {
  console.log(
    `${'vector'.padEnd(28)} ${'jobs'.padStart(5)} ${'decoded'.padStart(8)} ${'shown=ref'.padStart(10)} ${'shown!=ref'.padStart(11)} ${'hidden'.padStart(7)} disagreements`,
  );
  for (const v of readdirSync(join(report, 'artifacts')).sort()) {
    const capture = join(report, 'artifacts', v, 'registers-capture.jsonl');
    if (!existsSync(capture)) continue;
    const pics = join(tmp, `${v}.i420`);
    let stdout = '';
    let stderr = '';
    try {
      stdout = execFileSync(core.offline, ['--all', '--i420', pics, capture], { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const x = e as { stdout?: string; stderr?: string };
      stdout = x.stdout ?? '';
      stderr = x.stderr ?? '';
    }
    const data = existsSync(pics) ? readFileSync(pics) : Buffer.alloc(0);
    const want = refs.get(v);
    let pos = 0;
    let decoded = 0;
    let match = 0;
    let miss = 0;
    let hidden = 0;
    const jobs = stdout.split('\n').filter((l) => l.startsWith('job '));
    for (const l of jobs) {
      // "352x288 10-bit inter": 16-bit I420 samples (vpxdec's) for more than 8 bits
      const m = /^job \d+: (\d+)x(\d+)(?: (\d+)-bit)? \w+( hidden)? sta 0x00000007/.exec(l);
      if (!m) continue;
      decoded++;
      const w = Number(m[1]);
      const h = Number(m[2]);
      const bytes = m[3] ? 2 : 1;
      const n = (w * h + 2 * Math.ceil(w / 2) * Math.ceil(h / 2)) * bytes;
      const sha = createHash('sha256')
        .update(data.subarray(pos, pos + n))
        .digest('hex');
      pos += n;
      if (m[4]) hidden++;
      else if (want?.has(sha)) match++;
      else miss++;
    }
    const dis = stdout.split('\n').reduce((s, l) => s + Number(/(\d+) disagreements/.exec(l)?.[1] ?? 0), 0);
    if (miss || decoded < jobs.length) bad = true;
    console.log(
      `${v.padEnd(28)} ${String(jobs.length).padStart(5)} ${String(decoded).padStart(8)} ${String(match).padStart(10)} ${String(miss).padStart(11)} ${String(hidden).padStart(7)} ${dis}${want ? '' : '  (no references cached for this vector)'}`,
    );
    const firstFail = jobs.find((l) => !l.includes('sta 0x00000007'));
    if (firstFail) console.log(`    first failed job: ${firstFail.slice(0, 160)}`);
    if (stderr.trim()) console.log(`    ${stderr.trim().split('\n')[0]!.slice(0, 160)}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true }); // our own mkdtemp directory
}
process.exit(bad ? 1 : 0);
