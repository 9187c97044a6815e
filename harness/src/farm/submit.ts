import type { Runner } from '../core/runner.ts';
import type { Bundle } from './bundle.ts';
import { collectJob, type CollectResult } from './collect.ts';
import { fetchJob, submitJob, waitForJob } from './rest.ts';
import { parseLavaLog } from './results.ts';
import { bundleReferences } from './runLocal.ts';

/**
 * Submits a bundle's job to a LAVA server (REST v0.2), waits until it is
 * Finished, fetches its log and collects it into a report (farm/collect.ts).
 * Used by `lava submit --wait` and `workbench nightly`.
 * @throws WorkbenchError E_LAVA_SERVER, E_LAVA_TIMEOUT (rest.ts).
 */
export async function submitAndCollect(o: {
  server: string;
  token: string;
  /** The job YAML (the bundle's job.yaml). */
  job: string;
  bundle: Bundle;
  bundleDir: string;
  reportsRoot: string;
  command: string;
  runner: Runner;
  log: (m: string) => void;
  pollMs?: number;
  timeoutMs?: number;
  /** Called with the job ids right after the submission. */
  onSubmitted?: (ids: number[]) => void;
}): Promise<{ jobId: number; jobUrl: string; collected: CollectResult }> {
  const ids = await submitJob(o.server, o.job, o.token);
  o.onSubmitted?.(ids);
  const id = ids[0]!;
  const st = await waitForJob(o.server, id, o.token, { pollMs: o.pollMs ?? 10_000, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}), log: o.log });
  o.log(`job ${id}: ${st.state}, ${st.health}`);
  const j = await fetchJob(o.server, String(id), o.token);
  const collected = await collectJob({
    bundle: o.bundle,
    bundleDir: o.bundleDir,
    log: parseLavaLog(j.log),
    source: {
      jobId: id,
      via: o.server,
      url: j.url,
      serverHealth: j.health,
      commands: [`workbench lava collect --bundle ${o.bundleDir} --server ${o.server} --job ${id}`],
    },
    ...(await bundleReferences(o.bundle, o.bundleDir, o.runner, o.log)),
    command: o.command,
    reportsRoot: o.reportsRoot,
  });
  return { jobId: id, jobUrl: j.url, collected };
}
