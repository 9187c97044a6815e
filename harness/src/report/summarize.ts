/**
 * Derived parts of a run record: verdict counts, run-level checks, exit code,
 * run ids. Pure functions of the vector results, so every writer and the
 * pipeline agree on them.
 */
import { redact } from '../core/events.ts';
import { ExitCode } from '../core/errors.ts';
import type { BoardInfo, Counts, RunRecord, VectorResult } from '../model/record.ts';
import { CHECKS, isFailure, type Check } from '../model/verdict.ts';
import type { CaptureSummary, Latency } from '../model/captures.ts';

/** Counts per verdict; `planned` is the number of vectors the run meant to decode. */
export function countVerdicts(vectors: readonly VectorResult[], planned: number): Counts {
  const c: Counts = {
    total: planned,
    ran: vectors.length,
    notRun: Math.max(0, planned - vectors.length),
    pass: 0,
    fail: 0,
    timeout: 0,
    error: 0,
    'not-supported': 0,
    crash: 0,
  };
  for (const v of vectors) c[v.verdict.result] += 1;
  return c;
}

/**
 * Which checks ran over the whole run: a check "ran" when it ran for at least
 * one vector; every other check is listed with the reason the vectors gave
 * (or the board's, e.g. visl does not decode pixels).
 */
export function runChecks(vectors: readonly VectorResult[], board?: Pick<BoardInfo, 'pixelsDecoded' | 'device'>): RunRecord['checks'] {
  const ran = new Set<Check>();
  const reasons = new Map<Check, string>();
  for (const v of vectors) {
    for (const c of v.verdict.checks) {
      if (c.status !== 'not-run') ran.add(c.check);
      else if (c.detail && !reasons.has(c.check)) reasons.set(c.check, c.detail);
    }
  }
  const notRun = CHECKS.filter((c) => !ran.has(c)).map((check) => ({
    check,
    reason:
      reasons.get(check) ??
      (check === 'pixels' && board && !board.pixelsDecoded
        ? `${board.device.driver} does not decode pixels`
        : vectors.length === 0
          ? 'no vector ran'
          : 'not run for any vector'),
  }));
  return { ran: CHECKS.filter((c) => ran.has(c)), notRun, pixelsVerified: ran.has('pixels') };
}

/**
 * Exit code of a run (ARCHITECTURE.md "Errors"): 2 when the run is incomplete
 * or a stage failed for infrastructure reasons (`infraFailed`), 1 when any
 * vector failed (fail, timeout, error, crash) or a stage failed because of the
 * patch (`patchFailed`, e.g. it does not compile), else 0 (not-supported does
 * not count as a failure: every check that could run passed).
 */
export function exitCodeFor(opts: { vectors: readonly VectorResult[]; infraFailed: boolean; patchFailed: boolean; interrupted: boolean }): 0 | 1 | 2 {
  if (opts.infraFailed || opts.interrupted) return ExitCode.Infrastructure;
  if (opts.patchFailed || opts.vectors.some((v) => isFailure(v.verdict.result))) return ExitCode.TestFailures;
  return ExitCode.Ok;
}

/**
 * A new run id: `YYYYMMDD-HHMMSS-<board>-<4 hex>` (UTC), safe as a folder name
 * and sortable by time. Board names are reduced to `[A-Za-z0-9._-]`.
 */
export function newRunId(board: string, when: Date = new Date(), rand: () => number = Math.random): string {
  const iso = when.toISOString(); // 2026-11-14T10:15:00.000Z
  const stamp = iso.slice(0, 10).replace(/-/g, '') + '-' + iso.slice(11, 19).replace(/:/g, '');
  const b =
    board
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .replace(/^[._-]+/, '')
      .slice(0, 40) || 'board';
  const hex = Math.floor(rand() * 0x10000)
    .toString(16)
    .padStart(4, '0');
  return `${stamp}-${b}-${hex}`;
}

/** Deep copy of `value` with every string passed through {@link redact} (tokens never reach a report). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v);
    return out as T;
  }
  return value;
}

/** "1m 05s", "850 ms", "12.3 s": a duration for people. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

/** One-line description of a verdict for tables and terminals. */
export function verdictLine(v: VectorResult): string {
  const d = v.verdict;
  switch (d.result) {
    case 'pass':
      return d.message ?? 'all checks that ran passed';
    case 'fail':
      return (
        `first bad frame ${d.firstBadFrame}, ${d.mismatchingFrames} mismatching, ${d.framesProduced}/${d.framesExpected} frames` +
        (d.message ? `: ${d.message}` : '')
      );
    case 'timeout':
      return `no result within ${formatDuration(d.timeoutMs)}` + (d.message ? `: ${d.message}` : '');
    case 'not-supported':
      return d.reason;
    case 'error':
    case 'crash':
      return d.message;
  }
}

/** µs with at most one decimal. */
export function formatUs(us: number): string {
  return String(Math.round(us * 10) / 10);
}

/**
 * One line for a person about a vector's register captures:
 * `33 jobs captured / 33 frames decoded; status 0x00000005 (irq|dec_rdy) ×33; IRQ after 100/100/100 µs, acknowledged after 8.3/9.1/40.2 µs (min/median/max) — simulated device`.
 */
export function captureLine(c: CaptureSummary): string {
  const st = c.statuses.map((s) => `${s.status} (${s.bits.join('|') || 'none'}) ×${s.count}`).join(', ');
  const lat = (l: Latency | null) => (l ? `${formatUs(l.min)}/${formatUs(l.median)}/${formatUs(l.max)} µs` : 'never');
  return `${c.jobs} jobs captured / ${c.frames} frames decoded${c.equal ? '' : ' (NOT equal)'}; status ${st || 'none'}; IRQ after ${lat(c.latencyUs.irq)}, acknowledged after ${lat(c.latencyUs.ack)} (min/median/max) — simulated device`;
}
