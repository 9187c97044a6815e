import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { WorkbenchError } from '../../core/errors.ts';
import { requireTools } from '../../core/hostTools.ts';
import {
  sshArgv,
  simboardConnection,
  simboardDown,
  simboardPaths,
  simboardStatus,
  simboardTarget,
  simboardUp,
  type SimboardStatus,
} from '../../simboard/simboard.ts';

const log = (s: string) => process.stderr.write(`[simboard] ${s}\n`);

function describe(s: SimboardStatus): string {
  const parts = [`simboard: ${s.state}`];
  if (s.pid) parts.push(`pid ${s.pid}`);
  if (s.port) parts.push(`ssh 127.0.0.1:${s.port}`);
  if (s.kernelRelease) parts.push(`kernel ${s.kernelRelease}`);
  return parts.join(', ') + (s.detail ? `\n${s.detail}` : '');
}

/** Registers `workbench simboard up|down|status|ssh|exec|logs|captures`. */
export function register(program: Command): void {
  const sb = program
    .command('simboard')
    .description('the simulated RK3588 board: arm64 QEMU guest (Debian 7.2 arm64) with our vdpu381 device model, over SSH (builds need root)');

  sb.command('up')
    .description('build QEMU with the device model and the arm64 image once (cached), boot, wait until SSH answers')
    .option('--fresh', 'discard the guest disk changes and start from the image')
    .option('--memory <MiB>', 'guest memory in MiB (at most 3072)', '2048')
    .option('--irq-delay-us <us>', 'device model: microseconds from DEC_E to the interrupt')
    .option('--timeout <s>', 'seconds to wait for SSH', '300')
    .option('--json', 'print the status as JSON')
    .action(async (o: { fresh?: boolean; memory: string; irqDelayUs?: string; timeout: string; json?: boolean }) => {
      const t0 = Date.now();
      const s = await simboardUp({
        fresh: Boolean(o.fresh),
        memoryMiB: Number(o.memory),
        bootTimeoutS: Number(o.timeout),
        ...(o.irqDelayUs !== undefined ? { irqDelayUs: Number(o.irqDelayUs) } : {}),
        log,
      });
      if (o.json) process.stdout.write(JSON.stringify({ ...s, totalMs: Date.now() - t0 }) + '\n');
      else {
        process.stdout.write(describe(s) + '\n');
        process.stdout.write(
          s.alreadyRunning
            ? 'already running\n'
            : `SSH answered ${((Date.now() - t0) / 1000).toFixed(1)} s after the command started (boot ${((s.bootMs ?? 0) / 1000).toFixed(1)} s)\n`,
        );
      }
    });

  sb.command('down')
    .description('power the guest off cleanly, then stop only our QEMU process')
    .action(async () => {
      process.stdout.write(describe(await simboardDown({ log })) + '\n');
    });

  sb.command('status')
    .description('is the simboard running? (exit 0 running, 3 stopped, 2 stale/unresponsive)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const s = await simboardStatus();
      process.stdout.write((o.json ? JSON.stringify(s) : describe(s)) + '\n');
      process.exitCode = s.state === 'running' ? 0 : s.state === 'stopped' ? 3 : 2;
    });

  sb.command('ssh')
    .description('interactive ssh session to the simboard (strict host key)')
    .argument('[args...]', 'extra arguments for ssh (e.g. a command)')
    .allowUnknownOption()
    .action(async (args: string[]) => {
      const c = simboardConnection();
      requireTools(['ssh']);
      // An interactive session needs the terminal (stdio inherit), so not through a Runner.
      const { execa } = await import('execa');
      const r = await execa('ssh', sshArgv(c, args), { stdio: 'inherit', reject: false });
      process.exitCode = typeof r.exitCode === 'number' ? r.exitCode : 2;
    });

  sb.command('exec')
    .description("run a command on the simboard over SSH: workbench simboard exec -- CMD ARGS... (exit code is the command's)")
    .argument('<cmd...>', 'command and arguments (each quoted for the remote shell)')
    .option('--timeout <s>', 'kill the command after this many seconds')
    .action(async (cmd: string[], o: { timeout?: string }) => {
      const t = await simboardTarget();
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

  sb.command('logs')
    .description('show the guest serial console log')
    .option('-n, --lines <n>', 'only the last n lines')
    .option('--previous', 'the log of the previous boot')
    .action(async (o: { lines?: string; previous?: boolean }) => {
      const p = simboardPaths();
      const file = o.previous ? p.serialLogPrev : p.serialLog;
      if (!existsSync(file)) throw new WorkbenchError('E_NO_LOG', `no serial log at ${file}`, { hint: 'start the board with `workbench simboard up`' });
      const lines = readFileSync(file, 'utf8').replace(/\r/g, '').split('\n');
      process.stdout.write((o.lines ? lines.slice(-Number(o.lines) - 1) : lines).join('\n'));
    });

  sb.command('captures')
    .description("print the device model's capture records (JSON lines, one per decode job)")
    .action(async () => {
      const p = simboardPaths();
      if (!existsSync(p.capture))
        throw new WorkbenchError('E_NO_CAPTURE', `no capture file at ${p.capture}`, { hint: 'decode something on the simboard first' });
      process.stdout.write(readFileSync(p.capture, 'utf8'));
    });
}
