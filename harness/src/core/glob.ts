/**
 * Glob matching over names (vector names, MPP field names): `*` matches any
 * run of characters, `?` one character, everything else itself; anchored,
 * case-sensitive. Several globs may be given comma-separated: a name matches
 * when any of them does. Empty globs (`a,,b`) are ignored.
 */
export function globMatcher(glob: string): (name: string) => boolean {
  const res = glob
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean)
    .map(
      (g) =>
        new RegExp(
          '^' +
            g
              .replace(/[.+^${}()|[\]\\]/g, '\\$&')
              .replace(/\*/g, '.*')
              .replace(/\?/g, '.') +
            '$',
        ),
    );
  return (name) => res.some((r) => r.test(name));
}
