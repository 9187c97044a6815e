import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheKey, ensureEntry, writeFileAtomic } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { projectRoot } from '../core/paths.ts';
import type { Runner } from '../core/runner.ts';
import { loadScript, scriptArgv } from '../core/scripts.ts';
import { tail } from '../core/text.ts';
import { toolboxExec } from '../toolbox/toolbox.ts';
import { requireRoot } from '../toolbox/mmdebstrap.ts';
import { hashTree } from './qemuBuild.ts';

/**
 * The vdpu381 model server (harness/simboard-model/server/): a host process
 * the simboard's QEMU device hands each decode job to over a UNIX socket;
 * it decodes into the guest's RAM (a shared memory-backend-file) and
 * answers the STA_INT word. Built (static) in the QEMU build chroot,
 * cached by the hash of harness/simboard-model/, started before QEMU and
 * stopped with the board.
 */

/** Bumped when the way the server is built changes (part of the cache key). */
export const MODEL_SERVER_FORMAT = 1;

/** Folder of the model (interface header, server, and the model core when present). */
export const MODEL_DIR = () => join(projectRoot(), 'harness', 'simboard-model');

/** Guest-physical address of the first byte of QEMU virt's RAM (hw/arm/virt.c memmap VIRT_MEM: 0x40000000). */
export const VIRT_RAM_GPA = 0x4000_0000;

/**
 * The model choice of a simboard start.
 * - `core`: `auto` links the model core when harness/simboard-model/Makefile
 *   exists (else the stub, which decodes nothing); `stub` forces the stub.
 * - `fill`: test mode, the server fills every output picture with this byte
 *   (0-255) and answers ready, without running the model.
 * - `dieAfter`: test mode, the server exits when job N (1-based) arrives.
 * - `timeoutMs`: the device's bound on one answer (host ms, default 1000).
 */
export interface SimboardModelOptions {
  core?: 'auto' | 'stub';
  fill?: number;
  dieAfter?: number;
  timeoutMs?: number;
}

/** What is recorded of the model in the board's run state. */
export interface SimboardModelRun {
  /** `core`: the real model; `stub`: decodes nothing; `fill`: the fill test mode. */
  kind: 'core' | 'stub' | 'fill';
  fill?: number;
  pid: number;
  serverKey: string;
}

/** A built model server. */
export interface ModelServerBuild {
  binary: string;
  key: string;
  /** Which core was linked. */
  core: 'core' | 'stub';
  hit: boolean;
}

/** Env variable that turns the model on for boots the workbench starts itself (iterate, power cycles). */
export const MODEL_ENV = 'WORKBENCH_SIMBOARD_MODEL';

/**
 * Reads {@link MODEL_ENV}: unset or `off`/`0` = no model (undefined is
 * returned only when unset); `on`/`1` = the model (core when built, else the
 * stub); `stub` = the stub; `fill=N` = fill test mode with byte N.
 * @returns the options, `false` for an explicit off, undefined when unset.
 * @throws WorkbenchError E_CONFIG naming the variable and the accepted values.
 */
export function modelFromEnv(env: NodeJS.ProcessEnv = process.env): SimboardModelOptions | false | undefined {
  const v = env[MODEL_ENV]?.trim();
  if (v === undefined || v === '') return undefined;
  if (v === 'off' || v === '0') return false;
  if (v === 'on' || v === '1') return { core: 'auto' };
  if (v === 'stub') return { core: 'stub' };
  const m = /^fill=(\d+|0x[0-9a-f]+)$/i.exec(v);
  if (m) return { core: 'stub', fill: parseFillByte(m[1]!, MODEL_ENV) };
  throw new WorkbenchError('E_CONFIG', `${MODEL_ENV}="${v}": expected on, off, stub or fill=N (N a byte, 0-255)`, {
    hint: `unset ${MODEL_ENV} to boot the simboard without the decoding model`,
  });
}

/**
 * Parses a fill byte (decimal or 0x hex, 0-255).
 * @throws WorkbenchError E_CONFIG naming `what`.
 */
export function parseFillByte(v: string, what: string): number {
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new WorkbenchError('E_CONFIG', `${what} "${v}": expected a byte value 0-255 (decimal or 0x hex)`);
  return n;
}

const BUILD_SCRIPT = loadScript(import.meta.url, 'modelBuild.sh');

/** Cache inputs of the server: the model tree's file hashes, the chroot, the core switch, the patched libvpx entry the core links (when any). */
export function modelServerInputs(tree: Record<string, string>, rootKey: string, core: 'auto' | 'stub', libvpxDir?: string): Record<string, unknown> {
  return { format: MODEL_SERVER_FORMAT, tree, root: rootKey, core, ...(libvpxDir ? { libvpx: libvpxDir } : {}) };
}

/**
 * Builds (once per source hash) the static `vdpu381-model-server` in the
 * QEMU build chroot: `<cache>/simboard-model-server/<key>/`, written
 * atomically (core/cache.ts ensureEntry), with `core.txt` saying which core
 * was linked. modelBuild.sh links the model core (core `auto`) when
 * harness/simboard-model/Makefile exists and `libvpxDir` (the patched
 * libvpx cache entry of modelCore.ts: `libvpx/` source, `build/` tree) is
 * given, bound at /wb/vpx; otherwise the stub.
 * @throws WorkbenchError E_NOT_ROOT, E_SIMBOARD_MODEL_BUILD with the make output's tail.
 */
