/**
 * A real browser for the HTML reports' tests (issue 16): Debian's chromium (apt, installed by
 * scripts/setup-browser.sh) driven by playwright-core, which downloads no browser of its own.
 * Every page opened here fails its test on a console error, an uncaught exception, or any request
 * that is not the page's own file: the reports must work from file:// with no network.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type Browser, type Page, chromium } from 'playwright-core';

export const CHROMIUM = process.env.IMGSCOPE_CHROMIUM ?? '/usr/bin/chromium';

/** Whether the browser tests can run here; CI (IMGSCOPE_REQUIRE_DOCKER=1) requires it. */
export function haveChromium(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.IMGSCOPE_REQUIRE_DOCKER === '1') throw new Error(`no chromium at ${CHROMIUM}: run scripts/setup-browser.sh`);
  return false;
}

export async function launch(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

export interface OpenedPage {
  page: Page;
  /** Console errors, page errors and requests that left the file, in order. */
  problems: string[];
  /** Milliseconds from navigation start to the load event plus the page's first idle frame. */
  readyMs: number;
}

/** Opens a report file in a fresh page; `problems` collects what must stay empty. */
export async function openReport(browser: Browser, file: string, viewport = { width: 1280, height: 900 }): Promise<OpenedPage> {
  const page = await browser.newPage({ viewport });
  const problems: string[] = [];
  const url = pathToFileURL(file).href;
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u === url || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
    problems.push(`request: ${u}`);
    return route.abort();
  });
  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'load' });
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
  return { page, problems, readyMs: Date.now() - t0 };
}
