import { WorkbenchError } from '../core/errors.ts';
import { boardFiles, getBoard, loadBoards, type Board, type BoardFiles, type ConnectOptions } from './boards.ts';
import type { Runner } from '../core/runner.ts';
import { pooledTarget } from './connect.ts';
import type { SshOptions } from './sshConnection.ts';
import type { Target } from './types.ts';
import { acquirePlace, type PlaceLease } from './labgrid.ts';

/**
 * A board held for one command (see {@link BoardProviders.hold}): the
 * profile to use while held (its SSH endpoint filled in from the labgrid
 * place's NetworkService when there is one) and the labgrid lease, if any.
 */
export interface HeldBoard {
  board: Board;
  /** The acquired labgrid place (absent for boards without `[board.NAME.labgrid]`). */
  lease?: PlaceLease;
  /** Releases the place (idempotent, never throws; nothing to do without a place). */
  release(): Promise<void>;
}

/** What {@link BoardProvider.ensureReady} did. */
export interface ReadyOutcome {
  /** One line for people (`vboard already running`, `vboard booted in 41.2 s`); absent when there was nothing to do. */
  detail?: string;
  /** Commands that do the same by hand (for the run record), e.g. `workbench vboard up`. */
  commands: string[][];
}

/**
 * One kind of board (labgrid calls this a strategy plus its drivers): how a
 * board of that kind is brought to a usable state and reached. A new kind is
 * one file implementing this interface plus one line in
 * plugins.ts. Only providers know what their kind means: the rest
 * of the workbench reads the {@link Board} profile (arch, driver, ...).
 */
export interface BoardProvider {
  /** The `kind` of the boards it serves (`ssh`, `vboard`, ...). */
  readonly kind: string;
  /** How boards of this kind appear in the run record (`board.kind` of run.json). */
  readonly recordKind: 'vboard' | 'simboard' | 'board';
  /** Boards of this kind that exist without a boards.toml entry (the vboard); none for configured kinds. */
  builtinBoards(): Board[];
  /**
   * Brings the board to a state where {@link connect} works (boots a virtual
   * board; nothing for a board that is simply on). Idempotent.
   * `runner` runs the host processes it needs (QEMU, image builds).
   * @throws WorkbenchError when the board cannot be made ready.
   */
  ensureReady(board: Board, opts: { log: (msg: string) => void; runner: Runner }): Promise<ReadyOutcome>;
  /** A new Target for the board (connects lazily on first use). */
  connect(board: Board, opts?: ConnectOptions): Target;
  /** argv prefix that reaches the board by hand (`ssh [-p N] [-i KEY] -o ... user@host`), for reproducer lines. */
  shellArgv(board: Board): string[];
  /**
   * Power-cycles a board whose power switch the provider owns (the vboard:
   * QEMU) and returns a Target to it once it answers; absent for kinds whose
   * power comes from the profile's host commands (`power` in boards.toml).
   * `runner` runs the host processes it needs.
   */
  powerCycle?(board: Board, log: (msg: string) => void, runner: Runner): Promise<Target>;
  /**
   * Where the board is, for people (`root@10.0.0.5:22`).
   * @throws WorkbenchError when it is not known yet (a virtual board that is not running).
   */
  address(board: Board): string;
  /**
   * The board's SSH endpoint (host, port, user, key, known_hosts), for
   * tools that open their own SSH connection (LAVA's ssh device); absent
   * for kinds not reached over SSH.
   * @throws WorkbenchError when it is not known yet (a virtual board that is not running).
   */
  sshOptions?(board: Board, opts?: ConnectOptions): SshOptions;
  /**
   * The address under which the board reaches this host's loopback
   * services (QEMU user networking: `10.0.2.2`), so a server on
   * 127.0.0.1 here can serve it files; absent when the board has no such
   * route (a board on the network).
   */
  hostAddressFromBoard?(board: Board): string;
}

/**
 * The registered board kinds, and the board registry on top of them
 * (built-in boards + boards.toml). Built once at the edges (CLI, pipeline)
 * from plugins.ts; tests register their own kinds.
 */
export class BoardProviders {
  private readonly byKind = new Map<string, BoardProvider>();

  constructor(providers: readonly BoardProvider[] = []) {
    for (const p of providers) this.register(p);
  }

  /**
   * Adds a board kind.
   * @throws WorkbenchError E_INTERNAL when the kind is registered already.
   */
  register(p: BoardProvider): this {
    if (this.byKind.has(p.kind)) throw new WorkbenchError('E_INTERNAL', `board kind ${p.kind} registered twice`);
    this.byKind.set(p.kind, p);
    return this;
  }

  /** Registered kinds, in registration order. */
  kinds(): string[] {
    return [...this.byKind.keys()];
  }

