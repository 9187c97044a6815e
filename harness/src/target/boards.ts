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
import type { TrustPolicy } from './knownHosts.ts';
import { validateRemotePath } from './quote.ts';
import type { LabgridConfig } from './labgrid.ts';

/**
 * The board registry: `boards.toml` in the user's config dir
 * ({@link configRoot}) plus an optional `boards.toml` at the project root
 * (user entries win on a name clash), after the built-in boards of the
 * board kinds (target/provider.ts: the virtual board comes from its
 * provider).
 *
 * ```toml
 * [board.rock5b]
 * host = "192.168.1.50"      # required
 * port = 22                  # default 22
 * user = "root"              # default root
 * identity = "~/.ssh/id_ed25519"   # default: SSH agent
 * kind = "ssh"               # board kind (provider), default ssh
 * arch = "arm64"             # CPU architecture: amd64 | arm64 (default arm64)
 * driver = "rkvdec"          # kernel driver under test (default rkvdec)
 * decoder = "gst-v4l2sl-vp9" # decoder backend (default: the first board-side one)
 * module_dir = "/lib/modules/{release}/updates"   # default; {release} = uname -r
 * console = "picocom -b 1500000 /dev/ttyUSB0"     # optional, run under a pty
 * power_on = "..."; power_off = "..."; power_cycle = "..."   # optional host commands
 * labels = ["rk3588", "rock5b"]
 *
 * [board.rock5b.labgrid]     # optional: a shared board behind a labgrid place
 * place = "rock5b-01"        # acquired before the board is touched, released after
 * coordinator = "lab:20408"  # default: LG_COORDINATOR, else labgrid-client's default
 * ```
 *
 * With a labgrid place, `host`, `port` and `user` may be left out: when the
 * place has a NetworkService resource, its address, port and username are
 * used once the place is acquired (target/labgrid.ts), else these keys.
 *
 * The older key `flavour` (`arm64`, or `vboard` for an amd64 board running
 * visl) is still read: it sets `arch` and `driver` when they are not given.
 */

/** CPU architecture of a board (Debian architecture names). */
export type Arch = 'amd64' | 'arm64';

/** How the workbench talks to a board. */
export type Transport = 'ssh';

/**
 * A board profile (data only): what it is (arch, driver under test) and how
 * it is reached (kind = its provider in target/provider.ts, transport).
 * Nothing outside the providers branches on a board's name or kind; code
 * that needs a board-dependent choice asks the profile (arch, driver).
 */
export interface Board {
  name: string;
  /** Board kind: the provider that brings it up and connects (`ssh`, `vboard`, ...). */
  kind: string;
  arch: Arch;
  /** Kernel driver under test (`visl`, `rkvdec`, ...): selects the decoder device and the per-vector checks. */
  driver: string;
  /** Decoder backend to use (decode/backend.ts name); default: the first board-side backend. */
  decoder?: string;
  transport: Transport;
  /**
   * SSH endpoint (absent for a kind that resolves it when connecting, e.g.
   * the vboard, and for a labgrid board whose place's NetworkService gives
   * it once acquired).
   */
  ssh?: { host: string; port: number; user: string; identity?: string; hostKeyAlias?: string };
  /**
   * The labgrid place to acquire before touching the board (boards.toml
   * `[board.NAME.labgrid]`), with the entry's `identity` and
   * `host_key_alias` for the SSH endpoint its NetworkService gives.
   */
  labgrid?: LabgridConfig & { identity?: string; hostKeyAlias?: string };
  /** Module install directory; `{release}` is replaced by the board's `uname -r`. */
  moduleDir: string;
  /** Host command whose terminal is the board's serial console (run under node-pty). */
  console?: string;
  /** Host commands that switch the board on, off, or power-cycle it. */
  power: { on?: string; off?: string; cycle?: string };
  labels: string[];
  /**
   * False when the board's decoder writes no picture (the simboard's vdpu381
   * model records the programming but does not decode yet): the pixels check
   * does not run. Default true.
   */
  decodesPixels?: boolean;
  /** True when the board records every decode job's register programming (the simboard): the registers check runs. */
  registerCaptures?: boolean;
  /** Where the entry came from (file path, or `built-in`). */
  source: string;
}

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
  .refine(
    (p) => /^[A-Za-z0-9._+/-]*$/.test(p.replaceAll('{release}', 'r')),
    'expected a path of letters, digits and . _ + - / only (no spaces or shell metacharacters)',
  );

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

