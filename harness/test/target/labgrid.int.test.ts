/**
 * labgrid places around board work, against the REAL labgrid 26 (Debian
 * sid's labgrid-coordinator, labgrid-exporter and labgrid-client in the
 * labgrid chroot the workbench builds, farm/labgridChroot.ts), all on
 * 127.0.0.1 on free ports, with a private coordinator directory (no state
 * from other tests or runs). Expected values are read from labgrid's own
 * output (`labgrid-client show`, its exit codes and error lines).
 *
 * "deploy" here is a stand-in (no board runs under this test): it opens a
 * TCP connection to the address and port the place's NetworkService gave
 * the held board profile and reads a banner from a small server of this
 * test; the `workbench decode` run goes through the real CLI wiring up to
 * the SSH connection, which fails on that server (the error path).
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { ExecaRunner, formatArgv, type RunResult, type Runner } from '../../src/core/runner.ts';
import { projectRoot } from '../../src/core/paths.ts';
import { ensureLabgridChroot, type LabgridChroot } from '../../src/farm/labgridChroot.ts';
import type { Board } from '../../src/target/boards.ts';
import { withHeldBoard } from '../../src/target/provider.ts';
import { builtinProviders } from '../../src/target/providers/builtin.ts';

const log = (m: string) => process.stderr.write(`[labgrid.int] ${m}\n`);
const host = hostname();
const ALICE = { LG_USERNAME: 'wb-alice' };
const BOB = { LG_USERNAME: 'wb-bob' };

let chroot: LabgridChroot;
let lgRunner: Runner;
let dir: string;
let coordinator: string;
let nsPort: number;
let banner: Server;
/** When true the stand-in board accepts connections and never answers. */
let silent = false;
/** Its open connections (destroyed in afterAll). */
const sockets = new Set<Socket>();
const daemons: { ac: AbortController; done: Promise<unknown> }[] = [];
const providers = builtinProviders();
let board: Board;

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/** Runs the real labgrid-client (in the chroot) as `user` on the test's coordinator. */
function lg(args: string[], env: Record<string, string>): Promise<RunResult> {
  return lgRunner.run(['labgrid-client', '-x', coordinator, ...args], { env: { LG_HOSTNAME: host, ...env }, allowFailure: true, timeoutMs: 60_000 });
}

async function showText(): Promise<string> {
  const r = await lg(['-p', 'wbplace', 'show'], BOB);
  expect(r.exitCode).toBe(0);
  return r.stdout;
}

/** labgrid's own line `acquired: ...` of `show`. */
async function acquiredLine(): Promise<string> {
  return /^\s*acquired: .*$/m.exec(await showText())![0].trim();
}

function startDaemon(argv: string[], name: string): void {
  const ac = new AbortController();
  const done = new ExecaRunner()
    .run(chroot.argv(argv, { cwd: '/srv/lg', binds: [{ host: dir, inside: '/srv/lg' }] }), {
      signal: ac.signal,
      processGroup: true,
      allowFailure: true,
      onStderr: (s) => log(`${name}: ${s.trimEnd().split('\n').slice(-1)[0]}`),
    })
    .catch((e: unknown) => e);
  daemons.push({ ac, done });
}

