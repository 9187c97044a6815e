/**
 * Hostile input is refused with the file and the field named, and nothing is
 * written or changed: boards.toml values (shell metacharacters, `..`, NUL,
 * very long strings), vector names and files, a suite manifest pointing
 * outside the vector store.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { WorkbenchError } from '../../src/core/errors.ts';
import { addBoard as addBoardTo, type BoardEntry, type BoardFiles } from '../../src/target/boards.ts';
import { builtinProviders } from '../../src/target/providers/builtin.ts';
import { fetchSuite } from '../../src/vectors/fetch.ts';
import { storedVectorPath } from '../../src/vectors/store.ts';
import { checkVectorFileName, importFlusterJson, loadSuite } from '../../src/vectors/suites.ts';
import { ExecaRunner } from '../../src/core/runner.ts';

const providers = builtinProviders();
const loadBoards = (f: BoardFiles) => providers.loadBoards(f);
const addBoard = (name: string, e: BoardEntry, f: BoardFiles) => addBoardTo(name, e, providers.builtinBoards(), f);

function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function refused(fn: () => unknown, code: string): WorkbenchError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(WorkbenchError);
    expect((e as WorkbenchError).code).toBe(code);
    return e as WorkbenchError;
  }
  throw new Error(`expected ${code}`);
}

async function refusedAsync(p: Promise<unknown>, code: string): Promise<WorkbenchError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(WorkbenchError);
  expect((e as WorkbenchError).code).toBe(code);
  return e as WorkbenchError;
}

/** Every file under `dir` with its content (to prove nothing changed). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p] = readFileSync(p, 'latin1');
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

const LONG = 'a'.repeat(5000);
const GOOD = '[board.rock5b]\nhost = "192.168.1.50"\n';

/** [field, hostile value, why]: each must be refused in boards.toml. */
const HOSTILE: [keyof BoardEntry, unknown, string][] = [
  ['host', 'rock5b;reboot', 'shell metacharacter'],
  ['host', '$(reboot)', 'command substitution'],
  ['host', '-oProxyCommand=touch /tmp/pwned', 'leading dash (option)'],
  ['host', 'rock5b\u0000.evil', 'NUL'],
  ['host', `${'h'.repeat(250)}.lan`, 'longer than 253'],
  ['user', 'root`id`', 'backtick'],
  ['user', 'u'.repeat(40), 'longer than 32'],
  ['module_dir', '/lib/modules/{release}/../../../etc', '..'],
  ['module_dir', '/lib/modules/{release}/updates;reboot', 'shell metacharacter'],
  ['module_dir', '/lib/modules/$(reboot)', 'command substitution'],
  ['module_dir', '/lib/modules/\u0000x', 'NUL'],
  ['module_dir', `/${LONG}`, 'very long'],
  ['identity', '~/.ssh/../../etc/shadow', '..'],
  ['identity', '~/.ssh/id$(reboot)', 'command substitution'],
  ['identity', '~/.ssh/id\u0000_ed25519', 'NUL'],
  ['identity', `/${LONG}`, 'very long'],
  ['console', 'picocom /dev/ttyUSB0\nreboot', 'newline: a second command'],
  ['console', 'picocom\u0000 /dev/ttyUSB0', 'NUL'],
  ['power_cycle', `usbrelay ${LONG}`, 'very long'],
  ['power_on', 'usbrelay R1=1\rreboot', 'carriage return'],
  ['labels', ['rk3588', 'a b;c'], 'space and ; in a label'],
  ['labels', ['l'.repeat(100)], 'very long label'],
  ['host_key_alias', '../known', '..'],
];

