import { mkdirSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addBoard as addBoardTo, moduleDirFor, type BoardEntry, type BoardFiles } from '../../src/target/boards.ts';
import { sshOptionsFor } from '../../src/target/providers/ssh.ts';
import { builtinProviders } from '../../src/target/providers/builtin.ts';

const providers = builtinProviders();
const loadBoards = (f: BoardFiles) => providers.loadBoards(f);
const getBoard = (name: string, f: BoardFiles) => providers.getBoard(name, f);
const addBoard = (name: string, e: BoardEntry, f: BoardFiles) => addBoardTo(name, e, providers.builtinBoards(), f);
import { isWorkbenchError, WorkbenchError } from '../../src/core/errors.ts';

function files(user?: string, project?: string): BoardFiles {
  const d = mkdtempSync(join(tmpdir(), 'wb-boards-'));
  const f = { user: join(d, 'user', 'boards.toml'), project: join(d, 'boards.toml') };
  if (user !== undefined) {
    mkdirSync(join(d, 'user'));
    writeFileSync(f.user, user);
  }
  if (project !== undefined) writeFileSync(f.project, project);
  return f;
}

function configError(fn: () => unknown): WorkbenchError {
  try {
    fn();
  } catch (e) {
    expect(isWorkbenchError(e, 'E_CONFIG')).toBe(true);
    return e as WorkbenchError;
  }
  throw new Error('expected E_CONFIG');
}

