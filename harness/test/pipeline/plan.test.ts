import { describe, expect, it } from 'vitest';
import { globMatcher } from '../../src/core/glob.ts';
import { QUICK_VECTORS } from '../../src/pipeline/plan.ts';
import { loadRecipes } from '../../src/vectors/generate/recipes.ts';

describe('vector selection', () => {
  it('globs over vector names, comma-separated, anchored', () => {
    const m = globMatcher('p0-lf-*, p2-10bit');
    expect(['p0-lf-off', 'p0-lf-sharpness-deltaq', 'p2-10bit'].every(m)).toBe(true);
    expect(['xp0-lf-off', 'p2-10bit-x', 'p1-444'].some(m)).toBe(false);
    expect(globMatcher('p0-q-m??')('p0-q-max')).toBe(true);
    expect(globMatcher('a.b')('axb')).toBe(false);
  });

  it('the quick subset names vectors that exist in vp9-features', () => {
    const names = loadRecipes().vectors.map((v) => v.name);
    for (const q of QUICK_VECTORS) expect(names).toContain(q);
  });
});