async function waitFor(what: string, probe: () => Promise<boolean>, ms = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!(await probe())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  const t0 = Date.now();
  chroot = await ensureLabgridChroot({ runner: new ExecaRunner(), log });
  lgRunner = chroot.runner(new ExecaRunner());
  log(`labgrid chroot ${chroot.key}: labgrid-client ${chroot.versions['labgrid-client']} (${Date.now() - t0} ms)`);
  dir = mkdtempSync(join(tmpdir(), 'wb-labgrid-'));
  coordinator = `127.0.0.1:${await freePort()}`;
  // the "board": a TCP server that greets like sshd, on the port the NetworkService names
  banner = createServer((s) => {
    sockets.add(s.on('close', () => sockets.delete(s)));
    if (!silent) s.end('SSH-2.0-labgrid.int-standin\r\n');
  });
  await new Promise<void>((r) => banner.listen(0, '127.0.0.1', r));
  nsPort = (banner.address() as { port: number }).port;
  writeFileSync(join(dir, 'exporter.yaml'), `wbgroup:\n  NetworkService:\n    address: 127.0.0.1\n    username: root\n    port: ${nsPort}\n`);
  startDaemon(['labgrid-coordinator', '-l', coordinator], 'coordinator');
  await waitFor('the coordinator', async () => (await lg(['places'], BOB)).exitCode === 0);
  startDaemon(['labgrid-exporter', '-c', coordinator, '-n', 'wbexp', '/srv/lg/exporter.yaml'], 'exporter');
  await waitFor('the exported NetworkService', async () => (await lg(['resources'], BOB)).stdout.includes('wbexp/wbgroup/NetworkService'));
  expect((await lg(['-p', 'wbplace', 'create'], BOB)).exitCode).toBe(0);
  expect((await lg(['-p', 'wbplace', 'add-match', 'wbexp/wbgroup/*'], BOB)).exitCode).toBe(0);
  const cfgDir = join(dir, 'config');
  mkdirSync(cfgDir);
  writeFileSync(join(cfgDir, 'boards.toml'), `[board.lgboard]\narch = "amd64"\n[board.lgboard.labgrid]\nplace = "wbplace"\ncoordinator = "${coordinator}"\n`);
  board = providers.getBoard('lgboard', { user: join(cfgDir, 'boards.toml'), project: join(dir, 'none.toml') });
  log(`coordinator ${coordinator}, place wbplace, NetworkService 127.0.0.1:${nsPort} (setup ${Date.now() - t0} ms)`);
});

