import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FILE_PATH_CHANGES, patchFileChanges, reviewFilePathChanges } from '../../src/kernel/checkMaintainers.ts';
import { parseCheckpatch } from '../../src/kernel/checkpatch.ts';
import { compilePattern, coveringSections, parseMaintainers } from '../../src/kernel/maintainers.ts';

const FIX = join(import.meta.dirname, 'fixtures');
const sections = parseMaintainers(readFileSync(join(FIX, 'maintainers', 'MAINTAINERS'), 'utf8'));
/** Real checkpatch.pl output (base tree 7.2.13, --strict --show-types) for patch 5 of the series, which adds files. */
const CP_OUT = readFileSync(join(FIX, 'checkpatch-file-path-changes.out'), 'utf8');

/** A format-patch mail that creates `added` files, deletes `deleted` files and edits `edited`. */
function mail(added: string[], deleted: string[] = [], edited: string[] = []): string {
  const parts = [
    'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001',
    'From: T <t@example.org>',
    'Subject: [PATCH] test',
    '',
    'Body.',
    '---',
    '',
  ];
  for (const f of added)
    parts.push(`diff --git a/${f} b/${f}`, 'new file mode 100644', 'index 000000000..111111111', '--- /dev/null', `+++ b/${f}`, '@@ -0,0 +1 @@', '+x');
  for (const f of deleted)
    parts.push(`diff --git a/${f} b/${f}`, 'deleted file mode 100644', 'index 111111111..000000000', `--- a/${f}`, '+++ /dev/null', '@@ -1 +0,0 @@', '-x');
  for (const f of edited) parts.push(`diff --git a/${f} b/${f}`, 'index 111111111..222222222 100644', `--- a/${f}`, `+++ b/${f}`, '@@ -1 +1 @@', '-x', '+y');
  return `${parts.join('\n')}\n-- \n2.39.5\n`;
}

describe('MAINTAINERS parsing and F: patterns', () => {
  it('reads sections with their F:/X: lines and skips the introduction', () => {
    expect(sections.map((s) => s.name)).toEqual([
      '3CR990 NETWORK DRIVER',
      'FOO FILESYSTEM HELPERS',
      'MEDIA INPUT INFRASTRUCTURE (V4L/DVB)',
      'NET TOP LEVEL',
      'NETWORKING DRIVERS (FLAT)',
      'ROCKCHIP RKVDEC VIDEO DECODER DRIVER',
      'ROCKCHIP OLD HELPER',
      'THE REST',
    ]);
    const rk = sections.find((s) => s.name.startsWith('ROCKCHIP RKVDEC'))!;
    expect(rk.files.map((f) => f.pattern)).toEqual(['Documentation/devicetree/bindings/media/rockchip,vdec.yaml', 'drivers/media/platform/rockchip/rkvdec/']);
    expect(rk.files[1]!.line).toBe(49);
    expect(sections.find((s) => s.name.startsWith('MEDIA'))!.excludes.map((x) => x.pattern)).toEqual(['drivers/media/platform/secret/']);
  });

  it('follows the documented rules: trailing slash = all below, * one level, **/ any depth, literal dir', () => {
    const m = (p: string, f: string) => compilePattern(p).test(f);
    expect(m('drivers/net/', 'drivers/net/a.c')).toBe(true);
    expect(m('drivers/net/', 'drivers/net/ethernet/x/y.c')).toBe(true);
    expect(m('drivers/net/', 'drivers/network.c')).toBe(false);
    expect(m('drivers/net/*', 'drivers/net/a.c')).toBe(true);
    expect(m('drivers/net/*', 'drivers/net/ethernet/a.c')).toBe(false);
    expect(m('*/net/*', 'drivers/net/a.c')).toBe(true);
    expect(m('*/net/*', 'drivers/x/net/a.c')).toBe(false);
    expect(m('fs/**/*foo*.c', 'fs/ext4/myfoo1.c')).toBe(true);
    expect(m('fs/**/*foo*.c', 'fs/a/b/foo.c')).toBe(true);
    expect(m('fs/**/*foo*.c', 'fs/foo.c')).toBe(true);
    expect(m('fs/**/*foo*.c', 'fs/a/foo.h')).toBe(false);
    expect(m('drivers/net/ethernet/3com/typhoon*', 'drivers/net/ethernet/3com/typhoon.c')).toBe(true);
    expect(m('drivers/soc/rockchip/old-helper.c', 'drivers/soc/rockchip/old-helper.c')).toBe(true);
    expect(m('drivers/soc/rockchip/old-helper.c', 'drivers/soc/rockchip/old-helper.cc')).toBe(false);
    // A directory written without its slash (get_maintainer.pl treats it as a directory).
    expect(m('drivers/soc/rockchip/olddir', 'drivers/soc/rockchip/olddir/a.c')).toBe(true);
    expect(m('drivers/soc/rockchip/olddir', 'drivers/soc/rockchip/olddirx.c')).toBe(false);
    // Dots are literal.
    expect(m('a.c', 'abc')).toBe(false);
  });

  it('names the most specific covering section; X: excludes; THE REST does not count', () => {
    const c = coveringSections(sections, 'drivers/media/platform/rockchip/rkvdec/rkvdec-vdpu381-vp9-test.c');
    expect(c.map((x) => x.section.name)).toEqual(['ROCKCHIP RKVDEC VIDEO DECODER DRIVER', 'MEDIA INPUT INFRASTRUCTURE (V4L/DVB)']);
    expect(c[0]!.pattern.pattern).toBe('drivers/media/platform/rockchip/rkvdec/');
    expect(coveringSections(sections, 'drivers/media/platform/secret/a.c')).toEqual([]);
    expect(coveringSections(sections, 'drivers/staging/newthing/foo.c')).toEqual([]);
  });
});

