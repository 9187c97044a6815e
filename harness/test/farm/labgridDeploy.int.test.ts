/**
 * `workbench deploy` on a board behind a labgrid place, all real: Debian
 * sid's labgrid 26 (coordinator, exporter, client in the labgrid chroot the
 * workbench builds, farm/labgridChroot.ts) on 127.0.0.1, and a private
 * vboard (its own WORKBENCH_STATE_DIR, so the shared one is never touched)
 * whose SSH port is the place's NetworkService. The boards.toml entry (in a
 * private WORKBENCH_CONFIG_DIR) names only the place: the workbench takes
 * address, port and user from labgrid once it has acquired the place.
 *
 * What is shown, with labgrid's own output as the expected values:
 * - while the real `workbench deploy --board lgvboard` runs (held at the
 *   start of its upload phase by the WORKBENCH_DEPLOY_PAUSE test hook),
 *   `labgrid-client show` from a second client says the place is acquired by
 *   the workbench's labgrid identity, and a second user's acquire is refused
 *   by labgrid ("Place ... is already acquired by ...", exit 1);
 * - the deploy succeeds: the vboard's updates/visl.ko is the deployed file
 *   and visl is live;
 * - afterwards `show` says `acquired: None` and the second user can acquire;
 * - a deploy that fails (a module whose vermagic names another kernel) also
 *   releases the place, and so does a deploy stopped by Ctrl-C (SIGINT while
 *   it holds the place: it stops at its next phase, rolls back, releases).
 *
 * Cost: a private TCG vboard boot, the labgrid daemons and three deploys
 * (79-98 s per run on this loaded 2-core host with warm caches: the labgrid chroot,
 * the vboard image and its visl.ko are the ones labgrid.int, farm.int and
 * deploy.int use). WORKBENCH_LABGRID_DEPLOY_INT=0 skips it.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { ExecaRunner, type RunResult } from '../../src/core/runner.ts';
import type { SshTarget } from '../../src/target/ssh.ts';
import { vboardPaths } from '../../src/vboard/state.ts';
import { vboardConnection, vboardDown, vboardTarget, vboardUp } from '../../src/vboard/vboard.ts';
import { artifact, loadableVariant, vislBuild } from '../deploy/testModules.ts';
import { runWorkbench as cli, startLabgridLab, type LabgridLab } from './labgridLab.ts';

/** On by default (about 90 s with warm caches); WORKBENCH_LABGRID_DEPLOY_INT=0 skips it. */
const ENABLED = process.env.WORKBENCH_LABGRID_DEPLOY_INT !== '0';
const log = (m: string) => process.stderr.write(`[labgridDeploy.int] ${m}\n`);
const host = hostname();
const PLACE = 'wbvplace';
const BOB = { LG_USERNAME: 'wb-bob' };
/** The labgrid identity the workbench CLI runs under. */
const CAROL = 'wb-carol';

const saved = { state: process.env.WORKBENCH_STATE_DIR };
let dir: string;
let lab: LabgridLab;
let coordinator: string;
let vboardPort: number;
let cliEnv: NodeJS.ProcessEnv;
let visl: string;

/** The real labgrid-client (in the chroot) as `env`'s user on the test's coordinator. */
const lg = (args: string[], env: Record<string, string>) => lab.lg(args, env);
/** labgrid's own `acquired: ...` line of `show`, read by the second user. */
const acquiredLine = () => lab.acquiredLine(BOB);

/** The private vboard up (a loaded host's first TCG handshake may miss vboardUp's timeout: then our own connection, which waits longer). */
async function boardUp(): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await vboardUp({ runner: new ExecaRunner(), log });
      return;
    } catch (e) {
      if (i >= 2 || !(isWorkbenchError(e, 'E_VBOARD_BOOT') || isWorkbenchError(e, 'E_VBOARD_UNRESPONSIVE'))) throw e;
      log(`vboard: ${(e as Error).message.split('\n')[0]}; trying our own connection`);
      const t = await vboardTarget();
      try {
        await t.exec(['true'], { timeoutMs: 120_000 });
        return;
      } catch (e2) {
        log(`still unreachable: ${(e2 as Error).message.split('\n')[0]}`);
      } finally {
        await t.close();
      }
    }
  }
}

/**
 * A copy of `ko` whose vermagic names another kernel release (the first
 * character of the release in .modinfo changed, same length): the deploy's
 * preflight refuses it on the board, inside the held section.
 */
function wrongVermagic(ko: string): string {
  const buf = Buffer.from(readFileSync(ko));
  const at = buf.indexOf('vermagic=') + 'vermagic='.length;
  if (at < 'vermagic='.length) throw new Error(`${ko}: no vermagic`);
  buf[at] = buf[at] === 0x39 ? 0x38 : 0x39; // '9', or '8' when it is 9 already
  const out = join(mkdtempSync(join(dir, 'ko-')), 'visl.ko');
  writeFileSync(out, buf);
  return out;
}

