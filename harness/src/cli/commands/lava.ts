import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ExitCode, WorkbenchError } from '../../core/errors.ts';
import { stateRoot } from '../../core/paths.ts';
import { ExecaRunner } from '../../core/runner.ts';
import { loadBundle } from '../../farm/bundle.ts';
import { collectJob, type CollectResult } from '../../farm/collect.ts';
import { PROFILES, type Profile } from '../../farm/job.ts';
import { fetchJob, submitJob, tokenFromEnv } from '../../farm/rest.ts';
import { parseLavaLog } from '../../farm/results.ts';
import { loadRun, reportsRoot } from '../../report/store.ts';
import { kcidbFromRun } from '../../farm/kcidb.ts';
import { builtinProviders } from '../../target/providers/builtin.ts';
import { writeFileAtomic } from '../../core/cache.ts';

const log = (s: string) => process.stderr.write(`[lava] ${s}\n`);
const out = (s: string) => process.stdout.write(s + '\n');
const repeat = (v: string, acc: string[]) => [...acc, v];

interface JobOpts {
  profile: string;
  urlBase: string;
  out?: string;
  board?: string;
  vectors?: string;
  module: string[];
  driver?: string;
  mode?: string;
  tag: string[];
  prompt: string[];
  timeout?: string;
  rootfs?: string;
}

function profileOf(p: string): Profile {
  if (!(PROFILES as readonly string[]).includes(p)) throw new WorkbenchError('E_USAGE', `--profile ${p}: expected ${PROFILES.join(' or ')}`);
  return p as Profile;
}

function modeOf(m: string | undefined): 'pixels' | 'visl' | undefined {
  if (m === undefined || m === 'auto') return undefined;
  if (m !== 'pixels' && m !== 'visl') throw new WorkbenchError('E_USAGE', `--mode ${m}: expected auto, pixels or visl`);
  return m;
}

function printCollected(c: CollectResult): void {
  const r = c.record;
  out(`LAVA job health: ${c.health}`);
  for (const v of r.vectors) out(`${v.name}: ${v.verdict.result.toUpperCase()} — ${v.verdict.message ?? ''}`);
  const k = r.counts;
  out(
    `${r.status === 'complete' ? 'finished' : 'INCOMPLETE'} ${r.runId}: ${k.pass} pass, ${k.fail} fail, ${k.timeout} timeout, ${k.error} error, ${k['not-supported']} not supported (of ${k.total})`,
  );
  if (r.incompleteReason) out(`  ${r.incompleteReason}`);
  if (!r.checks.pixelsVerified) out(`  checks: ${r.checks.ran.join(', ') || 'none'}; pixels NOT verified`);
  out(`  report: ${c.reportDir}/index.html`);
  out(`  exit code ${c.exitCode}`);
}

// the stages behind these commands (kernel build, vboard, chroot) load when a command runs, not when the CLI starts
const prepareBundle: typeof import('../../farm/prepare.ts').prepareBundle = async (o) => (await import('../../farm/prepare.ts')).prepareBundle(o);
const ensureFarmChroot: typeof import('../../farm/chroot.ts').ensureFarmChroot = async (o) => (await import('../../farm/chroot.ts')).ensureFarmChroot(o);
const farmBootFor: typeof import('../../farm/prepare.ts').farmBootFor = async (o) => (await import('../../farm/prepare.ts')).farmBootFor(o);
const validateBundle: typeof import('../../farm/validate.ts').validateBundle = async (...a) => (await import('../../farm/validate.ts')).validateBundle(...a);
const runBundleLocal: typeof import('../../farm/runLocal.ts').runBundleLocal = async (o) => (await import('../../farm/runLocal.ts')).runBundleLocal(o);
const bundleBoard: (...a: Parameters<typeof import('../../farm/prepare.ts').bundleBoard>) => Promise<import('../../farm/prepare.ts').BundleBoard> = async (
  ...a
) => (await import('../../farm/prepare.ts')).bundleBoard(...a);
const submitAndCollect: typeof import('../../farm/submit.ts').submitAndCollect = async (o) => (await import('../../farm/submit.ts')).submitAndCollect(o);
const bundleReferences: typeof import('../../farm/runLocal.ts').bundleReferences = async (...a) =>
  (await import('../../farm/runLocal.ts')).bundleReferences(...a);