describe('FILE_PATH_CHANGES judged against MAINTAINERS', () => {
  it('reads added, deleted and renamed files from the diff headers', () => {
    const rename = ['diff --git a/x/old.c b/x/new.c', 'similarity index 100%', 'rename from x/old.c', 'rename to x/new.c', ''].join('\n');
    expect(patchFileChanges(mail(['a/b.c'], ['c/d.c'], ['e/f.c']) + rename)).toEqual({ added: ['a/b.c', 'x/new.c'], removed: ['c/d.c', 'x/old.c'] });
  });

  it('every added file covered by an existing F: pattern -> info naming the section', () => {
    const found = parseCheckpatch(CP_OUT, 'p5');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ severity: 'warning', flag: FILE_PATH_CHANGES });
    const text = mail(
      ['drivers/media/platform/rockchip/rkvdec/.kunitconfig', 'drivers/media/platform/rockchip/rkvdec/rkvdec-vdpu381-vp9-test.c'],
      [],
      ['drivers/media/platform/rockchip/rkvdec/Makefile'],
    );
    const r = reviewFilePathChanges(found, text, sections);
    expect(r[0]!.severity).toBe('info');
    expect(r[0]!.flag).toBe(FILE_PATH_CHANGES);
    expect(r[0]!.message).toContain('does MAINTAINERS need updating?');
    expect(r[0]!.message).toContain('"ROCKCHIP RKVDEC VIDEO DECODER DRIVER" (F: drivers/media/platform/rockchip/rkvdec/, MAINTAINERS:49)');
    expect(found[0]!.severity).toBe('warning'); // input untouched
  });

  it('an added file no F: pattern covers -> stays a warning naming it', () => {
    const found = parseCheckpatch(CP_OUT, 'p');
    const r = reviewFilePathChanges(found, mail(['drivers/media/platform/rockchip/rkvdec/new.c', 'drivers/staging/newthing/foo.c']), sections);
    expect(r[0]!.severity).toBe('warning');
    expect(r[0]!.message).toContain('not covered by any MAINTAINERS F: pattern: drivers/staging/newthing/foo.c');
    expect(r[0]!.message).not.toContain('rkvdec/new.c');
  });

  it('an excluded (X:) path is not covered', () => {
    const r = reviewFilePathChanges(parseCheckpatch(CP_OUT, 'p'), mail(['drivers/media/platform/secret/a.c']), sections);
    expect(r[0]!.severity).toBe('warning');
  });

  it('deleting a file an F: line names literally keeps the warning (MAINTAINERS would go stale)', () => {
    const r = reviewFilePathChanges(parseCheckpatch(CP_OUT, 'p'), mail([], ['drivers/soc/rockchip/old-helper.c']), sections);
    expect(r[0]!.severity).toBe('warning');
    expect(r[0]!.message).toContain('MAINTAINERS names removed file(s): drivers/soc/rockchip/old-helper.c (ROCKCHIP OLD HELPER, MAINTAINERS:54)');
  });

  it('other findings pass unchanged', () => {
    const other = parseCheckpatch(readFileSync(join(FIX, 'checkpatch-style.out'), 'utf8'), 'p');
    expect(reviewFilePathChanges(other, mail(['x/y.c']), sections)).toEqual(other);
  });
});