describe('hostile boards.toml values', () => {
  it.each(HOSTILE)('%s = <%s> (%s) is refused naming the file and the key; loading changes nothing', (field, value) => {
    const d = tmp('wb-hostile-boards-');
    const files: BoardFiles = { user: join(d, 'user', 'boards.toml'), project: join(d, 'boards.toml') };
    mkdirSync(join(d, 'user'));
    const text = GOOD + stringify({ board: { evil: { host: 'evil.lan', [field]: value } } }) + '\n';
    writeFileSync(files.user, text);
    const before = snapshot(d);
    const e = refused(() => loadBoards(files), 'E_CONFIG');
    expect(e.message).toContain(files.user);
    expect(e.message).toContain(`key 'board.evil.${field}${Array.isArray(value) ? '.' : "'"}`);
    // Only the bad key is named (the good board is fine).
    expect(e.message).not.toContain('board.rock5b');
    expect(snapshot(d)).toEqual(before);
  });

  it.each(HOSTILE)('boards add with %s = <%s> (%s) is refused and the file stays byte-identical', async (field, value) => {
    const d = tmp('wb-hostile-add-');
    const files: BoardFiles = { user: join(d, 'user', 'boards.toml'), project: join(d, 'boards.toml') };
    mkdirSync(join(d, 'user'));
    writeFileSync(files.user, `# my boards\n${GOOD}`);
    const before = snapshot(d);
    const e = await refusedAsync(addBoard('evil', { host: 'evil.lan', [field]: value } as BoardEntry, files), 'E_CONFIG');
    expect(e.message).toContain(files.user);
    expect(e.message).toContain(`board.evil.${field}`);
    expect(snapshot(d)).toEqual(before);
  });

  it('boards add with a hostile value when no boards.toml exists yet creates nothing', async () => {
    const d = tmp('wb-hostile-new-');
    const files: BoardFiles = { user: join(d, 'user', 'boards.toml'), project: join(d, 'boards.toml') };
    await refusedAsync(addBoard('evil', { host: 'x;reboot' }, files), 'E_CONFIG');
    expect(snapshot(d)).toEqual({});
    expect(existsSync(join(d, 'user'))).toBe(false);
  });

  it('a hostile board name (section) is refused naming the file and the key', () => {
    const d = tmp('wb-hostile-name-');
    const files: BoardFiles = { user: join(d, 'boards.toml'), project: join(d, 'none.toml') };
    for (const name of ['..', 'a;reboot', '-x', 'a\u0000b', 'n'.repeat(100)]) {
      writeFileSync(files.user, stringify({ board: { [name]: { host: 'h.lan' } } }));
      const e = refused(() => loadBoards(files), 'E_CONFIG');
      expect(e.message).toContain(files.user);
      expect(e.message).toContain(`key 'board.${name}'`);
    }
  });

  it('legitimate values still load (shell syntax in a power command is the point of that field)', () => {
    const d = tmp('wb-ok-boards-');
    const files: BoardFiles = { user: join(d, 'boards.toml'), project: join(d, 'none.toml') };
    writeFileSync(
      files.user,
      '[board.rock5b]\nhost = "fe80::1"\nuser = "debian"\nidentity = "~/.ssh/my key"\nmodule_dir = "/lib/modules/{release}/extra+wb"\npower_cycle = "usbrelay R1=0; sleep 1; usbrelay R1=1"\nconsole = "picocom -b 1500000 /dev/ttyUSB0"\nlabels = ["rk3588", "rock-5b"]\n',
    );
    expect(loadBoards(files).map((b) => b.name)).toEqual(['vboard', 'simboard', 'rock5b']);
  });
});

const MD5 = '0123456789abcdef0123456789abcdef';

function manifest(vector: Record<string, unknown>): string {
  return stringify({
    suite: { name: 'evil', codec: 'VP9', description: 'd', origin: 'fluster', imported_from: 'evil.json' },
    vectors: [
      {
        name: 'vp90-2-00-quantizer-00',
        source: 'https://example.invalid/a.webm',
        source_checksum: MD5,
        input_file: 'vp90-2-00-quantizer-00.webm',
        output_format: 'yuv420p',
        result: '',
      },
      { name: 'v1', source: 'https://example.invalid/v1.webm', source_checksum: MD5, input_file: 'v1.webm', output_format: 'yuv420p', result: '', ...vector },
    ],
  });
}

