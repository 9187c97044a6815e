import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isWorkbenchError, type WorkbenchError } from '../../src/core/errors.ts';
import { loadLock, loadManifest, lockedPackageNames, lockStaleError, parseManifest, pickKernelRelease, writeLock } from '../../src/toolbox/manifest.ts';
import { parseAptPolicy, resolveLock } from '../../src/toolbox/resolveLock.ts';

const GOOD = `schema = 1
name = "debian-sid-7.2"
[debian]
suite = "sid"
series = "7.2"
flavour = "amd64"
`;

function dir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'wb-manifest-'));
  for (const [n, t] of Object.entries(files)) writeFileSync(join(d, n), t);
  return d;
}

function err(fn: () => unknown): WorkbenchError {
  try {
    fn();
  } catch (e) {
    return e as WorkbenchError;
  }
  throw new Error('expected an error');
}

describe('kernel manifest', () => {
  it('loads the repository default manifest and its lock', () => {
    const m = loadManifest();
    expect(m.debian).toEqual({ suite: 'sid', series: '7.2', flavour: 'amd64' });
    const lock = loadLock(m);
    expect(lock.kernel_release).toMatch(/^7\.2\.\d+\+deb\d+-amd64$/);
    expect(Object.keys(lock.packages)).toEqual(expect.arrayContaining(lockedPackageNames(m.debian!, lock.kernel_release)));
  });

  it('a bad value: the error names the file and the dotted key', () => {
    const d = dir({ 'k.toml': GOOD.replace('name = "debian-sid-7.2"', 'name = "k"').replace('series = "7.2"', 'series = 7.2') });
    const e = err(() => loadManifest('k', d));
    expect(e.code).toBe('E_CONFIG');
    expect(e.message).toContain(join(d, 'k.toml'));
    expect(e.message).toContain("key 'debian.series'");
  });

  it('an unknown key is refused and named', () => {
    const e = err(() => parseManifest(GOOD.replace('flavour = "amd64"', 'flavour = "amd64"\nflavor = "x"'), 'm.toml'));
    expect(e.code).toBe('E_CONFIG');
    expect(e.message).toMatch(/m\.toml: key 'debian'.*flavor/);
  });

  it('a TOML syntax error names file:line', () => {
    const e = err(() => parseManifest('schema = 1\nname = "x\n', 'broken.toml'));
    expect(e.code).toBe('E_CONFIG');
    expect(e.message).toMatch(/^broken\.toml:2:\d+: TOML syntax error/);
  });

  it('needs exactly one of [debian] / [git]', () => {
    const both = GOOD + '[git]\nurl = "https://example.org/linux.git"\ncommit = "0123456789abcdef0123456789abcdef01234567"\n';
    expect(err(() => parseManifest(both, 'b.toml')).message).toContain('exactly one of the tables');
    expect(err(() => parseManifest('schema = 1\nname = "n"\n', 'n.toml')).message).toContain('exactly one of the tables');
  });

  it('accepts a git URL + full commit, refuses a branch name', () => {
    const ok = parseManifest(
      'schema = 1\nname = "g"\n[git]\nurl = "https://example.org/linux.git"\ncommit = "0123456789abcdef0123456789abcdef01234567"\n',
      'g.toml',
    );
    expect(ok.git?.commit).toHaveLength(40);
    const e = err(() => parseManifest('schema = 1\nname = "g"\n[git]\nurl = "https://example.org/linux.git"\ncommit = "master"\n', 'g.toml'));
    expect(e.message).toContain("g.toml: key 'git.commit'");
  });

  it('name must match the file name', () => {
    const d = dir({ 'other.toml': GOOD });
    expect(err(() => loadManifest('other', d)).message).toContain("key 'name'");
  });

  it('missing manifest and missing lock have their own codes and hints', () => {
    const d = dir({ 'debian-sid-7.2.toml': GOOD });
    expect(err(() => loadManifest('nope', d)).code).toBe('E_MANIFEST_MISSING');
    const e = err(() => loadLock(loadManifest('debian-sid-7.2', d)));
    expect(e.code).toBe('E_LOCK_MISSING');
    expect(e.hint).toContain('workbench toolbox update-lock');
  });

  it('a malformed lock names the lock file and key', () => {
    const d = dir({
      'debian-sid-7.2.toml': GOOD,
      'debian-sid-7.2.lock':
        'schema = 1\nmanifest = "debian-sid-7.2"\nsuite = "sid"\nresolved_at = "x"\nkernel_release = "banana"\nkernel_version = "1"\n[packages]\n',
    });
    const e = err(() => loadLock(loadManifest('debian-sid-7.2', d)));
    expect(e.code).toBe('E_CONFIG');
    expect(e.message).toContain('debian-sid-7.2.lock');
    expect(e.message).toContain("key 'kernel_release'");
  });

  it('writeLock round-trips (dotted package names quoted)', async () => {
    const d = dir({ 'debian-sid-7.2.toml': GOOD });
    const m = loadManifest('debian-sid-7.2', d);
    const rel = '7.2.13+deb14-amd64';
    const packages = Object.fromEntries(lockedPackageNames(m.debian!, rel).map((p) => [p, '7.2.13-1']));
    await writeLock(m, {
      schema: 1,
      manifest: m.name,
      suite: 'sid',
      resolved_at: '2026-11-21T00:00:00.000Z',
      kernel_release: rel,
      kernel_version: '7.2.13-1',
      packages,
    });
    expect(readFileSync(join(d, 'debian-sid-7.2.lock'), 'utf8')).toMatch(/^# Lock of kernel manifest/);
    expect(loadLock(m).packages).toEqual(packages);
  });

  it('the stale-lock error says the version is gone and how to move', () => {
    const m = loadManifest();
    const e = lockStaleError(m, loadLock(m), ['linux-source-7.2=7.2.13-1']);
    expect(e.code).toBe('E_LOCK_STALE');
    expect(e.message).toContain('no longer on the Debian mirror');
    expect(e.message).toContain('linux-source-7.2=7.2.13-1');
    expect(e.hint).toContain('workbench toolbox update-lock');
  });
});

describe('lock resolution', () => {
  const d = { suite: 'sid', series: '7.2', flavour: 'amd64' };
  it('picks the headers release of the same upload, not cloud/rt flavours or other versions', () => {
    expect(
      pickKernelRelease(d, '7.2.14-1', {
        'linux-headers-7.2.13+deb14-amd64': '7.2.13-1',
        'linux-headers-7.2.14+deb14-cloud-amd64': '7.2.14-1',
        'linux-headers-7.2.14+deb14-rt-amd64': '7.2.14-1',
        'linux-headers-7.2.14+deb14-amd64': '7.2.14-1',
        'linux-headers-7.2.14+deb14-common': '7.2.14-1',
      }),
    ).toBe('7.2.14+deb14-amd64');
  });

  it('parses apt-cache policy', () => {
    const text = 'linux-source-7.2:\n  Installed: (none)\n  Candidate: 7.2.13-1\n  Version table:\nfoo:\n  Installed: (none)\n  Candidate: (none)\n';
    expect(parseAptPolicy(text)).toEqual({ 'linux-source-7.2': '7.2.13-1' });
  });

  it('resolves a lock from apt answers (fake apt)', async () => {
    const m = parseManifest(GOOD, '/x/debian-sid-7.2.toml');
    const policy = (pkgs: string[]) => pkgs.map((p) => `${p}:\n  Installed: (none)\n  Candidate: 7.2.13-1\n`).join('');
    const apt = async (argv: string[]) => {
      if (argv[0] === 'search') return 'linux-headers-7.2.13+deb14-amd64 - Linux\nlinux-headers-7.2.13+deb14-common - common\n';
      return policy(argv.slice(1));
    };
    const lock = await resolveLock(m, apt, new Date('2026-11-21T00:00:00Z'));
    expect(lock.kernel_release).toBe('7.2.13+deb14-amd64');
    expect(lock.packages['linux-kbuild-7.2.13+deb14']).toBe('7.2.13-1');
    expect(lock.packages['linux-binary-7.2.13+deb14-amd64']).toBe('7.2.13-1');
  });

  it('fails clearly when the suite lacks the series', async () => {
    const m = parseManifest(GOOD, '/x/debian-sid-7.2.toml');
    await expect(resolveLock(m, async () => 'linux-source-7.2:\n  Candidate: (none)\n')).rejects.toSatisfy((e) => isWorkbenchError(e, 'E_LOCK_RESOLVE'));
  });
});
