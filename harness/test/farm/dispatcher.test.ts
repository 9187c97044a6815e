import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { ensureDispatcherConfig, exportsOf, tftpDirectoryOf } from '../../src/farm/dispatcher.ts';
import { lavaErrorItems, problemHint } from '../../src/farm/validate.ts';

/**
 * The dispatcher configuration and LAVA's validation errors, on texts LAVA
 * itself produced: the two files lava-dispatcher 2026.10-1 ships in Debian
 * sid (/usr/share/lava-dispatcher/tftpd-hpa and
 * /etc/exports.d/lava-dispatcher-nfs.exports, copied verbatim) and the error
 * `lava-run --validate` printed for a farm-rk3588 job whose dtb was not
 * served (2026-12-03). The real chroot and lava-run: farm.int.test.ts.
 */
const LAVA_TFTPD =
  '# /etc/default/tftpd-hpa\n\nTFTP_USERNAME="tftp"\nTFTP_DIRECTORY="/var/lib/lava/dispatcher/tmp/"\nTFTP_ADDRESS="0.0.0.0:69"\nTFTP_OPTIONS="--secure"\n';
const LAVA_EXPORTS =
  '# /etc/exports: the access control list for filesystems which may be exported\n#\t\tto NFS clients.  See exports(5).\n#\n# Example for NFSv2 and NFSv3:\n# /srv/homes       hostname1(rw,sync,no_subtree_check) hostname2(ro,sync,no_subtree_check)\n#\n# Example for NFSv4:\n# /srv/nfs4        gss/krb5i(rw,sync,fsid=0,crossmnt,no_subtree_check)\n# /srv/nfs4/homes  gss/krb5i(rw,sync,no_subtree_check)\n#\n\n/var/lib/lava/dispatcher/tmp *(rw,no_root_squash,no_all_squash,async,no_subtree_check)\n';
const LAVA_404 = `Invalid job data: ["Resource unavailable at 'http://127.0.0.1:42887/farm/rk3588-rock-5b.dtb' (404)"]\n`;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fake chroot root with the files given (inside path -> text). */
function root(files: Record<string, string>): { dir: string; hostPath: (p: string) => string } {
  const dir = mkdtempSync(join(tmpdir(), 'wb-dispatcher-'));
  dirs.push(dir);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return { dir, hostPath: (p: string) => join(dir, p) };
}

describe('dispatcher configuration', () => {
  it("reads TFTP_DIRECTORY and the exports of lava-dispatcher's own files", () => {
    expect(tftpDirectoryOf(LAVA_TFTPD)).toBe('/var/lib/lava/dispatcher/tmp');
    expect(tftpDirectoryOf('TFTP_USERNAME="tftp"\n')).toBeUndefined();
    expect(tftpDirectoryOf('TFTP_DIRECTORY=""\n')).toBeUndefined();
    expect(exportsOf(LAVA_EXPORTS)).toEqual([{ path: '/var/lib/lava/dispatcher/tmp', options: '*(rw,no_root_squash,no_all_squash,async,no_subtree_check)' }]);
  });

  it("installs LAVA's tftpd-hpa defaults over an empty file, then leaves them alone", async () => {
    const r = root({
      '/usr/share/lava-dispatcher/tftpd-hpa': LAVA_TFTPD,
      '/etc/default/tftpd-hpa': '',
      '/etc/exports': '',
      '/etc/exports.d/lava-dispatcher-nfs.exports': LAVA_EXPORTS,
    });
    const first = await ensureDispatcherConfig(r);
    expect(first).toEqual({
      tftpDirectory: '/var/lib/lava/dispatcher/tmp',
      nfsExport: {
        file: '/etc/exports.d/lava-dispatcher-nfs.exports',
        path: '/var/lib/lava/dispatcher/tmp',
        options: '*(rw,no_root_squash,no_all_squash,async,no_subtree_check)',
      },
      installed: true,
    });
    expect(readFileSync(r.hostPath('/etc/default/tftpd-hpa'), 'utf8')).toBe(LAVA_TFTPD);
    expect((await ensureDispatcherConfig(r)).installed).toBe(false);
  });

  it('refuses a chroot whose NFS exports do not cover the TFTP directory, naming the files', async () => {
    const r = root({ '/usr/share/lava-dispatcher/tftpd-hpa': LAVA_TFTPD, '/etc/exports': '/srv/nfs *(ro)\n' });
    const e = await ensureDispatcherConfig(r).catch((x: unknown) => x);
    expect(isWorkbenchError(e, 'E_LAVA_DISPATCHER')).toBe(true);
    expect((e as Error).message).toContain('/etc/exports');
    expect((e as Error).message).toContain('/var/lib/lava/dispatcher/tmp');
  });

  it("refuses a chroot without lava-dispatcher's tftpd-hpa defaults", async () => {
    const e = await ensureDispatcherConfig(root({ '/etc/exports': LAVA_EXPORTS })).catch((x: unknown) => x);
    expect(isWorkbenchError(e, 'E_LAVA_DISPATCHER')).toBe(true);
    expect((e as Error).message).toContain('/usr/share/lava-dispatcher/tftpd-hpa');
  });
});

describe("LAVA's validation errors", () => {
  it("splits LAVA's Invalid job data list and names the missing bundle file", () => {
    const items = lavaErrorItems(LAVA_404);
    expect(items).toEqual(["Resource unavailable at 'http://127.0.0.1:42887/farm/rk3588-rock-5b.dtb' (404)"]);
    const bundle = root({ '/artefacts/farm/Image': 'x' }).dir;
    expect(problemHint(items[0]!, bundle, 'http://127.0.0.1:42887')).toBe(
      `artefacts/farm/rk3588-rock-5b.dtb is missing from the bundle (${join(bundle, 'artefacts/farm/rk3588-rock-5b.dtb')}): write the bundle again with \`workbench lava job\` (the farm root filesystem: --rootfs), or put the file there`,
    );
    expect(problemHint(items[0]!, bundle, 'http://127.0.0.1:1')).toContain('not under the bundle');
    expect(lavaErrorItems('Unable to identify tftpd directory')).toEqual(['Unable to identify tftpd directory']);
  });
});
