/**
 * Compiler, sparse, modpost and linker messages of a kernel build, parsed
 * into records. Formats read: GCC's `file:line:col: severity: message
 * [-Wflag]` (gcc 16, LC_ALL=C), sparse's `file:line:col: warning|error: msg`
 * (after a kbuild `  CHECK   file` line), `ERROR|WARNING: modpost: ...`,
 * `ld: ...` and `make[N]: *** ...` (kept only when nothing else explains a
 * failure).
 */

/**
 * Severity of a finding. `error` makes a build (or check) fail. `info`: a
 * finding the workbench judged moot (kept for the record, not counted as a
 * warning; e.g. checkpatch's FILE_PATH_CHANGES for files MAINTAINERS covers).
 */
export type Severity = 'error' | 'warning' | 'note' | 'info';

/** One parsed finding. */
export interface Diagnostic {
  /** Tree path (e.g. `drivers/media/platform/rockchip/rkvdec/rkvdec.c`), when the message names a file. */
  file?: string;
  /** 1-based line. */
  line?: number;
  /** 1-based column (GCC counts bytes). */
  column?: number;
  severity: Severity;
  message: string;
  /** Which tool said it. */
  tool: 'gcc' | 'sparse' | 'modpost' | 'ld' | 'make' | 'checkpatch' | 'workbench';
  /** GCC warning option (`-Wunused-variable`) or checkpatch type (`LONG_LINE`). */
  flag?: string;
  /** The series patch that introduced the line (name and subject), when known. */
  patch?: string;
}

/** Maps a path as the tool printed it to a tree path; undefined keeps it as printed. */
export type PathMapper = (printed: string) => string | undefined;

const GCC_RE = /^(.+?):(\d+):(?:(\d+):)? (fatal error|error|warning|note): (.*)$/;

/**
 * Parses make output of a kbuild run (stdout and stderr concatenated).
 * Duplicates (the same header warning seen from several .c files) are kept
 * once.
 */
export function parseBuildOutput(text: string, mapPath: PathMapper = () => undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  const makeErrors: Diagnostic[] = [];
  const seen = new Set<string>();
  let tool: 'gcc' | 'sparse' = 'gcc';
  const push = (d: Diagnostic) => {
    const k = `${d.file}:${d.line}:${d.column}:${d.severity}:${d.message}`;
    if (seen.has(k)) return;
    seen.add(k);
    out.push(d);
  };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    let m: RegExpExecArray | null;
    if (/^\s+CHECK\s/.test(line)) {
      tool = 'sparse';
      continue;
    }
    if (/^\s+(CC|LD|AR|AS|CPP)(\s+\[M\])?\s/.test(line)) {
      tool = 'gcc';
      continue;
    }
    if ((m = GCC_RE.exec(line))) {
      if (/^(In file included|\s)/.test(m[1]!)) continue;
      let message = m[5]!.trim();
      let flag: string | undefined;
      const f = /\s\[(-W[^\]]+|-Werror=[^\]]+)\]$/.exec(message);
      if (f) {
        flag = f[1]!;
        message = message.slice(0, f.index).trim();
      }
      const printed = m[1]!.replace(/^\.\//, '');
      push({
        file: mapPath(printed) ?? printed,
        line: Number(m[2]),
        ...(m[3] ? { column: Number(m[3]) } : {}),
        severity: m[4] === 'note' ? 'note' : m[4] === 'warning' ? 'warning' : 'error',
        message,
        tool: flag ? 'gcc' : tool,
        ...(flag ? { flag } : {}),
      });
      continue;
    }
    if ((m = /^(ERROR|WARNING): modpost: (.*)$/.exec(line))) {
      push({ severity: m[1] === 'ERROR' ? 'error' : 'warning', message: m[2]!.trim(), tool: 'modpost' });
      continue;
    }
    if ((m = /^(?:\S*-)?ld(?:\.bfd)?: (.*)$/.exec(line))) {
      push({ severity: /warning:/.test(m[1]!) ? 'warning' : 'error', message: m[1]!.trim(), tool: 'ld' });
      continue;
    }
    if ((m = /^make(?:\[\d+\])?: \*\*\* (.*)$/.exec(line))) {
      makeErrors.push({ severity: 'error', message: m[1]!.trim(), tool: 'make' });
    }
  }
  if (makeErrors.length && !out.some((d) => d.severity === 'error')) out.push(makeErrors[0]!);
  return out;
}

/** `file:line:col: severity: message` for a person (GCC style). */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file ? `${d.file}${d.line ? `:${d.line}` : ''}${d.column ? `:${d.column}` : ''}: ` : '';
  return `${where}${d.severity}: ${d.message}${d.flag ? ` [${d.flag}]` : ''} (${d.tool}${d.patch ? `; ${d.patch}` : ''})`;
}
