import type { Diagnostic } from './diagnostics.ts';

/** checkpatch's type for a `Fixes:` or commit reference it cannot find in the tree. */
export const UNKNOWN_COMMIT_ID = 'UNKNOWN_COMMIT_ID';

/**
 * Judges checkpatch's UNKNOWN_COMMIT_ID findings when the tree has no
 * history to look the id up in: the pinned base is one commit made from
 * Debian's linux-source tarball (kernel-src-manifest/), so checkpatch's
 * `git cat-file` of any mainline id fails whatever the id is. The finding
 * becomes `info` and says what to do before sending (look the id up in a
 * tree with mainline history); with history (`baseCommits` > 1) it stays as
 * checkpatch said. Other findings pass unchanged. Returns new objects.
 * @param baseCommits commits reachable from the series' base (`git rev-list --count BASE`).
 */
export function reviewUnknownCommitIds(findings: Diagnostic[], baseCommits: number): Diagnostic[] {
  if (baseCommits > 1) return findings;
  return findings.map((d) =>
    d.flag === UNKNOWN_COMMIT_ID
      ? {
          ...d,
          severity: 'info' as const,
          message: `${d.message} -- not checkable here: the base tree is one commit (Debian's linux-source, no mainline history); confirm the id and its subject with \`git log -1 <id>\` in a mainline tree before sending`,
        }
      : d,
  );
}
