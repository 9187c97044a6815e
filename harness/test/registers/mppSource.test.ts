import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  MPP_SOURCE_MANIFEST,
  ensureMppSource,
  loadMppSourceManifest,
  resolveMppMirror,
  treeSha256,
  type MppSourceManifest,
} from '../../src/registers/mppSource.ts';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));

/** A small source tree packed as `git archive` packs one: a top folder, files only. */
function makeTarball(): { dir: string; tarball: string; tree: string; sha256: string } {
  const dir = tmp('wb-mppsrc-');
  const top = join(dir, 'proj-1234');
  mkdirSync(join(top, 'sub', 'deep'), { recursive: true });
  writeFileSync(join(top, 'CMakeLists.txt'), 'project(x)\n');
  writeFileSync(join(top, 'sub', 'a.c'), 'int a;\n');
  writeFileSync(join(top, 'sub', 'deep', 'B.h'), '#define B 1\n');
  writeFileSync(join(top, 'Z'), '');
  const tarball = join(dir, 'proj-1234.tar.gz');
  execFileSync('tar', ['-czf', tarball, '-C', dir, 'proj-1234']);
  // Independent of our code: the recipe in mpp-source.toml, with coreutils.
  const tree = execFileSync('sh', ['-c', `cd ${top} && find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum | cut -d' ' -f1`])
    .toString()
    .trim();
  const sha256 = execFileSync('sha256sum', [tarball]).toString().split(' ')[0]!;
  return { dir, tarball, tree, sha256 };
}

function manifest(t: { tree: string; sha256: string }): MppSourceManifest {
  return {
    name: 'rockchip-mpp',
    upstream: 'https://example.invalid/mpp',
    commit: 'a'.repeat(40),
    date: '2024-03-13',
    license: 'Apache-2.0',
    url: 'https://example.invalid/mpp/archive/x.tar.gz',
    archive: 'proj-1234.tar.gz',
    prefix: 'proj-1234/',
    sha256: t.sha256,
    tree_sha256: t.tree,
  };
}

describe('MPP source manifest', () => {
  it('names the upstream, commit and checksums of the pinned snapshot', () => {
    const m = loadMppSourceManifest();
    expect(m.upstream).toBe('https://github.com/rockchip-linux/mpp');
    expect(m.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(m.url).toContain(m.commit);
    expect(m.archive).toContain(m.commit);
  });

  it('refuses a manifest with a bad key, naming the file and key', () => {
    const d = tmp('wb-mppman-');
    const f = join(d, 'm.toml');
    writeFileSync(f, readFileSync(MPP_SOURCE_MANIFEST, 'utf8').replace(/^sha256 = .*$/m, 'sha256 = "xyz"'));
    expect(() => loadMppSourceManifest(f)).toThrow(/m\.toml: key "sha256"/);
  });
});

describe('treeSha256', () => {
  it('equals the coreutils recipe of the manifest (sorted "sha256  path" lines, hashed)', async () => {
    const t = makeTarball();
    expect(await treeSha256(join(t.dir, 'proj-1234'))).toBe(t.tree);
  });
});

describe('resolveMppMirror', () => {
  it('prefers --mirror, then WORKBENCH_MPP_MIRROR, then shared/mirror beside the checkout or a parent', () => {
    const base = tmp('wb-mirror-');
    mkdirSync(join(base, 'shared', 'mirror'), { recursive: true });
    mkdirSync(join(base, 'wt', 'checkout'), { recursive: true });
    expect(resolveMppMirror('/x', { WORKBENCH_MPP_MIRROR: '/y' }, join(base, 'wt', 'checkout'))).toBe('/x');
    expect(resolveMppMirror(undefined, { WORKBENCH_MPP_MIRROR: '/y' }, join(base, 'wt', 'checkout'))).toBe('/y');
    expect(resolveMppMirror(undefined, {}, join(base, 'checkout'))).toBe(join(base, 'shared', 'mirror'));
    expect(resolveMppMirror(undefined, {}, join(base, 'wt', 'checkout'))).toBe(join(base, 'shared', 'mirror'));
  });
});

describe('ensureMppSource', () => {
  it('takes the archive from a mirror (rockchip-mpp/ or top level), verifies it and caches the tree', async () => {
    const t = makeTarball();
    const mirror = tmp('wb-mir-');
    mkdirSync(join(mirror, 'rockchip-mpp'));
    execFileSync('cp', [t.tarball, join(mirror, 'rockchip-mpp')]);
    const cache = tmp('wb-cache-');
    const s = await ensureMppSource({ mirror, manifest: manifest(t), cacheRoot: cache });
    expect(readFileSync(join(s.dir, 'sub', 'deep', 'B.h'), 'utf8')).toBe('#define B 1\n');
    expect(s.origin).toBe(`mirror:${join(mirror, 'rockchip-mpp', 'proj-1234.tar.gz')}`);
    const again = await ensureMppSource({ mirror: '/nonexistent', manifest: manifest(t), cacheRoot: cache });
    expect(again.dir).toBe(s.dir);
  });

  it('refuses a mirror archive whose SHA-256 differs and stores nothing', async () => {
    const t = makeTarball();
    const cache = tmp('wb-cache-');
    const m = { ...manifest(t), sha256: '0'.repeat(64) };
    await expect(ensureMppSource({ mirror: t.dir, manifest: m, cacheRoot: cache })).rejects.toMatchObject({ code: 'E_CHECKSUM' });
    expect(readdirSync(join(cache, 'mpp-source')).filter((n) => !n.endsWith('.lock'))).toEqual([]);
  });

  it('says what to put where when the mirror lacks the archive', async () => {
    const t = makeTarball();
    await expect(ensureMppSource({ mirror: tmp('wb-empty-'), manifest: manifest(t), cacheRoot: tmp('wb-cache-') })).rejects.toMatchObject({
      code: 'E_NOT_AVAILABLE',
      hint: expect.stringContaining(t.sha256),
    });
  });

  it('downloads from upstream without a mirror and verifies the tree hash (other archive bytes are fine)', async () => {
    const t = makeTarball();
    // Same tree, different archive bytes (another compression level), as GitHub's archives are.
    const other = join(t.dir, 'other.tar.gz');
    execFileSync('sh', ['-c', `tar -cf - -C ${t.dir} proj-1234 | gzip -1 > ${other}`]);
    const calls: string[] = [];
    const fetchImpl = (async (url: string) => {
      calls.push(url);
      return new Response(readFileSync(other));
    }) as unknown as typeof fetch;
    const cache = tmp('wb-cache-');
    const s = await ensureMppSource({ mirror: null, manifest: manifest(t), cacheRoot: cache, fetchImpl });
    expect(calls).toEqual(['https://example.invalid/mpp/archive/x.tar.gz']);
    expect(existsSync(join(s.dir, 'sub', 'a.c'))).toBe(true);
    const bad = { ...manifest(t), tree_sha256: 'f'.repeat(64) };
    await expect(ensureMppSource({ mirror: null, manifest: bad, cacheRoot: tmp('wb-cache-'), fetchImpl })).rejects.toMatchObject({ code: 'E_CHECKSUM' });
  });

  it('reports a failed download as not available, with the mirror hint', async () => {
    const t = makeTarball();
    const fetchImpl = (async () => new Response('nope', { status: 404 })) as unknown as typeof fetch;
    await expect(ensureMppSource({ mirror: null, manifest: manifest(t), cacheRoot: tmp('wb-cache-'), fetchImpl })).rejects.toMatchObject({
      code: 'E_NOT_AVAILABLE',
      hint: expect.stringContaining('--mirror'),
    });
  });
});
