import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTarget, type SshOptions } from '../../src/target/ssh.ts';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { recordHostKey, forgetHost } from '../../src/target/knownHosts.ts';
import { privateKnownHosts, testSshOptions } from './fixture.ts';
import { TcpProxy } from './tcpProxy.ts';

/**
 * SshTarget against the real board (the vboard; see fixture.ts). Every test
 * leaves the board as it found it (no stray processes, no files).
 */
let base: SshOptions;
let t: SshTarget;

async function remoteCount(pattern: string): Promise<number> {
  const r = await t.exec([
    'sh',
    '-c',
    'n=0; for f in /proc/[0-9]*/cmdline; do [ "$f" = "/proc/$$/cmdline" ] && continue; tr "\\0" " " < "$f" 2>/dev/null | grep -q -- "$1" && n=$((n+1)); done; echo $n',
    'x',
    pattern,
  ]);
  return Number(r.stdout.trim());
}

beforeAll(async () => {
  base = await testSshOptions();
  t = new SshTarget(base);
  // Trust was established by the fixture (vboard keys are recorded when the image is built).
  await t.exec(['true']);
});
afterAll(async () => {
  await t?.close();
});

describe('SshTarget on the board', () => {
  it('runs argv with nasty arguments exactly (quoting end to end)', async () => {
    const args = ['a b', "it's", '$(id)', '`id`', 'x\ny', '', '*', '--x'];
    const r = await t.exec(['printf', '%s\\0', ...args]);
    const got = r.stdout.split('\0');
    got.pop();
    expect(got).toEqual(args);
    expect(r.remotePid).toBeGreaterThan(1);
  });

  it('reports exit codes, stderr and streams stdout', async () => {
    const chunks: string[] = [];
    const r = await t.exec(['sh', '-c', 'echo out; echo err >&2; exit 7'], { allowFailure: true, onStdout: (s) => chunks.push(s) });
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toBe('err\n');
    expect(chunks.join('')).toBe('out\n');
    await expect(t.exec(['sh', '-c', 'exit 3'])).rejects.toSatisfy((e) => isWorkbenchError(e, 'E_REMOTE_FAILED'));
  });

  it('reuses one connection for many commands, also concurrently beyond MaxSessions', async () => {
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => t.exec(['echo', String(i)])));
    expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 40 }, (_, i) => String(i)));
    expect(t.reconnects).toBe(0);
  });

  it('kills the whole remote process tree of a command that hangs, at its timeout', async () => {
    const tag = `wbhang${randomBytes(4).toString('hex')}`;
    // The command ignores TERM/HUP/INT, starts a child, a grandchild and a setsid'd child, and never ends.
    const script = `trap "" TERM HUP INT; sleep 1000 & sh -c "sleep 1000 & wait" & setsid sleep 1000 & while :; do sleep 1; done`;
    const started = Date.now();
    const err = await t.exec(['sh', '-c', script, tag], { timeoutMs: 1500 }).catch((e) => e);
    expect(isWorkbenchError(err, 'E_REMOTE_TIMEOUT')).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
    // Nothing of it survives: neither the script (its argv holds the tag) nor its sleep children.
    let left = -1;
    for (let i = 0; i < 20; i++) {
      left = await remoteCount(tag);
      if (left === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(left).toBe(0);
    const sleeps = await t.exec(['sh', '-c', 'ps -eo args 2>/dev/null | grep -c "^sleep 1000$" || true']);
    expect(Number(sleeps.stdout.trim())).toBe(0);
  });

  it('abort kills the remote command too', async () => {
    const tag = `wbabort${randomBytes(4).toString('hex')}`;
    const ac = new AbortController();
    const p = t.exec(['sh', '-c', 'sleep 1000; echo never', tag], { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 800));
    ac.abort();
    await expect(p).rejects.toSatisfy((e) => isWorkbenchError(e, 'E_ABORTED'));
    let left = -1;
    for (let i = 0; i < 20 && left !== 0; i++) {
      left = await remoteCount(tag);
      if (left) await new Promise((r) => setTimeout(r, 200));
    }
    expect(left).toBe(0);
  });

  it('uploads and downloads with SHA-256 verification', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-up-'));
    const local = join(dir, 'blob');
    const data = randomBytes(300_000);
    writeFileSync(local, data);
    const remote = `/tmp/wb-upload-${randomBytes(4).toString('hex')}`;
    try {
      const up = await t.upload(local, remote, { mode: 0o640 });
      expect(up.bytes).toBe(data.length);
      expect((await t.exec(['stat', '-c', '%a %s', remote])).stdout.trim()).toBe(`640 ${data.length}`);
      const back = join(dir, 'back');
      const down = await t.download(remote, back);
      expect(down.sha256).toBe(up.sha256);
      expect(readFileSync(back).equals(data)).toBe(true);
      // Compressed transfer: same bytes on the board.
      const upz = await t.upload(local, remote, { compress: true });
      expect(upz.sha256).toBe(up.sha256);
      expect((await t.exec(['sha256sum', remote])).stdout.split(' ')[0]).toBe(up.sha256);
    } finally {
      await t.exec(['rm', '-f', remote]);
    }
  });

  it('reports the kernel release', async () => {
    expect(await t.kernelRelease()).toMatch(/^\d+\.\d+/);
  });
});

