/**
 * Run-to-run diff (`workbench report diff A B`, and iterate's comparison
 * with the previous run on the same board, `workbench nightly`): new
 * failures, fixes, changed first bad frame, changed output hashes, changed
 * IRQ statuses, and other verdict changes.
 */
import type { RunRecord, VectorResult } from '../model/record.ts';
import { isFailure, type VerdictResult } from '../model/verdict.ts';

/** A vector whose verdict changed between two runs. */
export interface VerdictChange {
  vector: string;
  /** Verdict in the base run; null when the vector was not in it. */
  before: VerdictResult | null;
  after: VerdictResult;
}

/** What changed from run `base` to run `head`. */
export interface RunDiff {
  base: string;
  head: string;
  /** Failing in head (fail, timeout, error, crash) and not failing (or absent) in base. */
  newFailures: VerdictChange[];
  /** Failing in base, pass in head. */
  fixes: VerdictChange[];
  /** Failing with `fail` in both, with a different first bad frame (0-based). */
  changedFirstBadFrame: { vector: string; before: number; after: number }[];
  /** Any other verdict change (e.g. fail -> timeout, pass -> not-supported). */
  otherChanges: VerdictChange[];
  /**
   * Same verdict, but the whole-output MD5 of the decoded frames differs
   * (both runs computed it: pixels mode, decode finished).
   */
  changedHashes: { vector: string; before: string; after: string }[];
  /**
   * Both runs recorded the vdpu381 IRQ status (register 0x380) of the
   * vector's jobs and the set of distinct `status/mode` words differs
   * (counts are ignored: they follow the frame count).
   */
  changedIrq: { vector: string; before: string[]; after: string[] }[];
  /** In base, not run in head. */
  missing: string[];
  /** Same verdict in both runs. */
  unchanged: number;
}

/** Compares two run records vector by vector (matched by suite + name). */
export function diffRuns(base: RunRecord, head: RunRecord): RunDiff {
  const key = (v: VectorResult) => `${v.suite}\u0000${v.name}`;
  const before = new Map(base.vectors.map((v) => [key(v), v]));
  const d: RunDiff = {
    base: base.runId,
    head: head.runId,
    newFailures: [],
    fixes: [],
    changedFirstBadFrame: [],
    otherChanges: [],
    changedHashes: [],
    changedIrq: [],
    missing: [],
    unchanged: 0,
  };
  const seen = new Set<string>();
  for (const h of head.vectors) {
    seen.add(key(h));
    const b = before.get(key(h));
    const after = h.verdict.result;
    const was = b?.verdict.result ?? null;
    const change = { vector: h.name, before: was, after };
    if (isFailure(after) && (was === null || !isFailure(was))) d.newFailures.push(change);
    else if (was !== null && isFailure(was) && after === 'pass') d.fixes.push(change);
    else if (was !== after) d.otherChanges.push(change);
    else {
      d.unchanged += 1;
      if (b && b.verdict.result === 'fail' && h.verdict.result === 'fail' && b.verdict.firstBadFrame !== h.verdict.firstBadFrame)
        d.changedFirstBadFrame.push({ vector: h.name, before: b.verdict.firstBadFrame, after: h.verdict.firstBadFrame });
      if (b?.md5.actual && h.md5.actual && b.md5.actual !== h.md5.actual) d.changedHashes.push({ vector: h.name, before: b.md5.actual, after: h.md5.actual });
    }
    if (b?.irq && h.irq) {
      const was = irqWords(b),
        now = irqWords(h);
      if (was.join() !== now.join()) d.changedIrq.push({ vector: h.name, before: was, after: now });
    }
  }
  for (const b of base.vectors) if (!seen.has(key(b))) d.missing.push(b.name);
  return d;
}

/** The distinct `status/mode` words of a vector's IRQ summary, sorted (`0x00000004/2`; `/?` when the mode was not recorded). */
function irqWords(v: VectorResult): string[] {
  return [...new Set((v.irq?.statuses ?? []).map((s) => `${s.status}/${s.mode ?? '?'}`))].sort();
}

/** True when nothing a person would act on changed. */
export function diffIsEmpty(d: RunDiff): boolean {
  return (
    !d.newFailures.length &&
    !d.fixes.length &&
    !d.changedFirstBadFrame.length &&
    !d.otherChanges.length &&
    !d.changedHashes.length &&
    !d.changedIrq.length &&
    !d.missing.length
  );
}

/** The diff as plain text lines (terminal, `report diff`). */
export function diffText(d: RunDiff): string {
  const out = [`diff ${d.base} -> ${d.head}:`];
  if (diffIsEmpty(d)) out.push(`  no change (${d.unchanged} vectors with the same verdict)`);
  for (const x of d.newFailures) out.push(`  NEW FAILURE  ${x.vector}: ${x.before ?? 'absent'} -> ${x.after}`);
  for (const x of d.fixes) out.push(`  FIXED        ${x.vector}: ${x.before} -> ${x.after}`);
  for (const x of d.changedFirstBadFrame) out.push(`  FIRST BAD    ${x.vector}: frame ${x.before} -> frame ${x.after}`);
  for (const x of d.otherChanges) out.push(`  CHANGED      ${x.vector}: ${x.before ?? 'absent'} -> ${x.after}`);
  for (const x of d.changedHashes) out.push(`  HASH         ${x.vector}: output MD5 ${x.before} -> ${x.after}`);
  for (const x of d.changedIrq) out.push(`  IRQ STATUS   ${x.vector}: ${x.before.join(' ') || 'none'} -> ${x.after.join(' ') || 'none'}`);
  for (const x of d.missing) out.push(`  NOT RUN      ${x} (was in ${d.base})`);
  return out.join('\n');
}
