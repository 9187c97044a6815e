import { completeChecks, type Check, type CheckResult, type Verdict } from '../model/verdict.ts';
import type { IrqVectorSummary } from '../model/irq.ts';
import type { KernelLogFinding } from '../model/record.ts';
import type { CaptureSummary } from '../model/captures.ts';

/** A conclusion of a check that changes the verdict beyond pass/fail. */
export type Conclusion =
  | { kind: 'crash'; message: string }
  | { kind: 'not-supported'; message: string }
  /** Text appended to the not-supported reason when there is one (e.g. how far the decode got). */
  | { kind: 'not-supported-detail'; message: string }
  | { kind: 'error'; message: string };

/** What one per-vector check found (decode/checks/). */
export interface CheckJudgement {
  /** Entries of the verdict's `checks` list (report/verdict.ts CHECKS). */
  results?: CheckResult[];
  /** Output-order frames this check found bad (they count in a fail verdict whatever the status). */
  badFrames?: number[];
  conclusions?: Conclusion[];
  /** Text appended to another check's detail when that check passes. */
  amend?: { check: Check; suffix: string }[];
  /** Text appended to the pass message. */
  passSuffix?: string;
  /** Parts of the vector's run record. */
  record?: { header?: string; irq?: IrqVectorSummary; kernelLog?: KernelLogFinding[]; captures?: CaptureSummary };
}

/** Everything the verdict rests on: the decoder's own result, unchanged, and the checks' judgements. */
export interface VerdictInput {
  /** How the decoder run ended (its own words). */
  run: { exitCode: number; timedOut: boolean; notSupported?: string; error?: string };
  timeoutMs: number;
  framesExpected: number;
  framesProduced: number;
  /** Judgements in check order (the first error / not-supported conclusion names the reason). */
  judgements: readonly CheckJudgement[];
  /** Detail of every CHECKS entry no chosen check filled (why it did not run). */
  absent?: Partial<Record<Check, string>>;
}

/**
 * The verdict of one vector (report/verdict.ts), precedence: crash >
 * timeout > not-supported > error > fail > pass. A fail names the first bad
 * frame (0-based, output order) over all checks, and the number of frames
 * that failed any check (missing frames included). The decoder's refusal or
 * error comes first; the checks' conclusions follow in check order.
 */
export function verdictFrom(f: VerdictInput): Verdict {
  const results = f.judgements.flatMap((j) => j.results ?? []).map((r) => ({ ...r }));
  for (const a of f.judgements.flatMap((j) => j.amend ?? [])) {
    const r = results.find((x) => x.check === a.check && x.status === 'pass');
    if (r) r.detail = (r.detail ?? '') + a.suffix;
  }
  const filled = completeChecks(results);
  const checks = filled.map((c) => (c.status === 'not-run' && !results.includes(c) && f.absent?.[c.check] ? { ...c, detail: f.absent[c.check] } : c));
  const conclusions = f.judgements.flatMap((j) => j.conclusions ?? []);
  const first = (k: Conclusion['kind']) => conclusions.find((c) => c.kind === k)?.message;
  const { framesExpected, framesProduced } = f;
  const common = { checks, framesExpected, framesProduced };
  const crash = first('crash');
  if (crash) return { result: 'crash', ...common, message: crash };
  if (f.run.timedOut) {
    return {
      result: 'timeout',
      ...common,
      timeoutMs: f.timeoutMs,
      message: `decoder killed after ${f.timeoutMs} ms (${framesProduced} of ${framesExpected} frames received)`,
    };
  }
  const refused = f.run.notSupported ?? first('not-supported');
  if (refused) {
    const reason =
      refused +
      conclusions
        .filter((c) => c.kind === 'not-supported-detail')
        .map((c) => c.message)
        .join('');
    return { result: 'not-supported', ...common, reason, message: reason };
  }
  const error = f.run.error ?? first('error');
  if (error || f.run.exitCode !== 0) {
    return { result: 'error', ...common, message: error ?? `decoder exited with ${f.run.exitCode} after ${framesProduced} of ${framesExpected} frames` };
  }
  if (checks.some((c) => c.status === 'fail')) {
    const bad = new Set(f.judgements.flatMap((j) => j.badFrames ?? []));
    const firstBadFrame = bad.size ? Math.min(...bad) : Math.min(framesProduced, framesExpected);
    const failed = checks.filter((c) => c.status === 'fail').map((c) => c.check);
    return {
      result: 'fail',
      ...common,
      firstBadFrame,
      mismatchingFrames: Math.max(bad.size, 1),
      message: `${failed.join(', ')} failed; first bad frame ${firstBadFrame} (output order), ${Math.max(bad.size, 1)} bad frames, ${framesProduced} produced / ${framesExpected} expected`,
    };
  }
  const ran = checks.filter((c) => c.status === 'pass').map((c) => c.check);
  return { result: 'pass', ...common, message: `${ran.join(', ')} passed${f.judgements.map((j) => j.passSuffix ?? '').join('')}` };
}