/** [key, hostile value]: each must be refused in a suite manifest (vectors.1.<key>). */
const HOSTILE_VECTOR: [string, string][] = [
  ['input_file', '../../../../etc/passwd'],
  ['input_file', '/etc/passwd'],
  ['input_file', 'dir/../../x.webm'],
  ['input_file', 'a;reboot.webm'],
  ['input_file', 'a\u0000.webm'],
  ['input_file', `${'f'.repeat(300)}.webm`],
  ['name', '../escape'],
  ['name', 'v;reboot'],
  ['name', '$(reboot)'],
  ['name', 'v\u0000'],
  ['name', '-rf'],
  ['name', 'n'.repeat(200)],
  ['source', 'file:///etc/passwd'],
  ['source', 'https://x.invalid/a b'],
  ['output_format', 'yuv420p;reboot'],
];

describe('hostile suite manifests and vector names', () => {
  it.each(HOSTILE_VECTOR)('vectors.1.%s = <%s>: loadSuite and fetch refuse naming the file and the key; the store stays empty', async (key, value) => {
    const suites = tmp('wb-hostile-suites-');
    const cache = tmp('wb-hostile-cache-');
    const file = join(suites, 'evil.toml');
    writeFileSync(file, manifest({ [key]: value }));
    const before = snapshot(suites);
    const e = await refusedAsync(loadSuite('evil', { runner: new ExecaRunner(), suitesDir: suites, cacheRoot: cache }), 'E_CONFIG');
    expect(e.message).toContain(file);
    expect(e.message).toContain(`key 'vectors.1.${key}'`);
    expect(e.message).not.toContain('vectors.0.');
    const f = await refusedAsync(fetchSuite('evil', { runner: new ExecaRunner(), suitesDir: suites, cacheRoot: cache, mirror: suites }), 'E_CONFIG');
    expect(f.message).toContain(`key 'vectors.1.${key}'`);
    expect(snapshot(cache)).toEqual({});
    expect(snapshot(suites)).toEqual(before);
  });

  it('import-fluster refuses a Fluster JSON with a hostile vector naming the file and the key (no manifest is produced)', () => {
    const d = tmp('wb-hostile-fluster-');
    const file = join(d, 'evil.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'evil',
        codec: 'VP9',
        description: '',
        test_vectors: [
          {
            name: 'ok',
            source: 'https://x.invalid/ok.webm',
            source_checksum: MD5,
            input_file: '../../../../root/.ssh/id_ed25519',
            output_format: 'yuv420p',
            result: '',
          },
        ],
      }),
    );
    const e = refused(() => importFlusterJson(file), 'E_CONFIG');
    expect(e.message).toContain(file);
    expect(e.message).toContain("key 'test_vectors.0.input_file'");
    expect(readdirSync(d)).toEqual(['evil.json']);
  });

  it('the store never resolves a path outside its entry, whatever the caller passes', async () => {
    const cache = tmp('wb-hostile-store-');
    for (const p of ['../../../etc/passwd', '/etc/passwd', 'a/../../b']) {
      const e = await refusedAsync(storedVectorPath(MD5, p, cache), 'E_BAD_PATH');
      expect(e.message).toContain('outside the vector store');
    }
    expect(await storedVectorPath(MD5, 'ok.webm', cache)).toBeNull();
  });

  it('a vector file with a hostile name is refused naming the file and the field', () => {
    for (const f of [
      '/tmp/x/a;reboot.ivf',
      '/tmp/$(reboot).ivf',
      '/tmp/-rf.ivf',
      '/tmp/.hidden.ivf',
      '/tmp/a b.ivf',
      `/tmp/${'v'.repeat(200)}.ivf`,
      '/tmp/a\u0000.ivf',
      '/tmp/a\nb.ivf',
    ]) {
      const e = refused(() => checkVectorFileName(f), 'E_BAD_NAME');
      expect(e.message).toContain(JSON.stringify(f.slice(0, 200)));
      expect(e.message).toContain('vector file name');
    }
    expect(checkVectorFileName('/work/vectors/vp90-2-00-quantizer-00.webm')).toBe('vp90-2-00-quantizer-00.webm');
  });
});
