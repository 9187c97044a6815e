/**
 * Benchmark: a second `workbench iterate` after a one-line change to a patch,
 * against the same steps done by hand as plain commands.
 *
 *   node --import tsx harness/bench/iterate-overhead.ts [--vectors GLOB] [--no-check]
 *
 * 1. `workbench iterate --json` once (warm-up: caches, vboard up).
 * 2. One-line change: a comment line added by the last patch that touches a
 *    .c file gets a word appended (line counts unchanged, so the patch still
 *    applies); `workbench iterate --json` again, timed from process start to
 *    exit (node start-up included). The patch is restored afterwards.
 * 3. By hand, the same work with plain commands: the same one-line edit in
 *    the module build folder, `make` (the same make line, in the same
 *    toolbox chroot), `scp` of the modules, `ssh depmod`, `ssh modprobe -r/
 *    modprobe`, and per vector `scp` + `ssh gst-launch-1.0` (the pipeline the
 *    run recorded) + `ssh sha256sum` of the output.
 *
 * Prints both times, the per-stage times of the timed run, and the overhead
 * ratio (iterate / by hand). Goal: the timed run under 90 s.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, basename } from 'node:path';
import { ExecaRunner } from '../src/core/runner.ts';
import { projectRoot } from '../src/core/paths.ts';
import { ensureToolbox } from '../src/toolbox/toolbox.ts';
import { vboardConnection } from '../src/vboard/vboard.ts';
import { loadRun } from '../src/report/store.ts';
import { generateSuite } from '../src/vectors/generate/generate.ts';
import type { RunRecord } from '../src/model/record.ts';

const args = process.argv.slice(2);
const vectorsIdx = args.indexOf('--vectors');
const vectorsGlob = vectorsIdx >= 0 ? args[vectorsIdx + 1] : undefined;
const noCheck = args.includes('--no-check');
const root = projectRoot();
const runner = new ExecaRunner();

/** Runs `workbench iterate --json`, returns wall ms, the result line and the record. */
async function iterate(): Promise<{ ms: number; record: RunRecord; exitCode: number }> {
  const t0 = Date.now();
  const argv = [
    join(root, 'harness/bin/workbench.js'),
    'iterate',
    '--json',
    ...(vectorsGlob ? ['--vectors', vectorsGlob] : []),
    ...(noCheck ? ['--no-check'] : []),
  ];
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn(process.execPath, argv, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    p.stdout.on('data', (d) => (s += d));
    p.on('error', reject);
    p.on('close', () => resolve(s));
  });
  const ms = Date.now() - t0;
  const result = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .find((l) => l.type === 'result');
  if (!result?.reportDir) throw new Error(`iterate wrote no report:\n${out.slice(-2000)}`);
  return { ms, record: loadRun(result.reportDir), exitCode: result.exitCode };
}

/** The last patch that adds a C comment line, and that line's index. */
function pickPatchLine(): { file: string; text: string; line: number } {
  const dir = join(root, 'patches');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.patch'))
    .sort()
    .reverse();
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    const lines = text.split('\n');
    let inC = false;
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!;
      if (l.startsWith('+++ ')) inC = /\.c$/.test(l.trim());
      else if (inC && /^\+\s\* \S.*[a-z]$/.test(l)) return { file: join(dir, f), text, line: i };
    }
  }
  throw new Error('no patch adds a C comment line to change');
}

function withEdit(text: string, line: number): string {
  const lines = text.split('\n');
  lines[line] = lines[line] + ' (bench)';
  return lines.join('\n');
}

const sh = async (argv: string[]) => {
  const t0 = Date.now();
  await runner.run(argv);
  return Date.now() - t0;
};

console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
const warm = await iterate();
console.log(`warm-up iterate: ${(warm.ms / 1000).toFixed(1)} s, exit ${warm.exitCode}, ${warm.record.status}`);

