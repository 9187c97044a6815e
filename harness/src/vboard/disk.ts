import { existsSync, readFileSync } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheRoot } from '../core/paths.ts';
import { writeFileAtomic } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import type { Runner } from '../core/runner.ts';
import { forgetHost, recordHostKey } from '../target/knownHosts.ts';
import { paths, VBOARD_NAME } from './connection.ts';
import type { VboardImage } from './image.ts';
import { readJson, type DiskState } from './state.ts';

/** The vboard's SSH client key and its writable guest disk (with the host key that goes with it). */

/** Which board's state files and host-key alias (default: the vboard's). */
export interface DiskBoard {
  p: Pick<ReturnType<typeof paths>, 'identity' | 'knownHosts' | 'diskFile' | 'disk'>;
  /** Host-key alias in the board's known_hosts. */
  name: string;
}

const vboardDisk = (): DiskBoard => ({ p: paths(), name: VBOARD_NAME });

/** Generates the board's SSH client key once (ed25519, no passphrase, 0600). */
export async function ensureIdentity(runner: Runner, b: DiskBoard = vboardDisk()): Promise<string> {
  const p = b.p;
  if (!existsSync(p.identity) || !existsSync(`${p.identity}.pub`)) {
    await rm(p.identity, { force: true });
    await rm(`${p.identity}.pub`, { force: true });
    await runner.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `workbench-${b.name}`, '-f', p.identity]);
  }
  return (await readFile(`${p.identity}.pub`, 'utf8')).trim();
}

/**
 * Makes sure the guest disk is a copy of `img`: copies it (sparse) when
 * absent, made from another image, or `fresh`. A new disk means a new host
 * key: the old known_hosts entry for `vboard` is forgotten on purpose and the
 * image's key (read from the image we built, not from the network) recorded.
 * If the disk is kept, the recorded key is only (re)written when none exists;
 * a different recorded key makes SSH refuse (E_HOSTKEY_CHANGED).
 */
export async function ensureDisk(
  runner: Runner,
  img: Pick<VboardImage, 'dir' | 'key' | 'disk' | 'hostKey'>,
  fresh: boolean,
  log?: (s: string) => void,
  b: DiskBoard = vboardDisk(),
): Promise<void> {
  const p = b.p;
  const kh = p.knownHosts;
  const d = readJson<DiskState>(p.diskFile);
  const [type, b64] = img.hostKey.split(' ');
  if (!type || !b64)
    throw new WorkbenchError('E_VBOARD_IMAGE', `image ${img.dir} has no host key recorded`, {
      hint: 'rebuild it: `workbench vboard down`, then `workbench vboard up --rebuild`',
    });
  if (fresh || !d || d.imageKey !== img.key || !existsSync(p.disk)) {
    log?.(fresh ? 'resetting the guest disk from the image' : 'creating the guest disk from the image');
    const tmp = `${p.disk}.tmp-${process.pid}`;
    await runner.run(['cp', '--sparse=always', img.disk, tmp]);
    await rename(tmp, p.disk);
    await writeFileAtomic(p.diskFile, JSON.stringify({ imageKey: img.key, createdAt: new Date().toISOString() } satisfies DiskState, null, 2));
    forgetHost(kh, b.name);
    recordHostKey(kh, b.name, type, b64);
    return;
  }
  if (!hasEntry(kh, b.name)) recordHostKey(kh, b.name, type, b64);
}

function hasEntry(kh: string, name: string = VBOARD_NAME): boolean {
  return (
    existsSync(kh) &&
    readFileSync(kh, 'utf8')
      .split('\n')
      .some((l) => l.split(/\s+/)[0]?.split(',').includes(name))
  );
}

/**
 * When this board's known_hosts has no `vboard` entry (deleted by hand, or a
 * board started before the file moved to the state directory), records the
 * host key of the image its disk was made from: read from our own image build
 * in the cache, never from the network. A recorded entry is never changed.
 */
export function ensureRecordedHostKey(): void {
  const p = paths();
  if (hasEntry(p.knownHosts)) return;
  const d = readJson<DiskState>(p.diskFile);
  if (!d) return;
  const pub = join(cacheRoot(), 'vboard-image', d.imageKey, 'ssh_host_ed25519_key.pub');
  if (!existsSync(pub)) return;
  const [type, b64] = readFileSync(pub, 'utf8').trim().split(/\s+/);
  if (type && b64) recordHostKey(p.knownHosts, VBOARD_NAME, type, b64);
}
