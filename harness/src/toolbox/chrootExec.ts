import { isAbsolute } from 'node:path';
import { WorkbenchError } from '../core/errors.ts';
import { loadScript, scriptArgv } from '../core/scripts.ts';

/** A host path made visible inside the chroot for one command. */
export interface Bind {
  /** Absolute host path (directory or file). */
  host: string;
  /** Absolute path inside the chroot. */
  inside: string;
  /** Mount read-only (default false). */
  readOnly?: boolean;
}

/**
 * The fixed host shell script that sets up the binds in the private mount
 * namespace and enters the chroot: `enterChroot.sh ROOT N [HOST INSIDE ro|rw]... COMMAND...`
 * (see the file). Arguments are positional, never spliced into the script.
 */
export const ENTER_SCRIPT = loadScript(import.meta.url, 'enterChroot.sh');

/** PATH inside the toolbox. */
export const CHROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function checkInside(p: string, what: string): void {
  if (!isAbsolute(p) || p.split('/').includes('..') || p === '/') {
    throw new WorkbenchError('E_TOOLBOX_ARG', `${what} "${p}" must be an absolute path inside the toolbox without ".." (and not /)`);
  }
}

/**
 * argv that runs `argv` inside the chroot at `root`: a new mount and PID
 * namespace with its own /proc (objtool and friends need /proc), the given
 * binds, a clean environment (PATH, HOME=/root, LC_ALL=C.UTF-8 plus `env`)
 * and the working directory `cwd` (inside path). With `pidNamespace: false`
 * only a mount namespace is made and the host's /proc is bound (for daemons).
 *
 * Shape: `unshare -m -p -f --mount-proc=<root>/proc sh -c ENTER_SCRIPT
 * enterChroot <root> <n> [host inside ro|rw]... /usr/bin/env -i -C cwd VAR=... argv...`
 */
export function chrootArgv(
  root: string,
  argv: readonly string[],
  opts: { cwd?: string; binds?: readonly Bind[]; env?: Record<string, string>; pidNamespace?: boolean } = {},
): string[] {
  if (argv.length === 0) throw new WorkbenchError('E_TOOLBOX_ARG', 'toolbox exec needs a command');
  const binds = opts.binds ?? [];
  // pidNamespace false: for a program that daemonizes (its PID must be a host PID, and it must
  // outlive the command: a PID namespace dies with its first process). /proc is then bound from the host.
  const ns = opts.pidNamespace === false ? ['unshare', '-m'] : ['unshare', '-m', '-p', '-f', `--mount-proc=${root}/proc`];
  const allBinds = opts.pidNamespace === false ? [{ host: '/proc', inside: '/proc' }, ...binds] : binds;
  const out = [...ns, ...scriptArgv(ENTER_SCRIPT, [root, String(allBinds.length)])];
  for (const b of allBinds) {
    if (!isAbsolute(b.host)) throw new WorkbenchError('E_TOOLBOX_ARG', `bind source "${b.host}" must be an absolute host path`);
    checkInside(b.inside, 'bind target');
    out.push(b.host, b.inside, b.readOnly ? 'ro' : 'rw');
  }
  const cwd = opts.cwd ?? '/root';
  checkInside(cwd === '/' ? '/root' : cwd, 'working directory');
  const env = { PATH: CHROOT_PATH, HOME: '/root', LC_ALL: 'C.UTF-8', TERM: 'dumb', ...(opts.env ?? {}) };
  out.push('/usr/bin/env', '-i', '-C', cwd);
  for (const [k, v] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new WorkbenchError('E_TOOLBOX_ARG', `bad environment variable name "${k}"`);
    out.push(`${k}=${v}`);
  }
  // `--` is not understood by every env; a command starting with '-' or containing '=' would be misread.
  if (argv[0]!.startsWith('-') || argv[0]!.includes('=')) {
    throw new WorkbenchError('E_TOOLBOX_ARG', `command "${argv[0]}" must be a program name or path`);
  }
  out.push(...argv);
  return out;
}