const pick = pickPatchLine();
let timed: Awaited<ReturnType<typeof iterate>>;
try {
  writeFileSync(pick.file, withEdit(pick.text, pick.line));
  timed = await iterate();
} finally {
  writeFileSync(pick.file, pick.text);
}
const r = timed.record;
console.log(`one-line change in ${basename(pick.file)} line ${pick.line + 1}`);
console.log(`second iterate: ${(timed.ms / 1000).toFixed(1)} s wall (goal < 90 s), exit ${timed.exitCode}, ${r.status}, ${r.counts.ran} vector(s)`);
for (const s of r.stages)
  console.log(`  ${s.name.padEnd(7)} ${s.status.padEnd(8)} ${((s.durationMs ?? 0) / 1000).toFixed(1).padStart(6)} s  ${s.detail ?? ''}`);
if (r.status !== 'complete') {
  console.log(`the timed run is incomplete (${r.incompleteReason}); no by-hand comparison`);
  process.exit(1);
}

// ---- by hand ----
const o = vboardConnection();
const ssh = [
  'ssh',
  '-p',
  String(o.port),
  '-i',
  o.identityFile,
  '-o',
  `UserKnownHostsFile=${o.knownHostsFile}`,
  '-o',
  `HostKeyAlias=${o.hostKeyAlias}`,
  '-o',
  'BatchMode=yes',
  `${o.user}@${o.host}`,
];
const scp = [
  'scp',
  '-q',
  '-P',
  String(o.port),
  '-i',
  o.identityFile,
  '-o',
  `UserKnownHostsFile=${o.knownHostsFile}`,
  '-o',
  `HostKeyAlias=${o.hostKeyAlias}`,
  '-o',
  'BatchMode=yes',
];
const mods = r.kernel!.modules.map((m) => m.path!);
const buildDir = mods[0]!.slice(0, mods[0]!.indexOf('/mod/') + 4);
const make = r.stages.find((s) => s.name === 'build')!.commands.find((c) => c.startsWith('make '))!;
const tb = await ensureToolbox({ runner: new ExecaRunner() });
// vector files: the plan stage's vpxenc outputs, from the cache (looked up before the clock starts)
const gen = await generateSuite({ only: r.vectors.map((v) => v.name), runner: new ExecaRunner() });
const times: Record<string, number> = {};
const t0 = Date.now();
// the same one-line edit, made in the module build folder
const changedC = pick.text
  .split('\n')
  .slice(0, pick.line)
  .reverse()
  .find((l) => l.startsWith('+++ b/'))!
  .slice(6);
const srcInMod = readdirSync(buildDir, { recursive: true, encoding: 'utf8' }).find((p) => changedC.endsWith(p) || p.endsWith(basename(changedC)));
if (srcInMod) {
  const f = join(buildDir, srcInMod);
  writeFileSync(f, readFileSync(f, 'utf8').replace(/\n/, '\n/* bench */\n'));
}
let t = Date.now();
await tb.exec(['sh', '-c', make], { binds: [{ host: buildDir, inside: '/wb/mod' }] });
times.make = Date.now() - t;
const release = r.board!.kernelRelease;
times.scp = await sh([...scp, ...mods, `${o.user}@${o.host}:/lib/modules/${release}/updates/`]);
times.depmod = await sh([...ssh, 'depmod', '-a', release]);
const loaded = r.deploy!.loaded;
times.modprobe = await sh([...ssh, `modprobe -r ${[...loaded].reverse().join(' ')} visl; modprobe visl; ${loaded.map((m) => `modprobe ${m}`).join('; ')}`]);
t = Date.now();
for (const v of r.vectors) {
  const g = gen.vectors.find((x) => x.name === v.name)!;
  const remote = `/tmp/wb-bench-${v.name}.${g.container}`;
  await runner.run([...scp, g.path, `${o.user}@${o.host}:${remote}`]);
  const pipeline = v
    .command!.replace(/filesrc location=\S+/, `filesrc location=${remote}`)
    .replace(/videocodectestsink location=\S+/, `videocodectestsink location=${remote}.yuv`);
  await runner.run([...ssh, `${pipeline} >/dev/null && sha256sum ${remote}.yuv`]);
}
times.decode = Date.now() - t;
const manual = Date.now() - t0;
console.log(
  `by hand (plain commands): ${(manual / 1000).toFixed(1)} s  [${Object.entries(times)
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
    .join(', ')}]`,
);
console.log(
  `overhead ratio (iterate / by hand): ${(timed.ms / manual).toFixed(2)}; load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
