import type { Command } from 'commander';
import { basename, join } from 'node:path';
import { ExitCode, WorkbenchError } from '../../core/errors.ts';
import { ExecaRunner } from '../../core/runner.ts';
import { getDecoder, listDecoders, type DeviceProof } from '../../decode/registry.ts';
import '../../decode/gstV4l2sl.ts';
import '../../decode/vpxdecHost.ts';
import { runVector } from '../../decode/runVector.ts';
import { enableInstrumentation, type InstrumentationState } from '../../irq/instrumentation.ts';
import { describeStatus } from '../../irq/status.ts';
import { isFailure } from '../../model/verdict.ts';
import { summarizeIrq } from '../../irq/summary.ts';
import type { IrqVectorSummary } from '../../model/irq.ts';
import { closeTargets } from '../../target/connect.ts';
import { builtinProviders } from '../../plugins/builtin.ts';
import type { Target } from '../../target/types.ts';
import { generateSuite, loadRecipes } from '../../vectors/index.ts';
import { inspectFile } from '../../vectors/inspect.ts';
import { checkVectorFileName } from '../../vectors/suites.ts';
import { ensureReferences } from '../../vectors/references.ts';

/** Options of `workbench decode`. */
export interface DecodeCommandOptions {
  board?: string;
  driver?: string;
  decoder?: string;
  mode?: 'auto' | 'pixels' | 'visl';
  vectors?: string;
  timeout?: string;
  artifacts?: string;
  keepRaw?: string;
  vislParam?: string[];
  json?: boolean;
}

