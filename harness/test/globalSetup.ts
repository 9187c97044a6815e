import { HOST_TOOLS } from '../src/core/hostTools.ts';
import { ensureHostTools } from '../src/cli/commands/doctor.ts';
import { WorkbenchError } from '../src/core/errors.ts';

/**
 * Vitest global setup: README's test command (`npm test`) must work as the
 * very first command on a fresh machine, so before any test runs every host
 * tool the suite needs (HOST_TOOLS, test-only tools included) is installed
 * with apt when running as root, exactly as `workbench doctor --fix` would.
 * As another user, or with WORKBENCH_NO_INSTALL=1, it stops at once with the
 * exact apt command instead of letting test files fail one by one.
 * @throws Error naming the missing tools and the command to run.
 */
export default async function setup(): Promise<void> {
  const install = process.getuid?.() === 0 && process.env.WORKBENCH_NO_INSTALL !== '1';
  try {
    await ensureHostTools(
      HOST_TOOLS.map((t) => t.bin),
      { install, out: (s) => process.stderr.write(`[test setup] ${s}\n`) },
    );
  } catch (e) {
    if (e instanceof WorkbenchError) throw new Error(`${e.code}: ${e.message}\n  to fix: ${e.hint ?? 'workbench doctor --fix'}`);
    throw e;
  }
}
