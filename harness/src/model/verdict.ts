/**
 * Per-vector verdicts: the closed set of outcomes of one conformance vector
 * (Fluster's Success/Fail/Timeout/Error/NotSupported, plus `crash`), and the
 * checks behind each verdict.
 *
 * These zod schemas are the single source of truth: the TypeScript types are
 * inferred from them, `reports/schema/run.schema.json` is generated from them
 * (`node --import tsx harness/src/report/schemaFile.ts --write`), and run.json
 * files are parsed with them when read back (`workbench report diff`).
 */
import { z } from 'zod';

/** Non-negative integer (frames, counts, bytes, ms). */
const count = z.number().int().min(0);

/**
 * The checks a verdict can rest on.
 * - `pixels`: every decoded frame hashed and compared with the libvpx reference
 *   (per-frame MD5/xxh over I420 planes, visible size, no stride padding).
 * - `controls`: the `v4l2_ctrl_vp9_frame` the driver received (visl trace events)
 *   equals the inspector's parse of the same frame (visl mode only).
 * - `bitstream`: the driver's copy of each frame (visl debugfs dumps) equals the
 *   input frame, superframes split (visl mode only).
 * - `frame-count`: number and order of output frames equal the reference's.
 * - `registers`: the register programming of every decode job (a board that
 *   captures it, the simboard) equals Rockchip MPP's for the same frame, field
 *   by field, address registers by role (registers/diff.ts).
 */
export const CHECKS = ['pixels', 'controls', 'bitstream', 'frame-count', 'registers'] as const;
export const CheckSchema = z.enum(CHECKS);
export type Check = z.infer<typeof CheckSchema>;

/** Outcome of one check for one vector. `not-run` says the check did not run, and `detail` says why. */
export const CheckResultSchema = z
  .object({
    check: CheckSchema,
    status: z.enum(['pass', 'fail', 'not-run']),
    detail: z.string().optional().describe('why it failed or why it did not run, for a person'),
  })
  .describe('outcome of one check for one vector');
export type CheckResult = z.infer<typeof CheckResultSchema>;

/** The closed set of verdicts (see reports/README.md for the meaning of each). */
export const VERDICTS = ['pass', 'fail', 'timeout', 'error', 'not-supported', 'crash'] as const;
export const VerdictResultSchema = z.enum(VERDICTS);
export type VerdictResult = z.infer<typeof VerdictResultSchema>;

const common = {
  checks: z.array(CheckResultSchema).describe('every check of CHECKS, with pass/fail/not-run'),
  message: z.string().optional().describe('one line for a person'),
  framesExpected: count.optional().describe('frames the reference has'),
  framesProduced: count.optional().describe('frames the decoder gave back'),
};

export const PassVerdictSchema = z.object({ result: z.literal('pass'), ...common });

/** At least one check failed. Frame indices are 0-based in output order. */
export const FailVerdictSchema = z.object({
  result: z.literal('fail'),
  ...common,
  firstBadFrame: count.describe('0-based index (output order) of the first frame that failed a check'),
  mismatchingFrames: count.describe('number of frames that failed a check (missing frames count)'),
  framesExpected: count,
  framesProduced: count,
});

/** The decode did not finish within the vector's time limit; it was killed. */
export const TimeoutVerdictSchema = z.object({
  result: z.literal('timeout'),
  ...common,
  timeoutMs: count.describe('the limit that fired, ms'),
});

/** The decoder exited with an error (not a refusal of the format, not a kernel crash). */
export const ErrorVerdictSchema = z.object({ result: z.literal('error'), ...common, message: z.string() });

/** The driver or decoder refused the stream (format, size, profile); `reason` quotes the driver where possible. */
export const NotSupportedVerdictSchema = z.object({
  result: z.literal('not-supported'),
  ...common,
  reason: z.string(),
});

/** A kernel oops, BUG, or watchdog timeout appeared in this vector's kernel-log slice. */
export const CrashVerdictSchema = z.object({
  result: z.literal('crash'),
  ...common,
  message: z.string().describe('the first kernel-log line of the crash'),
});

export const VerdictSchema = z.discriminatedUnion('result', [
  PassVerdictSchema,
  FailVerdictSchema,
  TimeoutVerdictSchema,
  ErrorVerdictSchema,
  NotSupportedVerdictSchema,
  CrashVerdictSchema,
]);
export type Verdict = z.infer<typeof VerdictSchema>;

/** Checks of `v` that ran (status pass or fail). */
export function checksRan(v: Pick<Verdict, 'checks'>): Check[] {
  return v.checks.filter((c) => c.status !== 'not-run').map((c) => c.check);
}

/** Checks of `v` that did not run (including CHECKS missing from the list). */
export function checksNotRun(v: Pick<Verdict, 'checks'>): Check[] {
  const ran = new Set(checksRan(v));
  return CHECKS.filter((c) => !ran.has(c));
}

/**
 * Fills `checks` up to the full CHECKS list: a check the producer did not
 * mention is `not-run` with `detail` (default "not run"). Order follows CHECKS.
 */
export function completeChecks(checks: readonly CheckResult[], detail = 'not run'): CheckResult[] {
  return CHECKS.map((c) => checks.find((x) => x.check === c) ?? { check: c, status: 'not-run' as const, detail });
}

/** Fluster's name for a verdict (its TestVectorResult), for people used to Fluster's tables. */
export function flusterResultName(r: VerdictResult): string {
  switch (r) {
    case 'pass':
      return 'Success';
    case 'fail':
      return 'Fail';
    case 'timeout':
      return 'Timeout';
    case 'error':
    case 'crash':
      return 'Error';
    case 'not-supported':
      return 'NotSupported';
  }
}

/** True for verdicts that make `workbench iterate` exit with 1 (test failures). */
export function isFailure(r: VerdictResult): boolean {
  return r !== 'pass' && r !== 'not-supported';
}