/** Registers `workbench lava job|validate|run|collect|submit|kcidb`. */
export function register(program: Command): void {
  const lava = program
    .command('lava')
    .description(
      'nightly regression through LAVA: render jobs, run them with the real lava-run (Debian sid chroot), submit to a LAVA server, collect results into reports',
    );

  lava
    .command('job')
    .description('write a job bundle: the LAVA job (job.yaml), its artefacts (modules tarball, vectors, reference hashes) and bundle.json')
    .requiredOption('--profile <name>', `job profile: ${PROFILES.join(' | ')}`)
    .requiredOption('--url-base <url>', "URL the board downloads the artefacts from (serve the bundle's artefacts/ folder there)")
    .option('--out <dir>', 'bundle folder (must not exist)', '')
    .option(
      '--board <name>',
      'board (its profile gives the driver) or LAVA device type, named in the reports (default: the default board for ssh, rk3588-rock-5b for farm-rk3588)',
    )
    .option('--vectors <glob>', 'only these vp9-features vectors (comma-separated globs)')
    .option('--module <ko>', 'a built .ko (or folder) to install instead of building the series (repeatable)', repeat, [] as string[])
    .option('--driver <name>', "V4L2 driver to decode with (default: the board profile's driver, rkvdec for a LAVA device type)")
    .option('--mode <mode>', 'auto | pixels | visl', 'auto')
    .option('--tag <tag>', 'LAVA device tag (farm profile; repeatable)', repeat, [] as string[])
    .option('--prompt <regex>', 'shell prompt of the ssh device (repeatable)', repeat, [] as string[])
    .option('--timeout <s>', 'per-vector decode limit, seconds', '300')
    .option(
      '--rootfs <tar.xz>',
      'farm profile: an NFS root filesystem (arm64, xz-compressed tar) to put in the bundle as farm/rootfs.tar.xz instead of the one the workbench builds (Debian sid arm64 with GStreamer v4l2codecs, cached)',
    )
    .action(async (o: JobOpts) => {
      const profile = profileOf(o.profile);
      const dir = resolve(o.out || join(stateRoot(), 'lava', 'bundles', new Date().toISOString().replace(/[:.]/g, '-')));
      const mode = modeOf(o.mode);
      let farmBoot;
      if (profile === 'farm-rk3588') {
        const chroot = await ensureFarmChroot({ log, runner: new ExecaRunner() });
        farmBoot = await farmBootFor({ chroot, ...(o.rootfs ? { rootfs: resolve(o.rootfs) } : {}), runner: new ExecaRunner(), log });
        log(`farm boot artefacts: ${farmBoot.source}`);
      }
      const providers = builtinProviders();
      const { bundle } = await prepareBundle({
        dir,
        profile,
        urlBase: o.urlBase,
        board: await bundleBoard(providers, o.board ?? (profile === 'ssh' ? providers.defaultBoardName() : 'rk3588-rock-5b'), o.driver),
        ...(o.vectors ? { glob: o.vectors } : {}),
        ...(o.module.length ? { modules: o.module } : {}),
        ...(mode ? { mode } : {}),
        ...(o.tag.length ? { tags: o.tag } : {}),
        ...(o.prompt.length ? { prompts: o.prompt } : {}),
        vectorTimeoutS: Number(o.timeout ?? 300),
        ...(farmBoot ? { farmBoot } : {}),
        runner: new ExecaRunner(),
        log,
      });
      if (bundle.farm && !bundle.kernelRelease.endsWith('-arm64'))
        log(`WARNING: the modules are for ${bundle.kernelRelease}, the farm job boots Debian's arm64 kernel: they will not load`);
      out(`${join(dir, 'job.yaml')}`);
      log(
        `${bundle.vectors.length} vectors, modules ${bundle.modules.map((m) => m.name).join(', ')} for ${bundle.kernelRelease}; serve ${join(dir, 'artefacts')} at ${bundle.urlBase}`,
      );
    });

  lava
    .command('validate')
    .description("validate a bundle's job with the real lava-run --validate against the device it targets (rendered with LAVA's own device-type templates)")
    .requiredOption('--bundle <dir>', 'a folder written by `workbench lava job`')
    .action(async (o: { bundle: string }) => {
      const chroot = await ensureFarmChroot({ log, runner: new ExecaRunner() });
      const dir = resolve(o.bundle);
      const keepDir = join(dir, 'validate');
      const v = await validateBundle(chroot, dir, tmpdir(), { log, keepDir });
      const lava = chroot.versions['lava-dispatcher'];
      out(`lava-run --validate${lava ? ` (lava-dispatcher ${lava})` : ''} against device type ${v.deviceType} (${v.deviceTemplate}): ${v.durationMs} ms`);
      if (v.dispatcher)
        out(
          `  dispatcher: TFTP directory ${v.dispatcher.tftpDirectory} (/etc/default/tftpd-hpa), NFS export ${v.dispatcher.nfsExport.path} ${v.dispatcher.nfsExport.options} (${v.dispatcher.nfsExport.file})`,
        );
      for (const c of v.cases.filter((x) => x.case === 'validate')) out(`  LAVA case lava/validate: ${c.result}`);
      if (v.ok) out('valid');
      else {
        out(`INVALID: ${v.error ?? v.messages.join('; ')}`);
        for (const p of v.problems) out(`  - ${p.lava}\n    ${p.hint}`);
      }
      out(`  job, device, LAVA log: ${keepDir}/{job,device,logs}.yaml`);
      process.exitCode = v.ok ? ExitCode.Ok : ExitCode.TestFailures;
    });

  lava
    .command('run')
    .description(
      'run an ssh job with the real lava-run on the virtual board (artefacts served on 127.0.0.1, 10.0.2.2 from the guest), then collect it into a report',
    )
    .requiredOption('--local', 'run with lava-run in the farm chroot (no server)')
    .option('--bundle <dir>', 'bundle to run (default: write one for the vboard first)')
    .option('--vectors <glob>', 'when writing the bundle: only these vp9-features vectors')
    .option('--module <ko>', 'when writing the bundle: a built .ko (or folder) instead of building the series (repeatable)', repeat, [] as string[])
    .action(async (o: { bundle?: string; vectors?: string; module: string[] }) => {
      const runner = new ExecaRunner();
      const providers = builtinProviders();
      let dir = o.bundle ? resolve(o.bundle) : undefined;
      if (!dir) {
        dir = join(stateRoot(), 'lava', 'bundles', new Date().toISOString().replace(/[:.]/g, '-'));
        await prepareBundle({
          dir,
          profile: 'ssh',
          // a placeholder: lava-run's job is rendered again with the served address
          urlBase: 'http://10.0.2.2:1',
          board: await bundleBoard(providers, providers.defaultBoardName()),
          ...(o.vectors ? { glob: o.vectors } : {}),
          ...(o.module.length ? { modules: o.module } : {}),
          runner,
          log,
        });
        log(`bundle ${dir}`);
      }
      const board = providers.getBoard((await loadBundle(dir)).board);
      const { collected } = await runBundleLocal({
        bundleDir: dir,
        board,
        providers,
        reportsRoot: reportsRoot(),
        command: process.argv.slice(1).join(' '),
        runner,
        log,
      });
      printCollected(collected);
      process.exitCode = collected.exitCode;
    });

  lava
    .command('collect')
    .description(
      "turn a LAVA job's results into a run record and the four reports (per-frame comparison by the workbench; exit 2 when the job is not Complete or an infrastructure case failed, 1 on failing vectors)",
    )
    .requiredOption('--bundle <dir>', 'the bundle the job was rendered from')
    .option('--logs <file>', 'logs.yaml of a local lava-run')
    .option('--server <url>', 'LAVA server (with --job)')
    .option('--job <id>', 'job id on the server')
    .option('--token-env <var>', 'environment variable holding the LAVA API token', 'LAVA_TOKEN')
    .action(async (o: { bundle: string; logs?: string; server?: string; job?: string; tokenEnv: string }) => {
      const runner = new ExecaRunner();
      const dir = resolve(o.bundle);
      const bundle = await loadBundle(dir);
      let logText: string;
      let source;
      if (o.logs) {
        logText = await readFile(o.logs, 'utf8');
        source = { jobId: 'local', via: 'lava-run (local)', commands: [] as string[] };
      } else if (o.server && o.job) {
        const j = await fetchJob(o.server, o.job, tokenFromEnv(o.tokenEnv, false));
        logText = j.log;
        source = { jobId: o.job, via: o.server, url: j.url, serverHealth: j.health, commands: [`lavacli --uri ${o.server}/RPC2 jobs logs ${o.job}`] };
      } else throw new WorkbenchError('E_USAGE', 'lava collect needs --logs FILE, or --server URL and --job ID');
      const c = await collectJob({
        bundle,
        bundleDir: dir,
        log: parseLavaLog(logText),
        source,
        ...(await bundleReferences(bundle, dir, runner, log)),
        command: process.argv.slice(1).join(' '),
        reportsRoot: reportsRoot(),
      });
      printCollected(c);
      process.exitCode = c.exitCode;
    });

  lava
    .command('submit')
    .description(
      "submit a bundle's job to a LAVA server over REST API v0.2; with --wait, wait for it to finish and collect it (the token is read from an environment variable and never printed)",
    )
    .requiredOption('--bundle <dir>', 'a folder written by `workbench lava job` (its artefacts served at its --url-base)')
    .requiredOption('--server <url>', 'LAVA server base URL, e.g. https://lava.example.org')
    .option('--token-env <var>', 'environment variable holding the LAVA API token', 'LAVA_TOKEN')
    .option('--wait', 'wait for the job to finish, then collect it')
    .option('--poll <s>', 'seconds between state polls with --wait', '10')
    .action(async (o: { bundle: string; server: string; tokenEnv: string; wait?: boolean; poll: string }) => {
      const dir = resolve(o.bundle);
      const bundle = await loadBundle(dir);
      const token = tokenFromEnv(o.tokenEnv, true)!;
      const job = await readFile(join(dir, 'job.yaml'), 'utf8');
      const submitted = (ids: number[]) => {
        for (const id of ids) out(`submitted job ${id}: ${o.server.replace(/\/+$/, '')}/scheduler/job/${id}`);
      };
      if (!o.wait) {
        submitted(await submitJob(o.server, job, token));
        return;
      }
      const { collected: c } = await submitAndCollect({
        server: o.server,
        token,
        job,
        bundle,
        bundleDir: dir,
        reportsRoot: reportsRoot(),
        command: process.argv.slice(1).join(' '),
        runner: new ExecaRunner(),
        log,
        pollMs: Number(o.poll) * 1000,
        onSubmitted: submitted,
      });
      printCollected(c);
      process.exitCode = c.exitCode;
    });

  lava
    .command('kcidb')
    .description('a KCIDB v5.3 JSON document (origin vp9wb: checkout, build, one test per vector) from a report')
    .requiredOption('--run <id>', 'run id, report folder or run.json')
    .option('--out <file>', 'write here instead of stdout')
    .option('--architecture <arch>', 'build architecture (arm64, x86_64)')
    .option('--job-url <url>', 'the LAVA job page (log_url of every test)')
    .action(async (o: { run: string; out?: string; architecture?: string; jobUrl?: string }) => {
      const doc = kcidbFromRun(loadRun(o.run), { ...(o.architecture ? { architecture: o.architecture } : {}), ...(o.jobUrl ? { jobUrl: o.jobUrl } : {}) });
      const text = JSON.stringify(doc, null, 2) + '\n';
      if (o.out) await writeFileAtomic(resolve(o.out), text);
      else process.stdout.write(text);
    });
}