  /**
   * The provider of a board.
   * @throws WorkbenchError E_UNKNOWN_BOARD_KIND naming the board, where it was defined and the known kinds.
   */
  providerOf(board: Board): BoardProvider {
    const p = this.byKind.get(board.kind);
    if (!p) {
      throw new WorkbenchError('E_UNKNOWN_BOARD_KIND', `board ${board.name} (${board.source}) has kind '${board.kind}', which this workbench does not know`, {
        hint: `known kinds: ${this.kinds().join(', ')}`,
      });
    }
    return p;
  }

  /** Every built-in board, in registration order of their kinds. */
  builtinBoards(): Board[] {
    return [...this.byKind.values()].flatMap((p) => p.builtinBoards());
  }

  /** The board used when none is named: the first built-in board (the vboard). */
  defaultBoardName(): string {
    const b = this.builtinBoards()[0];
    if (!b) throw new WorkbenchError('E_USAGE', 'no built-in board: name a board with --board', { hint: 'see `workbench boards list`' });
    return b.name;
  }

  /** Every board (built-in, then boards.toml). @throws WorkbenchError E_CONFIG. */
  loadBoards(files: BoardFiles = boardFiles()): Board[] {
    return loadBoards(this.builtinBoards(), files);
  }

  /** One board by name (default: {@link defaultBoardName}). @throws WorkbenchError E_UNKNOWN_BOARD, E_CONFIG. */
  getBoard(name?: string, files: BoardFiles = boardFiles()): Board {
    return getBoard(name ?? this.defaultBoardName(), this.builtinBoards(), files);
  }

  /**
   * Takes what must be held before the board is touched: for a board with a
   * labgrid place (`[board.NAME.labgrid]` in boards.toml), acquires the place
   * with `labgrid-client` (through `runner`) and returns the profile with the
   * place's NetworkService address, port and username as its SSH endpoint
   * (the entry's `identity` and `host_key_alias` kept); other boards are
   * returned as they are. Release it in every exit path ({@link withHeldBoard}).
   * @throws WorkbenchError E_PLACE_BUSY (someone else holds the place; names
   *   the place and the holder), E_LABGRID (labgrid-client failed), E_CONFIG
   *   (no host in the entry and no NetworkService in the place; the place is released first).
   */
  async hold(board: Board, opts: { runner: Runner; log?: (msg: string) => void; env?: NodeJS.ProcessEnv }): Promise<HeldBoard> {
    if (!board.labgrid) return { board, release: async () => undefined };
    const { identity, hostKeyAlias, ...cfg } = board.labgrid;
    const lease = await acquirePlace(cfg, opts);
    const ns = lease.networkService;
    if (!ns && !board.ssh) {
      await lease.release();
      throw new WorkbenchError(
        'E_CONFIG',
        `board ${board.name} (${board.source}) has no host, and labgrid place ${lease.place} has no NetworkService resource`,
        {
          hint: `set host = "..." for [board.${board.name}], or export a NetworkService in the place's resource group`,
        },
      );
    }
    const ssh = ns
      ? {
          host: ns.address,
          port: ns.port,
          user: ns.username,
          ...(identity ? { identity } : {}),
          ...(hostKeyAlias ? { hostKeyAlias } : {}),
        }
      : board.ssh!;
    return { board: { ...board, ssh }, lease, release: () => lease.release() };
  }

  /** {@link BoardProvider.ensureReady} of the board's kind. */
  ensureReady(board: Board, opts: { log: (msg: string) => void; runner: Runner }): Promise<ReadyOutcome> {
    return this.providerOf(board).ensureReady(board, opts);
  }

  /** The run's Target for the board: one per board and trust policy per process (target/connect.ts closes them). */
  targetFor(board: Board, opts: ConnectOptions = {}): Target {
    return pooledTarget(`${board.name}|${opts.trust ?? 'strict'}`, () => this.providerOf(board).connect(board, opts));
  }

  /** {@link BoardProvider.shellArgv} of the board's kind. */
  shellArgv(board: Board): string[] {
    return this.providerOf(board).shellArgv(board);
  }
}

/**
 * Runs `fn` with the board held ({@link BoardProviders.hold}) and releases
 * the labgrid place afterwards, whether `fn` returns or throws (an abort
 * from Ctrl-C included: it reaches here as an error).
 * @throws whatever `hold` or `fn` throws.
 */
export async function withHeldBoard<T>(
  providers: BoardProviders,
  board: Board,
  opts: { runner: Runner; log?: (msg: string) => void; env?: NodeJS.ProcessEnv },
  fn: (held: HeldBoard) => Promise<T>,
): Promise<T> {
  const held = await providers.hold(board, opts);
  try {
    return await fn(held);
  } finally {
    await held.release();
  }
}
