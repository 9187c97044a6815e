import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBuildOutput } from '../../src/kernel/diagnostics.ts';
import { pathMapper, RKVDEC_DIR } from '../../src/kernel/moduleLayout.ts';

const FX = join(import.meta.dirname, 'fixtures');
const read = (p: string) => readFileSync(join(FX, p), 'utf8');

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
    expect(parseBuildOutput('make[2]: *** No rule to make target x. Stop.')).toEqual([
      { severity: 'error', tool: 'make', message: 'No rule to make target x. Stop.' },
    ]);
  });
});
