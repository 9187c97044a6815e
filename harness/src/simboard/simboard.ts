import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLock, writeFileAtomic } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { requireTools } from '../core/hostTools.ts';
import { stateRoot } from '../core/paths.ts';
import type { Runner } from '../core/runner.ts';
import { loadScript, runScript } from '../target/scripts.ts';
import { SshTarget } from '../target/ssh.ts';
import { chrootArgv } from '../toolbox/chrootExec.ts';
import { qmpRun } from './qmp.ts';
import { bootWithOneRetry, startDaemonQemu, waitForGuestSsh, type BootWatch } from '../vboard/boot.ts';
import { boardConnectionFor, boardTargetFor, sshArgv, type VboardConnection } from '../vboard/connection.ts';
import { ensureDisk, ensureIdentity, type DiskBoard } from '../vboard/disk.ts';
import { isOurQemu, readJson, vboardPaths, type RunState } from '../vboard/state.ts';
import { checkBeforeBoot, qemuBoardStatus, stopBoardQemu, type QemuBoardKind, type VboardStatus } from '../vboard/vboard.ts';
import { ensureSimboardImage, type SimboardImage } from './image.ts';
import { ensureSimboardQemu, type SimboardQemu } from './qemuBuild.ts';
import { ensureModelCore } from './modelCore.ts';
import {
  MODEL_DIR,
  ensureModelServer,
  isOurModelServer,
  modelFromEnv,
  startModelServer,
  stopModelServer,
  type SimboardModelOptions,
  type SimboardModelRun,
} from './modelServer.ts';

/**
 * The simboard: an arm64 QEMU `virt` guest (TCG) running Debian's arm64
 * kernel, with our vdpu381 device model (`-device vdpu381-sim`) on the
 * virt platform bus, so Debian's rockchip-vdec.ko binds to a real OF node.
 * Same guest scripts, SSH and host-key rules as the vboard.
 */

/** Board name and host-key alias. */
export const SIMBOARD_NAME = 'simboard';

/** Kernel command line (besides the SSH key): PL011 console, exit on panic, no audit. */
export const SIMBOARD_CMDLINE: readonly string[] = ['console=ttyAMA0', 'quiet', 'panic=-1', 'audit=0'];

/** State files under `<state>/simboard/` (the vboard's layout plus the capture file). */
export function simboardPaths(root: string = join(stateRoot(), 'simboard')) {
  return {
    ...vboardPaths(root),
    /** JSON lines written by the device model, one per decode job. */
    capture: join(root, 'capture.jsonl'),
    /** The device model's fault control file (simboard/faults.ts). */
    faults: join(root, 'faults'),
    /** QEMU's QMP socket (simboard/qmp.ts: the device model's `flush`). */
    qmp: join(root, 'qmp.sock'),
    /** The vdpu381 model server's socket (QEMU's chardev `model` connects to it). */
    modelSocket: join(root, 'model.sock'),
    /** The guest's RAM (memory-backend-file, share=on) while the model is on. */
    guestRam: join(root, 'guest-ram'),
    /** The model server's log (kept after `down`). */
    modelLog: join(root, 'model.log'),
    /** The model server's PID. */
    modelPid: join(root, 'model.pid'),
    /** The model choice of the last start (used by starts that name none: iterate, power cycles). */
    modelChoice: join(root, 'model.json'),
  };
}

const paths = () => simboardPaths();
const diskBoard = (): DiskBoard => ({ p: paths(), name: SIMBOARD_NAME });

/** What {@link simboardQemuArgv} needs. */
export interface SimboardQemuSpec {
  qemu: Pick<SimboardQemu, 'root' | 'dir' | 'binary'>;
  image: Pick<SimboardImage, 'dir' | 'kernel' | 'initrd'>;
  /** State directory (disk, serial log, PID file, capture file live there). */
  stateDir: string;
  disk: string;
  serialLog: string;
  pidFile: string;
  capture: string;
  /** The device model's fault control file (read at each DEC_E when it changed). */
  faults: string;
  /** QMP socket path (a unix socket QEMU listens on). */
  qmp: string;
  sshPort: number;
  memoryMiB: number;
  cpus: number;
  /** Extra kernel command-line words (`vboard.authkey=...`). */
  append: string[];
  /** Device model delay from DEC_E to the interrupt, µs. */
  irqDelayUs?: number;
  /**
   * The decoding model: QEMU connects the device's `model` chardev to this
   * socket (the server must listen first) and the guest's RAM is the file
   * `guestRam` (memory-backend-file, share=on; in the state directory, which
   * the chroot binds at its host path, so the server maps the same file).
   */
  model?: { socket: string; guestRam: string; timeoutMs?: number };
}

