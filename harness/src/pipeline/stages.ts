/**
 * The stage interfaces `workbench iterate` wires. Each is implemented for
 * real in realStages.ts on top of kernel/, vboard/ + target/, deploy/,
 * vectors/ + compare/, decode/; unit tests and the TUI test pass fakes.
 *
 * Values between stages are typed (ARCHITECTURE.md: "each arrow is a value
 * with a type"): a stage takes what it needs and returns a result; the
 * pipeline turns results into the run record.
 *
 * Errors: a stage throws WorkbenchError. One that is the patch's fault (the
 * series does not apply or compile, the module oopses on load) carries
 * `exitCode: ExitCode.TestFailures` (1); anything else is an infrastructure
 * failure (2). A stage honours `ctx.signal`: on abort it stops, kills what it
 * started on the board, and leaves the board with a working module.
 */
import type { Board } from '../target/boards.ts';
import type { Target } from '../target/types.ts';
import type { DecodeService } from '../decode/service.ts';
import type { InspectResult } from '../vectors/inspect.ts';
import type { ReferenceSet } from '../vectors/references.ts';
import type { StageContext } from './graph.ts';
import type { BoardInfo, DeployInfo, Diagnostic, KernelInfo, KernelLogFinding, ModuleRecord, VectorResult } from '../model/record.ts';

/** A tool and its version (decoder on the board, reference on the host). */
export interface ToolVersion {
  name: string;
  version: string;
  detail?: string;
}

/** A connected board, ready for deploy and decode. */
export interface BoardSession {
  /** Board facts; `device` is the expected driver until {@link IterateStages.prepareDecode} found the real one. */
  info: BoardInfo;
  target: Target;
  /** The board profile (real stages; fakes may leave it out). */
  board?: Board;
  /** Decoder + chosen checks of this board, once {@link IterateStages.prepareDecode} opened them. */
  decoding?: DecodeService;
  /** The request-API decoder on the board (e.g. GStreamer 1.28 v4l2slvp9dec), once known. */
  decoder?: ToolVersion;
  /** Disconnects (does not stop the vboard: the next run reuses it). Idempotent. */
  close(): Promise<void>;
}

/** What the build stage gives back. */
export interface BuildOutcome {
  kernel: KernelInfo;
  /** Built modules with their host paths (deploy uploads them). */
  modules: (ModuleRecord & { path: string })[];
  diagnostics: Diagnostic[];
}

/** What the static checks found (a failing check does not stop the run; errors make the exit code 1). */
export interface CheckOutcome {
  diagnostics: Diagnostic[];
  /** Tools that ran (checkpatch, sparse...) and the ones skipped with the reason. */
  ran: string[];
  skipped: { tool: string; reason: string }[];
}

/** What the deploy stage did. */
export interface DeployOutcome {
  info: DeployInfo;
  kernelLog: KernelLogFinding[];
}

/** One vector the run will decode. */
export interface PlannedVector {
  name: string;
  suite: string;
  features: string[];
  /** Host path of the stream (IVF/WebM). */
  file: string;
  /** Fluster `result` (MD5 of all reference frames), when known. */
  expectedMd5: string | null;
  frames?: number;
  /** The inspector's parse of the stream (real plan stage). */
  inspect?: InspectResult;
  /** The libvpx references (real plan stage; null when none). */
  reference?: ReferenceSet | null;
}

/** The vectors of the run and their references, ready on the host. */
export interface VectorPlan {
  suite: string;
  filter?: string;
  vectors: PlannedVector[];
  reference: ToolVersion;
}

/** Where a vector's artifacts go (inside the report being written). */
export interface ArtifactSink {
  /** Absolute folder for this vector's files; created unless `create` is false (a writer that makes its own folder avoids empty ones). */
  dir(create?: boolean): string;
  /** Path relative to the report folder, for {@link VectorResult.artifacts}. */
  relative(absPath: string): string;
}

/** Requests of the stages (what the user asked for). */
export interface IterateRequest {
  /** Board name from boards.toml; default: the vboard. */
  board?: string;
  /** Suite name; default: the quick vp9-features subset. */
  suite?: string;
  /** Glob over vector names (instead of, or within, the suite). */
  vectors?: string;
}

/** The stages of `workbench iterate`. */
export interface IterateStages {
  /** Resolves the board (starting the vboard if needed), connects, finds the decoder device. */
  board(ctx: StageContext, req: IterateRequest): Promise<BoardSession>;
  /** Prepares the base tree, applies patches/, builds the modules (cached by inputs). */
  build(ctx: StageContext, req: IterateRequest): Promise<BuildOutcome>;
  /** Static checks over the series and the built tree. */
  check(ctx: StageContext, build: BuildOutcome): Promise<CheckOutcome>;
  /** Installs and loads the modules on the board, with backup and rollback. */
  deploy(ctx: StageContext, session: BoardSession, build: BuildOutcome): Promise<DeployOutcome>;
  /**
   * After deploy, before the first vector: finds the decoder device bound to
   * the driver under test and the decoder's version (the proof of which
   * /dev/media* is used goes into the record).
   */
  prepareDecode?(ctx: StageContext, session: BoardSession, plan: VectorPlan): Promise<{ device?: BoardInfo['device']; decoder?: ToolVersion }>;
  /** Resolves the vectors and makes sure their references exist. */
  plan(ctx: StageContext, req: IterateRequest): Promise<VectorPlan>;
  /**
   * Decodes one vector on the board and compares it: the verdict, MD5s,
   * IRQ histogram and kernel-log slice of that vector. Throws only for
   * infrastructure failures (the board is gone); a decoder failure is a verdict.
   */
  decodeVector(ctx: StageContext, session: BoardSession, plan: VectorPlan, vector: PlannedVector, artifacts: ArtifactSink): Promise<VectorResult>;
  /** Why the IRQ question cannot be answered on this board (e.g. visl), or undefined when instrumentation ran. */
  irqUnavailableReason?(session: BoardSession): string | undefined;
}
