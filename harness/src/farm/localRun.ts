import { randomInt } from 'node:crypto';
import { copyFile, chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkbenchError } from '../core/errors.ts';
import type { RunResult } from '../core/runner.ts';
import { startArtefactServer } from './artefactServer.ts';
import type { FarmChroot } from './chroot.ts';
import { renderDevice, type DeviceDict } from './device.ts';
import { DISPATCHER_TMP } from './dispatcher.ts';

/** Where the run folder is bound inside the farm chroot. */
export const RUN_INSIDE = '/wb-run';

/** What a local lava-run produced. */
export interface LocalRunResult {
  /**
   * Host folder holding job.yaml, device.yaml, lava-run's output (`out/`:
   * logs.yaml, result.yaml, description.yaml) and `dispatcher-tmp/`, bound
   * over the dispatcher's per-job root (/var/lib/lava/dispatcher/tmp, also
   * its TFTP directory) so that nothing the run writes stays in the cached
   * chroot.
   */
  dir: string;
  outDir: string;
  jobId: number;
  /** lava-run's exit code: recorded, never the verdict (LAVA exits 0 with failing test cases). */
  exitCode: number;
  durationMs: number;
  /** Artefact requests the local server answered. */
  requests: { path: string; status: number }[];
}

/** Options of {@link lavaRunLocal}. */
export interface LavaRunLocalOptions {
  chroot: Pick<FarmChroot, 'exec'>;
  /** Host folder for this run (created); keep it on a local filesystem. */
  dir: string;
  /** The job, rendered for the local server's URL base as the board sees it (`http://HOST:PORT`). */
  job: (urlBase: string) => string;
  device: DeviceDict;
  /** Host folder served as the URL base (the bundle's artefacts/). */
  artefacts: string;
  /** Host name/address the board reaches 127.0.0.1 of this host by (10.0.2.2 from a QEMU user-net guest). */
  hostFromBoard: string;
  /** Files copied into the run folder before the run (e.g. the SSH identity as `id`), mode 0600. */
  files?: Record<string, string>;
  /** Extra files bound into the chroot for the run (e.g. a dispatcher configuration under /etc). */
  binds?: { host: string; inside: string; readOnly?: boolean }[];
  /** Only `lava-run --validate` (does not run the job). */
  validateOnly?: boolean;
  timeoutMs?: number;
  log?: (m: string) => void;
  /** Port of the artefact server (default: any free one). */
  port?: number;
}

/**
 * Runs a job with the real lava-run (lava-dispatcher) inside the farm chroot,
 * without a server: renders the device with LAVA's templates, serves the
 * artefacts on 127.0.0.1 for the duration of the run, and runs
 * `lava-run --job-id N --output-dir /wb-run/out --device /wb-run/device.yaml
 * [--validate] /wb-run/job.yaml` (LAVA's own debug form).
 *
 * @throws WorkbenchError E_LAVA_DEVICE (rendering), E_LAVA_RUN when lava-run
 *   could not start or was killed (its exit code on a finished job is only
 *   recorded: the verdict comes from the results).
 */
export async function lavaRunLocal(o: LavaRunLocalOptions): Promise<LocalRunResult> {
  await mkdir(join(o.dir, 'out'), { recursive: true });
  await mkdir(join(o.dir, 'dispatcher-tmp'), { recursive: true });
  const server = await startArtefactServer(o.artefacts, o.port ?? 0);
  const t0 = Date.now();
  try {
    const urlBase = `http://${o.hostFromBoard}:${server.port}`;
    await writeFile(join(o.dir, 'job.yaml'), o.job(urlBase));
    for (const [name, src] of Object.entries(o.files ?? {})) {
      await copyFile(src, join(o.dir, name));
      await chmod(join(o.dir, name), 0o600);
    }
    const device = await renderDevice(o.chroot, o.device, o.dir);
    await writeFile(join(o.dir, 'device.yaml'), device);
    const jobId = randomInt(100_000, 999_999);
    const argv = ['lava-run', '--job-id', String(jobId), '--output-dir', `${RUN_INSIDE}/out`, '--device', `${RUN_INSIDE}/device.yaml`];
    if (o.validateOnly) argv.push('--validate');
    argv.push(`${RUN_INSIDE}/job.yaml`);
    o.log?.(`lava-run job ${jobId} (${o.validateOnly ? 'validate only' : 'run'}); artefacts on ${urlBase}`);
    const r: RunResult = await o.chroot.exec(argv, {
      binds: [{ host: o.dir, inside: RUN_INSIDE }, { host: join(o.dir, 'dispatcher-tmp'), inside: DISPATCHER_TMP }, ...(o.binds ?? [])],
      allowFailure: true,
      timeoutMs: o.timeoutMs ?? 60 * 60_000,
    });
    await writeFile(join(o.dir, 'lava-run.log'), `$ ${argv.join(' ')}\n${r.stdout}\n${r.stderr}\nexit ${r.exitCode}\n`);
    if (r.timedOut || r.exitCode < 0) {
      throw new WorkbenchError('E_LAVA_RUN', `lava-run was killed after ${Date.now() - t0} ms`, { hint: `see ${join(o.dir, 'lava-run.log')}` });
    }
    return { dir: o.dir, outDir: join(o.dir, 'out'), jobId, exitCode: r.exitCode, durationMs: Date.now() - t0, requests: server.requests };
  } finally {
    await server.close();
  }
}
