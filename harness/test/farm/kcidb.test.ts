import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { kcidbFromRun, kcidbStatus, patchsetHash } from '../../src/farm/kcidb.ts';
import { sampleRecord } from '../report/sampleRecord.ts';

/** KCIDB v5.3 JSON Schema (kcidb-io, draft-07), kept beside the checkout in the shared reference folder. */
const SCHEMA = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'reference', 'kcidb', 'kcidb-v5.3.schema.json');
const SCHEMA_ALT = '/work/shared/reference/kcidb/kcidb-v5.3.schema.json';
const schemaFile = [SCHEMA, SCHEMA_ALT].find((p) => existsSync(p));

describe('KCIDB v5.3 export', () => {
  it('patchset_hash is sha256 over newline-terminated patch sha256s (the shell recipe of the schema)', () => {
    const a = createHash('sha256').update('a').digest('hex');
    const b = createHash('sha256').update('b').digest('hex');
    // `printf '%s\n%s\n' A B | sha256sum`, computed independently
    expect(patchsetHash([a, b])).toBe(
      createHash('sha256')
        .update(Buffer.from(`${a}\n${b}\n`))
        .digest('hex'),
    );
  });

  it('maps verdicts to KCIDB statuses', () => {
    expect(['pass', 'fail', 'crash', 'timeout', 'error', 'not-supported'].map((v) => kcidbStatus(v as never))).toEqual([
      'PASS',
      'FAIL',
      'FAIL',
      'ERROR',
      'ERROR',
      'SKIP',
    ]);
  });

  it.skipIf(!schemaFile)('a run becomes a document the KCIDB schema accepts, origin vp9wb, dot-free names in paths', () => {
    const r = sampleRecord();
    const doc = kcidbFromRun(r, { jobUrl: 'https://lava.example.org/scheduler/job/42', architecture: 'arm64' }) as {
      checkouts: { id: string; origin: string }[];
      tests: { id: string; path: string; status: string; number?: { value: number } }[];
    };
    const ajv = new Ajv({ allErrors: true, strict: false });
    (addFormats as unknown as (a: Ajv) => void)(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(schemaFile!, 'utf8')) as object);
    const ok = validate(doc);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    expect(doc.checkouts[0]!.origin).toBe('vp9wb');
    expect(doc.tests).toHaveLength(r.vectors.length);
    for (const t of doc.tests) {
      expect(t.id.startsWith('vp9wb:')).toBe(true);
      expect(t.path).toMatch(/^vp9wb\.v4l2\.gstreamer_vp9\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    }
    const failing = r.vectors.findIndex((v) => v.verdict.result === 'fail');
    expect(doc.tests[failing]!.status).toBe('FAIL');
    expect(doc.tests[failing]!.number?.value).toBe(3);
    // a broken document is refused by the same validator (the check can fail)
    expect(validate({ ...doc, checkouts: [{ id: 'no-origin-prefix', origin: 'vp9-workbench' }] })).toBe(false);
  });
});
