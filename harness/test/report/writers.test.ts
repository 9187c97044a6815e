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
import { esc, htmlReport } from '../../src/report/html/page.ts';
import { RunRecordSchema } from '../../src/model/record.ts';
import { which } from '../../src/core/hostTools.ts';
import { HOSTILE, SECRET, sampleRecord, tinyPng } from './sampleRecord.ts';
import { CAPTURE_PATH, FRAMES_PATH, simboardRecord } from './simboardRecord.ts';

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

describe('register captures (simboard) in run.json, summary.md and index.html', () => {
  // Figures from the real capture lines and MPP records of the fixture
  // (registers/simboardFixture.ts; expected values in captureSummary.test.ts).
  it('run.json carries the per-vector captures and the run-level simulated IRQ line, valid against the schema', () => {
    const { record } = simboardRecord();
    const doc = JSON.parse(runJsonText(record));
    const validate = ajvValidator();
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc.vectors[0].captures).toMatchObject({ jobs: 3, frames: 3, equal: true, download: CAPTURE_PATH });
    expect(doc.irq.simulated.line).toBe('dec_rdy on 3/3 jobs — simulated device; hardware still unverified');
  });

  it('summary.md has the jobs/frames/status/latency line per vector and the simulated IRQ line', () => {
    const md = summaryMarkdown(simboardRecord().record);
    expect(md).toContain('- IRQ (simulated device): dec\\_rdy on 3/3 jobs — simulated device; hardware still unverified');
    expect(md).toContain(
      '| p0-intra-only | 3 jobs captured / 3 frames decoded; status 0x00000007 (irq\\|irq\\_raw\\|dec\\_rdy) ×3; IRQ after 305.1/307.2/937.4 µs, acknowledged after 358.6/3147.6/5787.9 µs (min/median/max) — simulated device | artifacts/p0-intra-only/registers-capture.jsonl |',
    );
  });

  it('index.html shows a collapsed register table per frame with MPP field names, both values, differing rows marked, and the download', () => {
    const { record, files } = simboardRecord();
    const html = htmlReport(record, { readArtifact: (p) => files[p] });
    expect(html).toContain('<details class="regs"><summary>register tables: 3 frames, 3 with differences');
    expect(html.match(/<details class="regframe"/g)).toHaveLength(3);
    expect(html).not.toMatch(/<details class="reg(s|frame)[^>]*open/);
    const row = html.match(/<tr class="r-differs"><td>≠<\/td><td>16<\/td><td class="mono">common\.reg016_str_len<\/td><td class="mono">([^<]*)/);
    expect(row?.[1]).toBe('28683 ');
    expect(html).toContain('<td class="mono">28816 <span class="muted">0x7090</span></td>');
    expect(html).toContain('frame 1 (inter, hidden, 352x288, MPP job 1): 416 fields, 38 differ');
    expect(html).toContain(`<a class="capture-download" href="${CAPTURE_PATH}" download>`);
    expect(html).toContain('<div id="irq-simulated" class="banner warn">dec_rdy on 3/3 jobs — simulated device; hardware still unverified</div>');
  });

  it('index.html escapes a field name and value from the tables, and says when the tables are missing or unreadable', () => {
    const { record, files } = simboardRecord({ hostile: true });
    const html = htmlReport(record, { readArtifact: (p) => files[p] });
    expect(html).not.toContain(HOSTILE);
    expect(html).toContain(esc(HOSTILE));
    expect(htmlReport(record, { readArtifact: () => undefined })).toContain(`register tables: ${FRAMES_PATH} is missing`);
    expect(htmlReport(record, { readArtifact: () => Buffer.from('{"format":2}') })).toMatch(
      /register tables: artifacts\/p0-intra-only\/registers-frames\.json: field "format"/,
    );
  });
});
