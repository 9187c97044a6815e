import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isWorkbenchError, WorkbenchError } from '../core/errors.ts';
import type { Runner } from '../core/runner.ts';
import { stateRoot } from '../core/paths.ts';
import { vboardConnection, vboardTarget, vboardUp } from '../vboard/vboard.ts';
import { loadBundle, jobSpecOf, type Bundle } from './bundle.ts';
import { ensureFarmChroot, type FarmChroot } from './chroot.ts';
import { collectJob, bundleVectorPath, type CollectResult } from './collect.ts';
import { sshDeviceDict } from './device.ts';
import { renderJob } from './job.ts';
import { lavaRunLocal, RUN_INSIDE, type LocalRunResult } from './localRun.ts';
import { parseLavaLog } from './results.ts';
import { inspectFile, type InspectResult } from '../vectors/inspect.ts';
import { ensureReferences, type ReferenceSet } from '../vectors/references.ts';
import { readFile } from 'node:fs/promises';

/** The host's 127.0.0.1 as a QEMU user-net guest sees it. */
export const QEMU_HOST_ADDRESS = '10.0.2.2';

/** Options of {@link runBundleOnVboard}. */
export interface RunOnVboardOptions {
  bundleDir: string;
  /** Folder for lava-run's files (default `<state>/lava/<time>`). */
  runDir?: string;
  reportsRoot: string;
  command: string;
  chroot?: FarmChroot;
  runner: Runner;
  log: (m: string) => void;
}

/**
 * References of a bundle's vectors (libvpx, cached) and their inspector
 * results, recomputed from the bundle's own vector files.
 */
export async function bundleReferences(
  b: Bundle,
  bundleDir: string,
  runner: Runner,
  log: (m: string) => void,
): Promise<{ references: Map<string, ReferenceSet>; inspections: Map<string, InspectResult> }> {
  const references = new Map<string, ReferenceSet>();
  const inspections = new Map<string, InspectResult>();
  for (const v of b.vectors) {
    const file = bundleVectorPath(bundleDir, v);
    const r = await ensureReferences(file, { runner, log });
    r.vector = v.name;
    references.set(v.name, r);
    inspections.set(v.name, await inspectFile(file));
  }
  return { references, inspections };
}

/**
 * `lava run --local`: the bundle's `ssh` job run by the real lava-run (farm
 * chroot) against the vboard (started if needed; `WORKBENCH_STATE_DIR`
 * selects a private one), the artefacts served on 127.0.0.1 (10.0.2.2 from
 * the guest), then collected into a report. Before and after the job the
 * workbench connects to the vboard itself with strict host-key checking
 * (LAVA's own ssh runs with StrictHostKeyChecking=no, which a device
 * dictionary cannot change).
 * @throws WorkbenchError E_LAVA_PROFILE for a bundle that is not an ssh job, E_VBOARD_*, E_LAVA_RUN.
 */
export async function runBundleOnVboard(o: RunOnVboardOptions): Promise<{ run: LocalRunResult; collected: CollectResult }> {
  const runner = o.runner;
  const bundle = await loadBundle(o.bundleDir);
  if (bundle.profile !== 'ssh') {
    throw new WorkbenchError('E_LAVA_PROFILE', `bundle ${o.bundleDir} is a ${bundle.profile} job; lava run --local runs ssh jobs on the vboard`, {
      hint: 'validate farm jobs with `workbench lava validate`, run them on a LAVA server with `workbench lava submit`',
    });
  }
  const chroot = o.chroot ?? (await ensureFarmChroot({ runner, log: o.log }));
  let conn;
  try {
    // a running board is used as is (its SSH is checked below by our own strict connection)
    conn = vboardConnection();
  } catch (e) {
    if (!isWorkbenchError(e, 'E_VBOARD_DOWN')) throw e;
    await vboardUp({ log: o.log, runner });
    conn = vboardConnection();
  }
  const t = await vboardTarget();
  try {
    const rel = (await t.exec(['uname', '-r'])).stdout.trim();
    if (rel !== bundle.kernelRelease) {
      throw new WorkbenchError('E_VERMAGIC', `the vboard runs ${rel}, the bundle's modules are for ${bundle.kernelRelease}`, {
        hint: 'rebuild the bundle for this board',
      });
    }
  } finally {
    await t.close();
  }
  const dir = o.runDir ?? join(stateRoot(), 'lava', new Date().toISOString().replace(/[:.]/g, '-'));
  await mkdir(dir, { recursive: true });
  const run = await lavaRunLocal({
    chroot,
    dir,
    job: (urlBase) => renderJob({ ...jobSpecOf(bundle), urlBase }),
    device: sshDeviceDict({ host: conn.host, port: conn.port, user: conn.user, identityFile: `${RUN_INSIDE}/id` }),
    files: { id: conn.identityFile },
    artefacts: join(o.bundleDir, 'artefacts'),
    hostFromBoard: QEMU_HOST_ADDRESS,
    log: o.log,
  });
  o.log(`lava-run finished in ${(run.durationMs / 1000).toFixed(1)} s (exit ${run.exitCode}, not the verdict); collecting`);
  // our own strict connection after LAVA's unchecked one: the board is still the one we know
  const after = await vboardTarget();
  try {
    await after.exec(['true']);
  } finally {
    await after.close();
  }
  const log = parseLavaLog(await readFile(join(run.outDir, 'logs.yaml'), 'utf8'));
  const collected = await collectJob({
    bundle,
    bundleDir: o.bundleDir,
    log,
    source: {
      jobId: run.jobId,
      via: 'lava-run (local)',
      commands: [`lava-run --job-id ${run.jobId} --output-dir ${join(dir, 'out')} --device ${join(dir, 'device.yaml')} ${join(dir, 'job.yaml')}`],
    },
    ...(await bundleReferences(bundle, o.bundleDir, runner, o.log)),
    command: o.command,
    reportsRoot: o.reportsRoot,
  });
  return { run, collected };
}