/** QOM id of the vdpu381-sim device (QMP path `/machine/peripheral/<id>`). */
export const VDPU381_DEVICE_ID = 'vdpu381';

/** A QEMU option value with its commas doubled (QEMU's escape). */
export function qemuOptValue(v: string): string {
  return v.replace(/,/g, ',,');
}

/**
 * argv of the simboard QEMU: run inside the QEMU build chroot (the binary
 * links against its libraries) in a mount namespace only (QEMU daemonizes:
 * its PID must be a host PID), with the QEMU entry, the image entry and the
 * state directory bound at their host paths. `virt` with GICv3, `-cpu
 * max,pauth-impdef=on` (cheap pointer authentication under TCG), RAM below
 * 4 GiB (rkvdec's 32-bit DMA mask), virtio disk/net/rng on PCI (no option
 * ROMs: `romfile=`), SSH forwarded on 127.0.0.1 only, and the vdpu381-sim
 * device, whose device-tree node QEMU writes itself.
 */
export function simboardQemuArgv(s: SimboardQemuSpec): string[] {
  const dev = [`vdpu381-sim`, `id=${VDPU381_DEVICE_ID}`, `capture=${qemuOptValue(s.capture)}`, `control=${qemuOptValue(s.faults)}`];
  if (s.irqDelayUs !== undefined) dev.push(`irq-delay-us=${s.irqDelayUs}`);
  const model: string[] = [];
  if (s.model) {
    dev.push('model=model');
    if (s.model.timeoutMs !== undefined) dev.push(`model-timeout-ms=${s.model.timeoutMs}`);
    model.push(
      '-object',
      `memory-backend-file,id=ram0,mem-path=${qemuOptValue(s.model.guestRam)},size=${s.memoryMiB}M,share=on,discard-data=on`,
      '-chardev',
      `socket,id=model,path=${qemuOptValue(s.model.socket)}`,
    );
  }
  const qemu = [
    s.qemu.binary,
    '-M',
    s.model ? 'virt,gic-version=3,memory-backend=ram0' : 'virt,gic-version=3',
    ...model,
    '-cpu',
    'max,pauth-impdef=on',
    '-accel',
    'tcg,thread=multi',
    '-m',
    String(s.memoryMiB),
    '-smp',
    String(s.cpus),
    '-name',
    'workbench-simboard',
    '-nodefaults',
    '-kernel',
    s.image.kernel,
    '-initrd',
    s.image.initrd,
    '-append',
    [...SIMBOARD_CMDLINE, ...s.append].join(' '),
    '-drive',
    `file=${qemuOptValue(s.disk)},format=raw,if=none,id=d0,cache=writeback`,
    '-device',
    'virtio-blk-pci,drive=d0,romfile=',
    '-netdev',
    `user,id=n0,hostfwd=tcp:127.0.0.1:${s.sshPort}-:22`,
    '-device',
    'virtio-net-pci,netdev=n0,romfile=',
    '-device',
    'virtio-rng-pci,romfile=',
    '-device',
    dev.join(','),
    '-display',
    'none',
    '-serial',
    `file:${s.serialLog}`,
    '-monitor',
    'none',
    '-qmp',
    `unix:${qemuOptValue(s.qmp)},server=on,wait=off`,
    '-no-reboot',
    '-daemonize',
    '-pidfile',
    s.pidFile,
  ];
  return chrootArgv(s.qemu.root, qemu, {
    pidNamespace: false,
    binds: [
      { host: s.qemu.dir, inside: s.qemu.dir, readOnly: true },
      { host: s.image.dir, inside: s.image.dir, readOnly: true },
      { host: s.stateDir, inside: s.stateDir },
    ],
  });
}

const targetFor = (port: number, connectTimeoutMs = 10_000): SshTarget => boardTargetFor(SIMBOARD_NAME, paths(), port, connectTimeoutMs);
const simboardConnectionFor = (port: number): VboardConnection => boardConnectionFor(SIMBOARD_NAME, paths(), port);

const watch = (): BootWatch => ({ files: paths(), targetFor, code: 'E_SIMBOARD_BOOT', what: 'simboard' });
const simKind = (): QemuBoardKind => ({ what: SIMBOARD_NAME, files: paths(), targetFor });