export async function ensureModelServer(opts: {
  runner: Runner;
  root: string;
  rootKey: string;
  core?: 'auto' | 'stub';
  /** Host path of the patched libvpx entry the core needs (bound at /wb/vpx). */
  libvpxDir?: string;
  modelDir?: string;
  cacheRoot?: string;
  log?: (s: string) => void;
}): Promise<ModelServerBuild> {
  const dir = opts.modelDir ?? MODEL_DIR();
  const core = opts.core ?? 'auto';
  const e = await ensureEntry(
    'simboard-model-server',
    modelServerInputs(await hashTree(dir), opts.rootKey, core, opts.libvpxDir),
    async (tmp) => {
      requireRoot('building the vdpu381 model server');
      opts.log?.(`building the vdpu381 model server (${core === 'stub' ? 'stub core' : 'model core when present'})`);
      const r = await toolboxExec(opts.runner, opts.root, scriptArgv(BUILD_SCRIPT, ['2', core]), {
        binds: [
          { host: dir, inside: '/wb/src', readOnly: true },
          { host: tmp, inside: '/wb/out' },
          ...(opts.libvpxDir ? [{ host: opts.libvpxDir, inside: '/wb/vpx', readOnly: true }] : []),
        ],
        timeoutMs: 60 * 60_000,
        allowFailure: true,
      });
      if (r.exitCode !== 0)
        throw new WorkbenchError('E_SIMBOARD_MODEL_BUILD', `vdpu381 model server build failed (exit ${r.exitCode}):\n${tail(`${r.stdout}\n${r.stderr}`, 25)}`, {
          hint: 'fix the C sources in harness/simboard-model/ (the cache was left clean) and rerun',
        });
      return { files: ['vdpu381-model-server', 'core.txt'], extra: { core } };
    },
    { root: opts.cacheRoot, log: opts.log },
  );
  const linked = readFileSync(join(e.dir, 'core.txt'), 'utf8').trim() === 'core' ? 'core' : 'stub';
  if (e.hit) opts.log?.(`vdpu381 model server: cached (${e.key}, ${linked})`);
  return { binary: join(e.dir, 'vdpu381-model-server'), key: e.key, core: linked, hit: e.hit };
}

/** Files of a model server run (under the board's state directory). */
export interface ModelServerFiles {
  socket: string;
  guestRam: string;
  log: string;
  pidFile: string;
}

/** argv of the server (run on the host: the binary is static). */
export function modelServerArgv(binary: string, f: ModelServerFiles, o: SimboardModelOptions): string[] {
  const argv = [binary, '--socket', f.socket, '--ram', f.guestRam, '--ram-gpa', `0x${VIRT_RAM_GPA.toString(16)}`];
  if (o.fill !== undefined) argv.push('--fill', String(o.fill));
  if (o.dieAfter !== undefined) argv.push('--die-after', String(o.dieAfter));
  return argv;
}

/** True when `pid` is a live vdpu381-model-server listening on `socket` (so a recycled PID is never signalled). */
export function isOurModelServer(pid: number, socket: string): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return /vdpu381-model-server$/.test(cmd[0] ?? '') && cmd.includes(socket);
  } catch {
    return false;
  }
}

/**
 * Starts the server detached (its stderr appended to `f.log`, its PID in
 * `f.pidFile`) and waits until its socket exists. A server still running
 * from an earlier start is stopped first.
 * @returns its PID.
 * @throws WorkbenchError E_SIMBOARD_MODEL when it exits or does not listen within 10 s (log tail included).
 */
export async function startModelServer(binary: string, f: ModelServerFiles, o: SimboardModelOptions): Promise<number> {
  await stopModelServer(f);
  await rm(f.socket, { force: true });
  const fd = openSync(f.log, 'a');
  let exited: number | null = null;
  let child;
  try {
    child = spawn(modelServerArgv(binary, f, o)[0]!, modelServerArgv(binary, f, o).slice(1), { detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  child.on('exit', (code) => {
    exited = code ?? -1;
  });
  child.unref();
  const pid = child.pid;
  if (!pid) throw new WorkbenchError('E_SIMBOARD_MODEL', `cannot start ${binary}`, { hint: `see ${f.log}` });
  const t0 = Date.now();
  while (!existsSync(f.socket)) {
    if (exited !== null || Date.now() - t0 > 10_000)
      throw new WorkbenchError(
        'E_SIMBOARD_MODEL',
        `the vdpu381 model server ${exited !== null ? `exited (${exited})` : 'did not listen within 10 s'}:\n${tail(existsSync(f.log) ? readFileSync(f.log, 'utf8') : '', 10)}`,
        { hint: `see ${f.log}` },
      );
    await new Promise((r) => setTimeout(r, 50));
  }
  await writeFileAtomic(f.pidFile, `${pid}\n`);
  return pid;
}

/**
 * Stops the server recorded in `f.pidFile` (SIGTERM, then SIGKILL after
 * 2 s; only when the PID is still our server) and removes the socket and
 * the guest RAM file; the log is kept.
 * @returns true when a server was running.
 */
export async function stopModelServer(f: ModelServerFiles): Promise<boolean> {
  let pid = NaN;
  try {
    pid = Number(readFileSync(f.pidFile, 'utf8').trim());
  } catch {
    // no server recorded
  }
  let was = false;
  if (isOurModelServer(pid, f.socket)) {
    was = true;
    process.kill(pid, 'SIGTERM');
    const t0 = Date.now();
    while (isOurModelServer(pid, f.socket) && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 50));
    if (isOurModelServer(pid, f.socket)) process.kill(pid, 'SIGKILL');
  }
  await rm(f.pidFile, { force: true });
  await rm(f.socket, { force: true });
  await rm(f.guestRam, { force: true });
  return was;
}

/** The cache key a model server build would have (for tests and status). */
export function modelServerKey(tree: Record<string, string>, rootKey: string, core: 'auto' | 'stub'): string {
  return cacheKey(modelServerInputs(tree, rootKey, core));
}
