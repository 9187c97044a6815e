import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { WorkbenchError } from '../../core/errors.ts';
import { configRoot, stateRoot } from '../../core/paths.ts';
import { ExecaRunner } from '../../core/runner.ts';
import { reportsRoot } from '../../report/store.ts';
import { builtinProviders } from '../../target/providers/builtin.ts';
import type { NightlyBoard, RunBoard } from '../../farm/nightly.ts';

const log = (s: string) => process.stderr.write(`[nightly] ${s}\n`);

/** The real steps of one board: build the bundle, run it (lava-run on the vboard) or submit it (LAVA server), collect. */
function realRunBoard(command: string): RunBoard {
  return async (b: NightlyBoard, nightlyId: string) => {
    const runner = new ExecaRunner();
    const { prepareBundle, bundleBoard, farmBootFor } = await import('../../farm/prepare.ts');
    const providers = builtinProviders();
    const dir = join(stateRoot(), 'lava', 'bundles', `${nightlyId}-${b.name}`);
    // a farm board boots Debian's Image and dtb and the workbench's NFS root, all in the bundle (cached)
    const farmBoot =
      b.profile === 'farm-rk3588'
        ? await farmBootFor({ chroot: await (await import('../../farm/chroot.ts')).ensureFarmChroot({ runner, log }), runner, log })
        : undefined;
    const common = {
      dir,
      profile: b.profile,
      board: bundleBoard(providers, b.name),
      ...(b.vectors ? { glob: b.vectors } : {}),
      ...(b.modules?.length ? { modules: b.modules } : {}),
      ...(b.tags.length ? { tags: b.tags } : {}),
      vectorTimeoutS: b.timeout,
      ...(farmBoot ? { farmBoot } : {}),
      runner,
      log,
    };
    if (b.run === 'local') {
      const { bundle } = await prepareBundle({ ...common, urlBase: 'http://10.0.2.2:1' });
      const { runBundleLocal } = await import('../../farm/runLocal.ts');
      const { run, collected } = await runBundleLocal({
        bundleDir: dir,
        board: providers.getBoard(b.name),
        providers,
        reportsRoot: reportsRoot(),
        command,
        runner,
        log,
      });
      return { collected, bundle, via: 'lava-run (local)', jobId: String(run.jobId) };
    }
    const { submitAndCollect } = await import('../../farm/submit.ts');
    const { tokenFromEnv } = await import('../../farm/rest.ts');
    const token = tokenFromEnv(b.token_env, true)!;
    const { bundle } = await prepareBundle({ ...common, urlBase: b.url_base! });
    if (b.publish?.length) {
      const argv = b.publish.map((a) => a.replaceAll('{artefacts}', join(dir, 'artefacts')));
      log(`${b.name}: publishing the artefacts: ${argv.join(' ')}`);
      await runner.run(argv, { timeoutMs: 30 * 60_000 });
    }
    const job = await readFile(join(dir, 'job.yaml'), 'utf8');
    const r = await submitAndCollect({ server: b.server!, token, job, bundle, bundleDir: dir, reportsRoot: reportsRoot(), command, runner, log });
    return { collected: r.collected, bundle, via: b.server!, jobId: String(r.jobId), jobUrl: r.jobUrl };
  };
}

/** Registers `workbench nightly`. */
export function register(program: Command): void {
  program
    .command('nightly')
    .description(
      "the nightly regression for the boards of a plan (nightly.toml): each run with lava-run on the vboard or submitted to a LAVA server and collected, the night kept under reports/nightly/<id>/ (with its KCIDB v5.3 kcidb.json, validated, POSTed to the plan's [kcidb] url if any) and each board diffed against its previous night; reports/nightly/index.html rewritten with every board's history (exit 2 infrastructure, 1 failing vectors, 0 clean)",
    )
    .option('--plan <file>', 'the plan (default <config>/nightly.toml)')
    .option('--board <names>', 'only these boards of the plan (comma-separated)')
    .option('--fail-on <what>', 'exit 1 on `any` failing vector, or only on `new` ones (failing now, not in the previous night)', 'any')
    .action(async (o: { plan?: string; board?: string; failOn: string }) => {
      if (o.failOn !== 'any' && o.failOn !== 'new') throw new WorkbenchError('E_USAGE', `--fail-on ${o.failOn}: expected any or new`);
      const { loadNightlyPlan, nightlyText, runNight } = await import('../../farm/nightly.ts');
      const file = resolve(o.plan ?? join(configRoot(), 'nightly.toml'));
      const plan = loadNightlyPlan(file);
      if (o.board) {
        const want = o.board.split(',').map((s) => s.trim());
        const unknown = want.filter((w) => !plan.board.some((b) => b.name === w));
        if (unknown.length)
          throw new WorkbenchError('E_USAGE', `--board ${unknown.join(',')}: not in ${file}`, { hint: `boards: ${plan.board.map((b) => b.name).join(', ')}` });
        plan.board = plan.board.filter((b) => want.includes(b.name));
      }
      const { record, dir, index } = await runNight({
        plan,
        reportsRoot: reportsRoot(),
        runBoard: realRunBoard(process.argv.slice(1).join(' ')),
        failOn: o.failOn,
        log,
      });
      process.stdout.write(nightlyText(record));
      process.stdout.write(`night: ${dir}\n`);
      process.stdout.write(`index: ${index}\n`);
      process.exitCode = record.exitCode;
    });
}
