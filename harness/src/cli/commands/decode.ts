import type { Command } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode, WorkbenchError } from '../../core/errors.ts';
import { EventBus } from '../../core/events.ts';
import { ExecaRunner } from '../../core/runner.ts';
import { BoardLock } from '../../target/boardLock.ts';
import { DecodeService } from '../../decode/service.ts';
import { VISL, vislBitstreamResult, vislControlsResult } from '../../decode/plugins.ts';
import { describeStatus } from '../../irq/status.ts';
import { DEFAULT_SUITE, prepareFiles, prepareVectors } from '../../pipeline/plan.ts';
import type { StageContext } from '../../pipeline/graph.ts';
import { builtinPlugins } from '../../pipeline/plugins.ts';
import { isFailure } from '../../model/verdict.ts';
import { summarizeIrq } from '../../irq/summary.ts';
import type { IrqVectorSummary } from '../../model/irq.ts';
import { closeTargets } from '../../target/connect.ts';
import type { HeldBoard } from '../../target/provider.ts';
import { checkVectorFileName } from '../../vectors/suites.ts';

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
  /** Folder for the raw visl traces (one `<vector>.trace` each). */
  vislTrace?: string;
  json?: boolean;
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
 * `--mode`: the checks are chosen as for a visl board (controls + bitstream
 * + count), or as for a driver no driver-specific check applies to (pixels
 * compared with libvpx).
 */
const MODE_DRIVERS: Record<'pixels' | 'visl', string> = { visl: VISL, pixels: '' };

/** A stage context for the plan step outside the pipeline (log lines to stderr, nothing else recorded). */
function planContext(log: (m: string) => void): StageContext {
  return {
    stage: 'plan',
    signal: new AbortController().signal,
    bus: new EventBus(),
    log: (m) => log(m),
    command: () => undefined,
    progress: () => undefined,
    detail: () => undefined,
  };
}

/**
 * `workbench decode`: the decode stage alone, on a board (or the host for
 * libvpx-vp9), through the same decode service as iterate: per vector the
 * verdict, the checks that ran, the device used, IRQ histogram, notes. Exit
 * 0 when every vector passed or was not supported, 1 on test failures, 2 on
 * infrastructure errors. `--mode pixels|visl` overrides the checks the
 * board's driver would choose (pixels: compare with libvpx; visl: controls
 * + bitstream + count).
 */
