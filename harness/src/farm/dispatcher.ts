import { mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import { writeFileAtomic } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';

/**
 * The dispatcher side of a LAVA worker that boots boards over TFTP with an
 * NFS root, set up in the farm chroot the way lava-dispatcher's Debian
 * package expects it (lava-dispatcher 2026.10-1 in Debian sid):
 *
 * - TFTP: lava-dispatcher finds its TFTP directory in
 *   `/etc/default/tftpd-hpa`, `TFTP_DIRECTORY`
 *   (lava_dispatcher/utils/filesystem.py `tftpd_dir()`; without the file:
 *   InfrastructureError "Unable to identify tftpd directory"), and a
 *   `deploy: to: tftp` job is only valid when its per-job folder lies under
 *   it (actions/deploy/tftp.py: "tftpd directory is not configured
 *   correctly, see /etc/default/tftpd-hpa"). Debian's tftpd-hpa package no
 *   longer installs that file; lava-dispatcher ships the one it wants as
 *   `/usr/share/lava-dispatcher/tftpd-hpa` (TFTP_DIRECTORY
 *   /var/lib/lava/dispatcher/tmp/). The workbench installs exactly that
 *   file as `/etc/default/tftpd-hpa`.
 * - NFS: the NFS root a job deploys is unpacked under that same folder and
 *   the board mounts it from the dispatcher; lava-dispatcher ships the
 *   export as the conffile `/etc/exports.d/lava-dispatcher-nfs.exports`
 *   (`/var/lib/lava/dispatcher/tmp *(rw,no_root_squash,...)`). The
 *   workbench checks that an export in /etc/exports or /etc/exports.d/
 *   covers the TFTP directory.
 *
 * No daemon is started: `lava-run --validate` reads the configuration and
 * creates the per-job folders, it does not serve them. A worker that boots
 * real boards also runs tftpd-hpa and nfs-kernel-server with this
 * configuration (their Debian services).
 *
 * Done once in the cached chroot and checked again (a few file reads) each
 * time the chroot is used: a file that already holds the wanted text is
 * not rewritten.
 */

/** The tftpd-hpa defaults lava-dispatcher ships (its Debian package). */
export const LAVA_TFTPD_TEMPLATE = '/usr/share/lava-dispatcher/tftpd-hpa';
/** Where tftpd-hpa and lava-dispatcher read them. */
export const TFTPD_DEFAULTS = '/etc/default/tftpd-hpa';
/** lava-dispatcher's NFS export (a conffile of its Debian package). */
export const LAVA_NFS_EXPORTS = '/etc/exports.d/lava-dispatcher-nfs.exports';
/** lava-dispatcher's per-job folder root (lava_common.constants DISPATCHER_DOWNLOAD_DIR's parent, /var/lib/lava/dispatcher/tmp). */
export const DISPATCHER_TMP = '/var/lib/lava/dispatcher/tmp';

/** The dispatcher configuration found (or installed) in the chroot; paths are inside the chroot. */
export interface DispatcherConfig {
  /** TFTP_DIRECTORY of /etc/default/tftpd-hpa, without a trailing slash, e.g. `/var/lib/lava/dispatcher/tmp`. */
  tftpDirectory: string;
  /** The export covering it: the exports file and the exported path. */
  nfsExport: { file: string; path: string; options: string };
  /** True when this call wrote /etc/default/tftpd-hpa (false: it already held LAVA's text). */
  installed: boolean;
}

/** `TFTP_DIRECTORY` of a tftpd-hpa defaults text (`KEY="VALUE"` lines), without a trailing slash; undefined when absent or empty. */
export function tftpDirectoryOf(text: string): string | undefined {
  const m = /^[ \t]*TFTP_DIRECTORY[ \t]*=[ \t]*("([^"\n]*)"|'([^'\n]*)'|(\S*))[ \t]*$/m.exec(text);
  const v = (m?.[2] ?? m?.[3] ?? m?.[4] ?? '').trim();
  if (!v) return undefined;
  const n = posix.normalize(v);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/** The entries of an exports(5) text: exported path and the rest of the line (clients and options); comments and blank lines skipped. */
export function exportsOf(text: string): { path: string; options: string }[] {
  const out: { path: string; options: string }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const m = /^("([^"]+)"|(\S+))\s*(.*)$/.exec(line);
    if (!m) continue;
    const p = posix.normalize(m[2] ?? m[3] ?? '');
    out.push({ path: p.length > 1 ? p.replace(/\/+$/, '') : p, options: m[4] ?? '' });
  }
  return out;
}

