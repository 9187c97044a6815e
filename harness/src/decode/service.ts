import type { Runner } from '../core/runner.ts';
import type { BoardLock } from '../target/boardLock.ts';
import type { Target } from '../target/types.ts';
import type { InspectResult } from '../vectors/inspect.ts';
import type { ReferenceSet } from '../vectors/references.ts';
import type { Decoder, DecoderBackend, DecoderBinding } from './backend.ts';
import type { CheckBoard, ChosenChecks, SessionFacts, VectorChecks } from './checks/check.ts';
import { runVector, type VectorRunOutcome } from './runVector.ts';

/** A vector ready to decode: its file, its inspection and (when known) its libvpx reference. */
export interface DecodableVector {
  name: string;
  suite?: string;
  features?: string[];
  /** Host path of the stream (IVF/WebM). */
  file: string;
  inspect: InspectResult;
  reference: ReferenceSet | null;
}

/** Options of {@link DecodeService.open}. */
export interface DecodeServiceOptions {
  /** The board profile (name, driver under test) the checks are chosen for. */
  board: CheckBoard;
  /** The board's Target (absent for a host decoder). */
  target?: Target;
  backend: DecoderBackend;
  /** Every registered check (plugins.ts); the ones for the board are chosen. */
  checks: VectorChecks;
  /** The checks to run instead of the board's choice (`workbench decode --mode`). */
  chosen?: ChosenChecks;
  runner: Runner;
  log?: (msg: string, level?: 'info' | 'warn') => void;
}

/** Per-vector options of {@link DecodeService.decode}. */
export interface DecodeVectorOptions {
  timeoutMs: number;
  artifactsDir?: string;
  relative?: (abs: string) => string;
  keepRawPath?: string;
  driverParams?: Record<string, string | number>;
  /** visl boards: arm every visl_vp9_controls trace event and write the raw trace to this host file. */
  vislTracePath?: string;
  log?: (msg: string) => void;
  signal?: AbortSignal;
  /** The board lock the caller holds (iterate: from its deploy to its last vector). */
  lock?: BoardLock;
}

/**
 * The decode of vectors on one board with one decoder and the board's
 * checks: what `workbench iterate` (its decode stage) and `workbench
 * decode` share. `open` creates and probes the decoder and sets the checks
 * up once; `decode` runs one vector (decode/runVector.ts).
 */
export class DecodeService {
  private constructor(
    readonly decoder: Decoder,
    readonly binding: DecoderBinding,
    readonly checks: ChosenChecks,
    readonly facts: SessionFacts,
    private readonly o: DecodeServiceOptions,
  ) {}

  /**
   * Creates the decoder for the board's driver, probes it, chooses the
   * board's checks and runs their one-time setup.
   * @throws WorkbenchError from the backend's probe (no decoder bound to the driver...) and the checks' setup.
   */
  static async open(o: DecodeServiceOptions): Promise<DecodeService> {
    const decoder = o.backend.create({ ...(o.target ? { target: o.target } : {}), runner: o.runner, ...(o.board.driver ? { driver: o.board.driver } : {}) });
    const binding = await decoder.probe();
    const checks = o.chosen ?? o.checks.forBoard(o.board);
    const facts: SessionFacts = {};
    if (o.target) for (const c of checks.checks) await c.setup?.(o.target, facts, o.log ?? (() => undefined), o.runner);
    return new DecodeService(decoder, binding, checks, facts, o);
  }

  /** True when a chosen check verifies pixels (references are needed; the run record's `pixelsDecoded`). */
  get verifiesPixels(): boolean {
    return this.checks.verifiesPixels;
  }

  /** Puts the vector files on the board ahead of the decodes (board decoders; nothing for host ones). */
  async stage(vectors: readonly { name: string; file: string }[]): Promise<void> {
    await this.decoder.stageInputs?.(new Map(vectors.map((v) => [v.file, v.name])));
  }

  /**
   * Why the question a check answers for the whole run cannot be answered
   * (e.g. `irq` on a visl board), or undefined when it ran.
   */
  unavailableReason(check: string): string | undefined {
    return this.checks.excluded[check] ?? this.checks.checks.find((c) => c.name === check)?.unavailableReason?.(this.facts);
  }

  /** Decodes and judges one vector. */
  decode(v: DecodableVector, opts: DecodeVectorOptions): Promise<VectorRunOutcome> {
    return runVector({
      ...(this.o.target ? { target: this.o.target } : {}),
      decoder: this.decoder,
      vector: { name: v.name, file: v.file, ...(v.suite !== undefined ? { suite: v.suite } : {}), ...(v.features ? { features: v.features } : {}) },
      inspect: v.inspect,
      reference: v.reference,
      checks: this.checks,
      session: this.facts,
      runner: this.o.runner,
      ...opts,
    });
  }
}
