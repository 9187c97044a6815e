import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { create } from 'xmlbuilder2';
import { runSchemaPath, runSchemaText } from '../../src/report/schemaFile.ts';
import { runJsonText } from '../../src/report/store.ts';
import { junitXml } from '../../src/report/junit.ts';
import { summaryMarkdown } from '../../src/report/markdown.ts';
import { htmlReport } from '../../src/report/html/page.ts';
import { RunRecordSchema } from '../../src/model/record.ts';
import { which } from '../../src/core/hostTools.ts';
import { HOSTILE, SECRET, sampleRecord, tinyPng } from './sampleRecord.ts';

const XSD = new URL('./fixtures/junit-10.xsd', import.meta.url).pathname;

function ajvValidator() {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  return ajv.compile(JSON.parse(readFileSync(runSchemaPath(), 'utf8')));
}

describe('run.json and its JSON Schema', () => {
  it('the checked-in schema equals the one generated from the zod schemas', () => {
    expect(readFileSync(runSchemaPath(), 'utf8')).toBe(runSchemaText());
  });

  it('a written run.json validates with ajv against reports/schema/run.schema.json', () => {
    const validate = ajvValidator();
    const doc = JSON.parse(runJsonText(sampleRecord()));
    const ok = validate(doc);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    expect(doc.$schema).toBe('../schema/run.schema.json');
  });

  it('the schema rejects a verdict outside the closed set and a fail without firstBadFrame', () => {
    const validate = ajvValidator();
    const doc = JSON.parse(runJsonText(sampleRecord()));
    doc.vectors[0].verdict.result = 'flaky';
    expect(validate(doc)).toBe(false);
    const doc2 = JSON.parse(runJsonText(sampleRecord()));
    delete doc2.vectors[1].verdict.firstBadFrame;
    expect(validate(doc2)).toBe(false);
    expect(RunRecordSchema.safeParse(doc2).success).toBe(false);
  });

  it('never writes a token', () => {
    const text = runJsonText(sampleRecord());
    expect(text).not.toContain(SECRET);
    expect(text).toContain('[REDACTED]');
  });
});

describe('junit.xml', () => {
  const xml = junitXml(sampleRecord());

  it.skipIf(!which('xmllint'))('validates against the Jenkins JUnit XSD (xmllint)', () => {
    const out = execFileSync('xmllint', ['--noout', '--schema', XSD, '-'], { input: xml, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    expect(out).toBe('');
  });

  it.skipIf(!which('xmllint'))('a broken document fails the same validation (the check can fail)', () => {
    const bad = xml.replace('<testcase name=', '<testcase nom=');
    expect(() => execFileSync('xmllint', ['--noout', '--schema', XSD, '-'], { input: bad, stdio: ['pipe', 'pipe', 'pipe'] })).toThrow();
  });

  it('is laid out like Fluster: one testsuite per suite+decoder, one testcase per vector', () => {
    const doc = create(xml).end({ format: 'object' }) as any;
    const suites = [doc.testsuites.testsuite].flat();
    expect(suites).toHaveLength(1);
    const s = suites[0];
    expect(s['@name']).toBe('vp9-features');
    const props = [s.properties.property].flat();
    expect(props.find((p: any) => p['@name'] === 'decoder')['@value']).toBe('gstreamer:v4l2slvp9dec');
    const cases = [s.testcase].flat();
    expect(cases).toHaveLength(7);
    // xmlbuilder2's object form leaves entities encoded in attribute values
    const unent = (t: string) =>
      t
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&amp;/g, '&');
    const byName = Object.fromEntries(cases.map((c: any) => [unent(c['@name']), c]));
    expect(byName['vp90-2-00-quantizer-00'].failure).toBeUndefined();
    expect(byName['vp90-2-08-tile-4x4'].failure['@type']).toBe('fail');
    expect(byName['vp90-2-08-tile-4x4'].failure['@message']).toContain('first bad frame 3');
    expect(byName['vp91-2-04-yuv444'].failure['@type']).toBe('timeout');
    expect(byName[HOSTILE].error['@type']).toBe('error');
    expect(byName['vp90-2-22-svc'].error['@type']).toBe('crash');
    expect(byName['vp90-2-02-size-08x08'].skipped['@message']).toContain('64x64');
    expect(byName['vp90-2-99-never-ran'].skipped['@type']).toBe('not-run');
    expect(s['@tests']).toBe('7');
    expect(s['@failures']).toBe('2');
    expect(s['@errors']).toBe('2');
    expect(s['@skipped']).toBe('2');
  });

  it('carries no control characters and no token', () => {
    expect(xml).not.toMatch(/[\u0001-\u0008]/);
    expect(xml).not.toContain(SECRET);
  });
});

describe('summary.md', () => {
  const md = summaryMarkdown(sampleRecord());
  it('says which checks ran and that pixels were not verified', () => {
    expect(md).toContain('Checks that ran: controls, bitstream, frame-count');
    expect(md).toContain('Pixels were NOT verified on visl');
  });
  it('lists every vector, failures first, and escapes table cells', () => {
    const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| vector') && !l.startsWith('| stage'));
    const vectorRows = rows.filter((l) => / \| (pass|fail|timeout|error|not-supported|crash|not run) \| /.test(l));
    expect(vectorRows).toHaveLength(7);
    expect(vectorRows.findIndex((l) => l.includes('quantizer'))).toBeGreaterThan(vectorRows.findIndex((l) => l.includes('tile-4x4')));
    expect(md).not.toContain('<script>');
    expect(md).not.toContain(SECRET);
  });
});

describe('index.html', () => {
  const png = tinyPng();
  const html = htmlReport(sampleRecord(), { readArtifact: (p) => (p.endsWith('.png') && p.includes('decoded') ? png : undefined) });
  it('escapes every string from the record', () => {
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&quot;');
    expect(html).toContain('Add VP9 &lt;support&gt;');
    expect(html).not.toContain(SECRET);
    // exactly one script element: the page's own
    expect(html.match(/<script>/g)).toHaveLength(1);
  });
  it('is self-contained: no external URL, images embedded as data: URIs', () => {
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).toContain(`src="data:image/png;base64,${png.toString('base64')}"`);
    // the missing diff image is linked, marked missing
    expect(html).toContain('frame3-diff.png</a> <span class="muted">(missing)</span>');
    expect(html).toContain("default-src 'none'");
  });
  it('has the banner, the filters, the IRQ summary and the kernel-log findings', () => {
    expect(html).toContain('Pixels were NOT verified on visl');
    expect(html).toContain('name="verdict" value="crash"');
    expect(html).toContain('<option value="tiles">tiles</option>');
    expect(html).toContain('id="irq-answer"');
    expect(html).toContain('Unable to handle kernel NULL pointer dereference');
    expect(html).toContain('rkvdec-vdpu381-vp9.c:120:7');
    expect(html).toContain('unused variable &#39;x&#39; &lt;b&gt;');
  });
});