// RFC 1035 section 2.3.4: a domain name is at most 253 characters as text; a leading '-' would read as an option.
const hostName = z
  .string()
  .min(1, 'expected a host name or address')
  .max(253, 'expected a host name of at most 253 characters')
  .regex(/^[A-Za-z0-9.:_][A-Za-z0-9.:_-]*$/, 'expected a host name or IP address');

/**
 * `[board.NAME.labgrid]`: labgrid place names are free text in labgrid, but
 * they reach a command line here, so they are kept to letters, digits and
 * `. _ -`; the coordinator is `HOST:PORT` (labgrid-client -x).
 */
const LabgridSchema = z
  .object({
    place: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/, 'expected a labgrid place name (letters, digits, . _ -, max 64)'),
    coordinator: z
      .string()
      .max(260, 'expected HOST:PORT')
      .regex(/^[A-Za-z0-9.:_[\]-]+:\d{1,5}$/, 'expected the coordinator as HOST:PORT, e.g. "lab.example.org:20408"')
      .optional(),
  })
  .strict();

const BoardEntrySchema = z
  .object({
    host: hostName.optional(),
    port: z.number().int().min(1).max(65535).optional(),
    // useradd(8): user names are at most 32 characters.
    user: z
      .string()
      .max(32, 'expected a user name of at most 32 characters')
      .regex(/^[a-z_][a-z0-9_.-]*$/i, 'expected a user name')
      .optional(),
    labgrid: LabgridSchema.optional(),
    identity: localPath.optional(),
    host_key_alias: z.string().regex(NAME_RE).optional(),
    kind: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,31}$/, 'expected a board kind such as "ssh"')
      .default('ssh'),
    arch: z.enum(['amd64', 'arm64']).optional(),
    driver: z
      .string()
      .regex(/^[a-z0-9_-]{1,32}$/, 'expected a kernel driver name such as "rkvdec"')
      .optional(),
    decoder: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'expected a decoder name such as "gst-v4l2sl-vp9"')
      .optional(),
    flavour: z.enum(['vboard', 'arm64']).optional(),
    module_dir: remotePathTemplate.default(DEFAULT_MODULE_DIR),
    console: hostCommand.optional(),
    power_on: hostCommand.optional(),
    power_off: hostCommand.optional(),
    power_cycle: hostCommand.optional(),
    labels: z
      .array(
        z
          .string()
          .max(64, 'expected a label of at most 64 characters')
          .regex(/^[A-Za-z0-9._:+-]+$/, 'expected a label without spaces'),
      )
      .default([]),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (!e.host && !e.labgrid)
      ctx.addIssue({ code: 'custom', path: ['host'], message: 'expected a host name or address (or a [labgrid] place that provides one)' });
  });

