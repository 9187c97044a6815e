import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'smol-toml';
import { z } from 'zod';
import { parseToml } from '../core/config.ts';
import { writeFileAtomic } from '../core/cache.ts';
import { WorkbenchError } from '../core/errors.ts';
import { configRoot, projectRoot } from '../core/paths.ts';
import { vboardConnection } from '../vboard/vboard.ts';
import { vboardPaths } from '../vboard/state.ts';
import { knownHostsPath, type TrustPolicy } from './knownHosts.ts';
import { shellQuote, validateRemotePath } from './quote.ts';
import type { SshOptions } from './ssh.ts';

/**
 * The board registry: `boards.toml` in the user's config dir
 * ({@link configRoot}) plus an optional `boards.toml` at the project root
 * (user entries win on a name clash). The virtual board `vboard` is always
 * present; its connection comes from the vboard module.
 *
 * ```toml
 * [board.rock5b]
 * host = "192.168.1.50"      # required
 * port = 22                  # default 22
 * user = "root"              # default root
 * identity = "~/.ssh/id_ed25519"   # default: SSH agent
 * flavour = "arm64"          # vboard | arm64 (default arm64)
 * module_dir = "/lib/modules/{release}/updates"   # default; {release} = uname -r
 * console = "picocom -b 1500000 /dev/ttyUSB0"     # optional, run under a pty
 * power_on = "..."; power_off = "..."; power_cycle = "..."   # optional host commands
 * labels = ["rk3588", "rock5b"]
 * ```
 */

/** Kernel flavour of a board. */
export type Flavour = 'vboard' | 'arm64';

/** A board from the registry (data only: see target/connect.ts for the connection). */
export interface Board {
  name: string;
  flavour: Flavour;
  /** SSH endpoint (absent for `vboard`: resolved when connecting). */
  ssh?: { host: string; port: number; user: string; identity?: string; hostKeyAlias?: string };
  /** Module install directory; `{release}` is replaced by the board's `uname -r`. */
  moduleDir: string;
  /** Host command whose terminal is the board's serial console (run under node-pty). */
  console?: string;
  /** Host commands that switch the board on, off, or power-cycle it. */
  power: { on?: string; off?: string; cycle?: string };
  labels: string[];
  /** Where the entry came from (file path, or `built-in`). */
  source: string;
}

/** Name of the always-present virtual board. */
export const VBOARD = 'vboard';
/** Default module install directory (depmod searches `updates/` before the kernel's own tree). */
export const DEFAULT_MODULE_DIR = '/lib/modules/{release}/updates';

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;

const remotePathTemplate = z
  .string()
  .max(4095, 'expected a path shorter than PATH_MAX (4096)')
  .refine((p) => {
    try {
      validateRemotePath(p.replaceAll('{release}', 'r'));
      return true;
    } catch {
      return false;
    }
  }, 'expected an absolute remote path without .. (may contain {release})')
  .refine((p) => /^[A-Za-z0-9._+/-]*$/.test(p.replaceAll('{release}', 'r')), 'expected a path of letters, digits and . _ + - / only (no spaces or shell metacharacters)');

/** No NUL, newline or other C0/DEL control characters (a tab is allowed in commands). */
const NO_CONTROL = /^[^\x00-\x08\x0a-\x1f\x7f]*$/;

/**
 * A host command line (console, power_*): run by the host shell on purpose, so
 * shell syntax is allowed, but not control characters (a NUL would cut the
 * argument, a newline would start a second command) nor more than 4096 bytes.
 */
const hostCommand = z
  .string()
  .min(1)
  .max(4096, 'expected at most 4096 characters')
  .regex(NO_CONTROL, 'expected one command line without NUL, newline or other control characters');

