import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEditorNoise, watchFolder } from '../../src/pipeline/watch.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wb-watch-'));
  mkdirSync(join(dir, 'instrument'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('watchFolder (real fs.watch)', () => {
  it('reports changed files under the folder, debounced, ignoring editor droppings', async () => {
    const w = watchFolder(dir, 100);
    try {
      setTimeout(() => {
        writeFileSync(join(dir, '.0001.patch.swp'), 'x');
        writeFileSync(join(dir, '0001-media-rkvdec.patch'), 'a');
        writeFileSync(join(dir, 'instrument', '0001-irq.patch'), 'b');
      }, 50);
      setTimeout(() => writeFileSync(join(dir, 'series'), 'c'), 120);
      const files = await w.next();
      expect(files).toEqual(['0001-media-rkvdec.patch', 'instrument/0001-irq.patch', 'series']);
      // a change made while nobody waits is kept for the next call
      writeFileSync(join(dir, 'series'), 'd');
      await new Promise((r) => setTimeout(r, 50));
      expect(await w.next()).toEqual(['series']);
    } finally {
      w.close();
    }
  });

  it('stops waiting on abort', async () => {
    const w = watchFolder(dir, 50);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await expect(w.next(ac.signal)).rejects.toThrow(/stopped watching/);
    w.close();
  });

  it('knows editor noise', () => {
    for (const f of ['.series.swp', 'series~', '#series#', '4913', 'a/.hidden']) expect(isEditorNoise(f)).toBe(true);
    for (const f of ['series', '0001-x.patch', 'instrument/0001-irq.patch']) expect(isEditorNoise(f)).toBe(false);
  });

  it('names the folder when it cannot be watched', () => {
    expect(() => watchFolder(join(dir, 'nope'))).toThrow(/cannot watch .*nope/);
  });
});
