import type { Diagnostic } from './diagnostics.ts';
import { coveringSections, isCatchAll, type MaintainersSection } from './maintainers.ts';

/** checkpatch's type for "added, moved or deleted file(s), does MAINTAINERS need updating?". */
export const FILE_PATH_CHANGES = 'FILE_PATH_CHANGES';

/** Files a patch creates, deletes or renames (from its `diff --git` headers). */
export interface PatchFileChanges {
  /** New files and rename targets. */
  added: string[];
  /** Deleted files and rename sources. */
  removed: string[];
}

/**
 * Reads the extended headers of `git format-patch` output: `new file mode`,
 * `deleted file mode`, `rename from`/`rename to` after each `diff --git a/X
 * b/Y` line (git-diff(1), "generating patch text with -p").
 */
export function patchFileChanges(text: string): PatchFileChanges {
  const added: string[] = [];
  const removed: string[] = [];
  let a = '';
  let b = '';
  for (const line of text.split('\n')) {
    const d = /^diff --git a\/(\S+) b\/(\S+)$/.exec(line);
    if (d) {
      a = d[1]!;
      b = d[2]!;
      continue;
    }
    if (!a) continue;
    if (/^new file mode /.test(line)) added.push(b);
    else if (/^deleted file mode /.test(line)) removed.push(a);
    else if (/^rename from /.test(line)) removed.push(line.slice('rename from '.length));
    else if (/^rename to /.test(line)) added.push(line.slice('rename to '.length));
    else if (/^(@@|---|\+\+\+) /.test(line)) a = '';
  }
  return { added, removed };
}

/** Paths of `F:` lines that name `file` literally (an entry a deletion leaves stale). */
function namedLiterally(sections: MaintainersSection[], file: string): { section: string; line: number }[] {
  const out: { section: string; line: number }[] = [];
  for (const s of sections) {
    for (const f of s.files)
      if (!/[*?]/.test(f.pattern) && !isCatchAll(f.pattern) && f.pattern.replace(/\/$/, '') === file) out.push({ section: s.name, line: f.line });
  }
  return out;
}

/**
 * Judges checkpatch's FILE_PATH_CHANGES finding of one patch against
 * MAINTAINERS (as it is after that patch): when every file the patch adds is
 * covered by an existing section's `F:` pattern (see
 * {@link coveringSections}) and no removed file is named literally by an
 * `F:` line, the question "does MAINTAINERS need updating?" is answered (no)
 * and the finding becomes `info`, naming the covering section(s). Otherwise
 * it stays a warning and says which files no pattern covers (or which entry
 * names a removed file). Other findings pass unchanged. Returns new objects.
 */
export function reviewFilePathChanges(findings: Diagnostic[], patchText: string, sections: MaintainersSection[]): Diagnostic[] {
  if (!findings.some((d) => d.flag === FILE_PATH_CHANGES)) return findings;
  const ch = patchFileChanges(patchText);
  const covered = ch.added.map((f) => ({ file: f, cov: coveringSections(sections, f)[0] }));
  const uncovered = covered.filter((c) => !c.cov).map((c) => c.file);
  const stale = ch.removed.flatMap((f) => namedLiterally(sections, f).map((n) => `${f} (${n.section}, MAINTAINERS:${n.line})`));
  return findings.map((d) => {
    if (d.flag !== FILE_PATH_CHANGES) return d;
    if (!uncovered.length && !stale.length && (ch.added.length || ch.removed.length)) {
      const by = [...new Map(covered.map((c) => [c.cov!.section.name, c.cov!])).values()];
      const names = by.map((c) => `"${c.section.name}" (F: ${c.pattern.pattern}, MAINTAINERS:${c.pattern.line})`).join(', ');
      const what = ch.added.length
        ? `every added file (${ch.added.join(', ')}) is covered by MAINTAINERS section ${names}`
        : 'no MAINTAINERS entry names the removed file(s)';
      return { ...d, severity: 'info' as const, message: `${d.message} -- no: ${what}` };
    }
    const why = [
      ...(uncovered.length ? [`not covered by any MAINTAINERS F: pattern: ${uncovered.join(', ')}`] : []),
      ...(stale.length ? [`MAINTAINERS names removed file(s): ${stale.join(', ')}`] : []),
    ];
    return why.length ? { ...d, message: `${d.message} -- ${why.join('; ')}` } : d;
  });
}
