import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/core/paths.ts';
import { formatB4Summary, type B4Result } from '../../src/kernel/b4.ts';
import {
  coverEditText,
  coverFromPatch,
  findEditme,
  parseCheckFindings,
  parseCheckTotals,
  parseIdent,
  parseTrailers,
  preflight,
  setTrackingChangeId,
  signedOffBy,
  splitAddresses,
} from '../../src/kernel/b4Text.ts';

const COVER = `From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: Jane Dev <jane@example.org>
Subject: [PATCH 0/2] media: foo: Add
 a thing

Body line one.

Second paragraph.

Jane Dev (2):
  media: foo: one
  media: foo: two

 a.c | 1 +
 1 file changed

base-commit: ${'a'.repeat(40)}
change-id: 20261121-foo-thing-0123456789ab
`;

const PATCH = (sob: string) => `From: Jane Dev <jane@example.org>
Subject: [PATCH 1/2] media: foo: one

Does one thing.

Reviewed-by: Some One <s@o.org>
${sob}
---
 a.c | 1 +
diff --git a/a.c b/a.c
`;

const COVER_EML = (extra = '') => `From: Jane Dev <jane@example.org>
Subject: [PATCH 0/1] x
To: A <a@x.org>, "B, C" <b@x.org>
Cc: list@x.org
${extra}
Body

---
base-commit: ${'b'.repeat(40)}
change-id: 20261121-foo-0123456789ab
`;

describe('b4 text: cover letter', () => {
  it('takes subject without [PATCH] prefix and body up to the shortlog; keeps change-id and base-commit aside', () => {
    const c = coverFromPatch(COVER);
    expect(c.subject).toBe('media: foo: Add a thing');
    expect(c.body).toBe('Body line one.\n\nSecond paragraph.');
    expect(c.changeId).toBe('20261121-foo-thing-0123456789ab');
    expect(c.baseCommit).toBe('a'.repeat(40));
    expect(coverEditText(c)).toBe('media: foo: Add a thing\n\nBody line one.\n\nSecond paragraph.\n');
  });

  it('the real cover letter: no shortlog, diffstat or trailer lines left in the body', () => {
    const c = coverFromPatch(readFileSync(join(projectRoot(), 'patches', '0000-cover-letter.patch'), 'utf8'));
    expect(c.subject).toMatch(/^media: rkvdec: /);
    expect(c.body).not.toMatch(/^(base-commit|change-id):|insertions\(\+\)|^VP9 Workbench \(\d+\):/m);
    expect(c.changeId).toMatch(/^\d{8}-rkvdec-[a-z0-9-]+-[0-9a-f]{12}$/);
  });

  it('replaces the change-id in the b4 tracking JSON only', () => {
    const msg = 'Subj\n\nchange-id: keep\n--- b4-submit-tracking ---\n{\n  "series": {\n    "change-id": "20261121-x-111111111111"\n  }\n}\n';
    const out = setTrackingChangeId(msg, '20261121-y-222222222222');
    expect(out).toContain('"change-id": "20261121-y-222222222222"');
    expect(out).toContain('change-id: keep');
  });
});

