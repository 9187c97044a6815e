import type { Diagnostic, Severity } from './diagnostics.ts';

/**
 * Options the media subsystem wants for checkpatch (Linux
 * Documentation/driver-api/media/maintainer-entry-profile.rst: `--strict
 * --max-line-length=80`); `--show-types` so each finding carries its type.
 */
export const CHECKPATCH_ARGS: readonly string[] = ['--strict', '--max-line-length=80', '--show-types', '--no-color'];

/** checkpatch's levels: ERROR is an error, WARNING a warning, CHECK (--strict) a note. */
function level(s: string): Severity {
  return s === 'ERROR' ? 'error' : s === 'WARNING' ? 'warning' : 'note';
}

/**
 * Parses checkpatch.pl output (default, non-terse format of scripts/checkpatch.pl):
 * a finding is `LEVEL:TYPE: message` followed by `#N: FILE: path:line:` (a
 * line of a changed file) or `#N: ` (a line of the patch itself, e.g. the
 * commit message), then the offending lines. The `total:` summary is ignored.
 *
 * @param patch name of the patch the output is for (set on every finding).
 */
export function parseCheckpatch(text: string, patch?: string): Diagnostic[] {
  const lines = text.split('\n');
  const out: Diagnostic[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(ERROR|WARNING|CHECK):(?:([A-Z0-9_]+):)? (.*)$/.exec(lines[i]!);
    if (!m) continue;
    const d: Diagnostic = { severity: level(m[1]!), message: m[3]!.trim(), tool: 'checkpatch', ...(m[2] ? { flag: m[2] } : {}), ...(patch ? { patch } : {}) };
    const loc = /^#(\d+): (?:FILE: (.+):(\d+):)?/.exec(lines[i + 1] ?? '');
    if (loc) {
      if (loc[2]) {
        d.file = loc[2];
        d.line = Number(loc[3]);
      } else {
        d.message += ` (patch line ${loc[1]})`;
      }
    }
    out.push(d);
  }
  return out;
}

/** The `total: N errors, N warnings, N checks, N lines checked` counts, when present. */
export function checkpatchTotals(text: string): { errors: number; warnings: number; checks: number } | undefined {
  const m = /^total: (\d+) errors, (\d+) warnings, (?:(\d+) checks, )?\d+ lines checked/m.exec(text);
  return m ? { errors: Number(m[1]), warnings: Number(m[2]), checks: Number(m[3] ?? 0) } : undefined;
}
