/**
 * FILE_PATH_CHANGES against the real thing: the base tree's
 * scripts/checkpatch.pl (in the toolbox) on two fixture patches that add
 * files, judged against the base tree's real MAINTAINERS. Needs root and the
 * toolbox + base tree (cached by the other kernel integration tests).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FILE_PATH_CHANGES, reviewFilePathChanges } from '../../src/kernel/checkMaintainers.ts';
import { CHECKPATCH_ARGS, parseCheckpatch } from '../../src/kernel/checkpatch.ts';
import { ensureBaseTree } from '../../src/kernel/baseTree.ts';
import { kgit } from '../../src/kernel/git.ts';
import { parseMaintainers } from '../../src/kernel/maintainers.ts';
import { openWorkTree } from '../../src/kernel/workTree.ts';
import { ensureToolbox } from '../../src/toolbox/toolbox.ts';
import { ExecaRunner } from '../../src/core/runner.ts';

const FX = join(import.meta.dirname, 'fixtures', 'maintainers');
const isRoot = process.getuid?.() === 0;

describe.runIf(isRoot)('checkpatch FILE_PATH_CHANGES judged against the real MAINTAINERS', () => {
  it('a new rkvdec file -> info naming ROCKCHIP RKVDEC; a new top-level file -> warning', async () => {
    const tb = await ensureToolbox({ runner: new ExecaRunner() });
    const base = await ensureBaseTree(tb, { runner: new ExecaRunner() });
    const sections = parseMaintainers(await kgit(new ExecaRunner(), base.gitDir).raw(['show', `${base.commit}:MAINTAINERS`]));
    const wt = await openWorkTree(base, { runner: new ExecaRunner() });
    const out: Record<string, string> = {};
    try {
      for (const name of ['0001-covered-new-file.patch', '0002-uncovered-new-file.patch']) {
        const r = await tb.exec(['perl', '/wb/src/scripts/checkpatch.pl', ...CHECKPATCH_ARGS, `/wb/patches/${name}`], {
          cwd: '/wb/src',
          binds: [
            { host: wt.dir, inside: '/wb/src', readOnly: true },
            { host: FX, inside: '/wb/patches', readOnly: true },
          ],
          env: { LC_ALL: 'C' },
          allowFailure: true,
          timeoutMs: 5 * 60_000,
        });
        out[name] = r.stdout;
      }
    } finally {
      await wt.release();
    }
    const covered = parseCheckpatch(out['0001-covered-new-file.patch']!, 'p1');
    expect(covered.map((d) => d.flag)).toEqual([FILE_PATH_CHANGES]);
    const c = reviewFilePathChanges(covered, await readFile(join(FX, '0001-covered-new-file.patch'), 'utf8'), sections);
    expect(c[0]!.severity).toBe('info');
    expect(c[0]!.message).toContain('"ROCKCHIP RKVDEC VIDEO DECODER DRIVER" (F: drivers/media/platform/rockchip/rkvdec/');

    const uncovered = parseCheckpatch(out['0002-uncovered-new-file.patch']!, 'p2').filter((d) => d.flag === FILE_PATH_CHANGES);
    expect(uncovered).toHaveLength(1);
    const u = reviewFilePathChanges(uncovered, await readFile(join(FX, '0002-uncovered-new-file.patch'), 'utf8'), sections);
    expect(u[0]!.severity).toBe('warning');
    expect(u[0]!.message).toContain('not covered by any MAINTAINERS F: pattern: wb-fixture-uncovered.txt');
  });
});
