import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecaRunner } from '../../src/core/runner.ts';
import { SshTarget } from '../../src/target/ssh.ts';
import { vboardConnection, vboardDown, vboardStatus, vboardTarget, vboardUp } from '../../src/vboard/vboard.ts';

/** True while `pid` exists and is not a zombie (QEMU daemonizes, so PID 1 reaps it, maybe a moment later). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Boots a real vboard (QEMU + Debian 7.2 + visl) with its own state and
 * config directories, so it never touches the board other people use. The
 * image comes from the normal cache (built here when missing: needs root).
 */
describe('vboard (real QEMU guest)', () => {
  const saved = { state: process.env.WORKBENCH_STATE_DIR, config: process.env.WORKBENCH_CONFIG_DIR };
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wb-vboard-int-'));
    process.env.WORKBENCH_STATE_DIR = join(dir, 'state');
    process.env.WORKBENCH_CONFIG_DIR = join(dir, 'config');
  });

  afterAll(async () => {
    await vboardDown().catch(() => undefined);
    process.env.WORKBENCH_STATE_DIR = saved.state;
    process.env.WORKBENCH_CONFIG_DIR = saved.config;
    if (!saved.state) delete process.env.WORKBENCH_STATE_DIR;
    if (!saved.config) delete process.env.WORKBENCH_CONFIG_DIR;
    rmSync(dir, { recursive: true, force: true }); // our own mkdtemp directory
  });

  it('boots, answers SSH with the recorded host key, runs commands, lists VP9F on visl', async () => {
    expect((await vboardStatus()).state).toBe('stopped');
    const up = await vboardUp({ runner: new ExecaRunner(), log: (s) => process.stderr.write(`[vboard-int] ${s}\n`) });
    expect(up.state).toBe('running');
    const t = await vboardTarget();
    try {
      expect(await t.kernelRelease()).toBe(up.kernelRelease);
      // The recorded key is the key the guest really has.
      const guestKey = (await t.exec(['cat', '/etc/ssh/ssh_host_ed25519_key.pub'])).stdout.trim().split(/\s+/).slice(0, 2).join(' ');
      const recorded = readFileSync(vboardConnection().knownHostsFile, 'utf8')
        .split('\n')
        .filter((l) => l.split(/\s+/)[0] === 'vboard')
        .map((l) => l.split(/\s+/).slice(1, 3).join(' '));
      expect(recorded).toEqual([guestKey]);
      // visl from the out-of-tree build, VP9 frames on its OUTPUT queue.
      await t.exec(['modprobe', 'visl']);
      const name = (await t.exec(['sh', '-c', 'for d in /sys/class/video4linux/video*; do [ "$(cat $d/name)" = visl ] && basename $d; done'])).stdout.trim();
      expect(name).toMatch(/^video\d+$/);
      const fmts = (await t.exec(['v4l2-ctl', '-d', `/dev/${name}`, '--list-formats-out'])).stdout;
      expect(fmts).toContain("'VP9F'");
      expect((await t.exec(['modinfo', '-F', 'filename', 'visl'])).stdout).toContain('/updates/');
      // Room for deploy backups and decoded output.
      const avail = Number((await t.exec(['df', '--output=avail', '-k', '/'])).stdout.trim().split('\n')[1]);
      expect(avail).toBeGreaterThan(1_500_000);
    } finally {
      await t.close();
    }
    expect((await vboardUp({ runner: new ExecaRunner() })).alreadyRunning).toBe(true);
  });

  it('a changed host key is refused (E_HOSTKEY_CHANGED), by the target and by status', async () => {
    const c = vboardConnection();
    const other = join(dir, 'other');
    await new ExecaRunner().run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const otherKey = readFileSync(`${other}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    const fake = join(dir, 'known_hosts.changed');
    writeFileSync(fake, `vboard ${otherKey}\n`);
    const t = new SshTarget({
      name: 'vboard',
      host: c.host,
      port: c.port,
      user: c.user,
      identityFile: c.identityFile,
      knownHostsFile: fake,
      hostKeyAlias: 'vboard',
    });
    await expect(t.exec(['true'])).rejects.toMatchObject({ code: 'E_HOSTKEY_CHANGED' });
    await t.close();
    // Same through the workbench's own known_hosts.
    const real = c.knownHostsFile;
    const saved = readFileSync(real, 'utf8');
    writeFileSync(real, `vboard ${otherKey}\n`);
    try {
      await expect(vboardStatus()).rejects.toMatchObject({ code: 'E_HOSTKEY_CHANGED' });
    } finally {
      writeFileSync(real, saved);
    }
    expect((await vboardStatus()).state).toBe('running');
  });

  it('down powers off cleanly and stops only our QEMU', async () => {
    const before = await vboardStatus();
    const down = await vboardDown();
    expect(down.state).toBe('stopped');
    expect(down.detail).toBe('guest powered off');
    expect(running(before.pid!)).toBe(false);
    expect((await vboardStatus()).state).toBe('stopped');
  });

  it('a dead guest is detected as stale, and up recovers', async () => {
    const up = await vboardUp({ runner: new ExecaRunner() });
    process.kill(up.pid!, 'SIGKILL'); // our own QEMU, started just above
    await new Promise((r) => setTimeout(r, 500));
    const st = await vboardStatus();
    expect(st.state).toBe('stale');
    expect(st.detail).toContain(`QEMU PID ${up.pid} is gone`);
    const again = await vboardUp({ runner: new ExecaRunner() });
    expect(again.state).toBe('running');
    expect(again.pid).not.toBe(up.pid);
    expect((await vboardDown()).state).toBe('stopped');
  });
});
