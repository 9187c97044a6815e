/**
 * A private labgrid lab for integration tests (target/labgrid.int.test.ts,
 * farm/labgridDeploy.int.test.ts): the REAL labgrid 26 (Debian sid's
 * labgrid-coordinator, labgrid-exporter and labgrid-client in the labgrid
 * chroot the workbench builds, farm/labgridChroot.ts) on 127.0.0.1 on a free
 * port, its coordinator and exporter running in the test's own folder (no
 * state from other tests or runs), one exporter publishing a
 * `NetworkService` group and one place matching that group. Also the
 * workbench CLI as a child process, with a labgrid-client on its PATH.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ExecaRunner, formatArgv, type RunResult, type Runner } from '../../src/core/runner.ts';
import { projectRoot } from '../../src/core/paths.ts';
import { ensureLabgridChroot, type LabgridChroot } from '../../src/farm/labgridChroot.ts';
import { freePort } from '../../src/vboard/qemu.ts';

/**
 * Polls `probe` every 500 ms until it says true.
 * @throws Error `timed out waiting for <what>` after `ms`.
 */
async function waitFor(what: string, probe: () => Promise<boolean>, ms = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!(await probe())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A running lab ({@link startLabgridLab}). */
export interface LabgridLab {
  chroot: LabgridChroot;
  /** Runs commands inside the labgrid chroot (what the workbench's labgrid calls take as their runner). */
  runner: Runner;
  /** `127.0.0.1:PORT`. */
  coordinator: string;
  place: string;
  /** The real labgrid-client as the user of `env` (`LG_USERNAME`) on this coordinator; never throws on its exit code. */
  lg(args: string[], env: Record<string, string>): Promise<RunResult>;
  /** `labgrid-client -p PLACE show` as `env`'s user (labgrid prints text only). */
  show(env: Record<string, string>): Promise<string>;
  /** labgrid's own `acquired: ...` line of `show` (`acquired: None`, `acquired: HOST/USER`). */
  acquiredLine(env: Record<string, string>): Promise<string>;
  /**
   * Writes `<dir>/bin/labgrid-client`, a wrapper that runs the chroot's
   * client with the LG_* variables the workbench passes, for a workbench
   * CLI whose PATH starts with the returned folder.
   */
  clientBin(): string;
  /** Stops the exporter and the coordinator (and waits for them). */
  stop(): Promise<void>;
}

/** What {@link startLabgridLab} sets up. */
export interface LabgridLabOptions {
  /** The test's folder: the coordinator's working directory and the exporter's configuration live there. */
  dir: string;
  /** labgrid names: the exporter (`-n`), its resource group, the place. */
  exporter: string;
  group: string;
  place: string;
  /** The group's NetworkService (what the place gives the workbench: address, username, port). */
  networkService: { address: string; username: string; port: number };
  /** The labgrid user that creates the place and reads `show` (`{ LG_USERNAME: ... }`). */
  admin: Record<string, string>;
  log: (m: string) => void;
}

/**
 * Starts a coordinator and an exporter in the labgrid chroot (cached) and
 * creates the place matching `exporter/group/*`, waiting for each to answer.
 * @throws Error when the coordinator or the exported resource does not show within 2 min, or labgrid refuses the place.
 */
export async function startLabgridLab(o: LabgridLabOptions): Promise<LabgridLab> {
  const host = hostname();
  const chroot = await ensureLabgridChroot({ runner: new ExecaRunner(), log: o.log });
  const runner = chroot.runner(new ExecaRunner());
  o.log(`labgrid chroot ${chroot.key}: labgrid-client ${chroot.versions['labgrid-client']}`);
  const coordinator = `127.0.0.1:${await freePort()}`;
  const daemons: { ac: AbortController; done: Promise<unknown> }[] = [];
  const startDaemon = (argv: string[], name: string) => {
    const ac = new AbortController();
    const done = new ExecaRunner()
      .run(chroot.argv(argv, { cwd: '/srv/lg', binds: [{ host: o.dir, inside: '/srv/lg' }] }), {
        signal: ac.signal,
        processGroup: true,
        allowFailure: true,
        onStderr: (s) => o.log(`${name}: ${s.trimEnd().split('\n').slice(-1)[0]}`),
      })
      .catch((e: unknown) => e);
    daemons.push({ ac, done });
  };
  const lg = (args: string[], env: Record<string, string>) =>
    runner.run(['labgrid-client', '-x', coordinator, ...args], { env: { LG_HOSTNAME: host, ...env }, allowFailure: true, timeoutMs: 60_000 });
  const show = async (env: Record<string, string>) => {
    const r = await lg(['-p', o.place, 'show'], env);
    if (r.exitCode !== 0) throw new Error(`labgrid-client show exited ${r.exitCode}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const lab: LabgridLab = {
    chroot,
    runner,
    coordinator,
    place: o.place,
    lg,
    show,
    acquiredLine: async (env) => /^\s*acquired: .*$/m.exec(await show(env))![0].trim(),
    clientBin: () => {
      const bin = join(o.dir, 'bin');
      if (!existsSync(join(bin, 'labgrid-client'))) {
        mkdirSync(bin, { recursive: true });
        writeFileSync(
          join(bin, 'labgrid-client'),
          `#!/bin/sh\nexec ${formatArgv(chroot.argv(['/usr/bin/env']))} LG_USERNAME="$LG_USERNAME" LG_HOSTNAME="$LG_HOSTNAME" labgrid-client "$@"\n`,
        );
        chmodSync(join(bin, 'labgrid-client'), 0o755);
      }
      return bin;
    },
    stop: async () => {
      for (const d of daemons) d.ac.abort();
      await Promise.all(daemons.map((d) => d.done));
      o.log('coordinator and exporter stopped');
    },
  };
  try {
    const ns = o.networkService;
    writeFileSync(
      join(o.dir, 'exporter.yaml'),
      `${o.group}:\n  NetworkService:\n    address: ${ns.address}\n    username: ${ns.username}\n    port: ${ns.port}\n`,
    );
    startDaemon(['labgrid-coordinator', '-l', coordinator], 'coordinator');
    await waitFor('the coordinator', async () => (await lg(['places'], o.admin)).exitCode === 0);
    startDaemon(['labgrid-exporter', '-c', coordinator, '-n', o.exporter, '/srv/lg/exporter.yaml'], 'exporter');
    await waitFor('the exported NetworkService', async () => (await lg(['resources'], o.admin)).stdout.includes(`${o.exporter}/${o.group}/NetworkService`));
    for (const args of [['create'], ['add-match', `${o.exporter}/${o.group}/*`]]) {
      const r = await lg(['-p', o.place, ...args], o.admin);
      if (r.exitCode !== 0) throw new Error(`labgrid-client -p ${o.place} ${args.join(' ')} exited ${r.exitCode}: ${r.stderr.trim()}`);
    }
  } catch (e) {
    await lab.stop();
    throw e;
  }
  return lab;
}

/** A finished workbench CLI child process. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * `workbench ARGS` (harness/bin/workbench.js) as a child process with
 * `env`; `onStderr` sees the whole stderr so far after each chunk (and the
 * child, to signal it).
 */
export function runWorkbench(args: string[], env: NodeJS.ProcessEnv, onStderr?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<CliResult> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [join(projectRoot(), 'harness/bin/workbench.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, child);
    });
    child.on('close', (code, signal) => res({ code, signal, stdout, stderr }));
  });
}