/** True when `dir` is `root` or below it (absolute POSIX paths, normalized). */
function under(dir: string, root: string): boolean {
  return root === '/' || dir === root || dir.startsWith(root + '/');
}

/**
 * Installs lava-dispatcher's tftpd-hpa defaults as /etc/default/tftpd-hpa
 * in the farm chroot (when it does not hold them already) and checks that
 * lava-dispatcher's NFS export covers the TFTP directory.
 *
 * @param chroot the farm chroot (farm/chroot.ts; only its `hostPath` is used: files are read and written from the host).
 * @returns what was found, with the chroot's paths.
 * @throws WorkbenchError E_LAVA_DISPATCHER naming the file and field: LAVA's
 *   template missing or without TFTP_DIRECTORY (a lava-dispatcher that
 *   changed its packaging: rebuild the chroot with `--force`, or update
 *   this module), or no export in /etc/exports(.d) covering the TFTP
 *   directory.
 */
export async function ensureDispatcherConfig(chroot: { hostPath(inside: string): string }): Promise<DispatcherConfig> {
  const template = await readFile(chroot.hostPath(LAVA_TFTPD_TEMPLATE), 'utf8').catch(() => undefined);
  if (template === undefined)
    throw new WorkbenchError('E_LAVA_DISPATCHER', `the LAVA chroot has no ${LAVA_TFTPD_TEMPLATE} (lava-dispatcher's tftpd-hpa defaults)`, {
      hint: 'the lava-dispatcher package changed its files: rebuild the chroot (remove <cache>/farm-chroot/) or update harness/src/farm/dispatcher.ts',
    });
  const tftpDirectory = tftpDirectoryOf(template);
  if (!tftpDirectory || !tftpDirectory.startsWith('/'))
    throw new WorkbenchError('E_LAVA_DISPATCHER', `${LAVA_TFTPD_TEMPLATE} in the LAVA chroot names no absolute TFTP_DIRECTORY`, {
      hint: 'update harness/src/farm/dispatcher.ts to the new lava-dispatcher packaging',
    });
  const target = chroot.hostPath(TFTPD_DEFAULTS);
  const current = await readFile(target, 'utf8').catch(() => undefined);
  const installed = current !== template;
  if (installed) {
    await mkdir(dirname(target), { recursive: true });
    await writeFileAtomic(target, template);
  }

  const files = [
    '/etc/exports',
    ...(await readdir(chroot.hostPath('/etc/exports.d')).catch(() => [] as string[]))
      .filter((f) => f.endsWith('.exports'))
      .sort()
      .map((f) => `/etc/exports.d/${f}`),
  ];
  for (const file of files) {
    const text = await readFile(chroot.hostPath(file), 'utf8').catch(() => '');
    const e = exportsOf(text).find((x) => under(tftpDirectory, x.path));
    if (e) return { tftpDirectory, nfsExport: { file, ...e }, installed };
  }
  throw new WorkbenchError('E_LAVA_DISPATCHER', `no NFS export in the LAVA chroot's ${files.join(', ')} covers the TFTP directory ${tftpDirectory}`, {
    hint: `lava-dispatcher ships ${LAVA_NFS_EXPORTS} exporting ${DISPATCHER_TMP}: rebuild the chroot (remove <cache>/farm-chroot/)`,
  });
}
