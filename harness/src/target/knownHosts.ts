import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { writeFileSync, renameSync } from 'node:fs';
import { WorkbenchError } from '../core/errors.ts';
import { configRoot } from '../core/paths.ts';

/** The workbench's own known_hosts (OpenSSH format, usable with `ssh -o UserKnownHostsFile=`). */
export function knownHostsPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configRoot(env), 'known_hosts');
}

/** How an unknown host key is treated. */
export type TrustPolicy = 'strict' | 'tofu';

/** The host pattern OpenSSH uses for host:port (`host` for 22, `[host]:port` else). */
export function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Key type name read from an SSH public key blob (RFC 4253 section 6.6: string type, ...). */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString('ascii');
}

/** SHA256 fingerprint as OpenSSH prints it (`SHA256:base64-without-padding`). */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

interface Entry {
  patterns: string[];
  type: string;
  key: string;
}

function readEntries(file: string): Entry[] {
  if (!existsSync(file)) return [];
  const out: Entry[] = [];
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('@')) continue;
    const [pats, type, key] = line.split(/\s+/);
    if (pats && type && key) out.push({ patterns: pats.split(','), type, key });
  }
  return out;
}

/**
 * Verifies a server's host key against `file`.
 * - known and equal: accepted.
 * - known with a different key of the same type: refused, `E_HOSTKEY_CHANGED`.
 * - unknown: with `tofu`, recorded and accepted; with `strict`, refused,
 *   `E_HOSTKEY_UNKNOWN`.
 *
 * @param name the host pattern (see {@link hostPattern}) or a HostKeyAlias.
 * @param blob the raw public key blob the server sent.
 */
export function verifyHostKey(file: string, name: string, blob: Buffer, policy: TrustPolicy): void {
  const type = keyTypeOfBlob(blob);
  const b64 = blob.toString('base64');
  const mine = readEntries(file).filter((e) => e.patterns.includes(name));
  if (mine.some((e) => e.type === type && e.key === b64)) return;
  const sameType = mine.find((e) => e.type === type);
  if (sameType || mine.length > 0) {
    throw new WorkbenchError(
      'E_HOSTKEY_CHANGED',
      `host key for ${name} has CHANGED: it now presents ${type} ${fingerprint(blob)}, which is not the key recorded in ${file}`,
      {
        hint: `someone may be intercepting the connection, or the board was reinstalled. If you know why it changed, remove the line(s) for ${name} from ${file} and connect again with trust-on-first-use.`,
      },
    );
  }
  if (policy === 'strict') {
    throw new WorkbenchError('E_HOSTKEY_UNKNOWN', `host key for ${name} (${type} ${fingerprint(blob)}) is not in ${file}`, {
      hint: `check the fingerprint on the board (ssh-keygen -lf /etc/ssh/ssh_host_${type.replace('ssh-', '')}_key.pub), then run \`workbench boards check ${name} --trust-new-host-key\``,
    });
  }
  recordHostKey(file, name, type, b64);
}

/** Appends (atomically rewrites) an entry `name type base64`. */
export function recordHostKey(file: string, name: string, type: string, b64: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const next = (old && !old.endsWith('\n') ? old + '\n' : old) + `${name} ${type} ${b64}\n`;
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, next, { mode: 0o600 });
  renameSync(tmp, file);
}

/** Removes every entry for `name` (used when the vboard image, and so its host key, is rebuilt). */
export function forgetHost(file: string, name: string): void {
  if (!existsSync(file)) return;
  const kept = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => {
      const pats = l.trim().split(/\s+/)[0];
      return !(pats && pats.split(',').includes(name));
    });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, kept.join('\n'), { mode: 0o600 });
  renameSync(tmp, file);
}
