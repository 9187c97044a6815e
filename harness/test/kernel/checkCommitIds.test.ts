import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reviewUnknownCommitIds } from '../../src/kernel/checkCommitIds.ts';
import { parseCheckpatch } from '../../src/kernel/checkpatch.ts';

// Real checkpatch.pl --strict --show-types output (Linux 7.2's script) for patches/fixes/0001 in the one-commit base tree.
const out = readFileSync(join(import.meta.dirname, 'fixtures/checkpatch-unknown-commit-id.out'), 'utf8');

describe('reviewUnknownCommitIds', () => {
  it("checkpatch's UNKNOWN_COMMIT_ID in a base tree without history becomes info saying what to check before sending", () => {
    const found = parseCheckpatch(out, 'fix');
    expect(found.map((d) => [d.flag, d.severity])).toEqual([['UNKNOWN_COMMIT_ID', 'warning']]);
    const judged = reviewUnknownCommitIds(found, 1);
    expect(judged[0]!.severity).toBe('info');
    expect(judged[0]!.message).toContain("Unknown commit id 'f9c7b7deeffd'");
    expect(judged[0]!.message).toContain('git log -1 <id>');
  });
  it('stays a warning where the tree has history to look the id up in', () => {
    const found = parseCheckpatch(out, 'fix');
    expect(reviewUnknownCommitIds(found, 1_300_000)).toEqual(found);
  });
});
