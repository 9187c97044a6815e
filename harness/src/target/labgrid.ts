import { hostname, userInfo } from 'node:os';
import { WorkbenchError } from '../core/errors.ts';
import { formatArgv, type RunResult, type Runner } from '../core/runner.ts';
import { tail } from '../core/text.ts';

/**
 * labgrid places for shared boards: a boards.toml entry may name a place on
 * a labgrid coordinator (`[board.NAME.labgrid] place = "...", coordinator =
 * "host:port"`); the workbench then acquires that place before it touches the
 * board and releases it afterwards, so two people sharing the board never
 * deploy over each other. Everything goes through the real `labgrid-client`
 * (labgrid 26's gRPC client; `acquire`, `release`, `show`) run by the
 * {@link Runner}; nothing of labgrid's protocol is reimplemented here.
 *
 * Facts used (labgrid 26.0, Debian sid, checked on loopback; see
 * ../shared/reference/farm/NOTES.md): `labgrid-client -x HOST:PORT -p PLACE
 * acquire` exits 1 when the place is acquired already; `show` prints text
 * only: `acquired: HOST/USER` and, for an acquired place, each acquired
 * resource with a Python dict of its `params` (a NetworkService has
 * `address`, `port`, `username`). The identity labgrid records is
 * `LG_HOSTNAME` (default the host name) / `LG_USERNAME` (default the login
 * user); `LG_COORDINATOR` is the default coordinator.
 */

/** The labgrid part of a board profile. */
export interface LabgridConfig {
  /** Place name on the coordinator. */
  place: string;
  /** Coordinator `HOST:PORT` (gRPC); absent: `LG_COORDINATOR`, else labgrid-client's own default (127.0.0.1:20408). */
  coordinator?: string;
}

/** A NetworkService resource as labgrid-client shows it (where the board is reached over SSH). */
export interface NetworkService {
  address: string;
  /** TCP port (labgrid's default 22). */
  port: number;
  username: string;
}

/** What `labgrid-client show` says about a place. */
export interface PlaceState {
  /** `HOST/USER` of the holder, absent when the place is free. */
  acquiredBy?: string;
  /** The first acquired NetworkService resource's params (only listed while the place is acquired). */
  networkService?: NetworkService;
}

/**
 * Parses `labgrid-client -p PLACE show` (labgrid 26's text: a `Place 'P':`
 * block with `acquired: HOST/USER` or `acquired: None`, then one
 * `Acquired resource 'NAME' (EXPORTER/GROUP/CLASS/NAME):` block per acquired
 * resource with its pprint-ed dict, whose `'cls'` is the resource class and
 * `'params'` its parameters).
 */
export function parseShow(text: string): PlaceState {
  const state: PlaceState = {};
  const acq = /^\s*acquired:\s*(.+?)\s*$/m.exec(text);
  if (acq && acq[1] !== 'None') state.acquiredBy = acq[1];
  for (const block of text.split(/^Acquired resource /m).slice(1)) {
    if (!/'cls':\s*'NetworkService'/.test(block)) continue;
    const address = /'address':\s*'([^']*)'/.exec(block)?.[1];
    const username = /'username':\s*'([^']*)'/.exec(block)?.[1];
    const port = /'port':\s*(\d+)/.exec(block)?.[1];
    if (address) state.networkService = { address, port: port ? Number(port) : 22, username: username ?? 'root' };
    break;
  }
  return state;
}

/** Options of {@link acquirePlace}. */
export interface PlaceOptions {
  /** Runs `labgrid-client` (the host's, or one inside the labgrid chroot). */
  runner: Runner;
  log?: (msg: string) => void;
  /** Where `LG_USERNAME`, `LG_HOSTNAME` and `LG_COORDINATOR` come from (default process.env); they are passed on to labgrid-client. */
  env?: NodeJS.ProcessEnv;
  /** Per labgrid-client call, ms (default 60000; a call takes about 0.8 s on an idle host). */
  timeoutMs?: number;
}

/** A place this process acquired. {@link release} is idempotent and never throws. */
export interface PlaceLease {
  readonly place: string;
  /** Coordinator as passed to labgrid-client (absent: labgrid-client's default). */
  readonly coordinator?: string;
  /** `HOST/USER` labgrid recorded for us (from `show` right after the acquire). */
  readonly holder: string;
  /** The place's NetworkService, when it has one. */
  readonly networkService?: NetworkService;
  /** Whether the place is still held by this lease. */
  readonly held: boolean;
  /** `labgrid-client -p PLACE release`, once (a later call waits for the same one); a failure is logged, not thrown. */
  release(): Promise<void>;
}

/** argv of one labgrid-client call on a place. */
export function clientArgv(cfg: LabgridConfig, sub: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const coordinator = cfg.coordinator ?? env.LG_COORDINATOR;
  return ['labgrid-client', ...(coordinator ? ['-x', coordinator] : []), '-p', cfg.place, ...sub];
}

/**
 * The LG_* variables passed to labgrid-client: the identity always spelled
 * out (so a labgrid-client in a chroot with a clean environment records the
 * same `HOST/USER` as the host's would), the coordinator when set.
 */
function clientEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const [host, user] = labgridIdentity(env).split('/') as [string, string];
  return { LG_HOSTNAME: host, LG_USERNAME: user, ...(env.LG_COORDINATOR ? { LG_COORDINATOR: env.LG_COORDINATOR } : {}) };
}

function where(cfg: LabgridConfig, env: NodeJS.ProcessEnv): string {
  const c = cfg.coordinator ?? env.LG_COORDINATOR;
  return `labgrid place ${cfg.place}${c ? ` on coordinator ${c}` : ''}`;
}

