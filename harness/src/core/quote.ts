/**
 * Quotes one argument for a POSIX shell (POSIX.1-2017 XCU 2.2.2 "Single-Quotes":
 * nothing inside single quotes is special). The one quoting function of the
 * workbench: remote command lines (target/quote.ts quoteArgv, the remote side
 * of SSH runs them through the login shell) and the reproducer command lines
 * the Runner records (core/runner.ts formatArgv). Safe for spaces, quotes,
 * `$()`, backticks, globs and newlines: everything but plain safe characters
 * is put inside single quotes, and a single quote becomes `'\''`.
 */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
