/**
 * Last `n` lines of `s` (trailing blank space dropped), joined with `sep`:
 * the one helper for quoting the end of a tool's output in messages.
 */
export function tail(s: string, n = 15, sep = '\n'): string {
  return s.trimEnd().split('\n').slice(-n).join(sep);
}
