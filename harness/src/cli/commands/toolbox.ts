import { resolve } from 'node:path';
import type { Command } from 'commander';
import { WorkbenchError } from '../../core/errors.ts';
import { DEFAULT_MANIFEST, loadLock, loadManifest, writeLock } from '../../toolbox/manifest.ts';
import type { KernelLock } from '../../model/manifest.ts';
import { stableStringify } from '../../core/cache.ts';
import { ensureToolbox } from '../../toolbox/toolbox.ts';
import { resolveLockInChroot } from '../../toolbox/resolveLock.ts';
import type { Bind } from '../../toolbox/chrootExec.ts';
import { ExecaRunner } from '../../core/runner.ts';

const log = (s: string) => process.stderr.write(`[toolbox] ${s}\n`);

/** Registers `workbench toolbox build|info|exec|update-lock`. */
export function register(program: Command): void {
  const tb = program
    .command('toolbox')
    .description('the Debian sid build chroot (gcc-16, pinned linux-headers/linux-source, arm64 cross compiler); needs root');

  tb.command('build')
    .description('build the toolbox now (cached; rebuilt when its package list or lock changes, or when half-written)')
    .option('--manifest <name>', 'Debian kernel manifest', DEFAULT_MANIFEST)
    .option('--force', 'rebuild even when cached')
    .action(async (o: { manifest: string; force?: boolean }) => {
      const t = await ensureToolbox({ manifest: o.manifest, force: Boolean(o.force), log, runner: new ExecaRunner() });
      process.stdout.write(`${t.root}\n`);
    });

  tb.command('info')
    .description('print the toolbox path, key, kernel release and key package versions (builds it if needed)')
    .option('--manifest <name>', 'Debian kernel manifest', DEFAULT_MANIFEST)
    .option('--json', 'machine-readable output')
    .action(async (o: { manifest: string; json?: boolean }) => {
      const t = await ensureToolbox({ manifest: o.manifest, log, runner: new ExecaRunner() });
      const pick = ['gcc-16', 'binutils', 'dwarves', 'gcc-16-aarch64-linux-gnu', ...Object.keys(t.lock.packages)];
      const info = {
        root: t.root,
        key: t.key,
        kernelRelease: t.kernelRelease,
        headersDir: t.headersDir,
        sourceTarball: t.sourceTarball,
        configDir: t.configDir,
        versions: Object.fromEntries(pick.filter((p) => t.versions[p]).map((p) => [p, t.versions[p]])),
      };
      if (o.json) process.stdout.write(JSON.stringify(info, null, 2) + '\n');
      else for (const [k, v] of Object.entries(info)) process.stdout.write(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}\n`);
    });

  tb.command('exec')
    .description('run a command inside the toolbox with /proc mounted: workbench toolbox exec [--bind HOST:INSIDE] -- CMD...')
    .option('--manifest <name>', 'Debian kernel manifest', DEFAULT_MANIFEST)
    .option('--bind <host:inside>', 'bind-mount a host directory inside (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--cwd <dir>', 'working directory inside the toolbox', '/root')
    .argument('<cmd...>', 'the command and its arguments (put them after --)')
    .action(async (cmd: string[], o: { manifest: string; bind: string[]; cwd: string }) => {
      const binds: Bind[] = o.bind.map((b) => {
        const i = b.lastIndexOf(':');
        if (i <= 0) throw new WorkbenchError('E_USAGE', `--bind ${b}: expected HOST:INSIDE`, { hint: 'e.g. --bind $PWD/out:/work/out' });
        return { host: resolve(b.slice(0, i)), inside: b.slice(i + 1) };
      });
      const t = await ensureToolbox({ manifest: o.manifest, log, runner: new ExecaRunner() });
      const r = await t.exec(cmd, {
        cwd: o.cwd,
        binds,
        allowFailure: true,
        onStdout: (s) => process.stdout.write(s),
        onStderr: (s) => process.stderr.write(s),
      });
      process.exitCode = r.exitCode < 0 ? 2 : r.exitCode;
    });

  tb.command('update-lock')
    .description('resolve the current Debian package versions of a kernel manifest (inside a sid chroot) and rewrite its lock file')
    .option('--manifest <name>', 'Debian kernel manifest', DEFAULT_MANIFEST)
    .action(async (o: { manifest: string }) => {
      const m = loadManifest(o.manifest);
      let old: KernelLock | undefined;
      try {
        old = loadLock(m);
      } catch {
        old = undefined;
      }
      const lock = await resolveLockInChroot(m, { log, runner: new ExecaRunner() });
      if (old && old.kernel_release === lock.kernel_release && stableStringify(old.packages) === stableStringify(lock.packages)) {
        process.stdout.write(`${old.file}: ${lock.kernel_release} (${lock.kernel_version}), unchanged\n`);
        return;
      }
      const file = await writeLock(m, lock);
      process.stdout.write(`${file}: ${lock.kernel_release} (${lock.kernel_version})${old ? `, was ${old.kernel_release} (${old.kernel_version})` : ''}\n`);
    });
}
