import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RKVDEC_DIR } from '../../src/kernel/moduleLayout.ts';
import { parseApplyFailure, parseSeriesFile, patchHunks, patchSubject } from '../../src/kernel/patchText.ts';

const FX = join(import.meta.dirname, 'fixtures');
const read = (p: string) => readFileSync(join(FX, p), 'utf8');

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
    expect(parseApplyFailure(`CONFLICT (content): Merge conflict in ${RKVDEC_DIR}/rkvdec-vp9.c\n`, good)).toMatchObject({
      file: `${RKVDEC_DIR}/rkvdec-vp9.c`,
      hunk: '@@ -13,7 +13,7 @@',
    });
  });

  it('reads a quilt series file', () => {
    expect(parseSeriesFile('# c\n\na.patch -p1\n  b.patch # note\n')).toEqual([
      { name: 'a.patch', line: 3 },
      { name: 'b.patch', line: 4 },
    ]);
  });
});
