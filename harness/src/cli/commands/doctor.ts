import type { Command } from 'commander';
import { ExecaRunner, type Runner } from '../../core/runner.ts';
import { aptInstallCommand, HOST_TOOLS, missingTools, missingToolsError, type HostTool } from '../../core/hostTools.ts';
import { WorkbenchError } from '../../core/errors.ts';

type Out = (s: string) => void;
const stdout: Out = (s) => process.stdout.write(s + '\n');

/** Registers `workbench doctor [--fix]`. */
export function register(program: Command): void {
  program
    .command('doctor')
    .description('check the host tools the workbench needs; --fix installs missing ones with apt (as root)')
    .option('--fix', 'install missing tools with apt-get (root only; otherwise prints the command)')
    .action(async (opts: { fix?: boolean }) => {
      process.exitCode = await doctor(Boolean(opts.fix));
    });
}

/**
 * Prints one line per host tool (ok / MISSING + package) and, with `fix`,
 * installs the missing packages (`apt-get update` then `apt-get install`) when
 * running as root.
 * @returns 0 when everything is present (after fixing), 2 otherwise.
 * @throws WorkbenchError `E_NOT_ROOT` with `fix` when not root; `E_COMMAND_FAILED` when apt fails.
 */
export async function doctor(fix: boolean, out: Out = stdout): Promise<number> {
  const node = process.versions.node.split('.').map(Number);
  const nodeOk = (node[0] ?? 0) > 20 || ((node[0] ?? 0) === 20 && (node[1] ?? 0) >= 19);
  out(`${nodeOk ? 'ok     ' : 'TOO OLD'} node ${process.versions.node} (need >= 20.19)`);
  const missing = missingTools(HOST_TOOLS.map((t) => t.bin));
  for (const t of HOST_TOOLS) {
    const m = missing.some((x) => x.bin === t.bin);
    out(`${m ? 'MISSING' : 'ok     '} ${t.bin.padEnd(20)} ${m ? `(package ${t.pkg}) ` : ''}${t.why}`);
  }
  if (missing.length === 0) {
    out('all host tools present');
    return nodeOk ? 0 : 2;
  }
  if (!fix) {
    out(`\nto install: ${aptInstallCommand(missing)}\n(or run \`workbench doctor --fix\` as root)`);
    return 2;
  }
  await installTools(missing, out);
  out('all host tools present');
  return nodeOk ? 0 : 2;
}

/**
 * Installs the Debian packages of `missing` with apt-get (update, then
 * install --no-install-recommends), as root, then checks them again.
 * @throws WorkbenchError `E_NOT_ROOT` (with the exact apt command) when not
 *   root; `E_TOOL_MISSING` when a tool is still absent afterwards.
 */
export async function installTools(missing: readonly HostTool[], out: Out = stdout, runner: Runner = new ExecaRunner()): Promise<void> {
  const cmd = aptInstallCommand(missing);
  if (process.getuid?.() !== 0) {
    throw new WorkbenchError('E_NOT_ROOT', `installing host tools needs root: ${missing.map((t) => t.bin).join(', ')}`, {
      hint: `run as root: ${cmd}`,
    });
  }
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  // Another apt (a second workbench, unattended-upgrades) may hold the dpkg
  // lock: wait for it (apt.conf(5) DPkg::Lock::Timeout, seconds) instead of
  // failing at once.
  const lockWait = ['-o', 'DPkg::Lock::Timeout=600'];
  out('running: apt-get update');
  await runner.run(['apt-get', ...lockWait, 'update', '-q'], { env, onStderr: (s) => process.stderr.write(s) });
  out(`running: ${cmd}`);
  await runner.run(['apt-get', ...lockWait, 'install', '-y', '-q', '--no-install-recommends', ...new Set(missing.map((t) => t.pkg))], {
    env,
    onStdout: (s) => process.stdout.write(s),
    onStderr: (s) => process.stderr.write(s),
  });
  const still = missingTools(missing.map((t) => t.bin));
  if (still.length) throw missingToolsError(still);
}

/**
 * Makes sure `bins` are installed before a long command starts: nothing to
 * do when present; when some are missing and `install` is true (root), they
 * are installed with apt (printing what runs), else `E_TOOL_MISSING` with the
 * apt command, the same text `workbench doctor` prints.
 */
export async function ensureHostTools(bins: readonly string[], opts: { install: boolean; out?: Out; runner?: Runner }): Promise<void> {
  const missing = missingTools(bins);
  if (missing.length === 0) return;
  if (!opts.install) throw missingToolsError(missing);
  const out = opts.out ?? stdout;
  out(`first run on this machine: installing host tools ${missing.map((t) => t.bin).join(', ')}`);
  await installTools(missing, out, opts.runner);
}
