/**
 * The nightly index in a real browser: headless Chromium (Debian package
 * `chromium`) driven by puppeteer-core opens reports/nightly/index.html
 * written by writeNightlyIndex from two real recorded nights of
 * `workbench nightly` on the vboard (fixtures/nightly/: their nightly.json
 * and kcidb.json as written on 2026-12-03; night 2 ran with one vector
 * swapped: p0-intra-only out, p0-lossless in), plus a board with a hostile name
 * added to the second night. Checks: no console error and no request but
 * the page, both nights and the history bars drawn, the diff of night 2
 * visible, the hostile name shown as text; the real kcidb.json files are
 * valid KCIDB v5.3 (ajv over kcidb-io's schema). Screenshot saved to
 * $WORKBENCH_SCREENSHOT or <tmp>/vp9-workbench-nightly-index.png.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { PNG } from 'pngjs';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../../src/core/hostTools.ts';
import { launchChromium } from '../report/chromium.ts';
import { writeNightlyIndex } from '../../src/farm/nightlyIndex.ts';
import type { NightlyRecord } from '../../src/farm/nightlyRecord.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'nightly');
const SCHEMA = [
  join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'reference', 'kcidb', 'kcidb-v5.3.schema.json'),
  '/work/shared/reference/kcidb/kcidb-v5.3.schema.json',
].find((p) => existsSync(p));
const HOSTILE = '<img src=x onerror=alert(1)>"\'&rock5b';

let root: string;
let browser: Browser;
let nights: NightlyRecord[];
let index: string;

beforeAll(async () => {
  requireTools(['chromium']);
  root = mkdtempSync(join(tmpdir(), 'wb-nindex-int-'));
  cpSync(FIXTURES, join(root, 'nightly'), { recursive: true });
  const ids = readdirSync(join(root, 'nightly')).sort();
  nights = ids.map((d) => JSON.parse(readFileSync(join(root, 'nightly', d, 'nightly.json'), 'utf8')) as NightlyRecord);
  // a second board in the second night, with a hostile name and error text
  const second = nights[1]!;
  second.boards.push({ board: HOSTILE, profile: 'farm-rk3588', via: 'https://lava.example.org', exitCode: 2, error: `E_LAVA_SERVER: ${HOSTILE}` });
  writeFileSync(join(root, 'nightly', second.nightlyId, 'nightly.json'), JSON.stringify(second, null, 2));
  index = writeNightlyIndex(root, { generatedAt: '2026-12-03T01:00:00Z' });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('nightly index in headless Chromium', () => {
  it('the two recorded nights: history bars, the diff, links, the hostile board name as text, no console error', async () => {
    expect(nights).toHaveLength(2);
    const [n1, n2] = nights as [NightlyRecord, NightlyRecord];
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${String(e)}`));
    page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()}`));
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.setViewport({ width: 1200, height: 900 });
    await page.goto(pathToFileURL(index).href, { waitUntil: 'load' });
    expect(problems).toEqual([]);
    expect(requests).toEqual([pathToFileURL(index).href]);

    // both nights, newest first, each section visible
    const sections = await page.$$eval('section.night', (ss) => ss.map((s: any) => ({ id: s.getAttribute('data-night'), shown: s.checkVisibility() })));
    expect(sections).toEqual([
      { id: n2.nightlyId, shown: true },
      { id: n1.nightlyId, shown: true },
    ]);
    // the vboard's history: two bars drawn with the recorded counts (night 1: 3 pass + 1 skip)
    const bars = await page.$$eval('div.history-board[data-board="vboard"] a.bar', (as) =>
      as.map((a: any) => ({
        night: a.getAttribute('data-night'),
        segs: [...a.querySelectorAll('rect.seg')].map((r: any) => `${r.getAttribute('data-status')}:${r.getAttribute('data-count')}`),
        h: a.getBoundingClientRect().height as number,
      })),
    );
    expect(bars.map((b) => b.night)).toEqual([n1.nightlyId, n2.nightlyId]);
    const c1 = n1.boards[0]!.counts!;
    expect(bars[0]!.segs).toEqual([`PASS:${c1.pass}`, ...(c1['not-supported'] ? [`SKIP:${c1['not-supported']}`] : [])]);
    for (const b of bars) expect(b.h).toBeGreaterThan(100);
    // night 2's diff of the vboard, as recorded
    const d = n2.boards[0]!.diff!;
    const diffText = await page.$eval(`section.night[data-night="${n2.nightlyId}"] div.board[data-board="vboard"] ul.diff`, (u: any) => u.innerText as string);
    for (const x of d.newFailures) expect(diffText).toContain(`new failure ${x.vector}: ${x.before ?? 'absent'} → ${x.after}`);
    for (const x of d.otherChanges) expect(diffText).toContain(`changed ${x.vector}: ${x.before ?? 'absent'} → ${x.after}`);
    for (const x of d.missing) expect(diffText).toContain(`not run ${x} (was in the previous night)`);
    // what the recorded night 2 changed: p0-intra-only no longer run, p0-lossless new
    expect(d.missing).toEqual(['p0-intra-only.ivf']);
    expect(d.otherChanges).toEqual([{ vector: 'p0-lossless.ivf', before: null, after: 'pass' }]);
    // links to the run reports and the night's files
    const hrefs = await page.$$eval('a', (as) => as.map((a: any) => a.getAttribute('href') as string));
    expect(hrefs).toContain(`../${n2.boards[0]!.runId}/index.html`);
    expect(hrefs).toContain(`${n2.nightlyId}/kcidb.json`);
    // the hostile board: text in its history heading and its block, no element made of it
    expect(await page.$$eval('div.history-board h3', (hs) => hs.map((h: any) => h.textContent))).toContain(HOSTILE);
    expect(await page.$$eval('div.board td.board-name', (ts) => ts.map((t: any) => t.firstChild.textContent.trim()))).toContain(HOSTILE);
    expect(await page.$$eval('img, script', (es) => es.length)).toBe(0);

    const shot = process.env.WORKBENCH_SCREENSHOT ?? join(tmpdir(), 'vp9-workbench-nightly-index.png');
    await page.screenshot({ path: shot as `${string}.png`, fullPage: true });
    const png = PNG.sync.read(readFileSync(shot));
    expect(png.width).toBe(1200);
    process.stdout.write(`screenshot: ${shot} (${png.width}x${png.height})\n`);
    await page.close();
  });

  it.skipIf(!SCHEMA)('the recorded kcidb.json of both nights are valid KCIDB v5.3 with origin vp9wb', () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    (addFormats as unknown as (a: Ajv) => void)(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA!, 'utf8')) as object);
    for (const n of nights) {
      const doc = JSON.parse(readFileSync(join(FIXTURES, n.nightlyId, 'kcidb.json'), 'utf8')) as { tests: { origin: string; status: string }[] };
      expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
      expect(doc.tests.length).toBe(n.boards[0]!.counts!.ran);
      expect(new Set(doc.tests.map((t) => t.origin))).toEqual(new Set(['vp9wb']));
      // the broken copy is refused (the check can fail)
      expect(validate({ ...doc, tests: [{ ...doc.tests[0], status: 'BROKEN' }] })).toBe(false);
    }
  });
});
