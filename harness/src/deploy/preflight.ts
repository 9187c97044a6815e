import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { WorkbenchError } from '../core/errors.ts';
import { sha256File } from '../core/cache.ts';
import { moduleDirFor, type Board } from '../target/boards.ts';
import { validateName } from '../target/quote.ts';
import { loadScript } from '../target/scripts.ts';
import type { Target } from '../target/types.ts';
import { parseModInfo, readExports, vermagicRelease, type ModInfo } from './modinfo.ts';
import { REMOTE_JOURNAL, REMOTE_ROOT, parseLines, runPhase, sysName } from './remote.ts';
import type { ModuleArtifact } from './types.ts';

/** A process holding a V4L2 or media device node open. */
export interface DeviceHolder {
  pid: number;
  comm: string;
  device: string;
  /** Module whose driver created the device (from sysfs), when known. */
  module?: string;
}

/** The plan for one module, from the board's current state. */
export interface ModulePlan {
  artifact: ModuleArtifact;
  /** /sys/module name. */
  sysName: string;
  /** Local size, bytes. */
  bytes: number;
  /** Destination file on the board. */
  dest: string;
  /** Size of the file at dest now (undefined: none there). */
  destBytes?: number;
  /** `live`, `coming`, `going`, or undefined when not loaded. */
  loadState?: string;
  /** Loaded modules that use it, deepest last (unload in reverse). */
  holders: string[];
  /** Where modprobe resolves the module now (realpath), if anywhere. */
  currentPath?: string;
  /** Realpath of dest when it exists. */
  destReal?: string;
  /** The module index (modules.dep/alias/symbols) stays valid with the new file: depmod can be skipped. */
  indexUnchanged: boolean;
  /** Index-relevant facts of the new file (`key=value`, sorted). */
  newIndexInfo: string[];
}

/** Index-relevant facts of a module: name, aliases, depends, softdep, weakdep, exported symbols (`key=value`, sorted). */
export function indexInfo(info: ModInfo, exports: string[]): string[] {
  const out: string[] = [];
  for (const k of ['alias', 'depends', 'softdep', 'weakdep', 'name']) for (const v of info.all[k] ?? []) out.push(`${k}=${v}`);
  for (const e of exports) out.push(`symbol=${e}`);
  return out.sort();
}

/** What preflight found. */
export interface Preflight {
  release: string;
  moduleDir: string;
  plans: ModulePlan[];
  holders: DeviceHolder[];
  /** Free bytes on the install filesystem / on the backup filesystem. */
  freeInstall: number;
  freeBackup: number;
  sameFs: boolean;
  /** The board has gzip (uploads are sent compressed). */
  gzip: boolean;
  /** The board's deploy journal text when an interrupted deploy is pending (repair, then run preflight again). */
  journal?: string;
}

const PREFLIGHT = loadScript(import.meta.url, 'preflight.sh');

/**
 * Checks everything that can be checked before anything on the board changes:
 * vermagic vs `uname -r`, root, tools, free space for the new files and the
 * backup, module state (loaded, holders, built-in), and the processes that
 * hold /dev/video* or /dev/media* (via /proc/PID/fd, so it works without
 * fuser or lsof).
 *
 * @throws WorkbenchError E_VERMAGIC_MISMATCH (shows both releases),
 *   E_DISK_FULL (nothing was replaced), E_PERMISSION, E_BOARD_TOOLS,
 *   E_DEVICE_BUSY (lists PID/command/device), E_BUILTIN_MODULE,
 *   E_DEPLOY_CONFLICT, E_BAD_MODULE (local file changed since the build).
 */
