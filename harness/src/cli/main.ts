import { Command, CommanderError } from 'commander';
import { WorkbenchError, ExitCode } from '../core/errors.ts';
import { COMMAND_FAMILIES, familiesFor, type CommandModule } from './commands/index.ts';
import { workbenchVersion } from '../core/paths.ts';

/**
 * Builds the `workbench` program from the given command families (default:
 * all of them): each module in commands/ registers its commands on it (one
 * file per command family, so parallel work does not collide).
 */
export async function buildProgram(families = COMMAND_FAMILIES): Promise<Command> {
  const modules: CommandModule[] = await Promise.all(families.map((f) => f.load()));
  const program = new Command('workbench')
    .description('Build, deploy and prove the rkvdec VP9 backend (RK3588 vdpu381) on real boards and on the virtual board (QEMU + visl).')
    .version(workbenchVersion())
    .showHelpAfterError()
    .exitOverride();
  for (const m of modules) m.register(program);
  return program;
}

/**
 * CLI entry point. Returns the process exit code (0 passed, 1 test failures,
 * 2 workbench/infrastructure failure) instead of exiting, so tests can call it.
 */
export async function main(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(familiesFor(argv));
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Ok;
  } catch (e) {
    return reportError(e);
  }
}

/** Prints an error the way every command does and returns its exit code. */
export function reportError(e: unknown): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return ExitCode.Ok;
    return ExitCode.Infrastructure;
  }
  if (e instanceof WorkbenchError) {
    process.stderr.write(e.format() + '\n');
    return e.exitCode;
  }
  const err = e as Error;
  process.stderr.write(`error[E_INTERNAL]: ${err?.stack ?? String(e)}\nhint: this is a workbench bug; please report it with the command line above\n`);
  return ExitCode.Infrastructure;
}