function globMatch(glob: string): (n: string) => boolean {
  const res = glob.split(',').map((g) => new RegExp('^' + g.trim().replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$'));
  return (n) => res.some((r) => r.test(n));
}

/** Vector files: the given paths, or the generated vp9-features vectors (optionally filtered). */
async function resolveVectors(files: string[], glob: string | undefined, log: (m: string) => void): Promise<{ name: string; file: string; features?: string[] }[]> {
  if (files.length) return files.map((f) => ({ name: checkVectorFileName(f), file: f }));
  const recipes = loadRecipes();
  let names = recipes.vectors.map((v) => v.name);
  if (glob) names = names.filter(globMatch(glob));
  if (!names.length) throw new WorkbenchError('E_NO_VECTORS', `--vectors ${glob} matches no vector of vp9-features`, { hint: `vectors: ${recipes.vectors.map((v) => v.name).join(', ')}` });
  const gen = await generateSuite({ only: names, log });
  return gen.vectors.map((v) => ({ name: basename(v.path), file: v.path, features: v.features }));
}

function parseParams(list: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of list) {
    const m = /^([A-Za-z0-9_]+)=([A-Za-z0-9_.-]+)$/.exec(p);
    if (!m) throw new WorkbenchError('E_USAGE', `--visl-param '${p}' is not name=value`, { hint: 'e.g. --visl-param visl_transtime_ms=20000' });
    out[m[1]!] = m[2]!;
  }
  return out;
}

/**
 * `workbench decode`: the decode stage alone, on a board (or the host for
 * libvpx-vp9): per vector the verdict, the checks that ran, the device
 * used, IRQ histogram, notes. Exit 0 when every vector passed or was not
 * supported, 1 on test failures, 2 on infrastructure errors.
 */
export async function decodeCommand(files: string[], opts: DecodeCommandOptions): Promise<number> {
  const runner = new ExecaRunner();
  const out = (s: string) => process.stdout.write(s + '\n');
  const log = (m: string) => process.stderr.write(m + '\n');
  for (const f of files) checkVectorFileName(f); // before anything runs or touches the board
  const decoderName = opts.decoder ?? 'gst-v4l2sl-vp9';
  const factory = getDecoder(decoderName);
  let target: Target | undefined;
  let driver = opts.driver;
  if (factory.where === 'target') {
    const providers = builtinProviders();
    const board = providers.getBoard(opts.board);
    await providers.ensureReady(board, { log });
    target = providers.targetFor(board);
    driver ??= board.driver;
  }
  const decoder = factory.create({ ...(target ? { target } : {}), runner, ...(driver ? { driver } : {}) });
  const proof = await decoder.probe();
  const mode = opts.mode && opts.mode !== 'auto' ? opts.mode : driver === 'visl' ? 'visl' : 'pixels';
  if ('videoDevice' in proof) {
    const p = proof as DeviceProof;
    log(`decoder ${decoderName}: element ${p.element} → ${p.mediaDevice} ${p.videoDevice} (driver ${p.driver || '?'}); mode ${mode}`);
  }
  let irq: InstrumentationState | undefined;
  if (target && driver !== 'visl') {
    irq = await enableInstrumentation(target);
    log(irq.state === 'enabled' ? `IRQ instrumentation: ${irq.how.join(', ')}` : `IRQ instrumentation unavailable: ${irq.reason}`);
  }
  const vectors = await resolveVectors(files, opts.vectors, log);
  const timeoutMs = Number(opts.timeout ?? 60_000);
  const vislParams = parseParams(opts.vislParam);
  let exit: number = ExitCode.Ok;
  const irqs: (IrqVectorSummary | undefined)[] = [];
  for (const v of vectors) {
    const inspect = await inspectFile(v.file);
    const reference = mode === 'pixels' ? await ensureReferences(v.file, { runner, log }) : null;
    const o = await runVector({
      ...(target ? { target } : {}),
      decoder,
      vector: { ...v, suite: opts.vectors || !files.length ? 'vp9-features' : '' },
      inspect,
      reference,
      mode,
      timeoutMs,
      runner,
      ...(opts.artifacts ? { artifactsDir: join(opts.artifacts, v.name) } : {}),
      ...(opts.keepRaw ? { keepRawPath: join(opts.keepRaw, `${v.name}.yuv`) } : {}),
      ...(Object.keys(vislParams).length ? { vislParams } : {}),
      ...(irq ? { irq } : {}),
      log,
    });
    irqs.push(o.irq?.summary);
    const vd = o.verdict;
    if (isFailure(vd.result)) exit = ExitCode.TestFailures;
    if (opts.json) {
      out(JSON.stringify({ ...o.result, notes: o.notes, proof: o.run.proof, controls: o.controls && { ...o.controls, mismatches: o.controls.mismatches.slice(0, 50) }, bitstream: o.bitstream }));
      continue;
    }
    out(`${v.name}: ${vd.result.toUpperCase()} — ${vd.message ?? ''}`);
    for (const c of vd.checks) out(`  ${c.check.padEnd(11)} ${c.status.padEnd(7)} ${c.detail ?? ''}`);
    const p = o.run.proof;
    if (p) out(`  device      ${p.element} opened ${p.opened.join(' ') || '(not observed)'} driver ${p.driver}`);
    out(`  md5         ${o.result.md5.actual ?? '-'}${o.result.md5.expected ? ` (expected ${o.result.md5.expected})` : ''}  ${o.run.durationMs} ms`);
    if (o.irq) out(`  irq         ${o.irq.summary.jobs} jobs: ${o.irq.summary.statuses.map((s) => `${describeStatus(parseInt(s.status, 16))} x${s.count}`).join(', ')}`);
    for (const f of o.result.kernelLog) out(`  kernel      ${f.severity} ${f.kind}: ${f.line}`);
    for (const a of o.result.artifacts) out(`  artefact    ${a.kind} ${a.path}`);
    for (const n of o.notes) out(`  note        ${n}`);
  }
  const run = summarizeIrq(irqs, irq?.state === 'unavailable' ? irq.reason : driver === 'visl' ? 'no rkvdec jobs observed: the board runs visl, which has no vdpu381 interrupt' : undefined);
  if (!opts.json && target) out(`IRQ BIT(2) question: ${run.answer} — ${run.explanation}`);
  return exit;
}

/** Registers `workbench decode`. */
export function register(program: Command): void {
  program
    .command('decode')
    .description(
      'decode vectors on a board through the V4L2 request API (GStreamer v4l2slvp9dec) and judge each: pass/fail/timeout/error/not-supported/crash; on visl: controls, bitstream and frame count (pixels not verified)',
    )
    .argument('[vectors...]', 'vector files (IVF/WebM); default: the generated vp9-features suite')
    .option('--board <name>', 'board from boards.toml (default: the virtual board, started if needed)')
    .option('--driver <name>', 'kernel driver whose decoder to use (default: visl on the vboard, rkvdec elsewhere)')
    .option('--decoder <name>', `decoder (${listDecoders().map((d) => d.name).join(', ')})`, 'gst-v4l2sl-vp9')
    .option('--mode <mode>', 'auto | pixels (compare with libvpx) | visl (controls + bitstream + count)', 'auto')
    .option('--vectors <glob>', 'only these vp9-features vectors (comma-separated globs)')
    .option('--timeout <ms>', 'per-vector time limit, ms', '60000')
    .option('--artifacts <dir>', 'write mismatch artefacts (PNGs, header summary, trace) under DIR/<vector>/')
    .option('--keep-raw <dir>', 'also keep the raw decoded stream as DIR/<vector>.yuv')
    .option('--visl-param <name=value>', 'extra visl module parameter for every vector, repeatable (e.g. visl_transtime_ms=20000)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--json', 'one JSON object (run-record VectorResult + check details) per vector')
    .action(async (files: string[], opts: DecodeCommandOptions) => {
      try {
        process.exitCode = await decodeCommand(files, opts);
      } finally {
        await closeTargets();
      }
    });
}
