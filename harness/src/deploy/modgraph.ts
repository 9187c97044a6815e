import { WorkbenchError } from '../core/errors.ts';
import { loadScript } from '../target/scripts.ts';
import type { Target } from '../target/types.ts';
import { parseLines, runPhase, sysName } from './remote.ts';

/**
 * Module unload/load planned from the kernel's own dependency graph.
 *
 * Facts used (Documentation/ABI/stable/sysfs-module, kernel/module/sysfs.c):
 * `/sys/module/NAME/holders/` lists the loaded modules that use symbols of
 * NAME (they must be unloaded first: `delete_module` fails with EWOULDBLOCK
 * while the refcount is not zero, kernel/module/main.c), `refcnt` counts
 * those uses plus open files and other references, `initstate` is
 * `live`/`coming`/`going` (absent for built-in code), `srcversion` is the
 * checksum of the module's source (also in the file's `.modinfo`). For
 * modules to load, `modinfo -F depends` reads `depends=` of the file the
 * module index (depmod's modules.dep) points at: dependencies load first.
 * The board is read by modstate.sh and changed by modswap.sh, both next to
 * this file.
 */

const MODSTATE = loadScript(import.meta.url, 'modstate.sh');
const MODSWAP = loadScript(import.meta.url, 'modswap.sh');

/** One loaded module as /sys/module shows it. */
export interface LoadedModule {
  name: string;
  /** `live`, `coming`, `going`. */
  state: string;
  /** Reference count (`refcnt`; NaN when the kernel has no module unloading). */
  refcnt: number;
  srcversion?: string;
  /** Loaded modules that use it. */
  holders: string[];
}

/** The module file modprobe would load for a name. */
export interface ModuleFile {
  path: string;
  srcversion?: string;
  /** `depends=` of that file (module names). */
  depends: string[];
}

/** A process holding a V4L2/media device node. */
export interface OpenDevice {
  pid: number;
  comm: string;
  device: string;
  /** Module of the device's driver, when sysfs tells. */
  module?: string;
}

/** A task in uninterruptible sleep. */
export interface StuckTask {
  pid: number;
  comm: string;
  wchan: string;
}

/** The board's module state (one modstate.sh run). */
export interface ModSnapshot {
  loaded: Map<string, LoadedModule>;
  /** Per requested name: its file, or null when modprobe cannot find it. */
  files: Map<string, ModuleFile | null>;
  open: OpenDevice[];
  stuck: StuckTask[];
}

/** Parses modstate.sh output. */
export function parseSnapshot(stdout: string): ModSnapshot {
  const snap: ModSnapshot = { loaded: new Map(), files: new Map(), open: [], stuck: [] };
  const list = (s: string | undefined) =>
    (s ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)
      .map(sysName);
  for (const [k, f] of parseLines(stdout)) {
    if (k === 'mod' && f[0]) {
      snap.loaded.set(f[0], {
        name: f[0],
        state: f[1] ?? '?',
        refcnt: f[2] ? Number(f[2]) : NaN,
        ...(f[3] ? { srcversion: f[3] } : {}),
        holders: list(f[4]),
      });
    } else if (k === 'file' && f[0]) {
      snap.files.set(f[0], { path: f[1] ?? '', ...(f[2] ? { srcversion: f[2] } : {}), depends: list(f[3]) });
    } else if (k === 'nofile' && f[0]) snap.files.set(f[0], null);
    else if (k === 'open') snap.open.push({ pid: Number(f[0]), comm: f[1] ?? '?', device: f[2] ?? '?', ...(f[3] ? { module: f[3] } : {}) });
    else if (k === 'dstate') snap.stuck.push({ pid: Number(f[0]), comm: f[1] ?? '?', wchan: f[2] ?? '' });
  }
  return snap;
}

/**
 * Reads the board's module state; `names`: modules whose file facts are
 * wanted; `why`: also the processes that hold V4L2/media devices and the
 * tasks in D state.
 */
export async function readModState(target: Target, names: readonly string[], opts: { why?: boolean; timeoutMs?: number } = {}): Promise<ModSnapshot> {
  const args = [...(opts.why ? ['--why'] : []), ...names.map(sysName)];
  const r = await target.exec(['sh', '-c', MODSTATE.text, MODSTATE.name, ...args], { timeoutMs: opts.timeoutMs ?? 60_000 });
  return parseSnapshot(r.stdout);
}

