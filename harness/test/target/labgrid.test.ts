import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { RecordingRunner, type RunResult } from '../../src/core/runner.ts';
import { acquirePlace, clientArgv, clientMessage, labgridIdentity, parseShow } from '../../src/target/labgrid.ts';
import { withHeldBoard } from '../../src/target/provider.ts';
import { builtinProviders } from '../../src/target/providers/builtin.ts';

// Captured from labgrid 26.0-2 (Debian sid) on loopback: `labgrid-client -p pl1 show`
// before and after `acquire` by LG_USERNAME=alice on host vm.
const SHOW_FREE = `Place 'pl1':
  matches:
    */grp1/*
  acquired: None
  acquired resources:
  created: 2026-12-03 00:37:53.828869
  changed: 2026-12-03 00:37:54.826796
Matching resource 'NetworkService' (exp1/grp1/NetworkService/NetworkService):
  {'acquired': None,
   'avail': True,
   'cls': 'NetworkService',
   'params': {'address': '127.0.0.1',
              'extra': {'proxy': 'vm', 'proxy_required': False},
              'port': 42222,
              'username': 'root'}}
`;
const SHOW_HELD = `Place 'pl1':
  matches:
    */grp1/*
  acquired: vm/alice
  acquired resources:
    exp1/grp1/NetworkService/NetworkService
  created: 2026-12-03 00:37:53.828869
  changed: 2026-12-03 00:37:57.148376
Acquired resource 'NetworkService' (exp1/grp1/NetworkService/NetworkService):
  {'acquired': 'pl1',
   'avail': True,
   'cls': 'NetworkService',
   'params': {'address': '127.0.0.1',
              'extra': {'proxy': 'vm', 'proxy_required': False},
              'port': 42222,
              'username': 'root'}}
`;
const BUSY_STDERR = `labgrid-client: Error: Place pl1 is already acquired by vm/alice. To work simultaneously, alice can execute 'labgrid-client -p pl1 allow vm/bob' on vm.
Traceback (most recent call last):
PythonFinalizationError: cannot join thread at interpreter shutdown
`;

const ENV_BOB = { LG_USERNAME: 'bob', LG_HOSTNAME: 'vm' };
const ENV_ALICE = { LG_USERNAME: 'alice', LG_HOSTNAME: 'vm' };
const CFG = { place: 'pl1', coordinator: '127.0.0.1:42408' };

/** A fake labgrid-client: `acquire`/`release` answers from `answers`, `show` prints SHOW_HELD or SHOW_FREE by state. */
function fakeClient(answers: { acquire?: Partial<RunResult>; release?: Partial<RunResult>; show?: string } = {}) {
  let holder: string | undefined;
  return new RecordingRunner((argv, opts) => {
    const sub = argv.at(-1);
    if (sub === 'acquire') {
      if (answers.acquire) return answers.acquire;
      holder = `${opts.env?.LG_HOSTNAME}/${opts.env?.LG_USERNAME}`;
      return {};
    }
    if (sub === 'release') {
      holder = undefined;
      return answers.release ?? {};
    }
    if (sub === 'show') return { stdout: answers.show ?? (holder ? SHOW_HELD.replace('vm/alice', holder) : SHOW_FREE) };
    return { exitCode: 2, stderr: 'unexpected' };
  });
}

describe('labgrid show parsing', () => {
  it('reads the holder and the acquired NetworkService from labgrid 26 text', () => {
    expect(parseShow(SHOW_HELD)).toEqual({ acquiredBy: 'vm/alice', networkService: { address: '127.0.0.1', port: 42222, username: 'root' } });
  });
  it('a free place has no holder, and a merely matching resource is not taken as acquired', () => {
    expect(parseShow(SHOW_FREE)).toEqual({});
  });
  it("labgrid's own error line is picked out of the grpc shutdown noise", () => {
    expect(clientMessage({ stdout: '', stderr: BUSY_STDERR })).toBe(BUSY_STDERR.split('\n')[0]);
  });
});