beforeAll(async () => {
  if (!ENABLED) return;
  const t0 = Date.now();
  dir = mkdtempSync(join(tmpdir(), 'wb-lgdeploy-'));
  process.env.WORKBENCH_STATE_DIR = join(dir, 'state');
  visl = (await vislBuild()).visl;
  await boardUp();
  vboardPort = vboardConnection().port;
  log(`private vboard up on 127.0.0.1:${vboardPort} (${Date.now() - t0} ms)`);

  // labgrid: the place's NetworkService is the private vboard's SSH port
  lab = await startLabgridLab({
    dir,
    exporter: 'wbvexp',
    group: 'wbvgroup',
    place: PLACE,
    networkService: { address: '127.0.0.1', username: 'root', port: vboardPort },
    admin: BOB,
    log,
  });
  coordinator = lab.coordinator;

  // the workbench's private config: a boards.toml entry naming only the place (no host/port/user), the
  // vboard's key, and its host key recorded under the alias `vboard` in the workbench's known_hosts (strict check)
  const cfg = join(dir, 'config');
  mkdirSync(cfg);
  copyFileSync(vboardPaths().knownHosts, join(cfg, 'known_hosts'));
  writeFileSync(
    join(cfg, 'boards.toml'),
    `[board.lgvboard]\narch = "amd64"\ndriver = "visl"\nidentity = "${vboardPaths().identity}"\nhost_key_alias = "vboard"\n` +
      `[board.lgvboard.labgrid]\nplace = "${PLACE}"\ncoordinator = "${coordinator}"\n`,
  );
  // labgrid-client on the CLI's PATH: the chroot's, with the LG_* variables the workbench passes
  cliEnv = {
    ...process.env,
    PATH: `${lab.clientBin()}:${process.env.PATH}`,
    WORKBENCH_STATE_DIR: join(dir, 'state'),
    WORKBENCH_CONFIG_DIR: cfg,
    LG_USERNAME: CAROL,
    LG_HOSTNAME: host,
  };
  log(`coordinator ${coordinator}, place ${PLACE} -> NetworkService 127.0.0.1:${vboardPort} (setup ${Date.now() - t0} ms)`);
});

