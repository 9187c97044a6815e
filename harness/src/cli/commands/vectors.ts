import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { WorkbenchError, ExitCode } from '../../core/errors.ts';
import { ExecaRunner } from '../../core/runner.ts';
import { coverageTable, formatCoverage } from '../../vectors/coverage.ts';
import { compareFrameTrace, ffmpegTraceHeaders } from '../../vectors/ffmpegTrace.ts';
import { fetchSuite } from '../../vectors/fetch.ts';
import { formatFrameTable, formatReferences, formatSummary } from '../../vectors/format.ts';
import { generateSuite, loadRecipes } from '../../vectors/index.ts';
import { inspectFile } from '../../vectors/inspect.ts';
import { ensureReferences } from '../../vectors/references.ts';
import { importFlusterJson, listSuites, loadSuite, writeManifest } from '../../vectors/suites.ts';
import { exportFlusterSuite } from '../../fluster/export.ts';
import type { FeatureId } from '../../vectors/features.ts';

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

/** Resolves FILE-or-SUITE arguments into vector paths (a suite gives its available vectors). */
async function vectorPaths(args: string[]): Promise<string[]> {
  const paths: string[] = [];
  for (const a of args) {
    if (existsSync(a)) {
      paths.push(resolve(a));
      continue;
    }
    const s = await loadSuite(a, { runner: new ExecaRunner() });
    for (const v of s.vectors) {
      if (v.path) paths.push(v.path);
      else err(`${v.name}: not available (run \`workbench vectors ${s.origin === 'generated' ? 'generate' : `fetch ${s.name}`}\`)`);
    }
  }
  return paths;
}

