import type { Runner } from '../../core/runner.ts';
import type { InstrumentationState } from '../../irq/instrumentation.ts';
import type { KernelLogMarker, KernelLogSlice } from '../../irq/kernelLog.ts';
import type { Artifact } from '../../model/record.ts';
import type { Check } from '../../model/verdict.ts';
import type { CheckJudgement } from '../../compare/verdict.ts';
import type { CompareResult } from '../../compare/frameCompare.ts';
import type { SplitSummary } from '../../compare/splitter.ts';
import type { Target } from '../../target/types.ts';
import type { InspectResult } from '../../vectors/inspect.ts';
import type { ReferenceSet } from '../../vectors/references.ts';
import type { Decoder, DecoderRun } from '../backend.ts';

/**
 * Per-vector checks: each is one file in decode/checks/ plus one line in
 * plugins.ts, chosen for a board from its profile (a visl board:
 * controls + bitstream; a decoding device: pixels + IRQ; every board:
 * frame count, kernel log). A check works in phases around the decode:
 * `prepare` (board work before it, e.g. reload visl, arm a trace, write the
 * kernel-log marker), `collect` (board work after it: traces, dumps,
 * kernel log), `judge` (host work: its results, bad frames and
 * conclusions) and `report` (artifacts once the verdict is known). The
 * verdict is computed from the judgements (compare/verdict.ts); the
 * decoder's own result is never changed.
 */

/** Facts of the board session a check may need once per run (IRQ instrumentation state...). */
export interface SessionFacts {
  /** IRQ instrumentation on the board (set by the irq check's setup). */
  irq?: InstrumentationState;
  /** A device is bound to rkvdec and has an interrupt line in /proc/interrupts (set by the irq check's setup). */
  irqLines?: boolean;
}

/** The board a check is chosen for: the parts of the profile that matter to checks. */
export interface CheckBoard {
  name: string;
  /** Kernel driver under test. */
  driver: string;
  /** False when the board's decoder writes no picture (target/boards.ts Board). */
  decodesPixels?: boolean;
  /** True when the board records each job's register programming (target/boards.ts Board). */
  registerCaptures?: boolean;
}

/** One vector as the checks see it, with the slots checks share. */
export interface VectorRun {
  /** The board (absent for host decoders). */
  target?: Target;
  decoder: Decoder;
  vector: { name: string; suite?: string; features?: string[]; file: string };
  inspect: InspectResult;
  /** libvpx references (null when the pixels check does not run or none exist). */
  reference: ReferenceSet | null;
  timeoutMs: number;
  runner: Runner;
  /** Folder for artifacts (none written when absent). */
  artifactsDir?: string;
  /** Maps an artifact path to the report-relative path. */
  relative: (abs: string) => string;
  /** Reference pixels of output frame `index` (default: vpxdec on the host). */
  referenceFrame?: (index: number, geometry: import('../../compare/geometry.ts').FrameGeometry) => Promise<Buffer>;
  /** Extra module parameters of the driver under test for this vector (visl: `visl_transtime_ms`...). */
  driverParams?: Record<string, string | number>;
  /**
   * visl boards: arm every visl_vp9_controls trace event (frame, compressed
   * header, coefficient and MV probabilities) and write the raw trace text
   * of the vector to this host file (`workbench decode --visl-trace`).
   */
  vislTracePath?: string;
  session: SessionFacts;
  log: (msg: string) => void;
  signal?: AbortSignal;
  /** Remote lock directory the last board round trip of the vector may remove (the caller's board lock). */
  releaseLock?: string;
  /** Set when a check removed {@link releaseLock} in its own round trip. */
  lockReleased: boolean;
  /** Kernel-log marker of the vector, written by the first check that can (in its own round trip). */
  marker?: KernelLogMarker;
  /** Kernel log text read by a check in its own round trip (saves one). */
  kernelLogText?: string;
  /** The vector's kernel-log slice (set by the kernel-log check's collect). */
  kernelLog?: KernelLogSlice;
  /** Per-vector data a check shares with its sibling checks, by key. */
  shared: Map<string, unknown>;
  /** Notes for the person. */
  notes: string[];
  /** Files written into the report. */
  artifacts: Artifact[];
  /** Board work time spent by checks after the decode, ms. */
  collectMs: number;
  /** Set once the decoder ran. */
  decoded?: DecodedVector;
}

