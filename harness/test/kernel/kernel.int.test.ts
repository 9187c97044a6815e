/**
 * The kernel stage against the real toolbox (Debian sid chroot, gcc-16, the
 * pinned amd64 headers and linux-source): base tree, series apply, vboard
 * module build, compile-error diagnostics, bisect, checkpatch/sparse checks.
 * Needs root (the toolbox is a chroot). First run: toolbox + base tree
 * (~5-8 min), later runs use the cache.
 */
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/core/paths.ts';
import { runChecks } from '../../src/kernel/check.ts';
import { kgit } from '../../src/kernel/git.ts';
import { RKVDEC_DIR } from '../../src/kernel/moduleLayout.ts';
import { bisectSeries, buildSeries, seriesApply } from '../../src/kernel/stage.ts';
import { ensureToolbox } from '../../src/toolbox/toolbox.ts';
import { ExecaRunner } from '../../src/core/runner.ts';

const FX = join(import.meta.dirname, 'fixtures');
const VP9 = `${RKVDEC_DIR}/rkvdec-vp9.c`;
const isRoot = process.getuid?.() === 0;

async function workbench(args: string[]) {
  return execa('node', [join(projectRoot(), 'harness/bin/workbench.js'), ...args], { reject: false });
}

describe.runIf(isRoot)('kernel stage (real toolbox)', () => {
  it('builds rkvdec + the missing v4l2 helpers for the vboard kernel; an unchanged tree is a cache hit', async () => {
    const tb = await ensureToolbox({ runner: new ExecaRunner() });
    const r = await buildSeries({ runner: new ExecaRunner(), target: 'amd64', series: join(FX, 'series-good') });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.modules.map((m) => m.name).sort()).toEqual(['rockchip-vdec', 'v4l2-h264', 'v4l2-mem2mem', 'v4l2-vp9']);
    for (const m of r.modules) {
      expect(m.vermagic.split(' ')[0]).toBe(tb.kernelRelease);
      expect(m.machine).toBe('x86-64');
      expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    const vdec = r.modules.find((m) => m.name === 'rockchip-vdec')!;
    expect(vdec.depends).toEqual(expect.arrayContaining(['v4l2-mem2mem', 'v4l2-vp9', 'v4l2-h264', 'videodev']));
    // the series really is in the build: the fixture's define is in the built tree
    const again = await buildSeries({ runner: new ExecaRunner(), target: 'amd64', series: join(FX, 'series-good') });
    expect(again.cached).toBe(true);
    expect(again.modules.map((m) => m.sha256)).toEqual(r.modules.map((m) => m.sha256));
  });

  it('series apply: same base-commit every time, patches on a fresh branch', async () => {
    const a = await seriesApply({ runner: new ExecaRunner(), series: join(FX, 'series-good') });
    expect(a.commits).toHaveLength(2);
    const text = await kgit(new ExecaRunner(), a.tree).raw(['show', `HEAD:${VP9}`]);
    expect(text).toContain('#define RKVDEC_VP9_WB_FIXTURE');
    expect(await kgit(new ExecaRunner(), a.tree).raw(['rev-parse', 'HEAD~2'])).toContain(a.baseCommit);
  });

  it('a patch that does not apply: the error names the patch file, its subject and the failing file/hunk; the tree is left clean on the base', async () => {
    const r = await workbench(['series', 'apply', '--series', join(FX, 'series-conflict')]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('error[E_PATCH_APPLY]: patch 2/2');
    expect(r.stderr).toContain('0001-media-rkvdec-vp9-describe-callbacks-generically.patch');
    expect(r.stderr).toContain('"media: rkvdec: vp9: describe callbacks generically"');
    expect(r.stderr).toContain(`${VP9}:13 (hunk @@ -13,7 +13,7 @@)`);
    expect(r.stderr).toMatch(/hint: rebase the patch on the base tree/);
    const base = await seriesApply({ runner: new ExecaRunner(), series: join(FX, 'series-good') }).then((a) => a.baseCommit);
    // after the failure the next apply starts from a clean base and succeeds
    expect(base).toMatch(/^[0-9a-f]{40}$/);
  });

  it('a compile error is parsed to the right file and line and blamed on its patch; --bisect names that patch', async () => {
    const r = await buildSeries({ runner: new ExecaRunner(), target: 'amd64', series: join(FX, 'series-cerr') });
    expect(r.ok).toBe(false);
    expect(r.modules).toEqual([]);
    const err = r.diagnostics.find((d) => d.severity === 'error')!;
    expect(err).toMatchObject({ file: VP9, line: 26, column: 35, tool: 'gcc' });
    expect(err.message).toContain("'rkvdec_vp9_wb_undeclared' undeclared");
    expect(err.patch).toContain('break the build on purpose');

    const b = await bisectSeries({ runner: new ExecaRunner(), target: 'amd64', series: join(FX, 'series-bisect') });
    expect(b.steps.map((s) => s.result.ok)).toEqual([true, true, false]);
    expect(b.firstBad).not.toBe('base');
    expect(b.firstBad && b.firstBad !== 'base' ? b.firstBad.subject : '').toBe('media: rkvdec: vp9: break the build on purpose');
  });

  it('check: real checkpatch findings per patch/file/line, sparse and W=1 run, error-level -> not ok', async () => {
    const r = await runChecks({ runner: new ExecaRunner(), series: join(FX, 'series-style') });
    expect(r.ok).toBe(false);
    const long = r.findings.find((d) => d.flag === 'LONG_LINE')!;
    expect(long).toMatchObject({ tool: 'checkpatch', severity: 'warning', file: VP9, line: 30 });
    expect(long.patch).toContain('0001-media-rkvdec-vp9-style-fixture.patch');
    expect(r.findings.some((d) => d.flag === 'MISSING_SIGN_OFF' && d.severity === 'error')).toBe(true);
    expect(r.checkpatch[0]!.totals).toEqual({ errors: 4, warnings: 1, checks: 0 });
    // W=1 (gcc) sees the unused fixture function in the rkvdec folder
    expect(r.findings.some((d) => d.tool === 'gcc' && d.file === VP9 && d.line === 31 && d.flag === '-Wunused-function')).toBe(true);
    expect(r.build.commands.at(-1)).toEqual(expect.arrayContaining(['C=1', 'W=1']));

    const good = await runChecks({ runner: new ExecaRunner(), series: join(FX, 'series-good') });
    expect(good.findings.filter((d) => d.severity === 'error')).toEqual([]);
    expect(good.ok).toBe(true);
  });
});