export async function preflight(
  target: Target,
  board: Board,
  modules: ModuleArtifact[],
  opts: { skipVermagicCheck?: boolean; spareBytes?: number; timeoutMs?: number } = {},
): Promise<Preflight> {
  if (modules.length === 0) throw new WorkbenchError('E_NO_MODULES', 'nothing to deploy', { hint: 'pass at least one .ko' });
  const names = new Set<string>();
  for (const m of modules) {
    validateName(m.name, 'module name');
    validateName(basename(m.path), 'module file name');
    if (!basename(m.path).endsWith('.ko')) throw new WorkbenchError('E_BAD_MODULE', `${m.path}: expected a .ko file`);
    if (names.has(sysName(m.name))) throw new WorkbenchError('E_BAD_MODULE', `module ${m.name} given twice`);
    names.add(sysName(m.name));
    const actual = await sha256File(m.path).catch((e) => {
      throw new WorkbenchError('E_BAD_MODULE', `cannot read ${m.path}: ${(e as Error).message}`);
    });
    if (actual !== m.sha256) {
      throw new WorkbenchError('E_BAD_MODULE', `${m.path} changed since it was built (SHA-256 ${actual}, build said ${m.sha256})`, {
        hint: 'rebuild, then deploy again',
      });
    }
  }
  const args: string[] = [];
  for (const m of modules) args.push(sysName(m.name), basename(m.path));
  const r = await runPhase(target, PREFLIGHT, [board.moduleDir, REMOTE_ROOT, REMOTE_JOURNAL, ...args], { timeoutMs: opts.timeoutMs });
  const lines = parseLines(r.stdout);
  const get = (k: string) => lines.find(([key]) => key === k)?.[1];
  const release = get('release')?.[0] ?? '';
  const journalText = get('journal')?.[0];
  if (!opts.skipVermagicCheck) {
    for (const m of modules) {
      const built = vermagicRelease(m.vermagic);
      if (built !== release) {
        throw new WorkbenchError(
          'E_VERMAGIC_MISMATCH',
          `${m.name} was built for kernel ${built} but board ${board.name} runs ${release} (vermagic '${m.vermagic.trim()}')`,
          { hint: `build against the board's kernel (${release}), or boot the board on ${built}; nothing was changed on the board` },
        );
      }
    }
  }
  const moduleDir = moduleDirFor(board, release);
  const plans: ModulePlan[] = [];
  for (const m of modules) {
    const buf = await readFile(m.path);
    const info = parseModInfo(buf, m.path);
    plans.push({
      artifact: m,
      sysName: sysName(m.name),
      bytes: buf.length,
      dest: `${moduleDir}/${basename(m.path)}`,
      holders: [],
      indexUnchanged: false,
      newIndexInfo: indexInfo(info, readExports(buf, m.path)),
    });
  }
  const byName = new Map(plans.map((p) => [p.sysName, p]));
  const oldInfo = new Map<string, string[]>();
  const holders: DeviceHolder[] = [];
  const missing: string[] = [];
  let uid = '';
  let dirReal = moduleDir;
  let dfDir: [number, string] = [0, ''];
  let dfRoot: [number, string] = [0, ''];
  for (const [k, f] of lines) {
    const p = f[0] !== undefined ? byName.get(f[0]) : undefined;
    if (k === 'uid') uid = f[0] ?? '';
    else if (k === 'missing') missing.push(f[0]!);
    else if (k === 'dirreal') dirReal = f[0]!;
    else if (k === 'dfdir') dfDir = [Number(f[0]) * 1024, f[1] ?? ''];
    else if (k === 'dfroot') dfRoot = [Number(f[0]) * 1024, f[1] ?? ''];
    else if (k === 'loaded' && p) p.loadState = f[1];
    else if (k === 'holder' && p && f[1] && !p.holders.includes(f[1])) p.holders.push(f[1]);
    else if (k === 'current' && p) p.currentPath = f[1];
    else if (k === 'dest' && p) {
      p.destBytes = Number(f[1]);
      p.destReal = f[2];
    } else if ((k === 'oldinfo' || k === 'oldsym') && p) {
      const l = oldInfo.get(p.sysName) ?? [];
      l.push(k === 'oldsym' ? `symbol=${f[1]}` : `${f[1]}=${f[2] ?? ''}`);
      oldInfo.set(p.sysName, l);
    } else if (k === 'busy') holders.push({ pid: Number(f[0]), comm: f[1] ?? '?', device: f[2] ?? '?', ...(f[3] ? { module: f[3] } : {}) });
  }
  for (const p of plans) {
    // depmod can be skipped when the file replaces one at the same path that
    // the index already points at, with the same name, aliases, dependencies
    // and exported symbols: modules.dep/alias/symbols stay valid.
    const old = (oldInfo.get(p.sysName) ?? []).sort();
    p.indexUnchanged = p.destBytes !== undefined && p.currentPath !== undefined && p.currentPath === p.destReal && old.join('\n') === p.newIndexInfo.join('\n');
  }
  if (uid !== '0') {
    throw new WorkbenchError(
      'E_PERMISSION',
      `permission denied: deploying modules on board ${board.name} needs root, but the SSH login has uid ${uid || '?'}${board.ssh ? ` (user ${board.ssh.user})` : ''}`,
      {
        hint: `set \`user = "root"\` for ${board.name} in boards.toml (with the root key in its authorized_keys)`,
      },
    );
  }
  if (missing.length) {
    throw new WorkbenchError('E_BOARD_TOOLS', `board ${board.name} lacks ${missing.join(', ')}`, {
      hint: 'install kmod and coreutils (or busybox) on the board',
    });
  }
  for (const p of plans) {
    if (p.loadState === 'builtin') {
      throw new WorkbenchError('E_BUILTIN_MODULE', `${p.artifact.name} is built into board ${board.name}'s kernel (${release}); a module cannot replace it`, {
        hint: 'boot a kernel with this driver as a module (=m)',
      });
    }
    if (p.currentPath && p.currentPath.startsWith(dirReal + '/') && basename(p.currentPath) !== basename(p.dest)) {
      throw new WorkbenchError('E_DEPLOY_CONFLICT', `board ${board.name} already has ${p.artifact.name} as ${p.currentPath}, not ${p.dest}`, {
        hint: `remove ${p.currentPath} on the board (or roll back the deploy that put it there), then deploy again`,
      });
    }
  }
  const affected = new Set(plans.flatMap((p) => (p.loadState ? [p.sysName, ...p.holders] : [])).map(sysName));
  const blocking = holders.filter((h) => !h.module || affected.has(sysName(h.module)));
  if (blocking.length && affected.size) {
    throw new WorkbenchError(
      'E_DEVICE_BUSY',
      `board ${board.name}: the modules to replace are in use: ${blocking.map((h) => `${h.comm} (PID ${h.pid}) holds ${h.device}`).join('; ')}`,
      { hint: 'stop those processes (or wait for the decode to finish), then deploy again; nothing was changed' },
    );
  }
  const spare = opts.spareBytes ?? 1024 * 1024;
  const newBytes = plans.reduce((s, p) => s + p.bytes, 0) + spare;
  const backupBytes = plans.reduce((s, p) => s + (p.destBytes ?? 0), 0) + 64 * 1024;
  const sameFs = dfDir[1] !== '' && dfDir[1] === dfRoot[1];
  const short: string[] = [];
  if (sameFs) {
    if (dfDir[0] < newBytes + backupBytes) short.push(`${dfDir[1]} has ${dfDir[0]} bytes free, needs ${newBytes + backupBytes} (new modules + backup)`);
  } else {
    if (dfDir[0] < newBytes) short.push(`${dfDir[1] || moduleDir} (module dir) has ${dfDir[0]} bytes free, needs ${newBytes}`);
    if (dfRoot[0] < backupBytes) short.push(`${dfRoot[1] || REMOTE_ROOT} (backups) has ${dfRoot[0]} bytes free, needs ${backupBytes}`);
  }
  if (short.length) {
    throw new WorkbenchError('E_DISK_FULL', `board ${board.name}: not enough disk space: ${short.join('; ')}; nothing was replaced`, {
      hint: `free space on the board (old backups: \`workbench backups list --board ${board.name}\`), then deploy again`,
    });
  }
  const gzip = lines.some(([k, f]) => k === 'has' && f[0] === 'gzip');
  return { release, moduleDir, plans, holders, freeInstall: dfDir[0], freeBackup: dfRoot[0], sameFs, gzip, ...(journalText ? { journal: journalText } : {}) };
}
