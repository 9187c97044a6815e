import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { WorkbenchError } from '../../core/errors.ts';
import { ExecaRunner } from '../../core/runner.ts';
import { requireTools } from '../../core/hostTools.ts';
import { vboardPaths } from '../../vboard/state.ts';
import type { SshTarget } from '../../target/ssh.ts';
import { sshArgv, vboardConnection, vboardDown, vboardStatus, vboardTarget, vboardUp, type VboardConnection, type VboardStatus } from '../../vboard/vboard.ts';

const log = (s: string) => process.stderr.write(`[vboard] ${s}\n`);

function describe(s: VboardStatus): string {
  const parts = [`vboard: ${s.state}`];
  if (s.pid) parts.push(`pid ${s.pid}`);
  if (s.port) parts.push(`ssh 127.0.0.1:${s.port}`);
  if (s.kernelRelease) parts.push(`kernel ${s.kernelRelease}`);
  if (s.accel) parts.push(s.accel);
  return parts.join(', ') + (s.detail ? `\n${s.detail}` : '');
}

/** Registers `workbench vboard up|down|status|ssh|exec|logs`. */
export function register(program: Command): void {
  const vb = program
    .command('vboard')
    .description('the virtual board: QEMU guest with Debian 7.2 and the visl stateless decoder, over SSH (image build needs root)');

  vb.command('up')
    .description('build the image once (cached), boot the vboard and wait until SSH answers')
    .option('--fresh', 'discard the guest disk changes (deployed modules...) and start from the image')
    .option('--rebuild', 'rebuild the cached image first (new disk, new host key)')
    .option('--memory <MiB>', 'guest memory in MiB', '2048')
    .option('--timeout <s>', 'seconds to wait for SSH', '180')
    .option('--json', 'print the status as JSON')
    .action(async (o: { fresh?: boolean; rebuild?: boolean; memory: string; timeout: string; json?: boolean }) => {
      const t0 = Date.now();
      const s = await vboardUp({
        fresh: Boolean(o.fresh),
        rebuild: Boolean(o.rebuild),
        memoryMiB: Number(o.memory),
        bootTimeoutS: Number(o.timeout),
        log,
        runner: new ExecaRunner(),
      });
      printUp(s, t0, o.json, describe);
    });

  registerQemuBoardCommands(vb, {
    what: 'vboard',
    describe,
    down: () => vboardDown({ log }),
    status: vboardStatus,
    statusHelp: 'is the vboard running? detects stale PID files and dead or unresponsive guests (exit 0 only when running)',
    connection: vboardConnection,
    target: vboardTarget,
    serialLogs: () => vboardPaths(),
  });
}

/** The commands every QEMU board kind has, and what they need of it. */
export interface QemuBoardCommands<S extends VboardStatus> {
  /** `vboard`, `simboard`. */
  what: string;
  describe: (s: S) => string;
  down: () => Promise<S>;
  status: () => Promise<S>;
  statusHelp: string;
  connection: () => VboardConnection;
  target: () => Promise<SshTarget>;
  serialLogs: () => { serialLog: string; serialLogPrev: string };
}

/**
 * What `vboard up` and `simboard up` print: the status as JSON (with
 * `totalMs`, the command's own time in ms), or the status line and the time
 * from the command's start to SSH.
 */
export function printUp<S extends VboardStatus>(s: S, t0: number, json: boolean | undefined, describe: (s: S) => string): void {
  if (json) {
    process.stdout.write(JSON.stringify({ ...s, totalMs: Date.now() - t0 }) + '\n');
    return;
  }
  process.stdout.write(describe(s) + '\n');
  process.stdout.write(
    s.alreadyRunning
      ? 'already running\n'
      : `SSH answered ${((Date.now() - t0) / 1000).toFixed(1)} s after the command started (boot ${((s.bootMs ?? 0) / 1000).toFixed(1)} s)\n`,
  );
}

/**
 * Registers `down`, `status`, `ssh`, `exec` and `logs` of a QEMU board kind
 * (the vboard's and the simboard's are the same commands on their own state).
 */
export function registerQemuBoardCommands<S extends VboardStatus>(group: Command, b: QemuBoardCommands<S>): void {
  group
    .command('down')
    .description('power the guest off cleanly, then stop only our QEMU process')
    .action(async () => {
      process.stdout.write(b.describe(await b.down()) + '\n');
    });

  group
    .command('status')
    .description(b.statusHelp)
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const s = await b.status();
      process.stdout.write((o.json ? JSON.stringify(s) : b.describe(s)) + '\n');
      process.exitCode = s.state === 'running' ? 0 : s.state === 'stopped' ? 3 : 2;
    });

  group
    .command('ssh')
    .description(`open an interactive ssh session to the ${b.what} (strict host key, workbench known_hosts)`)
    .argument('[args...]', 'extra arguments for ssh (e.g. a command)')
    .allowUnknownOption()
    .action(async (args: string[]) => {
      const c = b.connection();
      requireTools(['ssh']);
      // The one process not run through a Runner: an interactive session needs the terminal (stdio inherit).
      const { execa } = await import('execa');
      const r = await execa('ssh', sshArgv(c, args), { stdio: 'inherit', reject: false });
      process.exitCode = typeof r.exitCode === 'number' ? r.exitCode : 2;
    });

  group
    .command('exec')
    .description(`run a command on the ${b.what} over SSH: workbench ${b.what} exec -- CMD ARGS... (exit code is the command's)`)
    .argument('<cmd...>', 'command and arguments (each quoted for the remote shell)')
    .option('--timeout <s>', 'kill the command after this many seconds')
    .action(async (cmd: string[], o: { timeout?: string }) => {
      const t = await b.target();
      try {
        const r = await t.exec(cmd, {
          allowFailure: true,
          onStdout: (s) => process.stdout.write(s),
          onStderr: (s) => process.stderr.write(s),
          ...(o.timeout ? { timeoutMs: Number(o.timeout) * 1000 } : {}),
        });
        process.exitCode = r.exitCode < 0 ? 2 : r.exitCode;
      } finally {
        await t.close();
      }
    });

  group
    .command('logs')
    .description('show the guest serial console log (kernel messages, init)')
    .option('-n, --lines <n>', 'only the last n lines')
    .option('--previous', 'the log of the previous boot')
    .option('-f, --follow', 'keep printing new lines (Ctrl-C to stop)')
    .action(async (o: { lines?: string; previous?: boolean; follow?: boolean }) => {
      const p = b.serialLogs();
      const file = o.previous ? p.serialLogPrev : p.serialLog;
      if (!existsSync(file)) {
        throw new WorkbenchError('E_NO_LOG', `no serial log at ${file}`, { hint: `start the board with \`workbench ${b.what} up\`` });
      }
      if (o.follow) {
        await new ExecaRunner().run(['tail', '-n', o.lines ?? '50', '-F', file], { onStdout: (s) => process.stdout.write(s), allowFailure: true });
        return;
      }
      const text = readFileSync(file, 'utf8').replace(/\r/g, '');
      const lines = text.split('\n');
      process.stdout.write(o.lines ? lines.slice(-Number(o.lines) - 1).join('\n') : text);
    });
}
