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
import puppeteer, { type Browser } from 'puppeteer-core';
import { PNG } from 'pngjs';
import { ReportStaging } from '../../src/report/store.ts';
import { requireTools, which } from '../../src/core/hostTools.ts';
import { sampleRecord, tinyPng } from './sampleRecord.ts';

let root: string;
let browser: Browser;
let reportDir: string;

beforeAll(async () => {
  requireTools(['chromium']);
  root = mkdtempSync(join(tmpdir(), 'wb-html-'));
  const r = sampleRecord();
  const s = ReportStaging.create(root, r.runId);
  writeFileSync(join(s.artifactsDir('vp90-2-08-tile-4x4'), 'frame3-decoded.png'), tinyPng(64, 48));
  writeFileSync(join(s.artifactsDir('vp90-2-08-tile-4x4'), 'frame3-diff.png'), tinyPng(64, 48));
  reportDir = s.finalize(r);
  browser = await puppeteer.launch({
    executablePath: which('chromium')!,
    headless: true,
    // root in CI: Chromium's sandbox needs user namespaces it cannot get there
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
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
});