/** A module to load, with modprobe parameters (`name=value` words). */
export interface LoadSpec {
  name: string;
  params?: string[];
}

/** What to reach: see {@link planSwap}. */
export interface SwapGoal {
  /** Modules whose code must be replaced: each one that is loaded with other code than its file's is unloaded (with its holders). */
  replace: string[];
  /** Modules that must end loaded (from their current files), with parameters. */
  load: LoadSpec[];
  /** Modules that must end unloaded (files a restore removed). */
  unload?: string[];
  /** Unload and load every loaded module of `replace` even when its code matches its file (a deploy: new parameters, a fresh probe). */
  force?: boolean;
}

/** The ordered steps. */
export interface SwapPlan {
  /** rmmod order: every module after all its holders. */
  unload: string[];
  /** modprobe order: every module after its dependencies. */
  load: LoadSpec[];
  /** Modules unloaded only because they held others, loaded again afterwards (failure is reported, not fatal). */
  reload: string[];
  /** Modules left as they are because their loaded code is already their file's. */
  current: string[];
}

/**
 * Plans the unloads and loads that take the board from `snap` to `goal`,
 * whatever the board's current state (modules of a later deploy loaded,
 * a partly unloaded set, modules loaded by hand or by udev):
 * - a module of `replace` (or `unload`) that is loaded is unloaded unless
 *   its loaded srcversion is its file's and it must stay loaded anyway
 *   (then it is `current`, unless `force`);
 * - every loaded module that holds a module to unload, directly or through
 *   others, is unloaded too, holders always before what they hold;
 * - `load` is loaded dependencies first (file `depends=` and the holders
 *   seen in `snap`), then the holders that were unloaded only around them
 *   are loaded again (`reload`) in dependency order.
 * Pure function (unit tests use recorded board states).
 */
export function planSwap(snap: ModSnapshot, goal: SwapGoal): SwapPlan {
  const want = new Map(goal.load.map((l) => [sysName(l.name), l]));
  const replace = new Set(goal.replace.map(sysName));
  const gone = new Set((goal.unload ?? []).map(sysName));
  const current: string[] = [];
  const roots: string[] = [];
  for (const n of new Set([...replace, ...gone])) {
    const m = snap.loaded.get(n);
    if (!m) continue;
    const file = snap.files.get(n);
    const same = !!file && !!m.srcversion && m.srcversion === file.srcversion && m.state === 'live';
    const keepable = same && !goal.force && want.has(n) && !gone.has(n) && !want.get(n)?.params?.length;
    if (keepable) current.push(n);
    else roots.push(n);
  }
  // Holder closure of the roots.
  const closure = new Set<string>();
  const queue = [...roots];
  while (queue.length) {
    const n = queue.shift()!;
    if (closure.has(n) || !snap.loaded.has(n)) continue;
    closure.add(n);
    for (const h of snap.loaded.get(n)!.holders) queue.push(h);
  }
  // A module kept as current that must be unloaded because it holds a root is not current any more.
  for (const n of [...current]) if (closure.has(n)) current.splice(current.indexOf(n), 1);
  const unload = topo([...closure], (n) => (snap.loaded.get(n)?.holders ?? []).filter((h) => closure.has(h)));

  // Load order: dependencies of a module (its file's depends=, and the modules it held before) first.
  const depsOf = (n: string): string[] => {
    const out = new Set(snap.files.get(n)?.depends ?? []);
    for (const [name, m] of snap.loaded) if (m.holders.includes(n)) out.add(name);
    return [...out];
  };
  // What stays loaded (not unloaded here) needs no modprobe.
  const loadNames = [...want.keys()].filter((n) => !current.includes(n) && (!snap.loaded.has(n) || closure.has(n)));
  const reloadNames = unload.filter((n) => !want.has(n) && !replace.has(n) && !gone.has(n));
  const all = [...loadNames, ...reloadNames];
  const order = topo(all, (n) => depsOf(n).filter((d) => all.includes(d)));
  const load = order.filter((n) => want.has(n)).map((n) => want.get(n)!);
  // Holders come back after everything they may use is loaded.
  const reload = order.filter((n) => reloadNames.includes(n));
  return { unload, load: load.map((l) => ({ ...l, name: sysName(l.name) })), reload, current };
}

