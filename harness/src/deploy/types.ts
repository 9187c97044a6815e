import type { KernelLogFinding } from '../irq/kernelLog.ts';
import type { BoardLock } from '../target/boardLock.ts';
import type { PowerCycle } from './power.ts';

/** A built kernel module to deploy (from the kernel build's BuildResult). */
export interface ModuleArtifact {
  /** Module name as the kernel knows it (`visl`, `rockchip_vdec`; `-` and `_` are equivalent). */
  name: string;
  /** Local path of the built `.ko`. */
  path: string;
  /** The module's vermagic string (`.modinfo` `vermagic=`); its first field is the kernel release. */
  vermagic: string;
  /** SHA-256 (hex) of the `.ko` file. */
  sha256: string;
}

/** Options of {@link deployModules}. */
export interface DeployOptions {
  /** Module parameters per module name, passed to modprobe (`name=value` words). */
  params?: Record<string, string[]>;
  /** Progress lines for a person (one line per phase). */
  log?: (msg: string) => void;
  /** Ctrl-C: stops at the next safe point and rolls back (a rollback itself is never interrupted). */
  signal?: AbortSignal;
  /** Called when a phase starts (tests use it to cut the connection at a chosen point). */
  onPhase?: (phase: DeployPhase) => void | Promise<void>;
  /** Per-command timeout on the board, ms (default 120000). */
  commandTimeoutMs?: number;
  /** Allow a module whose vermagic release differs from the board's (never for real deploys). */
  skipVermagicCheck?: boolean;
  /** When processes hold the decoder devices of the modules to replace, wait this long for them to end, ms (default 0: fail at once with E_DEVICE_BUSY). */
  busyWaitMs?: number;
  /** How long to wait for another operation holding the board's lock, ms (default 600000). */
  lockWaitMs?: number;
  /** The board lock when the caller holds it already (iterate, around its deploy and decodes). */
  lock?: BoardLock;
  /** The board's power control (deploy/power.ts powerCycleFor): a rollback that finds a module stuck power-cycles the board once and finishes. */
  powerCycle?: PowerCycle;
  /** Extra free bytes required beyond the modules' sizes (default 1 MiB). */
  spareBytes?: number;
}

/** Phases of a deploy, in order; the journal records the last one started. */
export type DeployPhase = 'preflight' | 'backup' | 'upload' | 'install' | 'reload' | 'verify' | 'done' | 'rollback' | 'rolled-back';

/** What one deploy did (also written as `record.json` next to its backup on the board). */
export interface DeployRecord {
  /** Deploy/backup id: `YYYYMMDDTHHMMSSZ-xxxx` (a safe name). */
  id: string;
  board: string;
  /** The board's `uname -r`. */
  kernelRelease: string;
  /** Directory on the board holding the backed-up files, `SHA256SUMS` and `record.json`. */
  backupDir: string;
  /** Module files replaced (or added) on the board. */
  replaced: ReplacedFile[];
  /** Modules loaded after the deploy (the new ones and reloaded dependents). */
  loaded: string[];
  /** Kernel log findings since the deploy's marker (oops, BUG, WARN, module errors...). */
  kernelLogFindings: KernelLogFinding[];
  /** Driver binding per deployed module (where the board has a matching device). */
  bindings: DriverBinding[];
  /** Wall time, ms. */
  durationMs: number;
  /** `active` after a successful deploy; `rolled-back` once undone. */
  state: 'active' | 'rolled-back' | 'failed';
  /** ISO time of the deploy. */
  createdAt: string;
}

/** One module file the deploy put in place. */
export interface ReplacedFile {
  module: string;
  /** Destination on the board. */
  dest: string;
  /** Whether a file was there before (it is in the backup); if not, rollback removes `dest`. */
  existed: boolean;
  /** SHA-256 of the previous file (when it existed). */
  previousSha256?: string;
  /** File name inside the backup dir (when it existed). */
  backupFile?: string;
  /** SHA-256 of the new file. */
  sha256: string;
  /** Whether the module was loaded before the deploy (rollback reloads it). */
  wasLoaded: boolean;
  /** Modules that held it and were unloaded/reloaded around it. */
  holders: string[];
  /**
   * The module index (depmod's modules.dep/alias/symbols) is valid for both
   * the previous and the new file (same path, name, aliases, dependencies,
   * exported symbols), so install and restore skip `depmod -a`.
   */
  indexUnchanged?: boolean;
}

/** Whether the deployed module's driver is bound to the board's device. */
export interface DriverBinding {
  module: string;
  /** `bus:driver` directories of the module in sysfs. */
  drivers: string[];
  /** Devices bound to those drivers. */
  bound: string[];
  /** Devices on the board that match the module's aliases but are not bound to it. */
  unboundMatches: string[];
}