export async function decodeCommand(files: string[], opts: DecodeCommandOptions): Promise<number> {
  const runner = new ExecaRunner();
  const out = (s: string) => process.stdout.write(s + '\n');
  const log = (m: string) => process.stderr.write(m + '\n');
  for (const f of files) checkVectorFileName(f); // before anything runs or touches the board
  const { providers, decoders, checks } = builtinPlugins();
  const backend = opts.decoder ? decoders.get(opts.decoder) : undefined;
  const onBoard = !backend || backend.where === 'target';
  const profile = onBoard ? providers.getBoard(opts.board) : undefined;
  // a labgrid board's place is acquired before the board is touched, released on every way out
  const held = profile ? await providers.hold(profile, { runner, log }) : undefined;
  const stopOnInterrupt = held?.lease ? releaseOnInterrupt(held, log) : undefined;
  try {
    const board = held?.board;
    if (board) await providers.ensureReady(board, { log, runner });
    const target = board ? providers.targetFor(board) : undefined;
    const name = board?.name ?? 'host';
    const driver = opts.driver ?? board?.driver ?? '';
    // the board's profile (its capabilities choose checks: decodesPixels, registerCaptures), or --mode's stand-in driver
    const checksFor = { ...board, name, driver: opts.mode && opts.mode !== 'auto' ? MODE_DRIVERS[opts.mode] : driver };
    const service = await DecodeService.open({
      board: { name, driver },
      ...(target ? { target } : {}),
      backend: backend ?? decoders.forBoard(board!),
      checks,
      chosen: checks.forBoard(checksFor),
      runner,
      log,
    });
    const b = service.binding;
    log(
      `decoder ${service.decoder.name}: ${b.implementation} ${b.version}${b.detail ? ` ${b.detail}` : ''}${b.device ? ` → ${b.device.media ?? '?'} ${b.device.video ?? '?'} (driver ${b.device.driver || '?'})` : ''}; checks ${service.checks.checks.map((c) => c.name).join(', ')}`,
    );
    const references = service.verifiesPixels;
    const vectors = files.length
      ? await prepareFiles(files, { runner, references, log })
      : (await prepareVectors(planContext(log), { suite: DEFAULT_SUITE, ...(opts.vectors ? { vectors: opts.vectors } : {}) }, runner, { references })).vectors;
    const timeoutMs = Number(opts.timeout ?? 60_000);
    const driverParams = parseParams(opts.vislParam);
    // --keep-raw DIR: the folder is made like --visl-trace's (a missing one crashed the decode's write stream).
    if (opts.keepRaw) await mkdir(opts.keepRaw, { recursive: true });
    if (opts.vislTrace) {
      if (checksFor.driver !== VISL) {
        throw new WorkbenchError('E_USAGE', `--visl-trace needs a board that decodes with visl; ${name} uses ${checksFor.driver || 'no driver'}`, {
          hint: 'use --board vboard (or --mode visl)',
        });
      }
      await mkdir(opts.vislTrace, { recursive: true });
      // Where the controls came from, for `workbench registers kunit-golden`'s header comment.
      const kernel = target ? await target.kernelRelease() : 'unknown';
      const b = service.binding;
      await writeFile(
        join(opts.vislTrace, 'source.txt'),
        `Linux ${kernel} visl, ${b.implementation} ${b.version}${b.detail ? ` ${b.detail}` : ''} on board ${name}\n`,
      );
    }
    let exit: number = ExitCode.Ok;
    const irqs: (IrqVectorSummary | undefined)[] = [];
    // One board lock for the whole run: no deploy or other decode comes between two vectors.
    const lock = target && board ? await BoardLock.acquire(target, board.name, { log, what: 'decode' }) : undefined;
    try {
      for (const v of vectors) {
        const o = await service.decode(
          { ...v, inspect: v.inspect!, reference: v.reference ?? null },
          {
            timeoutMs,
            ...(opts.artifacts ? { artifactsDir: join(opts.artifacts, v.name) } : {}),
            ...(opts.keepRaw ? { keepRawPath: join(opts.keepRaw, `${v.name}.yuv`) } : {}),
            ...(Object.keys(driverParams).length ? { driverParams } : {}),
            ...(opts.vislTrace ? { vislTracePath: join(opts.vislTrace, `${v.name}.trace`) } : {}),
            ...(lock ? { lock } : {}),
            log,
          },
        );
        irqs.push(o.result.irq);
        const vd = o.verdict;
        if (isFailure(vd.result)) exit = ExitCode.TestFailures;
        if (opts.json) {
          const controls = vislControlsResult(o.details);
          out(
            JSON.stringify({
              ...o.result,
              notes: o.notes,
              proof: o.run.proof,
              controls: controls && { ...controls, mismatches: controls.mismatches.slice(0, 50) },
              bitstream: vislBitstreamResult(o.details),
            }),
          );
          continue;
        }
        out(`${v.name}: ${vd.result.toUpperCase()} — ${vd.message ?? ''}`);
        for (const c of vd.checks) out(`  ${c.check.padEnd(11)} ${c.status.padEnd(7)} ${c.detail ?? ''}`);
        const p = o.run.proof;
        if (p) out(`  device      ${p.element} opened ${p.opened.join(' ') || '(not observed)'} driver ${p.driver}`);
        out(`  md5         ${o.result.md5.actual ?? '-'}${o.result.md5.expected ? ` (expected ${o.result.md5.expected})` : ''}  ${o.run.durationMs} ms`);
        if (o.result.irq)
          out(
            `  irq         ${o.result.irq.jobs} jobs: ${o.result.irq.statuses.map((s) => `${describeStatus(parseInt(s.status, 16))} x${s.count}`).join(', ')}`,
          );
        for (const f of o.result.kernelLog) out(`  kernel      ${f.severity} ${f.kind}: ${f.line}`);
        for (const a of o.result.artifacts) out(`  artifact    ${a.kind} ${a.path}`);
        for (const n of o.notes) out(`  note        ${n}`);
      }
    } finally {
      await lock?.release();
    }
    const run = summarizeIrq(irqs, service.unavailableReason('irq'));
    if (!opts.json && target) out(`IRQ BIT(2) question: ${run.answer} — ${run.explanation}`);
    return exit;
  } finally {
    // the Ctrl-C handler stays until the place is released (it waits for this same release)
    await held?.release();
    stopOnInterrupt?.();
  }
}

/**
 * Ctrl-C while a labgrid place is held (decode has no clean stop of its
 * own): the place is released, then the process exits 130; a second Ctrl-C
 * leaves at once. Returns the function that removes the handler.
 */
function releaseOnInterrupt(held: HeldBoard, log: (m: string) => void): () => void {
  let once = false;
  const onInt = () => {
    if (once) process.exit(130);
    once = true;
    log(`interrupted: releasing labgrid place ${held.lease?.place ?? ''} (Ctrl-C again to leave now)`);
    void held
      .release()
      .then(() => closeTargets())
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onInt);
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onInt);
  };
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
    .option(
      '--decoder <name>',
      `decoder backend (${builtinPlugins()
        .decoders.list()
        .map((d) => d.name)
        .join(', ')}; default: the board's)`,
    )
    .option('--mode <mode>', 'auto | pixels (compare with libvpx) | visl (controls + bitstream + count)', 'auto')
    .option('--vectors <glob>', 'only these vp9-features vectors (comma-separated globs)')
    .option('--timeout <ms>', 'per-vector time limit, ms', '60000')
    .option('--artifacts <dir>', 'write mismatch artifacts (PNGs, header summary, trace) under DIR/<vector>/')
    .option('--keep-raw <dir>', 'also keep the raw decoded stream as DIR/<vector>.yuv')
    .option(
      '--visl-param <name=value>',
      'extra visl module parameter for every vector, repeatable (e.g. visl_transtime_ms=20000)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '--visl-trace <dir>',
      'visl boards: arm every visl_vp9_controls trace event (frame, compressed header, coefficient and MV probabilities) and keep the raw trace as DIR/<vector>.trace (input of `workbench registers kunit-golden`)',
    )
    .option('--json', 'one JSON object (run-record VectorResult + check details) per vector')
    .action(async (files: string[], opts: DecodeCommandOptions) => {
      try {
        process.exitCode = await decodeCommand(files, opts);
      } finally {
        await closeTargets();
      }
    });
}
