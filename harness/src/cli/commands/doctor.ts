import type { Command } from 'commander';
import { ExecaRunner } from '../../core/runner.ts';
import { aptInstallCommand, HOST_TOOLS, missingTools } from '../../core/hostTools.ts';
import { WorkbenchError } from '../../core/errors.ts';

/** Registers `workbench doctor [--fix]`. */
export function register(program: Command): void {
  program
    .command('doctor')
    .description('check the host tools the workbench needs; --fix installs missing ones with apt (as root)')
    .option('--fix', 'install missing tools with apt-get (root only; otherwise prints the command)')
    .action(async (opts: { fix?: boolean }) => {
      const code = await doctor(Boolean(opts.fix));
      process.exitCode = code;
    });
}

/**
 * Prints one line per host tool (ok / MISSING + package) and, with `fix`,
 * installs the missing packages (`apt-get update` then `apt-get install`) when
 * running as root.
 * @returns 0 when everything is present (after fixing), 2 otherwise.
 */
export async function doctor(fix: boolean, out: (s: string) => void = (s) => process.stdout.write(s + '\n')): Promise<number> {
  const node = process.versions.node.split('.').map(Number);
  const nodeOk = (node[0] ?? 0) > 20 || ((node[0] ?? 0) === 20 && (node[1] ?? 0) >= 19);
  out(`${nodeOk ? 'ok     ' : 'TOO OLD'} node ${process.versions.node} (need >= 20.19)`);
  let missing = missingTools(HOST_TOOLS.map((t) => t.bin));
  for (const t of HOST_TOOLS) {
    const m = missing.some((x) => x.bin === t.bin);
    out(`${m ? 'MISSING' : 'ok     '} ${t.bin.padEnd(20)} ${m ? `(package ${t.pkg}) ` : ''}${t.why}`);
  }
  if (missing.length === 0) {
    out('all host tools present');
    return nodeOk ? 0 : 2;
  }
  const cmd = aptInstallCommand(missing);
  if (!fix) {
    out(`\nto install: ${cmd}\n(or run \`workbench doctor --fix\` as root)`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    throw new WorkbenchError('E_NOT_ROOT', 'doctor --fix needs root to run apt-get', { hint: `run as root: ${cmd}` });
  }
  const runner = new ExecaRunner();
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  out('\nrunning: apt-get update');
  await runner.run(['apt-get', 'update', '-q'], { env, onStderr: (s) => process.stderr.write(s) });
  out(`running: ${cmd}`);
  await runner.run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...new Set(missing.map((t) => t.pkg))], {
    env,
    onStdout: (s) => process.stdout.write(s),
    onStderr: (s) => process.stderr.write(s),
  });
  missing = missingTools(HOST_TOOLS.map((t) => t.bin));
  if (missing.length) {
    out(`still missing after install: ${missing.map((t) => t.bin).join(', ')}`);
    return 2;
  }
  out('all host tools present');
  return 0;
}