/** Loads the modules of the guest's device-tree devices by modalias (the guest has no udev). */
const COLDPLUG = loadScript(import.meta.url, 'coldplug.sh');

/**
 * What udev's coldplug does on a real board, over SSH right after boot:
 * `modprobe` of every device-tree platform device's modalias, so Debian's
 * rockchip-vdec (or a deployed one in updates/) binds to the vdpu381 node.
 * @returns the driver bound to the decoder node (`rkvdec`), or undefined.
 * @throws WorkbenchError when SSH fails.
 */
export async function coldplug(target: SshTarget, log?: (m: string) => void): Promise<string | undefined> {
  const r = await runScript(target, COLDPLUG, [], { timeoutMs: 120_000 });
  const line = r.stdout.split('\n').find((l) => l.includes('rockchip,rk3588-vdec'));
  const driver = line?.split(' ')[2];
  log?.(line ? `decoder node ${line.split(' ')[0]}: driver ${driver === '-' ? 'none bound' : driver}` : 'no rockchip,rk3588-vdec node in the device tree');
  return driver && driver !== '-' ? driver : undefined;
}

/** Status of the simboard (the vboard's shape; `accel` is always `tcg`), with the decoding model when it runs with one. */
export type SimboardStatus = VboardStatus & { qemuKey?: string; model?: SimboardModelRun & { serverRunning: boolean } };

/** Options of {@link simboardUp}. */
export interface SimboardUpOptions {
  log?: (msg: string) => void;
  /** Start from a fresh copy of the image (deployed modules are lost). */
  fresh?: boolean;
  /** Guest memory, MiB (default 2048; at most 3072 so RAM stays below 4 GiB). */
  memoryMiB?: number;
  cpus?: number;
  /** Seconds to wait for SSH (default 300: TCG arm64 on a loaded 2-core host). */
  bootTimeoutS?: number;
  /** Device model: µs from DEC_E to the interrupt. */
  irqDelayUs?: number;
  /**
   * The decoding model (modelServer.ts): options, or false for none.
   * Undefined: `WORKBENCH_SIMBOARD_MODEL` (modelServer.ts modelFromEnv), else the last start's choice, else none.
   */
  model?: SimboardModelOptions | false;
  runner: Runner;
}

/**
 * The model choice of a start that names none: `WORKBENCH_SIMBOARD_MODEL` (modelServer.ts modelFromEnv), else the
 * last start's (`model.json`, so a power cycle keeps it), else none.
 * @throws WorkbenchError E_CONFIG for a bad `WORKBENCH_SIMBOARD_MODEL` (modelServer.ts modelFromEnv).
 */
export function resolveModelChoice(explicit?: SimboardModelOptions | false): SimboardModelOptions | false {
  if (explicit !== undefined) return explicit;
  const env = modelFromEnv();
  if (env !== undefined) return env;
  return readJson<{ model: SimboardModelOptions | false }>(paths().modelChoice)?.model ?? false;
}

/**
 * Whether the simboard decodes with the model: the running board's record,
 * or (not running) the choice its next start would make.
 */
export function simboardModel(): SimboardModelRun | SimboardModelOptions | undefined {
  const p = paths();
  const run = readJson<RunState & { model?: SimboardModelRun }>(p.runFile);
  if (run && isOurQemu(run.pid, p.pidFile)) return run.model;
  try {
    return resolveModelChoice() || undefined;
  } catch {
    return undefined;
  }
}

const modelFiles = () => {
  const p = paths();
  return { socket: p.modelSocket, guestRam: p.guestRam, log: p.modelLog, pidFile: p.modelPid };
};

/**
 * The simboard's guest init prints its ready line (the one vboard/boot.ts
 * waits for) 21-32 s after QEMU start on an idle host (TCG arm64, measured
 * here); 240 s of nothing means it hung in early boot.
 */
const SIMBOARD_READY_WITHIN_MS = 240_000;

/**
 * Builds (once, cached: QEMU with the device model, the arm64 image) and
 * boots the simboard; resolves when SSH answers with the recorded host key.
 * A running board is returned as is; a stale record is cleaned up, a hung
 * guest killed and booted again (checkBeforeBoot, said in the log).
 * @throws WorkbenchError E_NOT_ROOT, E_SIMBOARD_QEMU_BUILD, E_SIMBOARD_BINFMT,
 *   E_SIMBOARD_IMAGE, E_SIMBOARD_UNRESPONSIVE, E_SIMBOARD_BOOT (serial log tail included), E_HOSTKEY_CHANGED.
 */
