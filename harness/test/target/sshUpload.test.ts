import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadScript, scriptArgv } from '../../src/target/scripts.ts';
import { LocalTarget } from './localTarget.ts';

/**
 * sshUpload.sh (what SshTarget.upload runs on the board) run on this
 * machine: the expected hash is node's SHA-256 of the bytes the test sent.
 */
const UPLOAD = loadScript(new URL('../../src/target/', import.meta.url), 'sshUpload.sh');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('sshUpload.sh', () => {
  const data = Buffer.from('module bytes\n'.repeat(100));

  it('writes raw stdin, sets the mode, prints the SHA-256', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'wb-upload-')), 'm.ko');
    const r = await new LocalTarget().exec(scriptArgv(UPLOAD, [f, '600', 'raw']), { input: data.toString('latin1') });
    expect(r.stdout.split(/\s+/)[0]).toBe(sha(data));
    expect(readFileSync(f)).toEqual(data);
    expect(statSync(f).mode & 0o777).toBe(0o600);
  });

  it('gzip: stores the decompressed bytes', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'wb-upload-')), 'm.ko');
    const target = new LocalTarget();
    // LocalTarget feeds stdin as a string: send the gzip bytes through a shell pipe instead
    const gz = join(mkdtempSync(join(tmpdir(), 'wb-upload-')), 'in.gz');
    writeFileSync(gz, gzipSync(data));
    const [, , text, name, ...args] = scriptArgv(UPLOAD, [f, '', 'gzip']);
    const r = await target.exec(['sh', '-c', 'f=$1; shift; t=$1; shift; sh -c "$t" "$@" < "$f"', 'feed', gz, text!, name!, ...args]);
    expect(r.stdout.split(/\s+/)[0]).toBe(sha(data));
    expect(readFileSync(f)).toEqual(data);
  });

  it('a write that fails exits non-zero and leaves no partial file', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'wb-upload-')), 'no-such-dir', 'm.ko');
    const r = await new LocalTarget().exec(scriptArgv(UPLOAD, [f, '', 'raw']), { input: 'x', allowFailure: true });
    expect(r.exitCode).not.toBe(0);
    expect(existsSync(f)).toBe(false);
  });
});