afterAll(async () => {
  for (const d of daemons) d.ac.abort();
  await Promise.all(daemons.map((d) => d.done));
  log('coordinator and exporter stopped');
  for (const s of sockets) s.destroy();
  await new Promise((r) => banner?.close(r));
  log('stand-in board closed');
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The stand-in deploy: reaches the board where the held profile says and reads its greeting. */
function standInDeploy(b: Board): Promise<string> {
  return new Promise((res, rej) => {
    const s = createConnection({ host: b.ssh!.host, port: b.ssh!.port });
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('end', () => res(got.trim()));
    s.on('error', rej);
  });
}

describe('labgrid place around board work (real labgrid 26)', () => {
  it('our acquire shows in labgrid as acquired by us; the NetworkService gives host, port and user', async () => {
    expect(await acquiredLine()).toBe('acquired: None');
    const held = await providers.hold(board, { runner: lgRunner, env: ALICE, log });
    try {
      const show = await showText();
      expect(/^\s*acquired: .*$/m.exec(show)![0].trim()).toBe(`acquired: ${host}/wb-alice`);
      expect(show).toContain(`'port': ${nsPort}`);
      expect(held.lease?.holder).toBe(`${host}/wb-alice`);
      expect(held.board.ssh).toEqual({ host: '127.0.0.1', port: nsPort, user: 'root' });
    } finally {
      await held.release();
    }
    expect(await acquiredLine()).toBe('acquired: None');
  });

  it('a deploy-shaped held section: another labgrid user is refused while held, and can acquire after the release', async () => {
    const greeting = await withHeldBoard(providers, board, { runner: lgRunner, env: ALICE, log }, async (held) => {
      // another labgrid client: labgrid itself refuses
      const other = await lg(['-p', 'wbplace', 'acquire'], BOB);
      expect(other.exitCode).toBe(1);
      expect(other.stderr).toContain(`Place wbplace is already acquired by ${host}/wb-alice`);
      // another workbench user: our clear error naming the place and the holder
      const e = await providers.hold(board, { runner: lgRunner, env: BOB }).catch((x: unknown) => x);
      expect(isWorkbenchError(e, 'E_PLACE_BUSY')).toBe(true);
      expect((e as Error).message).toBe(`labgrid place wbplace on coordinator ${coordinator} is acquired by ${host}/wb-alice; not touching the board`);
      expect(await acquiredLine()).toBe(`acquired: ${host}/wb-alice`);
      return standInDeploy(held.board);
    });
    expect(greeting).toBe('SSH-2.0-labgrid.int-standin');
    expect(await acquiredLine()).toBe('acquired: None');
    const after = await lg(['-p', 'wbplace', 'acquire'], BOB);
    expect(after.exitCode).toBe(0);
    expect(await acquiredLine()).toBe(`acquired: ${host}/wb-bob`);
    expect((await lg(['-p', 'wbplace', 'release'], BOB)).exitCode).toBe(0);
  });

  it('released when the held section throws', async () => {
    await expect(
      withHeldBoard(providers, board, { runner: lgRunner, env: ALICE, log }, async () => {
        expect(await acquiredLine()).toBe(`acquired: ${host}/wb-alice`);
        throw new Error('deploy failed in the middle');
      }),
    ).rejects.toThrow('deploy failed in the middle');
    expect(await acquiredLine()).toBe('acquired: None');
  });

  describe('through the workbench CLI (labgrid-client on PATH runs the chroot one)', () => {
    let env: NodeJS.ProcessEnv;
    beforeAll(async () => {
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      // labgrid-client for the CLI: the chroot's, with the LG_* variables the workbench passes
      writeFileSync(
        join(bin, 'labgrid-client'),
        `#!/bin/sh\nexec ${formatArgv(chroot.argv(['/usr/bin/env']))} LG_USERNAME="$LG_USERNAME" LG_HOSTNAME="$LG_HOSTNAME" labgrid-client "$@"\n`,
      );
      chmodSync(join(bin, 'labgrid-client'), 0o755);
      env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, XDG_CONFIG_HOME: dir, WORKBENCH_STATE_DIR: join(dir, 'state'), LG_USERNAME: 'wb-carol' };
      mkdirSync(join(dir, 'workbench'));
      writeFileSync(
        join(dir, 'workbench', 'boards.toml'),
        `[board.lgboard]\narch = "amd64"\nidentity = "${join(dir, 'key')}"\n[board.lgboard.labgrid]\nplace = "wbplace"\ncoordinator = "${coordinator}"\n`,
      );
      writeFileSync(join(dir, 'x.ivf'), 'DKIF');
      // a throwaway key, so the workbench gets as far as the SSH handshake with the stand-in board
      await new ExecaRunner().run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
    });

    function cli(
      args: string[],
      onStderr?: (s: string, child: ReturnType<typeof spawn>) => void,
    ): Promise<{ code: number | null; signal: string | null; stderr: string }> {
      return new Promise((res) => {
        const child = spawn(process.execPath, [join(projectRoot(), 'harness/bin/workbench.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          onStderr?.(stderr, child);
        });
        child.on('close', (code, signal) => res({ code, signal, stderr }));
      });
    }

    it('`workbench decode --board` acquires the place, fails on the stand-in board, and releases it', async () => {
      const r = await cli(['decode', '--board', 'lgboard', join(dir, 'x.ivf')]);
      log(`decode exit ${r.code}: ${r.stderr.split('\n').slice(-4).join(' | ')}`);
      expect(r.stderr).toContain(`labgrid place wbplace on coordinator ${coordinator} acquired as ${host}/wb-carol`);
      expect(r.stderr).toContain(`labgrid place wbplace on coordinator ${coordinator} released`);
      expect(r.code).toBe(2);
      expect(await acquiredLine()).toBe('acquired: None');
    });

    it('`workbench decode` is refused while another user holds the place, naming the place and the holder', async () => {
      expect((await lg(['-p', 'wbplace', 'acquire'], BOB)).exitCode).toBe(0);
      try {
        const r = await cli(['decode', '--board', 'lgboard', join(dir, 'x.ivf')]);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(`labgrid place wbplace on coordinator ${coordinator} is acquired by ${host}/wb-bob; not touching the board`);
        expect(await acquiredLine()).toBe(`acquired: ${host}/wb-bob`);
      } finally {
        await lg(['-p', 'wbplace', 'release'], BOB);
      }
    });

    it('Ctrl-C while `workbench decode` holds the place releases it', async () => {
      silent = true; // the board accepts and never greets: the SSH handshake waits while the place is held
      try {
        let sent = false;
        const r = await cli(['decode', '--board', 'lgboard', join(dir, 'x.ivf')], (text, child) => {
          if (!sent && text.includes('acquired as')) {
            sent = true;
            setTimeout(() => child.kill('SIGINT'), 1000);
          }
        });
        log(`decode after SIGINT: exit ${r.code} ${r.signal ?? ''}: ${r.stderr.split('\n').slice(-4).join(' | ')}`);
        expect(sent).toBe(true);
        expect(r.stderr).toContain('interrupted: releasing labgrid place wbplace');
        expect(r.stderr).toContain(`labgrid place wbplace on coordinator ${coordinator} released`);
        expect(r.code).toBe(130);
        expect(await acquiredLine()).toBe('acquired: None');
      } finally {
        silent = false;
      }
    });
  });
});
