import type { Command } from 'commander';
import { WorkbenchError } from '../../core/errors.ts';
import { ExecaRunner } from '../../core/runner.ts';
import { loadRemoteJournal } from '../../deploy/journal.ts';
import { addBoard, boardFiles, moduleDirFor, type BoardEntry } from '../../target/boards.ts';
import { closeTargets } from '../../target/connect.ts';
import { builtinProviders } from '../../target/providers/builtin.ts';
import { ConsoleCapture } from '../../target/console.ts';
import { power, type PowerAction } from '../../target/power.ts';
import { loadScript, runScript } from '../../target/scripts.ts';

const out = (s: string) => process.stdout.write(s + '\n');
const collect = (v: string, acc: string[]) => [...acc, v];

/** Remote script `boardCheck.sh MODULE_DIR`: what `boards check` shows, tab-separated lines (see the file). */
const CHECK = loadScript(import.meta.url, 'boardCheck.sh');

/** Registers `workbench boards list|add|check|console|power`. */
export function register(program: Command): void {
  const boards = program.command('boards').description('the boards the workbench can deploy to and test on (boards.toml; the vboard is built in)');

  boards
    .command('list')
    .description('list the boards: name, kind, arch, driver under test, address, labels, where defined')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => {
      const providers = builtinProviders();
      const all = providers.loadBoards();
      if (o.json) {
        out(JSON.stringify(all, null, 2));
        return;
      }
      for (const b of all) {
        let addr: string;
        try {
          addr = providers.providerOf(b).address(b);
        } catch (e) {
          addr = `(${e instanceof Error ? e.message : String(e)})`;
        }
        out(
          `${b.name.padEnd(14)} ${b.kind.padEnd(7)} ${b.arch.padEnd(6)} ${b.driver.padEnd(8)} ${addr.padEnd(28)} ${b.labels.join(',').padEnd(16)} ${b.source}`,
        );
      }
    });

  boards
    .command('add')
    .description('add a board to your boards.toml (validated before it is written)')
    .argument('<name>', 'board name (letters, digits, . _ -)')
    .requiredOption('--host <host>', 'host name or IP address')
    .option('--port <n>', 'SSH port', (v) => Number(v))
    .option('--user <user>', 'SSH user (root is needed to deploy modules)')
    .option('--identity <file>', 'private key file (default: SSH agent)')
    .option('--arch <arch>', 'CPU architecture: arm64 (default) or amd64')
    .option('--driver <name>', 'kernel driver under test (default rkvdec)')
    .option('--module-dir <dir>', 'module install directory ({release} = uname -r)')
    .option('--console <cmd>', 'host command that opens the serial console (run under a pty)')
    .option('--power-on <cmd>', 'host command that powers the board on')
    .option('--power-off <cmd>', 'host command that powers the board off')
    .option('--power-cycle <cmd>', 'host command that power-cycles the board')
    .option('--label <label>', 'label (repeatable)', collect, [] as string[])
    .action(async (name: string, o: Record<string, unknown>) => {
      const entry: BoardEntry = {
        host: o.host as string,
        ...(o.port !== undefined ? { port: o.port as number } : {}),
        ...(o.user ? { user: o.user as string } : {}),
        ...(o.identity ? { identity: o.identity as string } : {}),
        ...(o.arch ? { arch: o.arch as 'arm64' | 'amd64' } : {}),
        ...(o.driver ? { driver: o.driver as string } : {}),
        ...(o.moduleDir ? { module_dir: o.moduleDir as string } : {}),
        ...(o.console ? { console: o.console as string } : {}),
        ...(o.powerOn ? { power_on: o.powerOn as string } : {}),
        ...(o.powerOff ? { power_off: o.powerOff as string } : {}),
        ...(o.powerCycle ? { power_cycle: o.powerCycle as string } : {}),
        labels: o.label as string[],
      };
      const b = await addBoard(name, entry, builtinProviders().builtinBoards());
      out(`added ${b.name} (${b.ssh!.user}@${b.ssh!.host}:${b.ssh!.port}) to ${boardFiles().user}`);
      out(`next: workbench boards check ${b.name} --trust-new-host-key`);
    });

  boards
    .command('check')
    .description('connect to a board and show its kernel release, free space, decoder devices and any interrupted deploy')
    .argument('<name>', 'board name')
    .option('--trust-new-host-key', 'record the host key if it is not known yet (trust on first use); a changed key is still refused')
    .option('--timeout <ms>', 'connect timeout per attempt, ms', (v) => Number(v), 10_000)
    .action(async (name: string, o: { trustNewHostKey?: boolean; timeout: number }) => {
      const providers = builtinProviders();
      const board = providers.getBoard(name);
      const t = providers.targetFor(board, { trust: o.trustNewHostKey ? 'tofu' : 'strict', connectTimeoutMs: o.timeout, reconnectBudgetMs: o.timeout + 2000 });
      try {
        const t0 = Date.now();
        await t.exec(['true']);
        out(`${board.name}: connected to ${providers.providerOf(board).address(board)} in ${Date.now() - t0} ms`);
        const release = await t.kernelRelease();
        const dir = moduleDirFor(board, release);
        const r = await runScript(t, CHECK, [dir]);
        const videos: string[] = [];
        const medias: string[] = [];
        const mods: string[] = [];
        for (const line of r.stdout.split('\n')) {
          const [k, ...f] = line.split('\t');
          if (k === 'release') out(`kernel release: ${f[0]}`);
          else if (k === 'uid' && f[0] !== '0') out(`warning: logged in as uid ${f[0]}: deploying modules needs root`);
          else if (k === 'df') out(`module dir: ${dir} (filesystem ${f[1]}, ${(Number(f[0]) / 1024).toFixed(0)} MiB free)`);
          else if (k === 'video') videos.push(`${f[0]} "${f[1]}"${f[2] ? ` [${f[2]}]` : ''}`);
          else if (k === 'media') medias.push(f[0]!);
          else if (k === 'module') mods.push(f[0]!);
        }
        out(`video devices: ${videos.join(', ') || 'none'}`);
        out(`media devices: ${medias.join(', ') || 'none'}`);
        out(`decoder modules loaded: ${mods.join(', ') || 'none'}`);
        const j = await loadRemoteJournal(t);
        if (j.journal)
          out(`INTERRUPTED deploy ${j.journal.id} (phase ${j.journal.phase}): the next deploy or \`workbench rollback --board ${board.name}\` repairs it`);
        else if (j.corrupt) out('warning: the deploy journal on the board is unreadable');
        else out('deploy journal: clean');
      } finally {
        await closeTargets();
      }
    });

  boards
    .command('console')
    .description("show a board's serial console (its `console` command under a pty) and append it to a log file; Ctrl-C ends")
    .argument('<name>', 'board name')
    .option('--log <file>', 'append the capture to this file')
    .action(async (name: string, o: { log?: string }) => {
      const c = ConsoleCapture.start(builtinProviders().getBoard(name), o.log);
      let shown = 0;
      const tick = setInterval(() => {
        const text = c.text();
        if (text.length > shown) {
          process.stdout.write(text.slice(shown));
          shown = text.length;
        }
        if (c.exit) clearInterval(tick);
      }, 100);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        const poll = setInterval(() => {
          if (c.exit) {
            clearInterval(poll);
            resolve();
          }
        }, 200);
      });
      clearInterval(tick);
      await c.stop();
      if (c.exit && c.exit.exitCode !== 0) {
        throw new WorkbenchError('E_CONSOLE', `console command of ${name} exited with ${c.exit.exitCode}`, { hint: 'check `console` in boards.toml' });
      }
    });

  boards
    .command('power')
    .description("run a board's power hook (power_on / power_off / power_cycle in boards.toml)")
    .argument('<name>', 'board name')
    .argument('<action>', 'on, off or cycle')
    .action(async (name: string, action: string) => {
      if (!['on', 'off', 'cycle'].includes(action)) throw new WorkbenchError('E_USAGE', `unknown power action '${action}'`, { hint: 'use on, off or cycle' });
      await power(builtinProviders().getBoard(name), action as PowerAction, new ExecaRunner());
      out(`${name}: power ${action} done`);
    });
}
