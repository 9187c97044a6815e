import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpatchTotals, parseCheckpatch } from '../../src/kernel/checkpatch.ts';
import { RKVDEC_DIR } from '../../src/kernel/moduleLayout.ts';

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