describe('board registry', () => {
  it('always has the built-in virtual boards (vboard, simboard), even without any file', () => {
    const b = loadBoards(files());
    expect(b.map((x) => x.name)).toEqual(['vboard', 'simboard']);
    expect(b[1]).toMatchObject({ kind: 'simboard', arch: 'arm64', driver: 'rkvdec', transport: 'ssh', decodesPixels: false, registerCaptures: true });
    expect(b[0]).toMatchObject({ kind: 'vboard', arch: 'amd64', driver: 'visl', transport: 'ssh' });
    expect(b[0]!.moduleDir).toBe('/lib/modules/{release}/updates');
  });

  it('reads boards with defaults, ~ expanded, project + user merged (user wins)', () => {
    const f = files(
      `[board.rock5b]\nhost = "192.168.1.50"\nidentity = "~/.ssh/id_ed25519"\nlabels = ["rk3588"]\nconsole = "picocom -b 1500000 /dev/ttyUSB0"\npower_cycle = "usbrelay R1=0; sleep 1; usbrelay R1=1"\n`,
      `[board.rock5b]\nhost = "10.0.0.1"\n\n[board.orangepi5]\nhost = "opi5.lan"\nport = 2222\nuser = "debian"\nmodule_dir = "/opt/wb/{release}"\n`,
    );
    const all = loadBoards(f);
    expect(all.map((b) => b.name)).toEqual(['vboard', 'simboard', 'rock5b', 'orangepi5']);
    const r = getBoard('rock5b', f);
    expect(r.ssh).toEqual({ host: '192.168.1.50', port: 22, user: 'root', identity: join(homedir(), '.ssh/id_ed25519') });
    expect(r).toMatchObject({ kind: 'ssh', arch: 'arm64', driver: 'rkvdec' });
    expect(r.power.cycle).toContain('usbrelay');
    expect(r.source).toBe(f.user);
    const o = getBoard('orangepi5', f);
    expect(moduleDirFor(o, '7.2.0-rc3')).toBe('/opt/wb/7.2.0-rc3');
    expect(sshOptionsFor(o)).toMatchObject({ host: 'opi5.lan', port: 2222, user: 'debian' });
  });

  it('names the file and line of a TOML syntax error', () => {
    const f = files('[board.rock5b]\nhost = "x\n');
    const e = configError(() => loadBoards(f));
    expect(e.message).toContain(`${f.user}:2:`);
  });

  it('names the file and the dotted key of a bad value', () => {
    const f = files('[board.rock5b]\nhost = "h"\nport = "twenty-two"\n');
    const e = configError(() => loadBoards(f));
    expect(e.message).toContain(f.user);
    expect(e.message).toContain("key 'board.rock5b.port'");
  });

  it('refuses unknown keys, bad flavours, relative module dirs, missing host', () => {
    const cases: [string, string][] = [
      ['[board.a]\nhost = "h"\nhots = "typo"\n', 'board.a'],
      ['[board.a]\nhost = "h"\nflavour = "riscv"\n', 'board.a.flavour'],
      ['[board.a]\nhost = "h"\narch = "riscv64"\n', 'board.a.arch'],
      ['[board.a]\nhost = "h"\ndriver = "rk vdec"\n', 'board.a.driver'],
      ['[board.a]\nhost = "h"\nkind = "Lava Lab"\n', 'board.a.kind'],
      ['[board.a]\nhost = "h"\nmodule_dir = "lib/modules"\n', 'board.a.module_dir'],
      ['[board.a]\nhost = "h"\nmodule_dir = "/lib/../etc"\n', 'board.a.module_dir'],
      ['[board.a]\nport = 22\n', 'board.a.host'],
      ['[board.a]\nhost = "h; rm -rf /"\n', 'board.a.host'],
      ['[board.a]\nhost = "h"\nlabels = ["with space"]\n', 'board.a.labels.0'],
      ['[boards.a]\nhost = "h"\n', '(top level)'],
    ];
    for (const [text, key] of cases) {
      const e = configError(() => loadBoards(files(text)));
      expect(e.message, text).toContain(`key '${key}`);
    }
  });

  it('refuses redefining the vboard and bad board names', () => {
    expect(configError(() => loadBoards(files('[board.vboard]\nhost = "h"\n'))).message).toMatch(/'vboard' is a built-in board \(kind vboard\)/);
    expect(configError(() => loadBoards(files('[board."a b"]\nhost = "h"\n'))).message).toMatch(/board names/);
  });

  it('reads arch and driver, and the older flavour key as arch + driver', () => {
    const f = files(
      '[board.x86]\nhost = "h"\nflavour = "vboard"\n\n[board.sim]\nhost = "h"\narch = "arm64"\ndriver = "rkvdec"\nkind = "ssh"\n\n[board.lab]\nhost = "h"\nkind = "lava"\n',
    );
    expect(getBoard('x86', f)).toMatchObject({ arch: 'amd64', driver: 'visl', kind: 'ssh' });
    expect(getBoard('sim', f)).toMatchObject({ arch: 'arm64', driver: 'rkvdec', kind: 'ssh' });
    // a kind nobody registered is refused when the board is used, naming the known kinds
    const lab = getBoard('lab', f);
    expect(() => providers.providerOf(lab)).toThrow(/kind 'lava'.*/);
    try {
      providers.providerOf(lab);
    } catch (e) {
      expect((e as WorkbenchError).code).toBe('E_UNKNOWN_BOARD_KIND');
      expect((e as WorkbenchError).hint).toBe('known kinds: vboard, simboard, ssh');
    }
  });

  it('an unknown board names the known ones and how to add it', () => {
    try {
      getBoard('nope', files());
      expect.unreachable();
    } catch (e) {
      expect(isWorkbenchError(e, 'E_UNKNOWN_BOARD')).toBe(true);
      expect((e as WorkbenchError).message).toContain('known: vboard');
      expect((e as WorkbenchError).hint).toContain('workbench boards add nope');
    }
  });

  it('boards add appends a validated section, keeps comments, refuses duplicates and bad entries', async () => {
    const f = files('# my boards\n[board.a]\nhost = "h"\n');
    await addBoard('rock5b', { host: '192.168.1.50', labels: ['rk3588'], arch: 'arm64' }, f);
    const text = readFileSync(f.user, 'utf8');
    expect(text.startsWith('# my boards\n')).toBe(true);
    expect(getBoard('rock5b', f).labels).toEqual(['rk3588']);
    await expect(addBoard('rock5b', { host: 'x' }, f)).rejects.toSatisfy((e) => isWorkbenchError(e, 'E_BOARD_EXISTS'));
    await expect(addBoard('vboard', { host: 'x' }, f)).rejects.toSatisfy((e) => isWorkbenchError(e, 'E_BOARD_EXISTS'));
    await expect(addBoard('c', { host: 'x', port: 70000 }, f)).rejects.toSatisfy(
      (e) => isWorkbenchError(e, 'E_CONFIG') && (e as Error).message.includes("key 'board.c.port'"),
    );
    expect(readFileSync(f.user, 'utf8')).toBe(text); // a failed add writes nothing
  });

  it('boards add creates the file when there is none', async () => {
    const f = files();
    await addBoard('new', { host: 'n.lan' }, f);
    expect(getBoard('new', f).ssh?.host).toBe('n.lan');
  });
});