describe('b4 text: EDITME, trailers, addresses', () => {
  it('finds EDITME lines with their numbers', () => {
    expect(findEditme('a\nEDITME: cover title for x\nb\n# EDITME too')).toEqual([
      { line: 2, text: 'EDITME: cover title for x' },
      { line: 4, text: '# EDITME too' },
    ]);
    expect(findEditme('no placeholder')).toEqual([]);
  });

  it('parses the trailer block of the commit message, not the diff', () => {
    expect(parseTrailers(PATCH('Signed-off-by: Jane Dev <jane@example.org>'))).toEqual([
      { key: 'Reviewed-by', value: 'Some One <s@o.org>' },
      { key: 'Signed-off-by', value: 'Jane Dev <jane@example.org>' },
    ]);
    expect(signedOffBy(PATCH(''))).toEqual([]);
    expect(signedOffBy(PATCH('Signed-off-by: Jane Dev <jane@example.org>'))).toEqual(['Jane Dev <jane@example.org>']);
  });

  it('parses identities and address lists with quoted commas', () => {
    expect(parseIdent('VP9 Workbench <vp9-workbench@example.org>')).toEqual({ name: 'VP9 Workbench', email: 'vp9-workbench@example.org' });
    expect(parseIdent('x@y.org')).toEqual({ name: '', email: 'x@y.org' });
    expect(parseIdent('no address')).toBeUndefined();
    expect(splitAddresses('A <a@x.org>, "B, C" <b@x.org>,list@x.org')).toEqual(['A <a@x.org>', '"B, C" <b@x.org>', 'list@x.org']);
  });

  it('parses b4 prep --check totals and findings (colour codes stripped)', () => {
    const out =
      '\x1b[32m●\x1b[0m abc: one\n\x1b[31m●\x1b[0m def: two\n  \x1b[31m●\x1b[0m checkpatch.pl: a.c:3: WARNING: x\n---\nSuccess: 1, Warning: 1, Error: 0\n';
    expect(parseCheckTotals(out)).toEqual({ success: 1, warning: 1, error: 0 });
    expect(parseCheckFindings(out)).toEqual(['checkpatch.pl: a.c:3: WARNING: x']);
    expect(parseCheckTotals('nothing')).toBeUndefined();
  });
});

describe('b4 pre-flight', () => {
  const signed = PATCH('Signed-off-by: Jane Dev <jane@example.org>');
  it('passes a complete series', () => {
    const c = preflight({ cover: COVER_EML(), patches: [signed] }, { baseResolvable: true, check: { error: 0, warning: 1 } });
    expect(c.filter((x) => !x.ok)).toEqual([]);
    expect(c.find((x) => x.name === 'recipients')!.detail).toBe('2 To, 1 Cc');
  });
  it('fails on EDITME, unresolvable base, missing SoB, no To, checkpatch errors', () => {
    const cover = COVER_EML()
      .replace(/^To: .*\n/m, '')
      .replace('Body', 'EDITME: describe');
    const c = preflight({ cover, patches: [signed, PATCH('')] }, { baseResolvable: false, check: { error: 2, warning: 0 } });
    const failed = Object.fromEntries(c.filter((x) => !x.ok).map((x) => [x.name, x.detail]));
    expect(Object.keys(failed).sort()).toEqual(['Signed-off-by', 'base-commit', 'checkpatch (b4 prep --check)', 'no EDITME', 'recipients']);
    expect(failed['Signed-off-by']).toBe('missing in patch 2');
    expect(failed['no EDITME']).toMatch(/message 0: line \d+: EDITME: describe/);
  });
  it('fails on a missing or malformed change-id', () => {
    const c = preflight(
      { cover: COVER_EML().replace(/^change-id: .*$/m, 'change-id: nope'), patches: [signed] },
      { baseResolvable: true, check: { error: 0, warning: 0 } },
    );
    expect(c.find((x) => x.name === 'change-id')!.ok).toBe(false);
  });
});

describe('b4 summary', () => {
  it('names messages, base-commit, change-id, recipients, identity and every check', () => {
    const r: B4Result = {
      ok: false,
      out: '/o',
      files: ['0000-a.eml', '0001-b.eml'],
      subjects: ['[PATCH 0/1] a', '[PATCH 1/1] b'],
      baseCommit: 'c'.repeat(40),
      changeId: '20261121-foo-0123456789ab',
      to: ['A <a@x.org>'],
      cc: [],
      identity: { name: 'Jane Dev', email: 'jane@example.org' },
      branch: 'b4/foo',
      check: { totals: { success: 1, warning: 0, error: 0 }, findings: [] },
      preflight: [{ name: 'recipients', ok: false, detail: 'no To:' }],
      commands: [],
    };
    const s = formatB4Summary(r);
    expect(s).toMatch(/^NOT b4-ready: 2 message\(s\) written to \/o \(nothing was sent\)/);
    expect(s).toContain(`base-commit: ${'c'.repeat(40)}  change-id: 20261121-foo-0123456789ab`);
    expect(s).toContain('Jane Dev <jane@example.org>');
    expect(s).toContain('  0001-b.eml: [PATCH 1/1] b');
    expect(s).toContain('Cc: (none)');
    expect(s).toContain('  [FAIL] recipients: no To:');
  });
});