afterAll(async () => {
  if (!ENABLED) return;
  await lab?.stop();
  await vboardDown({ log }).catch((e: unknown) => log(`vboard down: ${(e as Error).message}`));
  if (saved.state === undefined) delete process.env.WORKBENCH_STATE_DIR;
  else process.env.WORKBENCH_STATE_DIR = saved.state;
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function onBoard<T>(fn: (t: SshTarget) => Promise<T>): Promise<T> {
  const t = await vboardTarget();
  try {
    return await fn(t);
  } finally {
    await t.close();
  }
}

describe.runIf(ENABLED)('workbench deploy on a labgrid place whose NetworkService is a real vboard (real labgrid 26)', () => {
  it('the place is acquired by the workbench while the deploy runs, a second user is refused, the module is live, the place is released', async () => {
    expect(await acquiredLine()).toBe('acquired: None');
    const variant = loadableVariant(visl, 'L');
    const want = artifact(variant).sha256;
    /** What the second client saw while the deploy was paused at its upload phase. */
    let during: { show: string; acquire: RunResult; released: boolean; ms: number } | undefined;
    let probing: Promise<void> | undefined;
    const t0 = Date.now();
    let latest = '';
    const r = await cli(['deploy', '--board', 'lgvboard', '--modules', variant], { ...cliEnv, WORKBENCH_DEPLOY_PAUSE: 'upload:20000' }, (text) => {
      latest = text;
      if (probing || !text.includes('[deploy] phase upload')) return;
      probing = (async () => {
        const p0 = Date.now();
        const show = await acquiredLine();
        const acquire = await lg(['-p', PLACE, 'acquire'], BOB);
        // read when both probes are done: the deploy had not released the place by then
        during = { show, acquire, released: latest.includes(`${PLACE} on coordinator ${coordinator} released`), ms: Date.now() - p0 };
      })();
    });
    await probing;
    for (const l of r.stderr.split('\n').filter((x) => x.includes('labgrid place'))) log(`workbench: ${l}`);
    log(`deploy exit ${r.code} in ${Date.now() - t0} ms: ${r.stdout.trim().split('\n')[0]}`);
    log(
      `second client during the deploy (probes took ${during?.ms} ms of the 20 s upload pause): ${during?.show}; acquire exit ${during?.acquire.exitCode}: ${during?.acquire.stderr.split('\n').find((l) => l.includes('already acquired'))}`,
    );
    expect(r.stderr).toContain(`[deploy] labgrid place ${PLACE} on coordinator ${coordinator} acquired as ${host}/${CAROL}`);
    expect(during).toBeDefined();
    expect(during!.show).toBe(`acquired: ${host}/${CAROL}`);
    expect(during!.acquire.exitCode).toBe(1);
    expect(during!.acquire.stderr).toContain(`Place ${PLACE} is already acquired by ${host}/${CAROL}`);
    expect(during!.released).toBe(false);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^deployed \S+ to lgvboard \(/m);
    expect(r.stderr).toContain(`[deploy] labgrid place ${PLACE} on coordinator ${coordinator} released`);
    // the module is live on the vboard, and it is the deployed file
    const onVboard = await onBoard(async (t) => {
      const release = await t.kernelRelease();
      const sha = (await t.exec(['sha256sum', `/lib/modules/${release}/updates/visl.ko`])).stdout.split(/\s+/)[0];
      const state = (await t.exec(['cat', '/sys/module/visl/initstate'])).stdout.trim();
      return { sha, state };
    });
    expect(onVboard).toEqual({ sha: want, state: 'live' });
    // released: labgrid says so, and the other user can acquire now
    expect(await acquiredLine()).toBe('acquired: None');
    const after = await lg(['-p', PLACE, 'acquire'], BOB);
    expect(after.exitCode).toBe(0);
    expect(await acquiredLine()).toBe(`acquired: ${host}/wb-bob`);
    expect((await lg(['-p', PLACE, 'release'], BOB)).exitCode).toBe(0);
  });

  it('a deploy refused on the board (vermagic of another kernel) releases the place too', async () => {
    const bad = wrongVermagic(visl);
    const r = await cli(['deploy', '--board', 'lgvboard', '--modules', bad], cliEnv);
    for (const l of r.stderr.split('\n').filter((x) => x.includes('labgrid place'))) log(`workbench: ${l}`);
    log(`failing deploy exit ${r.code}: ${r.stderr.split('\n').find((l) => l.includes('was built for kernel'))}`);
    expect(r.stderr).toContain(`labgrid place ${PLACE} on coordinator ${coordinator} acquired as ${host}/${CAROL}`);
    expect(r.stderr).toMatch(/visl was built for kernel \S+ but board lgvboard runs \S+/);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`labgrid place ${PLACE} on coordinator ${coordinator} released`);
    expect(await acquiredLine()).toBe('acquired: None');
    const after = await lg(['-p', PLACE, 'acquire'], BOB);
    expect(after.exitCode).toBe(0);
    expect((await lg(['-p', PLACE, 'release'], BOB)).exitCode).toBe(0);
  });

  it('Ctrl-C during the deploy: it stops at the next safe point, rolls back, and releases the place', async () => {
    const before = await onBoard(async (t) => (await t.exec(['sha256sum', `/lib/modules/${await t.kernelRelease()}/updates/visl.ko`])).stdout.split(/\s+/)[0]);
    let sent = false;
    let heldWhenSent = '';
    const r = await cli(
      ['deploy', '--board', 'lgvboard', '--modules', loadableVariant(visl, 'C')],
      { ...cliEnv, WORKBENCH_DEPLOY_PAUSE: 'upload:8000' },
      (text, child) => {
        if (sent || !text.includes('[deploy] phase upload')) return;
        sent = true;
        void acquiredLine().then((l) => {
          heldWhenSent = l;
          child.kill('SIGINT');
        });
      },
    );
    for (const l of r.stderr.split('\n').filter((x) => /labgrid place|interrupted|rolled back|E_ABORTED/.test(x))) log(`workbench: ${l}`);
    log(`deploy after SIGINT: exit ${r.code} ${r.signal ?? ''}`);
    expect(sent).toBe(true);
    expect(heldWhenSent).toBe(`acquired: ${host}/${CAROL}`);
    expect(r.stderr).toContain('[deploy] interrupted: stopping at the next safe point and rolling back');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`[deploy] labgrid place ${PLACE} on coordinator ${coordinator} released`);
    expect(await acquiredLine()).toBe('acquired: None');
    // nothing of the interrupted deploy stayed on the board
    const after = await onBoard(async (t) => ({
      sha: (await t.exec(['sha256sum', `/lib/modules/${await t.kernelRelease()}/updates/visl.ko`])).stdout.split(/\s+/)[0],
      state: (await t.exec(['cat', '/sys/module/visl/initstate'])).stdout.trim(),
    }));
    expect(after).toEqual({ sha: before, state: 'live' });
  });
});
