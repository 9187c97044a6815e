import { mkdtempSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScript, runScript } from '../../src/target/scripts.ts';
import { LocalTarget } from '../target/localTarget.ts';

/** boardCheck.sh (`workbench boards check`) run on this machine: expected values from node's os module. */
describe('boardCheck.sh', () => {
  it('prints the kernel release, the uid and the free space of the nearest existing folder, tab-separated', async () => {
    const script = loadScript(new URL('../../src/cli/commands/', import.meta.url), 'boardCheck.sh');
    const dir = join(mkdtempSync(join(tmpdir(), 'wb-check-')), 'lib', 'modules', 'x', 'updates');
    const r = await runScript(new LocalTarget(), script, [dir]);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    expect(rows).toContainEqual(['release', release()]);
    expect(rows).toContainEqual(['uid', String(process.getuid!())]);
    const df = rows.find((x) => x[0] === 'df')!;
    expect(Number(df[1])).toBeGreaterThan(0);
    expect(df[2]!.startsWith('/')).toBe(true);
  });
});