/** A local file path (identity): PATH_MAX (4096, limits.h) bytes, no control characters, no `..` component. */
const localPath = z
  .string()
  .min(1)
  .max(4095, 'expected a path shorter than PATH_MAX (4096)')
  .regex(NO_CONTROL, 'expected a path without NUL, newline or other control characters')
  .refine((p) => !p.split('/').includes('..'), 'expected a path without .. components')
  .regex(/^[^;&|$`<>(){}*?!\\"']*$/, 'expected a path without shell metacharacters');

const BoardEntrySchema = z
  .object({
    // RFC 1035 section 2.3.4: a domain name is at most 253 characters as text; a leading '-' would read as an option.
    host: z
      .string()
      .min(1, 'expected a host name or address')
      .max(253, 'expected a host name of at most 253 characters')
      .regex(/^[A-Za-z0-9.:_][A-Za-z0-9.:_-]*$/, 'expected a host name or IP address'),
    port: z.number().int().min(1).max(65535).default(22),
    // useradd(8): user names are at most 32 characters.
    user: z.string().max(32, 'expected a user name of at most 32 characters').regex(/^[a-z_][a-z0-9_.-]*$/i, 'expected a user name').default('root'),
    identity: localPath.optional(),
    host_key_alias: z.string().regex(NAME_RE).optional(),
    flavour: z.enum(['vboard', 'arm64']).default('arm64'),
    module_dir: remotePathTemplate.default(DEFAULT_MODULE_DIR),
    console: hostCommand.optional(),
    power_on: hostCommand.optional(),
    power_off: hostCommand.optional(),
    power_cycle: hostCommand.optional(),
    labels: z.array(z.string().max(64, 'expected a label of at most 64 characters').regex(/^[A-Za-z0-9._:+-]+$/, 'expected a label without spaces')).default([]),
  })
  .strict();

/** Schema of one boards.toml. */
export const BoardsFileSchema = z
  .object({
    board: z
      .record(z.string(), BoardEntrySchema)
      .superRefine((boards, ctx) => {
        for (const name of Object.keys(boards)) {
          if (name === VBOARD) ctx.addIssue({ code: 'custom', path: [name], message: `'${VBOARD}' is the built-in virtual board and cannot be redefined` });
          else if (!NAME_RE.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'board names are letters, digits, . _ - (max 64), not starting with . or -' });
        }
      })
      .default({}),
  })
  .strict();

export type BoardEntry = z.input<typeof BoardEntrySchema>;

function expandHome(p: string): string {
  return p === '~' ? homedir() : p.startsWith('~/') ? join(homedir(), p.slice(2)) : p;
}

/** Where the registry files are. */
export interface BoardFiles {
  /** The user's file (`boards add` writes here). */
  user: string;
  /** The project's file (optional). */
  project: string;
}

/** Default registry files: `<configRoot>/boards.toml` and `<projectRoot>/boards.toml`. */
export function boardFiles(env: NodeJS.ProcessEnv = process.env): BoardFiles {
  return { user: join(configRoot(env), 'boards.toml'), project: join(projectRoot(), 'boards.toml') };
}

function readFile(file: string): Board[] {
  if (!existsSync(file)) return [];
  const parsed = parseToml(readFileSync(file, 'utf8'), file, BoardsFileSchema);
  return Object.entries(parsed.board).map(([name, e]) => ({
    name,
    flavour: e.flavour,
    ssh: {
      host: e.host,
      port: e.port,
      user: e.user,
      ...(e.identity ? { identity: resolve(expandHome(e.identity)) } : {}),
      ...(e.host_key_alias ? { hostKeyAlias: e.host_key_alias } : {}),
    },
    moduleDir: e.module_dir,
    ...(e.console ? { console: e.console } : {}),
    power: { on: e.power_on, off: e.power_off, cycle: e.power_cycle },
    labels: e.labels,
    source: file,
  }));
}

/**
 * The built-in virtual board. Its console is the guest's serial port, which
 * QEMU writes to the vboard's serial log: the console command follows that
 * file from its current end.
 */
export function vboardBoard(): Board {
  return {
    name: VBOARD,
    flavour: 'vboard',
    moduleDir: DEFAULT_MODULE_DIR,
    console: `exec tail -n 0 -F ${shellQuote(vboardPaths().serialLog)}`,
    power: {},
    labels: ['virtual', 'visl'],
    source: 'built-in',
  };
}

/**
 * Every board: `vboard` first, then the project file's, then the user
 * file's (a user entry replaces a project entry of the same name).
 * @throws WorkbenchError E_CONFIG naming the file and key.
 */
export function loadBoards(files: BoardFiles = boardFiles()): Board[] {
  const byName = new Map<string, Board>();
  byName.set(VBOARD, vboardBoard());
  for (const b of readFile(files.project)) byName.set(b.name, b);
  for (const b of readFile(files.user)) byName.set(b.name, b);
  return [...byName.values()];
}

/**
 * One board by name.
 * @throws WorkbenchError E_UNKNOWN_BOARD listing the known names.
 */
export function getBoard(name: string, files: BoardFiles = boardFiles()): Board {
  const all = loadBoards(files);
  const b = all.find((x) => x.name === name);
  if (!b) {
    throw new WorkbenchError('E_UNKNOWN_BOARD', `no board named '${name}' (known: ${all.map((x) => x.name).join(', ')})`, {
      hint: `add it with \`workbench boards add ${name} --host HOST\` or to ${files.user}`,
    });
  }
  return b;
}

