import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleCapture } from '../../src/target/console.ts';
import { vboardBoard } from '../../src/target/providers/vboard.ts';
import { SshTarget } from '../../src/target/ssh.ts';
import { testSshOptions } from './fixture.ts';

/**
 * The vboard's serial console (QEMU serial port -> serial log, followed
 * under node-pty): a kernel message of error level reaches it, as it would
 * when the kernel dies and SSH with it.
 */
let t: SshTarget;
beforeAll(async () => {
  t = new SshTarget(await testSshOptions());
});
afterAll(async () => {
  await t?.close();
});

describe('vboard console capture', () => {
  it('captures kernel messages printed on the serial console', async () => {
    const c = ConsoleCapture.start(vboardBoard());
    try {
      await new Promise((r) => setTimeout(r, 500)); // tail is following
      const id = randomBytes(4).toString('hex');
      // Level 3 (err) passes the guest's quiet console loglevel.
      await t.exec(['sh', '-c', 'printf "<3>wb-console-test: %s\\n" "$1" > /dev/kmsg', 'x', id]);
      const m = await c.waitFor(new RegExp(`wb-console-test: ${id}`), 20_000);
      expect(m[0]).toContain(id);
    } finally {
      await c.stop();
    }
  });
});
