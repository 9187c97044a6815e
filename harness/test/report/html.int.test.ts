/**
 * index.html in a real browser: headless Chromium (Debian package `chromium`)
 * driven by puppeteer-core opens a written report from disk, with no console
 * error, no failed or external request, working filters, and a screenshot of
 * the results table (saved to $WORKBENCH_SCREENSHOT or <tmp>/vp9-workbench-index.png).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'puppeteer-core';
import { PNG } from 'pngjs';
import { ReportStaging } from '../../src/report/store.ts';
import { requireTools } from '../../src/core/hostTools.ts';
import { launchChromium } from './chromium.ts';
import { sampleRecord, tinyPng } from './sampleRecord.ts';
import { simboardRecord } from './simboardRecord.ts';

let root: string;
let browser: Browser;
let reportDir: string;
let simboardDir: string;

beforeAll(async () => {
  requireTools(['chromium']);
  root = mkdtempSync(join(tmpdir(), 'wb-html-'));
  const r = sampleRecord();
  const s = ReportStaging.create(root, r.runId);
  writeFileSync(join(s.artifactsDir('vp90-2-08-tile-4x4'), 'frame3-decoded.png'), tinyPng(64, 48));
  writeFileSync(join(s.artifactsDir('vp90-2-08-tile-4x4'), 'frame3-diff.png'), tinyPng(64, 48));
  reportDir = s.finalize(r);
  // a simboard run: register captures and per-frame register tables from the real fixture (registers/simboardFixture.ts)
  const sim = simboardRecord({ hostile: true });
  const simRoot = join(root, 'simboard');
  const ss = ReportStaging.create(simRoot, sim.record.runId);
  for (const [rel, data] of Object.entries(sim.files)) writeFileSync(join(ss.artifactsDir(rel.split('/')[1]!), rel.split('/').at(-1)!), data);
  simboardDir = ss.finalize(sim.record);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('index.html in headless Chromium', () => {
  it('loads with no console error, no request, shows the table and filters it', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${String(e)}`));
    page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()}`));
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.setViewport({ width: 1400, height: 1000 });
    await page.goto(pathToFileURL(join(reportDir, 'index.html')).href, { waitUntil: 'load' });

    expect(problems).toEqual([]);
    // only the page itself (images are data: URIs)
    expect(requests.filter((u) => !u.startsWith('data:'))).toEqual([pathToFileURL(join(reportDir, 'index.html')).href]);

    const visibleRows = () => page.$$eval('#results tbody tr.vec', (rs) => rs.filter((r: any) => !r.hidden).length);
    expect(await visibleRows()).toBe(7);
    expect(await page.$eval('#shown', (e: any) => e.textContent)).toBe('7');

    await page.click('#only-failures');
    expect(await visibleRows()).toBe(5); // fail, timeout, error, crash, not-run
    await page.click('#show-all');
    await page.select('#feature', 'tiles');
    expect(await page.$$eval('#results tbody tr.vec', (rs) => rs.filter((r: any) => !r.hidden).map((r) => r.getAttribute('data-name')))).toEqual([
      'vp90-2-08-tile-4x4',
    ]);
    await page.click('#show-all');
    await page.click('input[name="verdict"][value="pass"]');
    expect(await visibleRows()).toBe(6);

    // the embedded mismatch image decoded in the browser
    const imgs = await page.$$eval('img', (is) => is.map((i: any) => i.naturalWidth as number));
    expect(imgs).toContain(64);
    // the hostile vector name is text, not markup
    expect(await page.$$eval('script', (s) => s.length)).toBe(1);
    expect(await page.$eval('#checks-banner', (e: any) => e.textContent)).toContain('Pixels were NOT verified on visl');

    await page.click('#show-all');
    const table = await page.$('#results');
    const box = await table!.boundingBox();
    expect(box && box.height > 100 && box.width > 600).toBe(true);
    const shot = process.env.WORKBENCH_SCREENSHOT ?? join(tmpdir(), 'vp9-workbench-index.png');
    await page.screenshot({ path: shot as `${string}.png`, fullPage: true });
    const png = PNG.sync.read(readFileSync(shot));
    expect(png.width).toBe(1400);
    expect(png.height).toBeGreaterThan(box!.y + box!.height - 1);
    process.stdout.write(`screenshot: ${shot} (${png.width}x${png.height})\n`);
    await page.close();
  });

  it('shows the per-frame register tables of a simboard run: collapsed, opened by a click, differing rows marked, no console error', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${String(e)}`));
    page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()}`));
    await page.setViewport({ width: 1400, height: 1000 });
    await page.goto(pathToFileURL(join(simboardDir, 'index.html')).href, { waitUntil: 'load' });
    expect(problems).toEqual([]);
    // the hostile field name of the tables is text, not markup
    expect(await page.$$eval('script', (s) => s.length)).toBe(1);
    expect(await page.$$eval('details.regframe', (ds) => ds.length)).toBe(3);
    expect(await page.$$eval('details.regs, details.regframe', (ds) => ds.filter((d: any) => d.open).length)).toBe(0);
    // closed: the rows are not shown
    expect(await page.$eval('details.regframe tr.r-differs', (r: any) => r.checkVisibility() as boolean)).toBe(false);
    await page.click('details.regs > summary');
    await page.click('details.regframe[data-frame="0"] > summary');
    const row = await page.$eval('details.regframe[data-frame="0"] tr.r-differs', (r: any) => ({
      text: r.textContent as string,
      shown: r.checkVisibility() as boolean,
      bg: (globalThis as any).getComputedStyle(r.querySelector('td')).backgroundColor as string,
    }));
    // frame 0 of the run's registers-diff.txt: reg12 colmv_compress_en MPP 1, series 0 is its first difference
    expect(row.text).toBe('≠12common.reg012.colmv_compress_en01');
    expect(row.shown).toBe(true);
    expect(row.bg).not.toBe('rgba(0, 0, 0, 0)');
    // 'differing rows only' hides the equal rows (CSS only), and shows them again
    const equalShown = () => page.$$eval('details.regframe[data-frame="0"] tr.r-equal', (rs) => rs.filter((r: any) => r.checkVisibility()).length);
    expect(await equalShown()).toBe(396 - 40);
    await page.click('label.only-diff input');
    expect(await equalShown()).toBe(0);
    expect(await page.$eval('details.regframe[data-frame="0"] tr.r-differs', (r: any) => r.checkVisibility() as boolean)).toBe(true);
    await page.click('label.only-diff input');
    expect(await equalShown()).toBe(396 - 40);
    expect(await page.$eval('a.capture-download', (a: any) => a.getAttribute('href'))).toBe('artifacts/p0-intra-only/registers-capture.jsonl');
    expect(await page.$eval('#irq-simulated', (e: any) => e.textContent)).toBe('dec_rdy on 3/3 jobs — simulated device; hardware still unverified');
    expect(problems).toEqual([]);
    await page.close();
  });
});
