import { mkdtempSync, copyFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SshTarget, type SshOptions } from '../../src/target/ssh.ts';
import { vboardConnection, vboardUp } from '../../src/vboard/vboard.ts';
import { ExecaRunner } from '../../src/core/runner.ts';

/**
 * SSH options of the board the integration tests run on: the real vboard
 * (booted when needed). `WB_TEST_SSH=host:port:user:identity[:knownHosts]`
 * points them at another sshd instead (development only).
 */
export async function testSshOptions(name = 'vboard'): Promise<SshOptions> {
  const env = process.env.WB_TEST_SSH;
  if (env) {
    const [host, port, user, identityFile, knownHostsFile] = env.split(':');
    const kh = knownHostsFile ?? join(mkdtempSync(join(tmpdir(), 'wb-kh-')), 'known_hosts');
    return {
      name,
      host: host!,
      port: Number(port),
      user: user!,
      identityFile: identityFile!,
      knownHostsFile: kh,
      trust: 'tofu',
      hostKeyAlias: 'wb-test-board',
    };
  }
  await vboardUp({ runner: new ExecaRunner(), log: (m) => process.stderr.write(`[vboard] ${m}\n`) });
  const c = vboardConnection();
  return { name, host: c.host, port: c.port, user: c.user, identityFile: c.identityFile, knownHostsFile: c.knownHostsFile, hostKeyAlias: c.hostKeyAlias };
}

/** A fresh SshTarget on the test board. */
export async function testTarget(extra: Partial<SshOptions> = {}): Promise<SshTarget> {
  return new SshTarget({ ...(await testSshOptions()), ...extra });
}

/** A private copy of the test board's known_hosts (tests that tamper with host keys use it). */
export function privateKnownHosts(from: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'wb-kh-'));
  const to = join(dir, 'known_hosts');
  if (existsSync(from)) copyFileSync(from, to);
  return to;
}