/** What the decode produced, as the checks see it. */
export interface DecodedVector {
  /** The decoder's own result, unchanged. */
  run: DecoderRun;
  /** The frame stream compared with the expectation (compare/). */
  compare: CompareResult;
  split: SplitSummary;
}

export type { CheckJudgement, Conclusion } from '../../compare/verdict.ts';

/** One per-vector check. */
export interface VectorCheck {
  /** Name (`pixels`, `visl-controls`, ...). */
  readonly name: string;
  /** True for a check that compares decoded pixels with the reference (it needs the libvpx references). */
  readonly verifiesPixels?: boolean;
  /** Whether it applies to a board (from the profile). */
  appliesTo(board: CheckBoard): boolean;
  /**
   * Checks this one makes pointless when chosen, with the reason recorded
   * in their place (visl draws a test pattern: pixels are not verified).
   */
  readonly excludes?: Readonly<Record<string, string>>;
  /** Detail recorded for the verdict checks it fills when it is not chosen. */
  readonly absentDetail?: Readonly<Partial<Record<Check, string>>>;
  /** Once per board session, before the first vector (e.g. switch the IRQ instrumentation on). */
  setup?(target: Target, session: SessionFacts, log: (msg: string, level?: 'info' | 'warn') => void, runner: Runner): Promise<void>;
  /** Why the session-level question this check answers cannot be answered (for the run's IRQ summary). */
  unavailableReason?(session: SessionFacts): string | undefined;
  /** Board work before the decode. */
  prepare?(v: VectorRun): Promise<void>;
  /** Host work that can run while the board decodes (started before the decode, awaited by judge). */
  background?(v: VectorRun): void;
  /** Board work after the decode. */
  collect?(v: VectorRun): Promise<void>;
  /** Host work: what this check concludes. */
  judge(v: VectorRun): Promise<CheckJudgement> | CheckJudgement;
  /** Artifacts once the verdict is known. */
  report?(v: VectorRun, verdict: import('../../model/verdict.ts').Verdict): Promise<void>;
}

/** The checks chosen for a board, and the reasons recorded for the ones that are not. */
export interface ChosenChecks {
  checks: VectorCheck[];
  /** Verdict check -> detail, for CHECKS entries no chosen check fills. */
  absent: Partial<Record<Check, string>>;
  /** Check name -> why a chosen check excluded it. */
  excluded: Record<string, string>;
  /** True when a chosen check verifies pixels (the run record's `pixelsDecoded`; references are needed). */
  verifiesPixels: boolean;
}

/**
 * The registered checks, in the order their phases run (a check that
 * writes the kernel-log marker in its own round trip comes before the
 * kernel-log check).
 */
export class VectorChecks {
  private readonly list: VectorCheck[] = [];

  constructor(checks: readonly VectorCheck[] = []) {
    for (const c of checks) this.register(c);
  }

  /** Adds a check at the end, or before the check named `before`. */
  register(c: VectorCheck, before?: string): this {
    const i = before ? this.list.findIndex((x) => x.name === before) : -1;
    if (i >= 0) this.list.splice(i, 0, c);
    else this.list.push(c);
    return this;
  }

  /** Every registered check. */
  all(): readonly VectorCheck[] {
    return this.list;
  }

  /**
   * The checks for a board: those that apply to its profile, minus those a
   * chosen check excludes.
   */
  forBoard(board: CheckBoard): ChosenChecks {
    const applying = this.list.filter((c) => c.appliesTo(board));
    const excluded: Record<string, string> = {};
    for (const c of applying) for (const [name, why] of Object.entries(c.excludes ?? {})) excluded[name] ??= why;
    const checks = applying.filter((c) => excluded[c.name] === undefined);
    const absent: Partial<Record<Check, string>> = {};
    for (const c of this.list) {
      if (checks.includes(c)) continue;
      for (const [check, detail] of Object.entries(c.absentDetail ?? {}) as [Check, string][]) absent[check] ??= excluded[c.name] ?? detail;
    }
    return { checks, absent, excluded, verifiesPixels: checks.some((c) => c.verifiesPixels === true) };
  }
}
