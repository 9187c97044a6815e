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
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { ExecaRunner } from '../../src/core/runner.ts';
import type { Board } from '../../src/target/boards.ts';
import { withHeldBoard } from '../../src/target/provider.ts';
import { builtinProviders } from '../../src/target/providers/builtin.ts';
import { runWorkbench, startLabgridLab, type LabgridLab } from '../farm/labgridLab.ts';

const log = (m: string) => process.stderr.write(`[labgrid.int] ${m}\n`);
const host = hostname();
const ALICE = { LG_USERNAME: 'wb-alice' };
const BOB = { LG_USERNAME: 'wb-bob' };

let lab: LabgridLab;
let dir: string;
let coordinator: string;
let nsPort: number;
let banner: Server;
/** When true the stand-in board accepts connections and never answers. */
let silent = false;
/** Its open connections (destroyed in afterAll). */
const sockets = new Set<Socket>();
const providers = builtinProviders();
let board: Board;

const lg = (args: string[], env: Record<string, string>) => lab.lg(args, env);
const showText = () => lab.show(BOB);
/** labgrid's own line `acquired: ...` of `show`. */
const acquiredLine = () => lab.acquiredLine(BOB);

beforeAll(async () => {
  const t0 = Date.now();
  dir = mkdtempSync(join(tmpdir(), 'wb-labgrid-'));
  // the "board": a TCP server that greets like sshd, on the port the NetworkService names
  banner = createServer((s) => {
    sockets.add(s.on('close', () => sockets.delete(s)));
    if (!silent) s.end('SSH-2.0-labgrid.int-standin\r\n');
  });
  await new Promise<void>((r) => banner.listen(0, '127.0.0.1', r));
  nsPort = (banner.address() as { port: number }).port;
  lab = await startLabgridLab({
    dir,
    exporter: 'wbexp',
    group: 'wbgroup',
    place: 'wbplace',
    networkService: { address: '127.0.0.1', username: 'root', port: nsPort },
    admin: BOB,
    log,
  });
  coordinator = lab.coordinator;
  const cfgDir = join(dir, 'config');
  mkdirSync(cfgDir);
  writeFileSync(join(cfgDir, 'boards.toml'), `[board.lgboard]\narch = "amd64"\n[board.lgboard.labgrid]\nplace = "wbplace"\ncoordinator = "${coordinator}"\n`);
  board = providers.getBoard('lgboard', { user: join(cfgDir, 'boards.toml'), project: join(dir, 'none.toml') });
  log(`coordinator ${coordinator}, place wbplace, NetworkService 127.0.0.1:${nsPort} (setup ${Date.now() - t0} ms)`);
});

afterAll(async () => {
  await lab?.stop();
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
    const held = await providers.hold(board, { runner: lab.runner, env: ALICE, log });
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
    const greeting = await withHeldBoard(providers, board, { runner: lab.runner, env: ALICE, log }, async (held) => {
      // another labgrid client: labgrid itself refuses
      const other = await lg(['-p', 'wbplace', 'acquire'], BOB);
      expect(other.exitCode).toBe(1);
      expect(other.stderr).toContain(`Place wbplace is already acquired by ${host}/wb-alice`);
      // another workbench user: our clear error naming the place and the holder
      const e = await providers.hold(board, { runner: lab.runner, env: BOB }).catch((x: unknown) => x);
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
      withHeldBoard(providers, board, { runner: lab.runner, env: ALICE, log }, async () => {
        expect(await acquiredLine()).toBe(`acquired: ${host}/wb-alice`);
        throw new Error('deploy failed in the middle');
      }),
    ).rejects.toThrow('deploy failed in the middle');
    expect(await acquiredLine()).toBe('acquired: None');
  });

  describe('through the workbench CLI (labgrid-client on PATH runs the chroot one)', () => {
    let env: NodeJS.ProcessEnv;
    beforeAll(async () => {
      // labgrid-client for the CLI: the chroot's, with the LG_* variables the workbench passes
      env = {
        ...process.env,
        PATH: `${lab.clientBin()}:${process.env.PATH}`,
        XDG_CONFIG_HOME: dir,
        WORKBENCH_STATE_DIR: join(dir, 'state'),
        LG_USERNAME: 'wb-carol',
      };
      mkdirSync(join(dir, 'workbench'));
      writeFileSync(
        join(dir, 'workbench', 'boards.toml'),
        `[board.lgboard]\narch = "amd64"\nidentity = "${join(dir, 'key')}"\n[board.lgboard.labgrid]\nplace = "wbplace"\ncoordinator = "${coordinator}"\n`,
      );
      writeFileSync(join(dir, 'x.ivf'), 'DKIF');
      // a throwaway key, so the workbench gets as far as the SSH handshake with the stand-in board
      await new ExecaRunner().run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
    });

    const cli = (args: string[], onStderr?: Parameters<typeof runWorkbench>[2]) => runWorkbench(args, env, onStderr);

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