/** Registers the `vectors` command family. */
export function register(program: Command): void {
  const v = program.command('vectors').description('conformance vectors: suites, fetch, generation, VP9 inspector, libvpx references');

  v.command('list')
    .description('list the suites and how many of their vectors are available here')
    .action(async () => {
      for (const name of listSuites()) {
        const s = await loadSuite(name, { runner: new ExecaRunner() });
        out(`${s.name.padEnd(24)} ${s.origin.padEnd(9)} ${s.vectors.filter((x) => x.path).length}/${s.vectors.length} available  ${s.description}`);
      }
    });

  v.command('import-fluster')
    .description('import Fluster suite JSON files (e.g. /usr/share/fluster/test_suites/vp9/*.json) into vectors/suites/')
    .argument('<json...>', 'Fluster suite JSON files')
    .action(async (files: string[]) => {
      for (const f of files) {
        const m = importFlusterJson(f);
        out(`${m.suite.name}: ${m.vectors.length} vectors -> ${await writeManifest(m)}`);
      }
    });

  v.command('export-fluster')
    .description(
      'write a suite as a Fluster test suite (DIR/<suite>.json + DIR/<suite>/<vector>/<file>; result = libvpx whole-output MD5) for `fluster.py -tsd DIR -r DIR run -ts <suite>`',
    )
    .argument('<suite>', 'suite name (see `workbench vectors list`), e.g. vp9-features')
    .requiredOption('-o, --output <dir>', 'output directory (created; existing files of the same suite are replaced)')
    .option('--relative-source', 'write `source` as the bare file name instead of a file:// URL')
    .option('--no-cross-check', 'skip the ffmpeg cross-check when references must be computed')
    .action(async (suite: string, o: { output: string; relativeSource?: boolean; crossCheck: boolean }) => {
      const r = await exportFlusterSuite(suite, o.output, {
        source: o.relativeSource ? 'relative' : 'file-url',
        runner: new ExecaRunner(),
        references: { crossCheck: o.crossCheck },
        log: err,
      });
      for (const x of r.vectors) {
        out(`${x.json.result}  ${x.json.output_format.padEnd(11)} ${String(x.frames).padStart(4)} frames  ${x.json.name}`);
        if (x.suiteResultDiffers) err(`warning: ${x.json.name}: the suite's own result ${x.suiteResultDiffers} differs from libvpx's ${x.json.result}`);
        if (x.crossCheckDisagrees) err(`warning: ${x.json.name}: ffmpeg's native VP9 decoder disagrees with libvpx (see \`workbench vectors references\`)`);
      }
      out(`${r.suite.name}: ${r.vectors.length} vectors -> ${r.jsonPath} (${r.ms} ms)`);
      out(`run: fluster.py -tsd ${resolve(o.output)} -r ${resolve(o.output)} run -ts ${r.suite.name} -d libvpx-VP9`);
    });

  v.command('fetch')
    .description("download (or copy from --mirror) a suite's vectors into the content-addressed store, verifying source_checksum")
    .argument('<suite>', 'suite name (see `workbench vectors list`)')
    .option('--mirror <dir>', 'local directory holding the downloads (no network used)')
    .option('--only <names...>', 'only these vectors')
    .action(async (suite: string, o: { mirror?: string; only?: string[] }) => {
      if (o.mirror && !existsSync(o.mirror))
        throw new WorkbenchError('E_MIRROR', `mirror directory ${o.mirror} does not exist`, { hint: 'pass an existing directory' });
      const r = await fetchSuite(suite, { runner: new ExecaRunner(), ...(o.mirror ? { mirror: resolve(o.mirror) } : {}), ...(o.only ? { only: o.only } : {}) });
      for (const x of r.outcomes) out(`${x.status.padEnd(17)} ${x.name}${x.detail ? `  ${x.detail}` : ''}`);
      const c = r.counts;
      out(
        `${r.suite}: ${c.fetched} fetched, ${c.cached} cached, ${c['not-available']} not available, ${c['checksum-mismatch']} checksum mismatch, ${c['unsafe-archive']} unsafe archive, ${c.failed} failed`,
      );
      if (r.outcomes.some((x) => x.status !== 'fetched' && x.status !== 'cached')) process.exitCode = ExitCode.Infrastructure;
    });

  v.command('generate')
    .description('generate the vp9-features suite with vpxenc (cached by recipe hash); prints time and features per vector')
    .option('--only <names...>', 'only these recipes')
    .option('--force', 'regenerate even when cached')
    .action(async (o: { only?: string[]; force?: boolean }) => {
      const r = await generateSuite({ ...(o.only ? { only: o.only } : {}), force: Boolean(o.force), log: err, runner: new ExecaRunner() });
      for (const x of r.vectors) out(`${x.cached ? 'cached ' : 'built  '} ${x.name.padEnd(28)} ${String(x.ms).padStart(6)} ms  ${x.path}`);
      out(`${r.suite}: ${r.vectors.length} vectors with ${r.encoder}; ${r.vectors.filter((x) => !x.cached).length} built in ${r.ms} ms`);
    });

  v.command('inspect')
    .description('VP9 inspector: per-frame uncompressed header table and feature summary of an IVF/WebM file')
    .argument('<file>', 'vector file (.ivf or .webm)')
    .option('--json', 'print the full inspection as JSON')
    .option('--summary', 'only the summary')
    .action(async (file: string, o: { json?: boolean; summary?: boolean }) => {
      const r = await inspectFile(file);
      if (o.json) {
        out(JSON.stringify(r, null, 1));
        return;
      }
      if (!o.summary) out(formatFrameTable(r) + '\n');
      out(formatSummary(r));
    });

  v.command('coverage')
    .description('feature x vector coverage table of a suite (exit 1 when a required feature is neither covered nor marked impossible)')
    .argument('[suite]', 'suite name', 'vp9-features')
    .action(async (suite: string) => {
      const s = await loadSuite(suite, { runner: new ExecaRunner() });
      const rows: { name: string; features: FeatureId[] | null }[] = [];
      const avail: Record<string, boolean> = {};
      for (const x of s.vectors) {
        avail[x.name] = Boolean(x.path);
        rows.push({ name: x.name, features: x.path ? (await inspectFile(x.path)).features : null });
      }
      const impossible = s.origin === 'generated' ? loadRecipes(s.file).impossible : {};
      const t = coverageTable(s.name, rows, impossible);
      out(formatCoverage(t, avail));
      if (t.missing.length) process.exitCode = ExitCode.TestFailures;
    });

  v.command('references')
    .description("libvpx references (per-frame SHA-256/XXH64 in I420 and NV12/P010, Fluster MD5) cross-checked with ffmpeg's native VP9 decoder")
    .argument('<file-or-suite...>', 'vector files or suite names')
    .option('--json', 'print the reference sets as JSON')
    .option('--no-cross-check', 'skip the ffmpeg cross-check')
    .action(async (args: string[], o: { json?: boolean; crossCheck: boolean }) => {
      const sets = [];
      for (const p of await vectorPaths(args)) {
        const s = await ensureReferences(p, { crossCheck: o.crossCheck, log: err, runner: new ExecaRunner() });
        sets.push(s);
        if (!o.json) out(formatReferences(s) + '\n');
        if (s.crossCheck && !s.crossCheck.agreed) process.exitCode = ExitCode.TestFailures;
      }
      if (o.json) out(JSON.stringify(sets, null, 1));
    });

  v.command('check-inspector')
    .description('compare the inspector with ffmpeg -bsf:v trace_headers on every element of every frame')
    .argument('<file-or-suite...>', 'vector files or suite names')
    .action(async (args: string[]) => {
      const runner = new ExecaRunner();
      for (const p of await vectorPaths(args)) {
        const r = await inspectFile(p, { trace: true });
        const ff = await ffmpegTraceHeaders(runner, p);
        let compared = 0;
        const bad = [];
        if (ff.frames.length !== r.frames.length)
          bad.push({ frame: -1, element: 'frame count', ffmpeg: String(ff.frames.length), inspector: String(r.frames.length) });
        for (const f of r.frames) {
          const c = compareFrameTrace(f.index, f.trace!, ff.frames[f.index]?.elements ?? []);
          compared += c.compared;
          bad.push(...c.mismatches);
        }
        out(
          `${bad.length ? 'DIFFER' : 'agree '} ${r.file}: ${r.frames.length} frames, ${compared} elements compared${bad.length ? `; first: ${JSON.stringify(bad.slice(0, 3))}` : ''}`,
        );
        if (bad.length) process.exitCode = ExitCode.TestFailures;
      }
    });
}