export async function simboardUp(opts: SimboardUpOptions): Promise<SimboardStatus> {
  const runner = opts.runner;
  const log = opts.log;
  const p = paths();
  requireTools(['ssh-keygen', 'cp', 'unshare']);
  const mem = opts.memoryMiB ?? 2048;
  if (mem > 3072) throw new WorkbenchError('E_CONFIG', `simboard memory ${mem} MiB: at most 3072 (virt's RAM starts at 1 GiB and rkvdec needs it below 4 GiB)`);
  await mkdir(p.dir, { recursive: true });
  const release = await acquireLock(p.lock, log);
  try {
    const model = resolveModelChoice(opts.model);
    const running = await checkBeforeBoot(simKind(), await simboardStatus(), { flag: Boolean(opts.fresh), option: '--fresh' }, log);
    if (running) {
      const was = readJson<{ model?: SimboardModelRun }>(p.runFile)?.model;
      if (Boolean(was) !== Boolean(model))
        log?.(
          `the running simboard was started ${was ? `with the ${was.kind} model` : 'without the decoding model'}; it is kept as it is (\`workbench simboard down\`, then up ${model ? '--model' : 'without --model'} to change)`,
        );
      return running;
    }
    // Cold: the QEMU build and the arm64 rootfs are independent; both must settle.
    const [q, i] = await Promise.allSettled([ensureSimboardQemu({ runner, log }), ensureSimboardImage({ runner, log })]);
    if (q.status === 'rejected') throw q.reason;
    if (i.status === 'rejected') throw i.reason;
    const qemu = q.value;
    const img = i.value;
    let modelRun: SimboardModelRun | undefined;
    if (model) {
      // The model core (modelCore.ts: patched libvpx + model, cached) when its Makefile is there, unless the stub is asked for.
      const core = model.core ?? 'auto';
      const libvpxDir = core === 'auto' && existsSync(join(MODEL_DIR(), 'Makefile')) ? (await ensureModelCore({ runner, log })).libvpxDir : undefined;
      const srv = await ensureModelServer({ runner, root: qemu.root, rootKey: qemu.rootKey, core, ...(libvpxDir ? { libvpxDir } : {}), log });
      const pid = await startModelServer(srv.binary, modelFiles(), model);
      modelRun = { kind: model.fill !== undefined ? 'fill' : srv.core, ...(model.fill !== undefined ? { fill: model.fill } : {}), pid, serverKey: srv.key };
      log?.(`vdpu381 model server PID ${pid} (${modelRun.kind}${model.fill !== undefined ? ` 0x${model.fill.toString(16)}` : ''}), log ${p.modelLog}`);
    } else await stopModelServer(modelFiles());
    await writeFileAtomic(p.modelChoice, JSON.stringify({ model }));
    // A fault plan counts jobs from when it was written: one left from before this boot would hit the new board's jobs.
    if (existsSync(p.faults)) {
      await rm(p.faults, { force: true });
      log?.(`fault plan left from before this boot cleared (${p.faults}): every job answers ready until \`workbench simboard faults\` says otherwise`);
    }
    const pub = await ensureIdentity(runner, diskBoard());
    await ensureDisk(runner, img, Boolean(opts.fresh), log, diskBoard());
    const [ktype, kb64] = pub.split(/\s+/);
    // A guest that dies or hangs in early boot is booted once more (bootWithOneRetry).
    let pid: number | undefined;
    const booting = bootWithOneRetry(
      watch(),
      async () => {
        const started = await startDaemonQemu(
          runner,
          (port) =>
            simboardQemuArgv({
              qemu,
              image: img,
              stateDir: p.dir,
              disk: p.disk,
              serialLog: p.serialLog,
              pidFile: p.pidFile,
              capture: p.capture,
              faults: p.faults,
              qmp: p.qmp,
              sshPort: port,
              memoryMiB: mem,
              cpus: opts.cpus ?? 2,
              append: [`vboard.authkey=${ktype}:${kb64}`],
              irqDelayUs: opts.irqDelayUs,
              ...(model
                ? { model: { socket: p.modelSocket, guestRam: p.guestRam, ...(model.timeoutMs !== undefined ? { timeoutMs: model.timeoutMs } : {}) } }
                : {}),
            }),
          watch(),
        );
        pid = started.pid;
        const run: RunState & { qemuKey: string; model?: SimboardModelRun } = {
          pid: started.pid,
          port: started.port,
          imageKey: img.key,
          kernelRelease: img.kernelRelease,
          accel: 'tcg',
          startedAt: new Date().toISOString(),
          argv: started.argv,
          qemuKey: qemu.key,
          ...(modelRun ? { model: modelRun } : {}),
        };
        await writeFileAtomic(p.runFile, JSON.stringify(run, null, 2));
        log?.(`QEMU PID ${run.pid}, SSH on 127.0.0.1:${run.port}; waiting for the guest`);
        await waitForGuestSsh(
          run,
          (opts.bootTimeoutS ?? 300) * 1000,
          watch(),
          (m) => log?.(`${m} (${((Date.now() - started.t0) / 1000).toFixed(1)} s after QEMU start)`),
          SIMBOARD_READY_WITHIN_MS,
        );
        return { run, started };
      },
      () => pid,
      log,
    );
    // A board that did not boot leaves no model server behind.
    const { run, started } = await booting.catch(async (e: unknown) => {
      if (model) await stopModelServer(modelFiles());
      throw e;
    });
    const bootMs = Date.now() - started.t0;
    const t = targetFor(run.port);
    try {
      await coldplug(t, log);
    } finally {
      await t.close();
    }
    return {
      state: 'running',
      pid: run.pid,
      port: run.port,
      kernelRelease: run.kernelRelease,
      imageKey: run.imageKey,
      accel: 'tcg',
      qemuKey: qemu.key,
      bootMs,
    };
  } finally {
    await release();
  }
}