describe('acquirePlace', () => {
  it('runs labgrid-client acquire then show on the place, with the identity spelled out', async () => {
    const runner = fakeClient();
    const lease = await acquirePlace(CFG, { runner, env: ENV_BOB });
    expect(runner.calls.map((c) => c.argv)).toEqual([
      ['labgrid-client', '-x', '127.0.0.1:42408', '-p', 'pl1', 'acquire'],
      ['labgrid-client', '-x', '127.0.0.1:42408', '-p', 'pl1', 'show'],
    ]);
    expect(runner.calls[0]!.opts.env).toEqual({ LG_HOSTNAME: 'vm', LG_USERNAME: 'bob' });
    expect(lease).toMatchObject({ place: 'pl1', holder: 'vm/bob', held: true, networkService: { address: '127.0.0.1', port: 42222, username: 'root' } });
    await lease.release();
    await lease.release();
    expect(lease.held).toBe(false);
    expect(runner.calls.filter((c) => c.argv.at(-1) === 'release')).toHaveLength(1);
  });

  it('refuses a place someone else holds with E_PLACE_BUSY naming the place, the coordinator and the holder', async () => {
    const runner = fakeClient({ acquire: { exitCode: 1, stderr: BUSY_STDERR }, show: SHOW_HELD });
    const e = await acquirePlace(CFG, { runner, env: ENV_BOB }).catch((x: unknown) => x);
    expect(isWorkbenchError(e, 'E_PLACE_BUSY')).toBe(true);
    expect((e as Error).message).toBe('labgrid place pl1 on coordinator 127.0.0.1:42408 is acquired by vm/alice; not touching the board');
    expect(runner.calls.map((c) => c.argv.at(-1))).toEqual(['acquire', 'show']);
  });

  it('says when the holder is our own identity (a workbench that died) and how to release it', async () => {
    const runner = fakeClient({ acquire: { exitCode: 1, stderr: 'labgrid-client: Error: You have already acquired place pl1.' }, show: SHOW_HELD });
    const e = await acquirePlace(CFG, { runner, env: ENV_ALICE }).catch((x: unknown) => x);
    expect(isWorkbenchError(e, 'E_PLACE_BUSY')).toBe(true);
    expect((e as Error).message).toContain('(your own labgrid identity)');
    expect((e as { hint?: string }).hint).toContain('labgrid-client -x 127.0.0.1:42408 -p pl1 release');
  });

  it('any other failure is E_LABGRID with labgrid-client own message', async () => {
    const runner = new RecordingRunner(() => ({ exitCode: 1, stderr: 'labgrid-client: Error: place pattern nosuch matches nothing\nTraceback...' }));
    const e = await acquirePlace({ place: 'nosuch' }, { runner, env: ENV_BOB }).catch((x: unknown) => x);
    expect(isWorkbenchError(e, 'E_LABGRID')).toBe(true);
    expect((e as Error).message).toBe(
      'labgrid place nosuch: labgrid-client acquire failed (exit 1): labgrid-client: Error: place pattern nosuch matches nothing',
    );
  });

  it('a failed release is logged, never thrown', async () => {
    const logs: string[] = [];
    const runner = fakeClient({ release: { exitCode: 1, stderr: 'labgrid-client: Error: place pl1 is not acquired' } });
    const lease = await acquirePlace(CFG, { runner, env: ENV_BOB, log: (m) => logs.push(m) });
    await expect(lease.release()).resolves.toBeUndefined();
    expect(logs.at(-1)).toContain('warning: labgrid place pl1 on coordinator 127.0.0.1:42408: labgrid-client release failed (exit 1)');
  });

  it('without a coordinator in the config, LG_COORDINATOR is used, else labgrid-client chooses', () => {
    expect(clientArgv({ place: 'p' }, ['show'], { LG_COORDINATOR: 'c:1' })).toEqual(['labgrid-client', '-x', 'c:1', '-p', 'p', 'show']);
    expect(clientArgv({ place: 'p' }, ['show'], {})).toEqual(['labgrid-client', '-p', 'p', 'show']);
  });

  it('the identity follows labgrid: LG_HOSTNAME/LG_USERNAME, else host name and LOGNAME/USER', () => {
    expect(labgridIdentity({ LG_HOSTNAME: 'h', LG_USERNAME: 'u', USER: 'x' })).toBe('h/u');
    expect(labgridIdentity({ LG_HOSTNAME: 'h', LOGNAME: 'l', USER: 'x' })).toBe('h/l');
  });
});