/**
 * Adds a board to the user's boards.toml (text appended, comments kept;
 * the result is validated before it is written atomically).
 * @throws WorkbenchError E_CONFIG (invalid entry, names the key), E_BOARD_EXISTS.
 */
export async function addBoard(name: string, entry: BoardEntry, files: BoardFiles = boardFiles()): Promise<Board> {
  const existing = loadBoards(files);
  if (existing.some((b) => b.name === name && b.source === files.user) || name === VBOARD) {
    throw new WorkbenchError('E_BOARD_EXISTS', `board '${name}' already exists in ${name === VBOARD ? 'the built-in registry' : files.user}`, {
      hint: `edit ${files.user} to change it, or choose another name`,
    });
  }
  const clean = Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)));
  const old = existsSync(files.user) ? readFileSync(files.user, 'utf8') : '';
  const section = stringify({ board: { [name]: clean } });
  const next = (old && !old.endsWith('\n') ? old + '\n' : old) + (old ? '\n' : '') + section + '\n';
  parseToml(next, files.user, BoardsFileSchema); // validate the whole file before writing
  await mkdir(dirname(files.user), { recursive: true });
  await writeFileAtomic(files.user, next);
  return getBoard(name, files);
}

/** Options for connecting to a board. */
export interface ConnectOptions {
  /** Record an unknown host key (trust on first use) instead of refusing it. */
  trust?: TrustPolicy;
  /** Connect timeout per attempt, ms. */
  connectTimeoutMs?: number;
  /** Reconnect budget, ms. */
  reconnectBudgetMs?: number;
}

/**
 * SSH options for a board. For `vboard` they come from the running virtual
 * board (`vboardConnection()`; throws when it is not running).
 */
export function boardSshOptions(board: Board, opts: ConnectOptions = {}): SshOptions {
  const extra = {
    ...(opts.trust ? { trust: opts.trust } : {}),
    ...(opts.connectTimeoutMs ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
    ...(opts.reconnectBudgetMs ? { reconnectBudgetMs: opts.reconnectBudgetMs } : {}),
  };
  if (board.name === VBOARD) {
    const c = vboardConnection();
    return {
      name: board.name,
      host: c.host,
      port: c.port,
      user: c.user,
      identityFile: c.identityFile,
      hostKeyAlias: c.hostKeyAlias,
      knownHostsFile: c.knownHostsFile,
      ...extra,
    };
  }
  const s = board.ssh!;
  return {
    name: board.name,
    host: s.host,
    port: s.port,
    user: s.user,
    ...(s.identity ? { identityFile: s.identity } : {}),
    ...(s.hostKeyAlias ? { hostKeyAlias: s.hostKeyAlias } : {}),
    knownHostsFile: knownHostsPath(),
    ...extra,
  };
}

/** The module install directory of a board for a kernel release. */
export function moduleDirFor(board: Board, release: string): string {
  return validateRemotePath(board.moduleDir.replaceAll('{release}', release), `module_dir of board ${board.name}`);
}
