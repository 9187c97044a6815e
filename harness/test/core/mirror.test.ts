import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { discoverDebianMirror, parseDeb822, parseOneLine, pickDebianMirror } from '../../src/core/mirror.ts';
import { isWorkbenchError } from '../../src/core/errors.ts';

// Host names here are placeholders (example.org); never a real mirror.
function etcApt(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'wb-apt-'));
  mkdirSync(join(d, 'sources.list.d'));
  for (const [n, t] of Object.entries(files)) writeFileSync(join(d, n), t);
  return d;
}

describe('one-line sources.list', () => {
  it('reads deb lines with [options], skips deb-src, comments and security', () => {
    const text = [
      '# main archive',
      'deb-src http://src.example.org/debian bookworm main',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://security.example.org/debian-security bookworm-security main',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example.org/debian/ bookworm main contrib',
      'deb http://other.example.org/debian bookworm-updates main',
    ].join('\n');
    const s = parseOneLine(text, 'sources.list');
    expect(s.map((x) => x.origin)).toEqual(['sources.list:2', 'sources.list:3', 'sources.list:4', 'sources.list:5']);
    expect(pickDebianMirror(s)).toBe('http://mirror.example.org/debian');
  });

  it('skips third-party repositories that are not a /debian archive', () => {
    const s = parseOneLine('deb https://packages.example.com/apt stable main\ndeb http://m.example.org/debian sid main\n', 'f');
    expect(pickDebianMirror(s)).toBe('http://m.example.org/debian');
  });
});

describe('deb822 .sources', () => {
  it('takes the first enabled deb stanza with a /debian URI; several URIs and suites', () => {
    const text = [
      'Types: deb deb-src',
      'URIs: http://disabled.example.org/debian',
      'Suites: bookworm',
      'Components: main',
      'Enabled: no',
      '',
      'Types: deb-src',
      'URIs: http://onlysrc.example.org/debian',
      'Suites: bookworm',
      '',
      'Types: deb',
      'URIs: https://thirdparty.example.com/repo',
      '  http://first.example.org/debian/',
      'Suites: bookworm bookworm-updates',
      'Components: main',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
      '',
      'Types: deb',
      'URIs: http://security.example.org/debian-security',
      'Suites: bookworm-security',
    ].join('\n');
    const s = parseDeb822(text, 'debian.sources');
    expect(s.find((x) => x.uris.includes('http://disabled.example.org/debian'))).toBeUndefined();
    expect(s.find((x) => x.uris.includes('http://first.example.org/debian/'))?.suites).toEqual(['bookworm', 'bookworm-updates']);
    expect(pickDebianMirror(s)).toBe('http://first.example.org/debian');
  });

  it('Enabled: no is case-insensitive and comments are ignored', () => {
    const s = parseDeb822('# c\nTypes: deb\nURIs: http://a.example.org/debian\nSuites: sid\nEnabled: No\n', 'x.sources');
    expect(s).toEqual([]);
  });
});

describe('discoverDebianMirror', () => {
  it('prefers the environment override', () => {
    expect(discoverDebianMirror({ WORKBENCH_DEBIAN_MIRROR: 'http://override.example.org/debian/' }, '/nonexistent')).toBe('http://override.example.org/debian');
  });

  it('reads sources.list first, then sources.list.d in name order', () => {
    const d = etcApt({
      'sources.list': '# nothing here\n',
      'sources.list.d/10-third.list': 'deb https://example.com/apt stable main\n',
      'sources.list.d/20-debian.sources': 'Types: deb\nURIs: http://b.example.org/debian\nSuites: bookworm\nComponents: main\n',
      'sources.list.d/30-other.list': 'deb http://c.example.org/debian bookworm main\n',
    });
    expect(discoverDebianMirror({}, d)).toBe('http://b.example.org/debian');
  });

  it('deb822-only system (no sources.list)', () => {
    const d = etcApt({ 'sources.list.d/debian.sources': 'Types: deb\nURIs: http://only.example.org/debian\nSuites: bookworm\n' });
    expect(discoverDebianMirror({}, d)).toBe('http://only.example.org/debian');
  });

  it('E_NO_MIRROR names the files read when only security/third-party entries exist', () => {
    const d = etcApt({ 'sources.list': 'deb http://security.example.org/debian-security bookworm-security main\n' });
    try {
      discoverDebianMirror({}, d);
      expect.unreachable();
    } catch (e) {
      expect(isWorkbenchError(e, 'E_NO_MIRROR')).toBe(true);
      expect((e as Error).message).toContain(join(d, 'sources.list'));
      expect((e as { hint: string }).hint).toContain('WORKBENCH_DEBIAN_MIRROR');
    }
  });
});
