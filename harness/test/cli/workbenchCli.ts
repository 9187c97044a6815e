import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/core/paths.ts';

/**
 * Runs the workbench CLI (`node harness/bin/workbench.js ARGS`) with this
 * process's environment (a test's private WORKBENCH_STATE_DIR included) and
 * returns its exit code and output instead of throwing (-1: killed after
 * `timeoutMs`).
 */
export function workbenchCli(args: string[], timeoutMs = 900_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [join(projectRoot(), 'harness/bin/workbench.js'), ...args], {
    timeout: timeoutMs,
    maxBuffer: 16 << 20,
    env: process.env,
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof e.code === 'number' ? e.code : -1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    }),
  );
}
