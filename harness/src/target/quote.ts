import { WorkbenchError } from '../core/errors.ts';
import { shellQuote } from '../core/quote.ts';

export { shellQuote };

/**
 * Joins an argv into one remote command line, each argument quoted by
 * {@link shellQuote}. The only way remote command lines are built.
 */
export function quoteArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new WorkbenchError('E_INTERNAL', 'empty remote argv');
  return argv.map(shellQuote).join(' ');
}

/**
 * Validates a name that will become part of a remote path (vector names,
 * module names, backup ids): 1-128 chars of `[A-Za-z0-9._+-]`, not starting
 * with `-` or `.`.
 * @throws WorkbenchError `E_BAD_NAME` naming the field.
 */
export function validateName(value: string, field: string): string {
  if (!/^[A-Za-z0-9_+][A-Za-z0-9._+-]{0,127}$/.test(value)) {
    throw new WorkbenchError('E_BAD_NAME', `${field} '${value.slice(0, 80)}' is not a safe name`, {
      hint: 'use letters, digits, . _ + - only (no spaces, slashes or leading dash/dot)',
    });
  }
  return value;
}

/**
 * Validates an absolute remote path: starts with `/`, no `..` component, no
 * NUL/newline, printable ASCII only.
 * @throws WorkbenchError `E_BAD_PATH`.
 */
export function validateRemotePath(path: string, field = 'remote path'): string {
  if (!path.startsWith('/') || /(^|\/)\.\.(\/|$)/.test(path) || /[\0\n\r]/.test(path) || !/^[\x20-\x7e]+$/.test(path)) {
    throw new WorkbenchError('E_BAD_PATH', `${field} '${path.slice(0, 120)}' is not an absolute, normalized path`, {
      hint: 'use an absolute path without .. and without control characters',
    });
  }
  return path;
}
