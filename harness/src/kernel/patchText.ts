import { tail } from '../core/text.ts';
/**
 * Reading mail-formatted patches (`git format-patch` output) and the messages
 * `git am` / `git apply` print when a patch does not apply. Pure functions.
 */

/** One hunk of a patch: the file it changes and its `@@` header. */
export interface PatchHunk {
  /** Path of the file (new name; old name for deletions), without a/ b/. */
  file: string;
  /** Start line in the old file (from `@@ -N,...`). */
  oldStart: number;
  /** Start line in the new file. */
  newStart: number;
  /** The full `@@ ... @@ context` line. */
  header: string;
  /** 1-based line of the header inside the patch text. */
  patchLine: number;
}

/**
 * The subject of a mail patch: the `Subject:` header (folded lines joined)
 * without the `[PATCH v2 3/7]`-style prefix; undefined when absent.
 */
export function patchSubject(text: string): string | undefined {
  const head = text.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const m = /^Subject:[ \t]*(.*(?:\r?\n[ \t]+.*)*)/im.exec(head);
  if (!m) return undefined;
  const raw = m[1]!.replace(/\r?\n[ \t]+/g, ' ').trim();
  return raw.replace(/^(\[[^\]]*\]\s*)+/, '').trim() || raw;
}

/** True when the text contains a unified diff (a cover letter does not). */
export function hasDiff(text: string): boolean {
  return /^diff --git /m.test(text) || /^--- \S.*\n\+\+\+ \S/m.test(text);
}

/** Every hunk of every file in a patch, in order. */
export function patchHunks(text: string): PatchHunk[] {
  const out: PatchHunk[] = [];
  let file = '';
  let oldName = '';
  text.split('\n').forEach((line, i) => {
    let m: RegExpExecArray | null;
    if ((m = /^diff --git a\/(\S+) b\/(\S+)/.exec(line))) {
      file = m[2]!;
      oldName = m[1]!;
    } else if ((m = /^--- (?:a\/)?(\S+)/.exec(line))) {
      oldName = m[1] === '/dev/null' ? oldName : m[1]!;
    } else if ((m = /^\+\+\+ (?:b\/)?(\S+)/.exec(line))) {
      file = m[1] === '/dev/null' ? oldName : m[1]!;
    } else if ((m = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line))) {
      out.push({ file, oldStart: Number(m[1]), newStart: Number(m[2]), header: line.trimEnd(), patchLine: i + 1 });
    }
  });
  return out;
}

/** Where a patch failed, as far as git's messages tell. */
export interface ApplyFailure {
  /** File that did not apply (tree path). */
  file?: string;
  /** Old-file line git names (`error: patch failed: FILE:LINE`). */
  line?: number;
  /** The hunk header of the failing hunk, when it could be matched. */
  hunk?: string;
  /** The most telling lines of git's output. */
  reason: string;
}

/**
 * Reads `git am --3way` / `git apply --check -v` output (LC_ALL=C) and
 * matches the failing line to a hunk of `patch`.
 * Messages read (git 2.39..2.47): `error: patch failed: F:N`,
 * `CONFLICT (...): Merge conflict in F`, `error: F: does not exist in index`,
 * `error: F: already exists in index`, `error: F: patch does not apply`.
 */
export function parseApplyFailure(output: string, patch: string): ApplyFailure {
  let file: string | undefined;
  let line: number | undefined;
  let m: RegExpExecArray | null;
  if ((m = /^error: patch failed: (.+):(\d+)$/m.exec(output))) {
    file = m[1]!;
    line = Number(m[2]);
  } else if ((m = /^CONFLICT \([^)]*\): Merge conflict in (.+)$/m.exec(output))) {
    file = m[1]!;
  } else if ((m = /^error: (.+): (?:does not exist in index|already exists in (?:index|working directory)|patch does not apply)$/m.exec(output))) {
    file = m[1]!;
  }
  const keep = output
    .split('\n')
    .filter((l) => /^(error|CONFLICT|fatal)/.test(l) && !/^error: while searching for:/.test(l))
    .slice(0, 6)
    .join('\n');
  const hunks = patchHunks(patch).filter((h) => h.file === file);
  let hunk: string | undefined;
  if (line !== undefined) hunk = hunks.find((h) => h.oldStart === line)?.header;
  if (!hunk && hunks.length === 1) hunk = hunks[0]!.header;
  return { file, line, hunk, reason: keep || tail(output, 4) };
}

/**
 * Entries of a quilt-style `series` file: one patch file per line, `#`
 * comments and blank lines ignored, options after the name (`-p1`) ignored.
 * @returns name and 1-based line number of each entry.
 */
export function parseSeriesFile(text: string): { name: string; line: number }[] {
  const out: { name: string; line: number }[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) return;
    out.push({ name: line.split(/\s+/)[0]!, line: i + 1 });
  });
  return out;
}