async function client(cfg: LabgridConfig, sub: string[], opts: PlaceOptions): Promise<RunResult> {
  const env = opts.env ?? process.env;
  return opts.runner.run(clientArgv(cfg, sub, env), { env: clientEnv(env), allowFailure: true, timeoutMs: opts.timeoutMs ?? 60_000 });
}

/**
 * `labgrid-client show` of the place, parsed ({@link parseShow}).
 * @throws WorkbenchError E_LABGRID when labgrid-client fails (no such place,
 *   coordinator unreachable), with its output; the runner's E_TOOL_MISSING
 *   when labgrid-client is not installed.
 */
export async function showPlace(cfg: LabgridConfig, opts: PlaceOptions): Promise<PlaceState & { text: string }> {
  const r = await client(cfg, ['show'], opts);
  if (r.exitCode !== 0) throw clientError(cfg, opts, r, 'show');
  return { ...parseShow(r.stdout), text: r.stdout };
}

/**
 * labgrid-client's own error line(s) (`labgrid-client: Error: ...`) from a
 * failed call, else the end of its output. labgrid 26 under Python 3.14 also
 * prints grpc shutdown tracebacks (PythonFinalizationError) on every exit: noise.
 */
export function clientMessage(r: Pick<RunResult, 'stdout' | 'stderr'>): string {
  const text = `${r.stderr}\n${r.stdout}`;
  const lines = text.split('\n').filter((l) => /^labgrid-client: (Error|error):/.test(l));
  return lines.length ? lines.join('\n') : tail(r.stderr || r.stdout);
}

function clientError(cfg: LabgridConfig, opts: PlaceOptions, r: RunResult, what: string): WorkbenchError {
  const env = opts.env ?? process.env;
  return new WorkbenchError(
    'E_LABGRID',
    `${where(cfg, env)}: labgrid-client ${what} failed (exit ${r.exitCode}${r.timedOut ? ', timed out' : ''}): ${clientMessage(r)}`,
    {
      hint: `check the place and the coordinator by hand: ${formatArgv(clientArgv(cfg, ['show'], env))}`,
    },
  );
}

/**
 * Acquires the place (`labgrid-client acquire`) and reads its holder and
 * NetworkService (`show`). When someone else holds it, the holder is read
 * from `show` and the call fails without waiting (labgrid has no queue).
 *
 * @throws WorkbenchError E_PLACE_BUSY naming the place, the coordinator and
 *   the holder (`HOST/USER` as labgrid shows it; "you" when it is our own
 *   labgrid identity, e.g. a workbench that was killed); E_LABGRID when
 *   labgrid-client fails otherwise (unknown place, coordinator down).
 */
export async function acquirePlace(cfg: LabgridConfig, opts: PlaceOptions): Promise<PlaceLease> {
  const env = opts.env ?? process.env;
  const r = await client(cfg, ['acquire'], opts);
  if (r.exitCode !== 0) {
    const state = await showPlace(cfg, opts).catch(() => undefined);
    if (state?.acquiredBy) {
      const mine = state.acquiredBy === labgridIdentity(env);
      throw new WorkbenchError(
        'E_PLACE_BUSY',
        `${where(cfg, env)} is acquired by ${state.acquiredBy}${mine ? ' (your own labgrid identity)' : ''}; not touching the board`,
        {
          hint: mine
            ? `another workbench or labgrid-client of yours holds it; when nothing uses it any more: ${formatArgv(clientArgv(cfg, ['release'], env))}`
            : `ask ${state.acquiredBy} to release it, or wait (${formatArgv(clientArgv(cfg, ['show'], env))} shows the holder)`,
        },
      );
    }
    throw clientError(cfg, opts, r, 'acquire');
  }
  let state: PlaceState;
  try {
    state = await showPlace(cfg, opts);
  } catch (e) {
    await client(cfg, ['release'], opts).catch(() => undefined);
    throw e;
  }
  const coordinator = cfg.coordinator ?? env.LG_COORDINATOR;
  opts.log?.(`${where(cfg, env)} acquired as ${state.acquiredBy ?? '?'}`);
  let releasing: Promise<void> | undefined;
  const release = async (): Promise<void> => {
    try {
      const rr = await client(cfg, ['release'], opts);
      if (rr.exitCode === 0) opts.log?.(`${where(cfg, env)} released`);
      else opts.log?.(`warning: ${clientError(cfg, opts, rr, 'release').message}`);
    } catch (e) {
      opts.log?.(`warning: ${where(cfg, env)}: release failed: ${(e as Error).message}`);
    }
  };
  return {
    place: cfg.place,
    ...(coordinator ? { coordinator } : {}),
    holder: state.acquiredBy ?? '?',
    ...(state.networkService ? { networkService: state.networkService } : {}),
    get held() {
      return releasing === undefined;
    },
    // a second call (Ctrl-C during the release of the finally block) waits for the same labgrid-client release
    release: () => (releasing ??= release()),
  };
}

/**
 * The `HOST/USER` labgrid records for this process: `LG_HOSTNAME` (else the
 * host name, as Python's socket.gethostname()) and `LG_USERNAME` (else
 * LOGNAME, USER, the login name: Python's getpass.getuser() order), as
 * labgrid 26's client computes them.
 */
export function labgridIdentity(env: NodeJS.ProcessEnv = process.env): string {
  const user = env.LG_USERNAME || env.LOGNAME || env.USER || env.LNAME || env.USERNAME || userInfo().username;
  return `${env.LG_HOSTNAME || hostname()}/${user}`;
}
