import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { quoteArgv, shellQuote, validateName, validateRemotePath } from '../../src/target/quote.ts';
import { isWorkbenchError } from '../../src/core/errors.ts';

/** Runs a quoted command line through a real POSIX shell and returns the argv it saw. */
function argvSeenBySh(args: string[], shell = 'sh'): string[] {
  const line = quoteArgv(['printf', '%s\\0', ...args]);
  const out = execFileSync(shell, ['-c', line], { encoding: 'utf8' });
  const parts = out.split('\0');
  parts.pop();
  return parts;
}

const NASTY = [
  'plain',
  'with space',
  '  leading and trailing  ',
  "it's",
  "''",
  '"double" quotes',
  '$(touch /tmp/wb-pwned)',
  '`touch /tmp/wb-pwned`',
  '${HOME}',
  '$HOME',
  'a\nnew\nline',
  'tab\there',
  '',
  '*',
  '?',
  '[a-z]',
  '~',
  '~root',
  '-n',
  '--flag=value with space',
  'semi;colon && and || or | pipe > redirect < in',
  'back\\slash',
  '#comment',
  '!bang',
  'emoji 🎞 ünïcödé',
  'mixed \'single\' "double" $(cmd) `cmd` \\ \n end',
];

describe('shellQuote / quoteArgv', () => {
  it('leaves plain safe words unquoted', () => {
    expect(shellQuote('/lib/modules/7.2.13+deb14-amd64/updates')).toBe('/lib/modules/7.2.13+deb14-amd64/updates');
    expect(shellQuote('modprobe')).toBe('modprobe');
  });

  it('quotes the empty string', () => {
    expect(shellQuote('')).toBe("''");
  });

  it('escapes a single quote as close-escape-reopen', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  for (const shell of ['sh', 'bash']) {
    it(`round-trips every nasty argument through a real ${shell} -c`, () => {
      expect(argvSeenBySh(NASTY, shell)).toEqual(NASTY);
    });
  }

  it('never executes substitutions', () => {
    argvSeenBySh(['$(echo x > /tmp/wb-quote-probe)', '`echo y > /tmp/wb-quote-probe`']);
    expect(() => execFileSync('test', ['-e', '/tmp/wb-quote-probe'])).toThrow();
  });

  it('survives nesting: a quoted line passed as one argument to sh -c', () => {
    const inner = quoteArgv(['printf', '%s\\0', ...NASTY]);
    const outer = quoteArgv(['sh', '-c', inner]);
    const out = execFileSync('sh', ['-c', outer], { encoding: 'utf8' }).split('\0');
    out.pop();
    expect(out).toEqual(NASTY);
  });

  it('refuses an empty argv', () => {
    expect(() => quoteArgv([])).toThrow(/empty remote argv/);
  });
});

describe('validateName', () => {
  it('accepts module and vector names', () => {
    for (const n of ['visl', 'rockchip-vdec', 'vp90-2-02-size-08x08.webm', 'v4l2_mem2mem', '20261121T120000Z-1a2b']) {
      expect(validateName(n, 'name')).toBe(n);
    }
  });
  it('refuses traversal, spaces, leading dash and dot, shell metacharacters', () => {
    for (const n of ['../x', 'a/b', 'a b', '-rf', '.hidden', '', 'x;y', '$(id)', 'a\nb', 'x'.repeat(129)]) {
      try {
        validateName(n, 'vector name');
        expect.unreachable(`accepted ${JSON.stringify(n)}`);
      } catch (e) {
        expect(isWorkbenchError(e, 'E_BAD_NAME')).toBe(true);
        expect((e as Error).message).toContain('vector name');
      }
    }
  });
});

describe('validateRemotePath', () => {
  it('accepts absolute normalized paths', () => {
    expect(validateRemotePath('/lib/modules/7.2.13+deb14-amd64/updates/visl.ko')).toBeTruthy();
  });
  it('refuses relative paths, .. components, newlines and non-ASCII', () => {
    for (const p of ['relative/x', '/a/../b', '/a/..', '/a\nb', '/tmp/ü', '']) {
      expect(() => validateRemotePath(p)).toThrow(/not an absolute, normalized path/);
    }
  });
});
