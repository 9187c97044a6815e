// The kernel's MAINTAINERS file: sections and their file patterns, matched
// per the rules at the top of MAINTAINERS ("Descriptions of section entries"):
//
// - `F:` files and directories, wildcard patterns. A trailing slash includes
//   all files and subdirectory files (`drivers/net/`); `drivers/net/*` is all
//   files in drivers/net but not below; `*/net/*` any top-level directory's
//   net/; `fs/**/*foo*.c` every *foo*.c in any subdirectory of fs.
// - `X:` excluded files and directories, same rules, tested before `F:`.
//
// A pattern without a trailing slash and without wildcards that names a
// directory also covers what is below it (scripts/get_maintainer.pl adds the
// slash when the path is a directory; a file below the path proves it is one).
// `N:` (regex) and `K:` (content) entries are not used: coverage here means
// an explicit file pattern.

/** One `F:` or `X:` pattern. */
export interface FilePattern {
  /** As written after the tab. */
  pattern: string;
  /** 1-based line in MAINTAINERS. */
  line: number;
  re: RegExp;
}

/** One MAINTAINERS section (entry). */
export interface MaintainersSection {
  /** Its title line, e.g. `ROCKCHIP RKVDEC VIDEO DECODER DRIVER`. */
  name: string;
  /** 1-based line of the title. */
  line: number;
  files: FilePattern[];
  excludes: FilePattern[];
}

/** Regex source of a MAINTAINERS wildcard pattern (without its trailing slash). */
function globSource(glob: string): string {
  let s = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` = any number of directories, including none; a bare `**` = anything.
      if (glob[i + 2] === '/') {
        s += '(?:[^/]+/)*';
        i += 2;
      } else {
        s += '.*';
        i += 1;
      }
    } else if (c === '*') s += '[^/]*';
    else if (c === '?') s += '[^/]';
    else s += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return s;
}

/** Compiles an `F:`/`X:` pattern to a regex over tree paths (`a/b/c.c`). */
export function compilePattern(pattern: string): RegExp {
  const p = pattern.replace(/^\.\//, '');
  if (p.endsWith('/')) return new RegExp(`^${globSource(p.slice(0, -1))}/`);
  const src = globSource(p);
  // A literal path also covers what is below it (a directory written without the slash).
  return /[*?]/.test(p) ? new RegExp(`^${src}$`) : new RegExp(`^${src}(?:/|$)`);
}

/** True for patterns that match every path (`*` and `*` + `/` in THE REST), which say nothing about a file. */
export function isCatchAll(pattern: string): boolean {
  return /^[*?/]+$/.test(pattern.trim());
}

/**
 * Parses MAINTAINERS: a section is a title line followed by `T:\tvalue`
 * lines (one capital letter, colon, whitespace) at column 0, up to a blank
 * line. The introduction's indented examples are not entries.
 */
export function parseMaintainers(text: string): MaintainersSection[] {
  const out: MaintainersSection[] = [];
  let title: { name: string; line: number } | undefined;
  let cur: MaintainersSection | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    const m = /^([A-Z]):\s+(.*?)\s*$/.exec(raw);
    if (m) {
      if (!cur) {
        if (!title) continue;
        cur = { name: title.name, line: title.line, files: [], excludes: [] };
        out.push(cur);
      }
      if (m[1] === 'F' || m[1] === 'X') {
        const value = m[2]!;
        let re: RegExp;
        try {
          re = compilePattern(value);
        } catch {
          continue;
        }
        (m[1] === 'F' ? cur.files : cur.excludes).push({ pattern: value, line: i + 1, re });
      }
      continue;
    }
    cur = undefined;
    title = raw.trim() && !/^\s/.test(raw) ? { name: raw.trim(), line: i + 1 } : undefined;
  }
  return out;
}

/** A section that covers a file, with the pattern that matched. */
export interface Coverage {
  section: MaintainersSection;
  pattern: FilePattern;
}

/**
 * Every section whose `F:` patterns match `file` (a tree path) and whose
 * `X:` patterns do not, most specific first (longest matching pattern).
 * Catch-all patterns ({@link isCatchAll}) do not count.
 */
export function coveringSections(sections: MaintainersSection[], file: string): Coverage[] {
  const out: Coverage[] = [];
  for (const s of sections) {
    if (s.excludes.some((x) => x.re.test(file))) continue;
    const hits = s.files.filter((f) => !isCatchAll(f.pattern) && f.re.test(file));
    if (!hits.length) continue;
    hits.sort((a, b) => b.pattern.length - a.pattern.length);
    out.push({ section: s, pattern: hits[0]! });
  }
  return out.sort((a, b) => b.pattern.pattern.length - a.pattern.pattern.length);
}