describe('holding a labgrid board (provider seam)', () => {
  function boardFiles(toml: string) {
    const d = mkdtempSync(join(tmpdir(), 'wb-lg-'));
    writeFileSync(join(d, 'boards.toml'), toml);
    return { user: join(d, 'boards.toml'), project: join(d, 'none.toml') };
  }
  const providers = builtinProviders();

  it('a boards.toml entry may name a place and leave the host to its NetworkService', async () => {
    const f = boardFiles('[board.rock5b]\nidentity = "/k/id"\n[board.rock5b.labgrid]\nplace = "pl1"\ncoordinator = "127.0.0.1:42408"\n');
    const board = providers.getBoard('rock5b', f);
    expect(board.labgrid).toEqual({ ...CFG, identity: '/k/id' });
    expect(board.ssh).toBeUndefined();
    const runner = fakeClient();
    const seen = await withHeldBoard(providers, board, { runner, env: ENV_BOB }, async (held) => {
      expect(held.lease?.held).toBe(true);
      return held.board.ssh;
    });
    expect(seen).toEqual({ host: '127.0.0.1', port: 42222, user: 'root', identity: '/k/id' });
    expect(runner.calls.map((c) => c.argv.at(-1))).toEqual(['acquire', 'show', 'release']);
  });

  it('releases when the held section throws', async () => {
    const f = boardFiles('[board.b]\nhost = "10.0.0.5"\n[board.b.labgrid]\nplace = "pl1"\n');
    const runner = fakeClient();
    await expect(
      withHeldBoard(providers, providers.getBoard('b', f), { runner, env: ENV_BOB }, async () => {
        throw new Error('deploy failed');
      }),
    ).rejects.toThrow('deploy failed');
    expect(runner.calls.map((c) => c.argv.at(-1))).toEqual(['acquire', 'show', 'release']);
  });

  it('a place without a NetworkService keeps the entry host; with neither it is E_CONFIG and the place is released', async () => {
    const noNs = SHOW_HELD.split('Acquired resource')[0]!;
    const f = boardFiles('[board.b]\nhost = "10.0.0.5"\nport = 2222\n[board.b.labgrid]\nplace = "pl1"\n[board.c.labgrid]\nplace = "pl2"\n');
    const held = await providers.hold(providers.getBoard('b', f), { runner: fakeClient({ show: noNs }), env: ENV_BOB });
    expect(held.board.ssh).toEqual({ host: '10.0.0.5', port: 2222, user: 'root' });
    await held.release();
    const runner = fakeClient({ show: noNs });
    const e = await providers.hold(providers.getBoard('c', f), { runner, env: ENV_BOB }).catch((x: unknown) => x);
    expect(isWorkbenchError(e, 'E_CONFIG')).toBe(true);
    expect(runner.calls.map((c) => c.argv.at(-1))).toEqual(['acquire', 'show', 'release']);
  });

  it('boards without a place are not held (no labgrid-client call)', async () => {
    const runner = new RecordingRunner();
    const held = await providers.hold(providers.getBoard('vboard', boardFiles('')), { runner });
    await held.release();
    expect(runner.calls).toEqual([]);
  });

  it('an entry with neither host nor labgrid place, or a bad coordinator, is refused by the schema', () => {
    expect(() => providers.getBoard('x', boardFiles('[board.x]\nport = 22\n'))).toThrow(/board\.x\.host.*labgrid/s);
    expect(() => providers.getBoard('x', boardFiles('[board.x.labgrid]\nplace = "p"\ncoordinator = "nohostport"\n'))).toThrow(/HOST:PORT/);
  });
});
