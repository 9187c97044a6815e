import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commitTree } from '../../src/kernel/baseTree.ts';
import { loadSeries } from '../../src/kernel/series.ts';
import { isWorkbenchError } from '../../src/core/errors.ts';
import { ExecaRunner } from '../../src/core/runner.ts';

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A tiny tree: the same content written in a given order, with given mtimes and umask-like modes. */
function tree(order: string[], mtime: number, mode: number): string {
  const d = mkdtempSync(join(tmpdir(), 'wb-base-'));
  made.push(d);
  const files: Record<string, string> = {
    Makefile: 'VERSION = 7\n',
    '.gitignore': '*.o\n.*\n',
    'drivers/a.o': 'tracked upstream although ignored\n',
    '.mailmap': 'x\n',
    'scripts/run.sh': '#!/bin/sh\n',
  };
  for (const f of order) {
    mkdirSync(join(d, f, '..'), { recursive: true });
    writeFileSync(join(d, f), files[f]!);
    chmodSync(join(d, f), f.endsWith('.sh') ? 0o755 : mode);
    utimesSync(join(d, f), mtime, mtime);
  }
  symlinkSync('run.sh', join(d, 'scripts', 'link.sh'));
  return d;
}

describe('base commit determinism', () => {
  it('same files -> same commit id, whatever the order, mtimes and group/other bits', async () => {
    const a = await commitTree(
      new ExecaRunner(),
      tree(['Makefile', '.gitignore', 'drivers/a.o', '.mailmap', 'scripts/run.sh'], 1000, 0o644),
      'Base: x\n',
      '1793199715 +0000',
    );
    const b = await commitTree(
      new ExecaRunner(),
      tree(['scripts/run.sh', '.mailmap', 'drivers/a.o', '.gitignore', 'Makefile'], 2000, 0o600),
      'Base: x\n',
      '1793199715 +0000',
    );
    expect(b).toEqual(a);
    expect(a.commit).toMatch(/^[0-9a-f]{40}$/);
  });

  it('adds files the tree .gitignore would drop, and depends on date and content', async () => {
    const order = ['Makefile', '.gitignore', 'drivers/a.o', '.mailmap', 'scripts/run.sh'];
    const a = await commitTree(new ExecaRunner(), tree(order, 1, 0o644), 'Base: x\n', '1793199715 +0000');
    const later = await commitTree(new ExecaRunner(), tree(order, 1, 0o644), 'Base: x\n', '1793199716 +0000');
    expect(later.tree).toBe(a.tree);
    expect(later.commit).not.toBe(a.commit);
    const d = tree(order, 1, 0o644);
    writeFileSync(join(d, 'drivers/a.o'), 'changed\n');
    expect((await commitTree(new ExecaRunner(), d, 'Base: x\n', '1793199715 +0000')).tree).not.toBe(a.tree);
  });
});

describe('series loading', () => {
  const FX = join(import.meta.dirname, 'fixtures');

  it('reads a series folder in series-file order, relative entries allowed', async () => {
    const s = await loadSeries(join(FX, 'series-bisect'), new ExecaRunner());
    expect(s.kind).toBe('dir');
    expect(s.patches.map((p) => p.subject)).toEqual(['media: rkvdec: vp9: reword the reading-order comment', 'media: rkvdec: vp9: break the build on purpose']);
    expect(s.key).toMatch(/^[0-9a-f]{16}$/);
  });

  it('reads an mbox, skipping the cover letter', async () => {
    const d = mkdtempSync(join(tmpdir(), 'wb-mbox-'));
    made.push(d);
    const { readFileSync } = await import('node:fs');
    const p1 = readFileSync(join(FX, 'series-good/0001-media-rkvdec-vp9-reword-the-reading-order-comment.patch'), 'utf8');
    const p2 = readFileSync(join(FX, 'series-good/0002-media-rkvdec-vp9-add-a-fixture-define.patch'), 'utf8');
    const cover = 'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nFrom: T <t@x>\nSubject: [PATCH 0/2] cover\n\nblurb\n';
    writeFileSync(join(d, 'x.mbox'), cover + p1 + p2);
    const s = await loadSeries(join(d, 'x.mbox'), new ExecaRunner());
    expect(s.kind).toBe('mbox');
    expect(s.patches.map((p) => p.subject)).toEqual(['media: rkvdec: vp9: reword the reading-order comment', 'media: rkvdec: vp9: add a fixture define']);
  });

  it('names the series file and line of a missing patch', async () => {
    const d = mkdtempSync(join(tmpdir(), 'wb-series-'));
    made.push(d);
    writeFileSync(join(d, 'series'), '# x\nmissing.patch\n');
    const e = await loadSeries(d, new ExecaRunner()).catch((x) => x);
    expect(isWorkbenchError(e, 'E_SERIES')).toBe(true);
    expect(e.message).toMatch(/series:2: patch file missing\.patch does not exist/);
  });

  it('an empty folder is an empty series; a non-path non-range is an error', async () => {
    const d = mkdtempSync(join(tmpdir(), 'wb-series-'));
    made.push(d);
    expect((await loadSeries(d, new ExecaRunner())).patches).toEqual([]);
    await expect(loadSeries('/nonexistent/thing', new ExecaRunner())).rejects.toMatchObject({ code: 'E_SERIES' });
  });
});