describe('SshTarget connection loss and reconnect', () => {
  it('a cut connection fails the running command with E_CONNECTION_LOST, and the next command reconnects', async () => {
    const proxy = new TcpProxy(base.host, base.port);
    const port = await proxy.start();
    const tp = new SshTarget({ ...base, port, keepaliveMs: 1000, keepaliveCountMax: 2, reconnectBudgetMs: 15_000 });
    try {
      expect((await tp.exec(['echo', 'before'])).stdout).toBe('before\n');
      const running = tp.exec(['sleep', '30']).catch((e) => e);
      await new Promise((r) => setTimeout(r, 500));
      proxy.cut(true);
      const err = await running;
      expect(isWorkbenchError(err, 'E_CONNECTION_LOST')).toBe(true);
      // Network comes back after a while: the next command reconnects with backoff.
      setTimeout(() => proxy.restore(), 1500);
      expect((await tp.exec(['echo', 'after'])).stdout).toBe('after\n');
      expect(tp.reconnects).toBe(1);
    } finally {
      await tp.close();
      await proxy.stop();
    }
  });

  it('an unreachable board fails with host:port, the timeout and a hint', async () => {
    const proxy = new TcpProxy(base.host, base.port);
    const port = await proxy.start();
    proxy.cut(true);
    const tp = new SshTarget({ ...base, port, connectTimeoutMs: 2000, reconnectBudgetMs: 3000 });
    try {
      const err = await tp.exec(['true']).catch((e) => e);
      expect(isWorkbenchError(err, 'E_UNREACHABLE')).toBe(true);
      expect(err.message).toContain(`127.0.0.1:${port}`);
      expect(err.message).toMatch(/connect timeout 2000 ms/);
      expect(err.hint).toMatch(/boards check/);
    } finally {
      await tp.close();
      await proxy.stop();
    }
  });
});

describe('host keys', () => {
  it('a changed host key is refused with E_HOSTKEY_CHANGED and nothing runs', async () => {
    const kh = privateKnownHosts(base.knownHostsFile);
    const alias = base.hostKeyAlias ?? `[${base.host}]:${base.port}`;
    forgetHost(kh, alias);
    // Record a different (valid-looking) ed25519 key for the board: as if it were replaced or intercepted.
    const fake = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), randomBytes(32)]);
    recordHostKey(kh, alias, 'ssh-ed25519', fake.toString('base64'));
    const tk = new SshTarget({ ...base, knownHostsFile: kh, trust: 'tofu', reconnectBudgetMs: 2000 });
    try {
      const err = await tk.exec(['touch', '/tmp/wb-must-not-exist']).catch((e) => e);
      expect(isWorkbenchError(err, 'E_HOSTKEY_CHANGED')).toBe(true);
      expect(err.message).toContain(alias);
      expect(err.hint).toMatch(/remove the line/);
      expect((await t.exec(['sh', '-c', 'test -e /tmp/wb-must-not-exist && echo yes || echo no'])).stdout).toBe('no\n');
    } finally {
      await tk.close();
    }
  });

  it('an unknown host key is refused in strict mode and recorded only with trust-on-first-use', async () => {
    const kh = privateKnownHosts(base.knownHostsFile);
    const alias = base.hostKeyAlias ?? `[${base.host}]:${base.port}`;
    forgetHost(kh, alias);
    const strict = new SshTarget({ ...base, knownHostsFile: kh, trust: 'strict', reconnectBudgetMs: 2000 });
    const err = await strict.exec(['true']).catch((e) => e);
    expect(isWorkbenchError(err, 'E_HOSTKEY_UNKNOWN')).toBe(true);
    await strict.close();
    const tofu = new SshTarget({ ...base, knownHostsFile: kh, trust: 'tofu' });
    await tofu.exec(['true']);
    await tofu.close();
    expect(readFileSync(kh, 'utf8')).toContain(alias);
  });
});
