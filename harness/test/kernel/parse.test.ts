import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpatchTotals, parseCheckpatch } from '../../src/kernel/checkpatch.ts';
import { parseBuildOutput } from '../../src/kernel/diagnostics.ts';
import { pathMapper, RKVDEC_DIR } from '../../src/kernel/moduleLayout.ts';
import { parseApplyFailure, parseSeriesFile, patchHunks, patchSubject } from '../../src/kernel/patchText.ts';

const FX = join(import.meta.dirname, 'fixtures');
const read = (p: string) => readFileSync(join(FX, p), 'utf8');

describe('checkpatch output (captured from the base tree scripts/checkpatch.pl --strict --max-line-length=80 --show-types)', () => {
  const text = read('checkpatch-style.out');
  const found = parseCheckpatch(text, 'style.patch');

  it('parses every finding with level, type, file and line', () => {
    expect(found.map((d) => `${d.severity}:${d.flag}:${d.file ?? '-'}:${d.line ?? '-'}`)).toEqual([
      `error:TRAILING_WHITESPACE:${RKVDEC_DIR}/rkvdec-vp9.c:30`,
      `warning:LONG_LINE:${RKVDEC_DIR}/rkvdec-vp9.c:30`,
      `error:SPACING:${RKVDEC_DIR}/rkvdec-vp9.c:31`,
      `error:TRAILING_STATEMENTS:${RKVDEC_DIR}/rkvdec-vp9.c:31`,
      'error:MISSING_SIGN_OFF:-:-',
    ]);
    expect(found[1]!.message).toBe('line length of 83 exceeds 80 columns');
    expect(found.every((d) => d.patch === 'style.patch' && d.tool === 'checkpatch')).toBe(true);
  });

  it('agrees with checkpatch totals', () => {
    const t = checkpatchTotals(text)!;
    expect(t).toEqual({ errors: 4, warnings: 1, checks: 0 });
    expect(found.filter((d) => d.severity === 'error')).toHaveLength(t.errors);
  });

  it('maps CHECK to note and patch-only lines to a message suffix', () => {
    const d = parseCheckpatch('CHECK:CAMELCASE: Avoid CamelCase: <fooBar>\n#12: \n+x\n');
    expect(d).toEqual([{ severity: 'note', flag: 'CAMELCASE', message: 'Avoid CamelCase: <fooBar> (patch line 12)', tool: 'checkpatch' }]);
  });
});

describe('build output (captured gcc-16 output of a vboard build of the series-cerr fixture)', () => {
  const text = read('make-compile-error.out');
  const map = pathMapper({ dirs: { rkvdec: RKVDEC_DIR, 'v4l2-core': 'drivers/media/v4l2-core' } }, '/wb/mod', ['/usr/src/linux-headers-7.2.13+deb14-amd64']);

  it('parses the error to the tree file, line and column', () => {
    const d = parseBuildOutput(text, map);
    expect(d[0]).toEqual({
      file: `${RKVDEC_DIR}/rkvdec-vp9.c`,
      line: 26,
      column: 35,
      severity: 'error',
      message: "'rkvdec_vp9_wb_undeclared' undeclared here (not in a function)",
      tool: 'gcc',
    });
    expect(d[1]).toMatchObject({ severity: 'warning', line: 26, column: 12, flag: '-Wunused-variable' });
    // make's own "*** Error" lines are not findings when the compiler explained the failure
    expect(d).toHaveLength(2);
  });

  it('reads sparse, modpost and bare make failures', () => {
    const d = parseBuildOutput(
      [
        '  CHECK   rkvdec/rkvdec.c',
        "rkvdec/rkvdec.c:12:5: warning: symbol 'x' was not declared. Should it be static?",
        'ERROR: modpost: "foo" [rkvdec/rockchip-vdec.ko] undefined!',
      ].join('\n'),
      map,
    );
    expect(d[0]).toMatchObject({ tool: 'sparse', file: `${RKVDEC_DIR}/rkvdec.c`, line: 12, column: 5, severity: 'warning' });
    expect(d[1]).toMatchObject({ tool: 'modpost', severity: 'error', message: '"foo" [rkvdec/rockchip-vdec.ko] undefined!' });
    expect(parseBuildOutput('make[2]: *** No rule to make target x. Stop.')).toEqual([{ severity: 'error', tool: 'make', message: 'No rule to make target x. Stop.' }]);
  });

  it('maps headers and overlay paths back to tree paths', () => {
    expect(map('/usr/src/linux-headers-7.2.13+deb14-amd64/include/media/v4l2-vp9.h')).toBe('include/media/v4l2-vp9.h');
    expect(map('.overlay/include/media/v4l2-vp9.h')).toBe('include/media/v4l2-vp9.h');
    expect(map('.overlay/uapi/linux/v4l2-controls.h')).toBe('include/uapi/linux/v4l2-controls.h');
    expect(map('/wb/mod/v4l2-core/v4l2-vp9.c')).toBe('drivers/media/v4l2-core/v4l2-vp9.c');
  });
});

describe('patch text', () => {
  const good = read('series-good/0001-media-rkvdec-vp9-reword-the-reading-order-comment.patch');

  it('reads the subject without the [PATCH] prefix, folded lines joined', () => {
    expect(patchSubject(good)).toBe('media: rkvdec: vp9: reword the reading-order comment');
    expect(patchSubject('From: a\nSubject: [PATCH v2 3/7] media: a very\n long subject\n\nbody')).toBe('media: a very long subject');
  });

  it('finds hunks and the failing one from git output', () => {
    expect(patchHunks(good)).toEqual([{ file: `${RKVDEC_DIR}/rkvdec-vp9.c`, oldStart: 13, newStart: 13, header: '@@ -13,7 +13,7 @@', patchLine: 17 }]);
    const f = parseApplyFailure(`error: patch failed: ${RKVDEC_DIR}/rkvdec-vp9.c:13\nerror: ${RKVDEC_DIR}/rkvdec-vp9.c: patch does not apply\n`, good);
    expect(f).toMatchObject({ file: `${RKVDEC_DIR}/rkvdec-vp9.c`, line: 13, hunk: '@@ -13,7 +13,7 @@' });
    expect(parseApplyFailure(`CONFLICT (content): Merge conflict in ${RKVDEC_DIR}/rkvdec-vp9.c\n`, good)).toMatchObject({ file: `${RKVDEC_DIR}/rkvdec-vp9.c`, hunk: '@@ -13,7 +13,7 @@' });
  });

  it('reads a quilt series file', () => {
    expect(parseSeriesFile('# c\n\na.patch -p1\n  b.patch # note\n')).toEqual([
      { name: 'a.patch', line: 3 },
      { name: 'b.patch', line: 4 },
    ]);
  });
});
