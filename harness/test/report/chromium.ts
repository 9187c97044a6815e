import puppeteer, { type Browser } from 'puppeteer-core';
import { which } from '../../src/core/hostTools.ts';

/**
 * The host's Chromium, headless, for the tests that open our HTML pages
 * (requireTools(['chromium']) first). Runs as root in CI: Chromium's sandbox
 * needs user namespaces it cannot get there.
 */
export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: which('chromium')!,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}