/**
 * Makes the device model write the record of the job it has open, if any
 * (QOM property `flush` of vdpu381-sim over QMP): a job no interrupt will
 * close (no-irq, a decode stopped after a watchdog) then belongs to the
 * decode that started it.
 * @throws WorkbenchError E_QMP when QEMU does not answer (board not running).
 */
export async function flushSimboardCapture(): Promise<void> {
  await qmpRun(paths().qmp, [{ execute: 'qom-set', arguments: { path: `/machine/peripheral/${VDPU381_DEVICE_ID}`, property: 'flush', value: true } }]);
}

/** The simboard's state without changing anything (`stopped`, `running`, `stale`, `unresponsive`). @throws WorkbenchError E_HOSTKEY_CHANGED. */
export async function simboardStatus(): Promise<SimboardStatus> {
  const { run, ...st } = await qemuBoardStatus<RunState & { qemuKey?: string; model?: SimboardModelRun }>(simKind());
  return {
    ...st,
    ...(run?.qemuKey ? { qemuKey: run.qemuKey } : {}),
    ...(run?.model && st.state === 'running' ? { model: { ...run.model, serverRunning: isOurModelServer(run.model.pid, paths().modelSocket) } } : {}),
  };
}

/**
 * Stops the simboard (guest power-off over SSH, then SIGTERM/SIGKILL to our
 * QEMU PID only), then the model server if one runs (its PID only; its log
 * is kept, the guest RAM file removed).
 */
export async function simboardDown(opts: { log?: (s: string) => void } = {}): Promise<SimboardStatus> {
  const st = await stopBoardQemu(paths(), targetFor, opts.log);
  if (await stopModelServer(modelFiles())) opts.log?.(`vdpu381 model server stopped (log ${paths().modelLog})`);
  return st;
}

/**
 * Connection facts of the running simboard.
 * @throws WorkbenchError E_SIMBOARD_DOWN when it is not running.
 */
export function simboardConnection(): VboardConnection {
  const p = paths();
  const run = readJson<RunState>(p.runFile);
  if (!run || !isOurQemu(run.pid, p.pidFile)) {
    throw new WorkbenchError('E_SIMBOARD_DOWN', run ? `the simboard is not running (QEMU PID ${run.pid} is gone)` : 'the simboard is not running', {
      hint: 'start it with `workbench simboard up`',
    });
  }
  return simboardConnectionFor(run.port);
}

/** An SshTarget for the running simboard (strict host key, alias `simboard`). @throws WorkbenchError E_SIMBOARD_DOWN. */
export async function simboardTarget(): Promise<SshTarget> {
  return targetFor(simboardConnection().port);
}

export { sshArgv };