/** Schema of one boards.toml. */
export const BoardsFileSchema = z
  .object({
    board: z
      .record(z.string(), BoardEntrySchema)
      .superRefine((boards, ctx) => {
        for (const name of Object.keys(boards)) {
          if (!NAME_RE.test(name))
            ctx.addIssue({ code: 'custom', path: [name], message: 'board names are letters, digits, . _ - (max 64), not starting with . or -' });
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

/** Kernel driver under test of a board that names none: the series' driver (drivers/media/platform/rockchip/rkvdec). */
export const DEFAULT_DRIVER = 'rkvdec';

/** What the legacy `flavour` key meant. */
const FLAVOURS: Record<'vboard' | 'arm64', { arch: Arch; driver: string }> = {
  vboard: { arch: 'amd64', driver: 'visl' },
  arm64: { arch: 'arm64', driver: DEFAULT_DRIVER },
};

function readFile(file: string): Board[] {
  if (!existsSync(file)) return [];
  const parsed = parseToml(readFileSync(file, 'utf8'), file, BoardsFileSchema);
  return Object.entries(parsed.board).map(([name, e]) => ({
    name,
    kind: e.kind,
    arch: e.arch ?? FLAVOURS[e.flavour ?? 'arm64'].arch,
    driver: e.driver ?? FLAVOURS[e.flavour ?? 'arm64'].driver,
    ...(e.decoder ? { decoder: e.decoder } : {}),
    transport: 'ssh' as const,
    ...(e.host
      ? {
          ssh: {
            host: e.host,
            port: e.port ?? 22,
            user: e.user ?? 'root',
            ...(e.identity ? { identity: resolve(expandHome(e.identity)) } : {}),
            ...(e.host_key_alias ? { hostKeyAlias: e.host_key_alias } : {}),
          },
        }
      : {}),
    ...(e.labgrid
      ? {
          labgrid: {
            place: e.labgrid.place,
            ...(e.labgrid.coordinator ? { coordinator: e.labgrid.coordinator } : {}),
            ...(e.identity ? { identity: resolve(expandHome(e.identity)) } : {}),
            ...(e.host_key_alias ? { hostKeyAlias: e.host_key_alias } : {}),
          },
        }
      : {}),
    moduleDir: e.module_dir,
    ...(e.console ? { console: e.console } : {}),
    power: { on: e.power_on, off: e.power_off, cycle: e.power_cycle },
    labels: e.labels,
    source: file,
  }));
}

/**
 * Every board: the built-in ones first (from the board kinds, e.g. the
 * vboard), then the project file's, then the user file's (a user entry
 * replaces a project entry of the same name).
 * @throws WorkbenchError E_CONFIG naming the file and key (also when a file
 *   redefines a built-in board).
 */
export function loadBoards(builtins: readonly Board[], files: BoardFiles = boardFiles()): Board[] {
  const byName = new Map<string, Board>();
  for (const b of builtins) byName.set(b.name, b);
  for (const file of [files.project, files.user]) {
    for (const b of readFile(file)) {
      if (builtins.some((x) => x.name === b.name)) {
        throw new WorkbenchError(
          'E_CONFIG',
          `${file}: board.${b.name}: '${b.name}' is a built-in board (kind ${byName.get(b.name)!.kind}) and cannot be redefined`,
          {
            hint: `rename [board.${b.name}] in ${file}`,
          },
        );
      }
      byName.set(b.name, b);
    }
  }
  return [...byName.values()];
}

/**
 * One board by name.
 * @throws WorkbenchError E_UNKNOWN_BOARD listing the known names.
 */
export function getBoard(name: string, builtins: readonly Board[], files: BoardFiles = boardFiles()): Board {
  const all = loadBoards(builtins, files);
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
export async function addBoard(name: string, entry: BoardEntry, builtins: readonly Board[], files: BoardFiles = boardFiles()): Promise<Board> {
  const existing = loadBoards(builtins, files);
  const builtin = builtins.some((b) => b.name === name);
  if (existing.some((b) => b.name === name && b.source === files.user) || builtin) {
    throw new WorkbenchError('E_BOARD_EXISTS', `board '${name}' already exists in ${builtin ? 'the built-in registry' : files.user}`, {
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
  return getBoard(name, builtins, files);
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

/** The module install directory of a board for a kernel release. */
export function moduleDirFor(board: Board, release: string): string {
  return validateRemotePath(board.moduleDir.replaceAll('{release}', release), `module_dir of board ${board.name}`);
}
