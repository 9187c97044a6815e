import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkbenchError } from '../core/errors.ts';
import type { Runner } from '../core/runner.ts';
import { stateRoot } from '../core/paths.ts';
import type { Board } from '../target/boards.ts';
import type { BoardProviders } from '../target/provider.ts';
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

/** Options of {@link runBundleLocal}. */
export interface RunLocalOptions {
  bundleDir: string;
  /** The board to run on (its provider must give an SSH endpoint and a route back to this host: the vboard). */
  board: Board;
  providers: BoardProviders;
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
 * chroot) against a board whose provider gives its SSH endpoint and the
 * address under which it reaches this host (the vboard: started if needed,
 * `WORKBENCH_STATE_DIR` selects a private one), the artefacts served on
 * 127.0.0.1, then collected into a report. Before and after the job the
 * workbench connects to the board itself with strict host-key checking
 * (LAVA's own ssh runs with StrictHostKeyChecking=no, which a device
 * dictionary cannot change).
 * @throws WorkbenchError E_LAVA_PROFILE for a bundle that is not an ssh job
 *   or a board that cannot run one locally, the provider's errors
 *   (ensureReady), E_VERMAGIC, E_LAVA_RUN.
 */
export async function runBundleLocal(o: RunLocalOptions): Promise<{ run: LocalRunResult; collected: CollectResult }> {
  const runner = o.runner;
  const bundle = await loadBundle(o.bundleDir);
  if (bundle.profile !== 'ssh') {
    throw new WorkbenchError('E_LAVA_PROFILE', `bundle ${o.bundleDir} is a ${bundle.profile} job; lava run --local runs ssh jobs on the vboard`, {
      hint: 'validate farm jobs with `workbench lava validate`, run them on a LAVA server with `workbench lava submit`',
    });
  }
  const provider = o.providers.providerOf(o.board);
  if (!provider.sshOptions || !provider.hostAddressFromBoard) {
    throw new WorkbenchError(
      'E_LAVA_PROFILE',
      `board ${o.board.name} (kind ${o.board.kind}) cannot run a LAVA job locally: it needs an SSH endpoint and a route back to this host's 127.0.0.1`,
      { hint: 'run the bundle on the vboard, or submit it to a LAVA server with `workbench lava submit`' },
    );
  }
  const chroot = o.chroot ?? (await ensureFarmChroot({ runner, log: o.log }));
  // a running board is used as is (its SSH is checked below by our own strict connection)
  await o.providers.ensureReady(o.board, { log: o.log, runner });
  const conn = provider.sshOptions(o.board);
  if (!conn.identityFile) {
    throw new WorkbenchError('E_LAVA_PROFILE', `board ${o.board.name} has no SSH key file: LAVA's ssh device cannot use the SSH agent`, {
      hint: `set identity = "..." for [board.${o.board.name}]`,
    });
  }
  const t = provider.connect(o.board);
  try {
    const rel = (await t.exec(['uname', '-r'])).stdout.trim();
    if (rel !== bundle.kernelRelease) {
      throw new WorkbenchError('E_VERMAGIC', `the ${o.board.name} runs ${rel}, the bundle's modules are for ${bundle.kernelRelease}`, {
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
    hostFromBoard: provider.hostAddressFromBoard(o.board),
    log: o.log,
  });
  o.log(`lava-run finished in ${(run.durationMs / 1000).toFixed(1)} s (exit ${run.exitCode}, not the verdict); collecting`);
  // our own strict connection after LAVA's unchecked one: the board is still the one we know
  const after = provider.connect(o.board);
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
