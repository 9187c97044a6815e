/**
 * Compares two run records (run.json of `workbench iterate`) for a change
 * that must not alter behaviour: same stages, same verdicts, same checks per
 * vector, same exit code, and otherwise the same content.
 *
 *   node --import tsx harness/bench/compare-runs.ts BEFORE/run.json AFTER/run.json
 *
 * Ignored: run ids, wall-clock times and durations (keys `runId`,
 * `previousRunId`, `startedAt`, `finishedAt`, `durationMs`, a kernel-log
 * finding's `time`, the deploy's `id` and `backupDir`), the workbench's own
 * version facts (`workbench`: git commit, dirty flag), durations written
 * inside text (`4.2 s`, `812 ms`, `(206 s)`), and where the board's SSH
 * endpoint lives (a vboard's port changes at every boot, its key and
 * known_hosts live in its state directory: `-p N`, `-P N`, `.../vboard/id_ed25519`).
 * Everything else is compared value by value. Prints a summary of both runs and every difference; exits 0
 * when there is none, 1 otherwise, 2 on bad input.
 */
import { readFileSync } from 'node:fs';

const IGNORED_KEYS = new Set(['runId', 'previousRunId', 'startedAt', 'finishedAt', 'durationMs', 'time', 'workbench']);
const IGNORED_PATHS = [/^deploy\.id$/, /^deploy\.backupDir$/];
const RUN_ID = /\b\d{8}-\d{6}-[A-Za-z0-9._-]+-[0-9a-f]{4}\b/g;
const DURATION = /\b\d+(\.\d+)?\s?(ms|s|min)\b/g;
const SSH_PORT = /(^|\s)-([pP]) \d+\b/g;
const VBOARD_STATE = /\S*\/vboard\/(id_ed25519|known_hosts)\b/g;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function normalise(s: string): string {
  return s.replace(RUN_ID, '<run-id>').replace(DURATION, '<duration>').replace(SSH_PORT, '$1-$2 <port>').replace(VBOARD_STATE, '<vboard-state>/$1');
}

/** Differences between `a` and `b` below `path`, as `path: a -> b` lines. */
export function diffJson(a: Json | undefined, b: Json | undefined, path = ''): string[] {
  if (IGNORED_PATHS.some((r) => r.test(path))) return [];
  if (typeof a === 'string' && typeof b === 'string') return normalise(a) === normalise(b) ? [] : [`${path}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`];
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: string[] = [];
    if (a.length !== b.length) out.push(`${path}: ${a.length} entries -> ${b.length} entries`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) out.push(...diffJson(a[i], b[i], `${path}[${i}]`));
    return out;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const out: string[] = [];
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (IGNORED_KEYS.has(k)) continue;
      const p = path ? `${path}.${k}` : k;
      if (!(k in a)) out.push(`${p}: (absent) -> ${JSON.stringify(b[k])}`);
      else if (!(k in b)) out.push(`${p}: ${JSON.stringify(a[k])} -> (absent)`);
      else out.push(...diffJson(a[k], b[k], p));
    }
    return out;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${path}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`];
}

interface RunLike {
  runId: string;
  exitCode: number;
  stages: { name: string; status: string }[];
  vectors: { name: string; verdict: { result: string; checks: { check: string; status: string }[] } }[];
}

function summary(label: string, r: RunLike): string[] {
  return [
    `${label} ${r.runId}: exit ${r.exitCode}; stages ${r.stages.map((s) => `${s.name}:${s.status}`).join(' ')}`,
    ...r.vectors.map((v) => `  ${v.name.padEnd(24)} ${v.verdict.result.padEnd(14)} ${v.verdict.checks.map((c) => `${c.check}=${c.status}`).join(' ')}`),
  ];
}

function main(argv: string[]): number {
  if (argv.length !== 2) {
    process.stderr.write('usage: compare-runs.ts BEFORE/run.json AFTER/run.json\n');
    return 2;
  }
  const [a, b] = argv.map((f) => JSON.parse(readFileSync(f!, 'utf8')) as Json & RunLike);
  for (const l of [...summary('before', a!), ...summary('after ', b!)]) console.log(l);
  const d = diffJson(a, b);
  const what = "ids, times, workbench version and the board's SSH endpoint ignored";
  console.log(d.length ? `${d.length} difference(s) (${what}):` : `no difference (${what})`);
  for (const l of d) console.log(`  ${l}`);
  return d.length ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
