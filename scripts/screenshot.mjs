#!/usr/bin/env node
// PNG screenshots of HTML reports (issue 16: a picture of each page under reports/ for the README):
// node scripts/screenshot.mjs reports/a.html [more.html …] writes reports/a.png beside each page.
// Drives Debian's chromium (IMGSCOPE_CHROMIUM, default /usr/bin/chromium; scripts/setup-browser.sh
// installs it) with playwright-core, from file:// with every request refused: the pages are
// self-contained. Waits for a treemap to be drawn when the page has one.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node scripts/screenshot.mjs page.html [page.html …]');
  process.exit(2);
}
for (const f of files) {
  if (!existsSync(f)) {
    console.error(`screenshot: ${f}: no such file`);
    process.exit(2);
  }
}
const executablePath = process.env.IMGSCOPE_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(executablePath)) {
  console.error(`screenshot: no chromium at ${executablePath}: run scripts/setup-browser.sh`);
  process.exit(3);
}
// --no-sandbox: CI and the demo run as root, where chromium's sandbox refuses to start
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
try {
  for (const f of files) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const url = pathToFileURL(path.resolve(f)).href;
    await page.route('**/*', (r) => (r.request().url() === url ? r.continue() : r.abort()));
    await page.goto(url, { waitUntil: 'load' });
    if (await page.$('section.tm')) await page.waitForSelector('section.tm[data-ready="true"] .tm-map .r', { timeout: 10_000 });
    const out = f.replace(/\.html?$/i, '') + '.png';
    // an analysis: the top of the page (headline figures and the treemap), not every table; a
    // comparison: down to the end of its last chart (the table and the charts, not the diffs below)
    const chartsEnd = await page.evaluate(() => {
      const figs = [...document.querySelectorAll('figure')];
      return figs.length ? Math.ceil(figs[figs.length - 1].getBoundingClientRect().bottom + window.scrollY + 16) : 0;
    });
    await page.screenshot(chartsEnd > 0 ? { path: out, clip: { x: 0, y: 0, width: 1280, height: chartsEnd }, fullPage: true } : { path: out });
    await page.close();
    console.log(`screenshot: ${out}`);
  }
} finally {
  await browser.close();
}
