import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { WorkbenchError } from '../../core/errors.ts';
import { ExecaRunner } from '../../core/runner.ts';
import { simboardConnection, simboardDown, simboardPaths, simboardStatus, simboardTarget, simboardUp, type SimboardStatus } from '../../simboard/simboard.ts';
import { FAULT_MODES, parseFaultRule, writeFaultPlan } from '../../simboard/faults.ts';
import { printUp, registerQemuBoardCommands } from './vboard.ts';
import { modelFromEnv, parseFillByte, type SimboardModelOptions } from '../../simboard/modelServer.ts';

/**
 * The model choice of `simboard up`: --model, --model-stub or --model-fill
 * (at most one), else WORKBENCH_SIMBOARD_MODEL, else none.
 * @throws WorkbenchError E_CONFIG for two choices or a bad value.
 */
export function modelOption(o: { model?: boolean; modelStub?: boolean; modelFill?: string; modelTimeoutMs?: string }): SimboardModelOptions | false {
  const n = [o.model, o.modelStub, o.modelFill !== undefined].filter(Boolean).length;
  if (n > 1) throw new WorkbenchError('E_CONFIG', '--model, --model-stub and --model-fill exclude each other', { hint: 'give one of them' });
  let m: SimboardModelOptions | false = o.model
    ? { core: 'auto' }
    : o.modelStub
      ? { core: 'stub' }
      : o.modelFill !== undefined
        ? { core: 'stub', fill: parseFillByte(o.modelFill, '--model-fill') }
        : (modelFromEnv() ?? false);
  if (o.modelTimeoutMs !== undefined) {
    const t = Number(o.modelTimeoutMs);
    if (!m) throw new WorkbenchError('E_CONFIG', '--model-timeout-ms needs the model (--model, --model-stub or --model-fill)');
    if (!Number.isInteger(t) || t < 1 || t > 600_000) throw new WorkbenchError('E_CONFIG', `--model-timeout-ms "${o.modelTimeoutMs}": expected 1-600000`);
    m = { ...m, timeoutMs: t };
  }
  return m;
}

const log = (s: string) => process.stderr.write(`[simboard] ${s}\n`);

function describe(s: SimboardStatus): string {
  const parts = [`simboard: ${s.state}`];
  if (s.pid) parts.push(`pid ${s.pid}`);
  if (s.port) parts.push(`ssh 127.0.0.1:${s.port}`);
  if (s.kernelRelease) parts.push(`kernel ${s.kernelRelease}`);
  if (s.model)
    parts.push(
      `vdpu381 model: ${s.model.kind}${s.model.fill !== undefined ? ` 0x${s.model.fill.toString(16)}` : ''} (server PID ${s.model.pid}${s.model.serverRunning ? '' : ', NOT RUNNING: every job answers STA_INT 0x13; see model.log'})`,
    );
  return parts.join(', ') + (s.detail ? `\n${s.detail}` : '');
}

/** Registers `workbench simboard up|down|status|ssh|exec|logs|faults|captures`. */
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
    .option('--model', 'decode every job with the vdpu381 model server (the model core when built, else the stub); the pixels check then runs')
    .option('--model-stub', 'the model server with the stub core (answers ready, writes nothing)')
    .option('--model-fill <byte>', 'test mode: the model server fills every output picture with this byte')
    .option('--model-timeout-ms <ms>', "the device's bound on one model answer (host ms, default 1000)")
    .option('--json', 'print the status as JSON')
    .action(
      async (o: {
        fresh?: boolean;
        memory: string;
        irqDelayUs?: string;
        timeout: string;
        json?: boolean;
        model?: boolean;
        modelStub?: boolean;
        modelFill?: string;
        modelTimeoutMs?: string;
      }) => {
        const t0 = Date.now();
        const s = await simboardUp({
          model: modelOption(o),
          runner: new ExecaRunner(),
          fresh: Boolean(o.fresh),
          memoryMiB: Number(o.memory),
          bootTimeoutS: Number(o.timeout),
          ...(o.irqDelayUs !== undefined ? { irqDelayUs: Number(o.irqDelayUs) } : {}),
          log,
        });
        printUp(s, t0, o.json, describe);
      },
    );

  registerQemuBoardCommands(sb, {
    what: 'simboard',
    describe,
    down: () => simboardDown({ log }),
    status: simboardStatus,
    statusHelp: 'is the simboard running? (exit 0 running, 3 stopped, 2 stale/unresponsive)',
    connection: simboardConnection,
    target: simboardTarget,
    serialLogs: () => simboardPaths(),
  });

  sb.command('faults')
    .description(
      "choose how the device model answers the next decode jobs: JOB:MODE rules (JOB counts DEC_E from now, from 1, or * for every other job); no rule: every job 'ready'",
    )
    .argument('[rules...]', `JOB:MODE, MODE one of: ${Object.keys(FAULT_MODES).join(', ')}`)
    .option('--full-buffers', "also write the input buffers' bytes into the capture records (base64)")
    .option('--late-irq-ms <ms>', 'delay of late-irq (default 3000)')
    .option('--long-delay-ms <ms>', 'delay of long-delay (default 1000)')
    .action(async (rules: string[], o: { fullBuffers?: boolean; lateIrqMs?: string; longDelayMs?: string }) => {
      const plan = {
        rules: rules.map(parseFaultRule),
        fullBuffers: Boolean(o.fullBuffers),
        ...(o.lateIrqMs !== undefined ? { lateIrqMs: Number(o.lateIrqMs) } : {}),
        ...(o.longDelayMs !== undefined ? { longDelayMs: Number(o.longDelayMs) } : {}),
      };
      await writeFaultPlan(simboardPaths().faults, plan);
      log(plan.rules.length ? `from the next decode job: ${plan.rules.map((r) => `${r.job}:${r.mode}`).join(' ')}` : 'every job answers ready');
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
