import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { archiveKind, extractArchive, safeMemberPath } from '../../src/vectors/archive.ts';
import { storedVectorPath, storeVector } from '../../src/vectors/store.ts';
import { makeTar, makeZip } from './archiveFixtures.ts';

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const tmp = () => mkdtempSync(join(tmpdir(), 'wb-store-'));

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return isWorkbenchError(e) ? e.code : String(e);
  }
}

describe('safe archive extraction', () => {
  it('refuses member names that leave the destination', () => {
    const d = '/tmp/dest';
    expect(safeMemberPath(d, 'a/b.webm', 'x.zip')).toBe('a/b.webm');
    expect(safeMemberPath(d, './a//b.ivf', 'x.zip')).toBe('a/b.ivf');
    for (const bad of ['../evil', 'a/../../evil', '/etc/passwd', 'C:\\x', 'a\\..\\..\\e', '', '.']) {
      expect(() => safeMemberPath(d, bad, 'x.zip'), bad).toThrow(/outside the destination|path traversal/);
    }
  });

  it('recognises archive kinds by name', () => {
    expect(archiveKind('v.zip')).toBe('zip');
    expect(archiveKind('v.tar.gz')).toBe('tar');
    expect(archiveKind('v.tgz')).toBe('tar');
    expect(archiveKind('vp90-2-00-quantizer-00.webm')).toBeNull();
  });

  it('extracts a good zip and a good tar', async () => {
    const d = tmp();
    writeFileSync(
      join(d, 'ok.zip'),
      makeZip([
        { name: 'dir/a.ivf', data: 'AAA' },
        { name: 'b.webm', data: 'B' },
      ]),
    );
    expect((await extractArchive(join(d, 'ok.zip'), 'zip', join(d, 'z'))).sort()).toEqual(['b.webm', 'dir/a.ivf']);
    expect(readFileSync(join(d, 'z/dir/a.ivf'), 'utf8')).toBe('AAA');
    writeFileSync(join(d, 'ok.tar'), makeTar([{ name: 'sub/c.ivf', data: 'CC' }]));
    expect(await extractArchive(join(d, 'ok.tar'), 'tar', join(d, 't'))).toEqual(['sub/c.ivf']);
    expect(readFileSync(join(d, 't/sub/c.ivf'), 'utf8')).toBe('CC');
  });

  it('refuses zip and tar members with ../, absolute paths or links, writing nothing outside', async () => {
    const d = tmp();
    writeFileSync(
      join(d, 'evil.zip'),
      makeZip([
        { name: 'ok.ivf', data: 'x' },
        { name: '../evil.txt', data: 'pwned' },
      ]),
    );
    expect(await code(extractArchive(join(d, 'evil.zip'), 'zip', join(d, 'out')))).toBe('E_ARCHIVE_UNSAFE');
    writeFileSync(join(d, 'link.zip'), makeZip([{ name: 'l', data: '/etc/passwd', mode: 0o120777 }]));
    expect(await code(extractArchive(join(d, 'link.zip'), 'zip', join(d, 'out2')))).toBe('E_ARCHIVE_UNSAFE');
    writeFileSync(
      join(d, 'evil.tar'),
      makeTar([
        { name: 'ok.ivf', data: 'x' },
        { name: '../evil.txt', data: 'pwned' },
      ]),
    );
    expect(await code(extractArchive(join(d, 'evil.tar'), 'tar', join(d, 'out3')))).toBe('E_ARCHIVE_UNSAFE');
    writeFileSync(join(d, 'abs.tar'), makeTar([{ name: '/tmp/evil-abs.txt', data: 'pwned' }]));
    expect(await code(extractArchive(join(d, 'abs.tar'), 'tar', join(d, 'out4')))).toBe('E_ARCHIVE_UNSAFE');
    writeFileSync(join(d, 'sym.tar'), makeTar([{ name: 'l', type: '2', link: '../../etc/passwd' }]));
    expect(await code(extractArchive(join(d, 'sym.tar'), 'tar', join(d, 'out5')))).toBe('E_ARCHIVE_UNSAFE');
    expect(existsSync(join(d, 'evil.txt'))).toBe(false);
    expect(existsSync(join(d, 'out3', 'ok.ivf'))).toBe(false); // tar is checked before anything is written
  });
});

describe('vector store', () => {
  it('stores a mirror file content-addressed by its MD5 and finds it again', async () => {
    const root = tmp();
    const mirror = tmp();
    const data = Buffer.from('DKIF fake vector bytes');
    writeFileSync(join(mirror, 'v1.ivf'), data);
    const src = { name: 'v1.ivf', url: 'https://example.invalid/test/v1.ivf', md5: md5(data), inputFile: 'v1.ivf' };
    const a = await storeVector(src, { mirror, cacheRoot: root });
    expect(a.cached).toBe(false);
    expect(readFileSync(a.path)).toEqual(data);
    expect(a.path).toContain(join(root, 'vector-store'));
    const b = await storeVector(src, { mirror: tmp(), cacheRoot: root });
    expect(b).toEqual({ path: a.path, cached: true });
    expect(await storedVectorPath(src.md5, 'v1.ivf', root)).toBe(a.path);
  });

  it('detects a corrupted file by its checksum and does not store it', async () => {
    const root = tmp();
    const mirror = tmp();
    writeFileSync(join(mirror, 'v2.ivf'), 'corrupted');
    const src = { name: 'v2.ivf', url: 'https://example.invalid/v2.ivf', md5: md5('original'), inputFile: 'v2.ivf' };
    await expect(storeVector(src, { mirror, cacheRoot: root })).rejects.toThrow(
      /v2\.ivf: checksum mismatch: v2\.ivf has MD5 [0-9a-f]{32}, the suite's source_checksum is/,
    );
    expect(await storedVectorPath(src.md5, 'v2.ivf', root)).toBeNull();
  });

  it('reports a file missing from the mirror, and a failed download, as not available', async () => {
    const root = tmp();
    const src = { name: 'v3.webm', url: 'https://example.invalid/v3.webm', md5: md5('x'), inputFile: 'v3.webm' };
    await expect(storeVector(src, { mirror: tmp(), cacheRoot: root })).rejects.toThrow(/v3\.webm: not available: v3\.webm is not in the mirror/);
    const failing = (async () => {
      throw new TypeError('fetch failed', { cause: { code: 'ENOTFOUND' } });
    }) as unknown as typeof fetch;
    await expect(storeVector(src, { cacheRoot: root, fetchImpl: failing })).rejects.toThrow(
      /not available: download of https:\/\/example\.invalid\/v3\.webm failed \(ENOTFOUND\)/,
    );
    const http404 = (async () => new Response('nope', { status: 404 })) as unknown as typeof fetch;
    await expect(storeVector(src, { cacheRoot: root, fetchImpl: http404 })).rejects.toThrow(/answered HTTP 404/);
  });

  it('downloads, verifies and extracts a zip source, keeping only the extracted files', async () => {
    const root = tmp();
    const zip = makeZip([
      { name: 'suite/w.ivf', data: 'W' },
      { name: 'suite/w.md5', data: 'm' },
    ]);
    const ok = (async () => new Response(zip)) as unknown as typeof fetch;
    const src = { name: 'w', url: 'https://example.invalid/pack.zip', md5: md5(zip), inputFile: 'w.ivf' };
    const r = await storeVector(src, { cacheRoot: root, fetchImpl: ok });
    expect(readFileSync(r.path, 'utf8')).toBe('W');
    expect(r.path.endsWith(join('files', 'suite', 'w.ivf'))).toBe(true);
  });
});
