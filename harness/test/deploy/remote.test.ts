import { describe, expect, it } from 'vitest';
import { WorkbenchError, isWorkbenchError } from '../../src/core/errors.ts';
import { loadScript } from '../../src/core/scripts.ts';
import { runPhase } from '../../src/deploy/remote.ts';
import { FakeTarget } from '../target/fakeTarget.ts';

/**
 * runPhase's report of a journal that could not be written (journal.sh:
 * exit 90, `wb-journal-failed` last on stderr), with and without
 * allowFailure. The stderr text is what dash and GNU cat print on a full
 * ext4 (seen on the vboard, diskFull.int.test.ts).
 */
const INSTALL = loadScript(new URL('../../src/deploy/', import.meta.url), 'install.sh');
const FULL = 'cat: write error: No space left on device\nwb-journal-failed\n';

describe('runPhase', () => {
  it('a journal that cannot be written: E_JOURNAL_WRITE naming the cause, whether the caller allows failures or not', async () => {
    for (const allowFailure of [false, true]) {
      const t = new FakeTarget('vboard', () => ({ exitCode: 90, stderr: FULL }));
      const err = await runPhase(t, INSTALL, ['REL', 'no'], { journal: '{}', allowFailure }).catch((e) => e);
      expect(isWorkbenchError(err, 'E_JOURNAL_WRITE'), String(err)).toBe(true);
      expect(err.message).toBe(
        'vboard: could not write the deploy journal /var/lib/workbench/journal.json (cat: write error: No space left on device); the step it describes was not started',
      );
      expect(err.hint).toMatch(/^the board's disk is full: free space on it/);
      expect(t.calls[0]!.argv.slice(3, 5)).toEqual(['install', '/var/lib/workbench/journal.json']);
    }
  });

  it('the SSH target quotes the whole script in its error: only a real exit 90 ending with the marker counts', async () => {
    // Target.exec's message: "<name>: `sh -c '<text, which contains the marker>' ...` exited with N:\n<stderr tail>"
    const quoted = `vboard: \`sh -c '${INSTALL.text.slice(0, 40)} echo "wb-journal-failed" >&2; exit 90' install\``;
    const real = (code: number, stderr: string) =>
      new FakeTarget('vboard', () => {
        throw new WorkbenchError('E_REMOTE_FAILED', `${quoted} exited with ${code}:\n${stderr}`);
      });
    const a = await runPhase(real(90, FULL.trim()), INSTALL, [], { journal: '{}' }).catch((e) => e);
    expect(isWorkbenchError(a, 'E_JOURNAL_WRITE')).toBe(true);
    expect(a.message).toContain('(cat: write error: No space left on device)');
    // install.sh itself failing (mv: exit 1): not a journal failure, although the quoted script names the marker
    const b = await runPhase(real(1, "mv: cannot move 'a' to 'b': No such file or directory"), INSTALL, [], { journal: '{}' }).catch((e) => e);
    expect(isWorkbenchError(b, 'E_REMOTE_FAILED')).toBe(true);
    // no journal asked: exit 90 is the script's own
    const c = await runPhase(real(90, FULL.trim()), INSTALL, []).catch((e) => e);
    expect(isWorkbenchError(c, 'E_REMOTE_FAILED')).toBe(true);
  });
});