/**
 * Orders `nodes` so that every node comes after `before(node)` (Kahn's
 * algorithm; ties keep the input order). A cycle (not possible in a module
 * graph) keeps the remaining nodes in input order.
 */
function topo(nodes: string[], before: (n: string) => string[]): string[] {
  const out: string[] = [];
  const left = [...new Set(nodes)];
  while (left.length) {
    const i = left.findIndex((n) => before(n).every((b) => out.includes(b) || !left.includes(b)));
    const pick = i < 0 ? 0 : i;
    out.push(left.splice(pick, 1)[0]!);
  }
  return out;
}

const PARAM_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(=[^\s'"\\`$;*?[\]{}()<>|&]*)?$/;

/** modswap.sh arguments for a plan. @throws WorkbenchError E_BAD_PARAM. */
export function swapArgs(plan: SwapPlan): string[] {
  const args: string[] = [];
  for (const n of plan.unload) args.push('-u', n);
  for (const l of plan.load) {
    for (const p of l.params ?? []) {
      if (!PARAM_RE.test(p)) {
        throw new WorkbenchError('E_BAD_PARAM', `module parameter '${p}' for ${l.name} is not a plain name=value`, {
          hint: 'use name=value without spaces, quotes or shell characters',
        });
      }
    }
    args.push('-l', l.name, ...(l.params ?? []), ';');
  }
  for (const n of plan.reload) args.push('-r', n);
  return args;
}

/** What a swap did. */
export interface SwapResult {
  plan: SwapPlan;
  unloaded: string[];
  loaded: string[];
  reloaded: string[];
  /** Holders that could not be loaded again (reported; the caller decides). */
  reloadFailed: string[];
}

/**
 * Why a module did not unload, for people: its holders, its refcount, the
 * processes holding V4L2/media devices (pid, command, device, driver
 * module) and tasks stuck in D state.
 */
export function describeBlockers(module: string, snap: ModSnapshot): string {
  const m = snap.loaded.get(module);
  const parts: string[] = [];
  if (m) {
    parts.push(`state ${m.state}, refcnt ${Number.isNaN(m.refcnt) ? '?' : m.refcnt}`);
    parts.push(m.holders.length ? `held by module(s) ${m.holders.join(', ')}` : 'no module holds it');
  } else parts.push('it is no longer loaded');
  if (snap.open.length) {
    parts.push(`open devices: ${snap.open.map((o) => `${o.comm} (PID ${o.pid}) holds ${o.device}${o.module ? ` (${o.module})` : ''}`).join('; ')}`);
  } else parts.push('no process holds a /dev/video* or /dev/media* node');
  if (snap.stuck.length)
    parts.push(`tasks in D state: ${snap.stuck.map((t) => `${t.comm} (PID ${t.pid}${t.wchan && t.wchan !== '0' ? `, in ${t.wchan}` : ''})`).join('; ')}`);
  return parts.join('; ');
}

/** A module that could not be unloaded, with what holds it. */
export class UnloadError extends WorkbenchError {
  constructor(
    readonly module: string,
    readonly snapshot: ModSnapshot,
    rmmodError: string,
    board: string,
  ) {
    const pids = snapshot.open.filter((o) => !o.module || o.module === module || (snapshot.loaded.get(module)?.holders ?? []).includes(o.module));
    super('E_MODULE_UNLOAD', `${board}: module ${module} could not be unloaded: ${rmmodError}; ${describeBlockers(module, snapshot)}`, {
      hint: pids.length
        ? `stop ${pids.map((o) => `PID ${o.pid} (${o.comm})`).join(', ')} (e.g. \`kill ${pids.map((o) => o.pid).join(' ')}\` on the board), or power-cycle the board`
        : snapshot.stuck.length
          ? 'a task is stuck in the kernel (D state): only a power cycle (or reboot) frees the module'
          : 'a reference is held inside the kernel (see the kernel log): power-cycle (or reboot) the board',
    });
    this.name = 'UnloadError';
  }
}

/**
 * How often an unload failure is retried with a fresh read of the board,
 * and the wait before the first retry (doubled after), ms. Tests lower the wait.
 */
export const unloadRetry = { retries: 2, delayMs: 1000 };

/**
 * The module swap did not finish in its time: rmmod or modprobe hangs in the
 * kernel (e.g. an interrupt thread that died in an oops holds what
 * free_irq() waits for). Only a reboot gets such a board back, so a rollback
 * treats it like a module that cannot be unloaded (rollback.ts: one power
 * cycle where the board has power control).
 */
export class SwapStuckError extends WorkbenchError {
  constructor(
    readonly step: string,
    board: string,
    timeoutMs: number | undefined,
  ) {
    super('E_MODULE_STUCK', `${board}: the module swap hung at ${step} (no answer in ${Math.round((timeoutMs ?? 0) / 1000)} s): the kernel is stuck`, {
      hint: 'read the kernel log (`dmesg`) or the console for an oops; power-cycle the board',
    });
    this.name = 'SwapStuckError';
  }
}

/**
 * Reads the board's module state, plans ({@link planSwap}) and runs the
 * plan in one remote command (modswap.sh; `journal`: written to the
 * board's deploy journal first). Another process may change modules
 * between the read and the run (a decode reloading visl under another
 * workbench without the lock, udev): an unload failure is retried twice
 * with a fresh read.
 * @throws SwapStuckError (E_MODULE_STUCK: the swap timed out), UnloadError (E_MODULE_UNLOAD: names holders, processes, D-state
 *   tasks), WorkbenchError E_MODULE_LOAD (names the module, modprobe's
 *   error), E_BAD_PARAM.
 */
export async function swapModules(
  target: Target,
  goal: SwapGoal,
  opts: { journal?: string; timeoutMs?: number; log?: (m: string) => void } = {},
): Promise<SwapResult> {
  const names = [...new Set([...goal.replace, ...goal.load.map((l) => l.name), ...(goal.unload ?? [])].map(sysName))];
  for (let attempt = 0; ; attempt++) {
    const snap = await readModState(target, names, { timeoutMs: opts.timeoutMs });
    // Modules loaded now that are not asked for get their file facts only when needed (their depends come from holders).
    const plan = planSwap(snap, goal);
    const r = await runPhase(target, MODSWAP, swapArgs(plan), { ...opts, allowFailure: true });
    const res: SwapResult = { plan, unloaded: [], loaded: [], reloaded: [], reloadFailed: [] };
    let failed: [string, string] | undefined;
    for (const [k, f] of parseLines(r.stdout)) {
      if (k === 'unloaded') res.unloaded.push(f[0]!);
      else if (k === 'loaded') res.loaded.push(f[0]!);
      else if (k === 'reloaded') res.reloaded.push(f[0]!);
      else if (k === 'reload-failed') res.reloadFailed.push(f[0]!);
      else if (k.endsWith('-failed')) failed = [k, f[0]!];
    }
    if (r.exitCode === 0 || r.exitCode === 6) return res;
    if (r.timedOut) {
      // The last line printed is the last step that finished; the hang is in the next one.
      const done = [...res.unloaded.map((m) => `unloaded ${m}`), ...res.loaded.map((m) => `loaded ${m}`)];
      throw new SwapStuckError(done.length ? `the step after "${done.at(-1)}"` : 'its first step', target.name, opts.timeoutMs);
    }
    const why = r.stderr.trim() || `exit ${r.exitCode}`;
    if (failed?.[0] === 'unload-failed') {
      if (attempt < unloadRetry.retries) {
        opts.log?.(`module ${failed[1]} did not unload (${why}); reading the module state again`);
        await new Promise((res2) => setTimeout(res2, unloadRetry.delayMs * (attempt + 1)));
        continue;
      }
      const diag = await readModState(target, [], { why: true, timeoutMs: opts.timeoutMs }).catch(() => snap);
      throw new UnloadError(failed[1], diag, why, target.name);
    }
    throw new WorkbenchError('E_MODULE_LOAD', `${target.name}: module ${failed?.[1] ?? '?'} failed to load: ${why}`, {
      hint: 'see the kernel log findings for the reason',
    });
  }
}
