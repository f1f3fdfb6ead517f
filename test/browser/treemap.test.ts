/**
 * The treemap of `analyze --format html` in a real browser (issue 16 point 5): pages the CLI writes for
 * images whose bytes are known by construction. The rectangles' areas are proportional to their bytes
 * and add up to the final size; clicks, the breadcrumb, the keyboard, the tooltip, the groupings and the
 * waste view work; hostile names stay text; nothing is requested and no console error shows. On the
 * 6 GB gpu-devel sample: the page weight and the time to an interactive treemap.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { KIND_COLOURS } from '../../src/render/palette.js';
import type { Kind } from '../../src/report/types.js';
import { haveChromium, launch, openReport } from '../helpers/browser.js';
import { docker, dockerAvailable, ensureBase, requireDocker, ROOT } from '../helpers/docker.js';
import { tmpDir, writeOciDir } from '../helpers/images.js';
import { type FEntry, file, filler, header, pad, whiteout } from '../helpers/tar.js';

const KiB = 1024;
const browserOk = haveChromium();

/** Layer 1: 600 + 300 + 100 + 50 KiB; layer 2 adds 850 KiB and hides 150 KiB of layer 1 (doc/x overwritten, etc/conf deleted). */
const LAYERS: FEntry[][] = [
  [file('usr/lib/a.so', 600 * KiB), file('usr/lib/b.so', 300 * KiB), file('usr/share/doc/x', 100 * KiB), file('etc/conf', 50 * KiB)],
  [file('app/model.bin', 800 * KiB), file('app/main.py', 40 * KiB), file('usr/share/doc/x', 10 * KiB), whiteout('etc/conf')],
];
const FINAL = (600 + 300 + 800 + 40 + 10) * KiB;
const LAYER_VISIBLE = [900 * KiB, 850 * KiB];
const WASTE = 150 * KiB;

async function writePage(layers: Array<{ entries?: FEntry[]; raw?: Buffer; createdBy: string }>, dockerfile?: string): Promise<string> {
  const dir = tmpDir();
  await writeOciDir(path.join(dir, 'oci'), [{ img: { config: {}, layers } }]);
  const out = path.join(dir, 'page.html');
  const extra = dockerfile ? ['--dockerfile', path.join(dir, 'Dockerfile')] : [];
  if (dockerfile) writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
  const r = await execa('node', [CLI, 'analyze', `oci:${path.join(dir, 'oci')}`, '--format', 'html', '-o', out, '--quiet', ...extra], { reject: false });
  expect(r.exitCode, r.stderr).toBe(0);
  return out;
}

interface Drawn {
  path: string;
  bytes: number;
  area: number;
  drawn: number[];
  laid: number[];
}

async function level(page: Page): Promise<{ rects: Drawn[]; mapArea: number; crumbs: string[] }> {
  // the area the layout gave each rectangle; the browser draws it there, except that a side under 2 px
  // shows as 2 px (its 1 px borders): checked too, so a rectangle cannot be drawn off its geometry
  const rects = await page.$$eval('.tm-map .r[data-depth="1"]', (els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      const [w, h] = [Number.parseFloat((e as HTMLElement).style.width), Number.parseFloat((e as HTMLElement).style.height)];
      return { path: (e as HTMLElement).dataset.path ?? '', bytes: Number((e as HTMLElement).dataset.bytes), area: w * h, drawn: [r.width, r.height], laid: [Math.max(w, 2), Math.max(h, 2)] };
    }),
  );
  // (layout units are 1/64 px: a side is drawn within 1/32 px of its geometry)
  for (const r of rects) for (const i of [0, 1]) expect(Math.abs(r.drawn[i]! - r.laid[i]!), `${r.path}: drawn ${r.drawn} for ${r.laid}`).toBeLessThanOrEqual(1 / 32);
  const mapArea = await page.$eval('.tm-map', (m) => m.clientWidth * m.clientHeight);
  const crumbs = await page.$$eval('.tm-crumbs button', (bs) => bs.map((b) => b.textContent ?? ''));
  return { rects, mapArea, crumbs };
}

/** Each drawn rectangle's area is its share of `total` bytes of the map's area (within layout rounding). */
function expectProportional(l: { rects: Drawn[]; mapArea: number }, total: number, skipped = 0): void {
  expect(l.rects.reduce((a, r) => a + r.bytes, 0)).toBe(total - skipped);
  for (const r of l.rects) {
    const expected = (r.bytes / total) * l.mapArea;
    expect(Math.abs(r.area - expected), `${r.path}: ${r.area} px² for ${r.bytes} bytes, expected ${expected}`).toBeLessThanOrEqual(0.005 * expected + 4);
  }
}

describe.skipIf(!browserOk)('the treemap in chromium', () => {
  let browser: Browser;
  let pagePath = '';

  beforeAll(async () => {
    browser = await launch();
    // a Dockerfile whose two RUN lines (lines 2 and 4) made the two layers
    pagePath = await writePage(
      LAYERS.map((entries, i) => ({ entries, createdBy: `/bin/sh -c make layer-${i + 1}` })),
      'FROM scratch\nRUN make layer-1\n# the app\nRUN make layer-2\n',
    );
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('draws areas proportional to bytes that add up to the final size; click zooms in, the breadcrumb out', async () => {
    const { page, problems } = await openReport(browser, pagePath);
    expect(await page.getAttribute('section.tm', 'data-ready')).toBe('true');
    const top = await level(page);
    expect(top.rects.map((r) => r.path).sort()).toEqual(['app', 'usr']);
    expectProportional(top, FINAL);
    expect(Number(await page.getAttribute('.tm-map', 'data-bytes'))).toBe(FINAL);
    await page.click('.tm-map .r[data-path="usr"]', { position: { x: 5, y: 5 } });
    const usr = await level(page);
    expect(usr.crumbs).toHaveLength(2);
    expect(usr.rects.map((r) => [r.path, r.bytes]).sort()).toEqual([
      ['usr/lib', 900 * KiB],
      ['usr/share', 10 * KiB],
    ]);
    expectProportional(usr, 910 * KiB);
    await page.click('.tm-crumbs button >> nth=0');
    const back = await level(page);
    expect(back.crumbs).toHaveLength(1);
    expectProportional(back, FINAL);
    // the legend's swatches: each kind in the colour the comparison's charts give it (src/render/palette.ts)
    const legend = await page.$$eval('.tm-legend span', (els) => els.map((e) => [e.textContent ?? '', getComputedStyle(e.querySelector('i')!).backgroundColor]));
    expect(legend.length).toBeGreaterThan(0);
    const rgb = (hex: string) => `rgb(${[1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;
    for (const [kind, colour] of legend) expect([kind, colour]).toEqual([kind, rgb(KIND_COLOURS[kind as Kind])]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('hover shows path, bytes, owner, kind, layer and its step; the keyboard zooms in and out', async () => {
    const { page, problems } = await openReport(browser, pagePath);
    await page.hover('.tm-map .r[data-path="app/model.bin"]');
    const tip = page.locator('.tm-tip');
    await expect.poll(() => tip.isVisible()).toBe(true);
    const text = await tip.textContent();
    for (const s of ['/app/model.bin', '800 KiB', `${(800 * KiB).toLocaleString('en-US')} bytes`, 'owner: unowned', 'kind: ', 'layer 2: /bin/sh -c make layer-2', 'Dockerfile: ', 'Dockerfile:4 RUN']) expect(text).toContain(s);
    await page.focus('.tm-map .r[data-path="usr"]');
    await page.keyboard.press('Enter');
    expect((await level(page)).crumbs).toHaveLength(2);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Backspace');
    const l = await level(page);
    expect(l.crumbs).toHaveLength(1);
    expectProportional(l, FINAL);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('groups by owner and by layer, and shows the waste by the layer that added it', async () => {
    const { page, problems } = await openReport(browser, pagePath);
    await page.click('.tm-group button[data-group="owner"]');
    const owners = await level(page);
    expect(owners.rects.map((r) => r.bytes)).toEqual([FINAL]); // no package database: one owner, unowned
    await page.click('.tm-group button[data-group="layer"]');
    const layers = await level(page);
    expect(layers.rects.map((r) => r.bytes)).toEqual(LAYER_VISIBLE);
    expectProportional(layers, FINAL);
    // layer 2 → the directories it still shows: app (800 + 40 KiB) and usr (doc/x, 10 KiB)
    await page.click('.tm-map .r[data-depth="1"] >> nth=1', { position: { x: 3, y: 3 } });
    const layer2 = await level(page);
    expect(layer2.crumbs[1]).toContain('layer 2 · RUN make layer-2');
    expect(layer2.rects.map((r) => [r.path, r.bytes]).sort()).toEqual([
      ['app', 840 * KiB],
      ['usr', 10 * KiB],
    ]);
    expectProportional(layer2, LAYER_VISIBLE[1]!);
    await page.click('.tm-group button[data-group="waste"]');
    const waste = await level(page);
    expect(waste.rects.map((r) => r.bytes)).toEqual([WASTE]); // all of it added by layer 1
    expect(Number(await page.getAttribute('.tm-map', 'data-bytes'))).toBe(WASTE);
    await page.click('.tm-map .r[data-depth="1"]', { position: { x: 5, y: 5 } });
    const hidden = await level(page);
    // layer 1's hidden bytes by directory: etc (conf deleted, 50 KiB), usr (share/doc/x overwritten, 100 KiB)
    expect(hidden.rects.map((r) => [r.path, r.bytes]).sort()).toEqual([
      ['etc', 50 * KiB],
      ['usr', 100 * KiB],
    ]);
    expectProportional(hidden, WASTE);
    expect(await page.getAttribute('.tm-map .r[data-path="usr/share/doc/x"]', 'data-bytes')).toBe(String(100 * KiB));
    await page.hover('.tm-map .r[data-path="etc/conf"]');
    expect(await page.locator('.tm-tip').textContent()).toContain('deleted in layer 2');
    expect(await page.locator('.tm-legend').textContent()).toContain('deleted by a later layer');
    const colour = (p: string) => page.$eval(`.tm-map .r[data-path="${p}"]`, (e) => getComputedStyle(e).backgroundColor);
    expect(await colour('etc/conf')).not.toBe(await colour('usr/share/doc/x')); // deleted, overwritten
    await page.click('.tm-group button[data-group="dir"]');
    expectProportional(await level(page), FINAL);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a directory chain 5000 levels deep draws, zooms and sums without a stack overflow', async () => {
    const deep = Array.from({ length: 5000 }, () => 'd').join('/');
    const deepPage = await writePage([{ entries: [file(`${deep}/leaf.bin`, 700 * KiB), file(`${deep}/x/y.bin`, 300 * KiB), file('keep.bin', 24 * KiB)], createdBy: 'RUN deep' }]);
    const { page, problems } = await openReport(browser, deepPage);
    expectProportional(await level(page), 1024 * KiB);
    // the deepest drawn directory, then the breadcrumb's root
    await page.click('.tm-map .r.g >> nth=-1', { position: { x: 3, y: 3 } });
    expect((await level(page)).crumbs.length).toBeGreaterThan(2);
    await page.click('.tm-crumbs button >> nth=0');
    expect((await level(page)).crumbs).toHaveLength(1);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('scripts/screenshot.mjs writes a PNG of the page beside it', async () => {
    const r = await execa('node', [path.join(ROOT, 'scripts/screenshot.mjs'), pagePath], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const png = readFileSync(pagePath.replace(/\.html$/, '.png'));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1280, 900]); // IHDR: width, height
  });

  it('renders hostile names as text: quotes, <script>, </script>, control characters, invalid UTF-8', async () => {
    // a name cannot hold `/`: `</script>` comes in the history step (and in the tooltip) instead
    const names: Array<string | Buffer> = ['h/q"uo\'te.bin', 'h/<script>alert(1).bin', 'h/<img src=x onerror=alert(3)>.bin', 'h/ctl\x1b[31m\x07.bin', Buffer.from([0x68, 0x2f, 0xff, 0xfe, 0x2e, 0x62, 0x69, 0x6e])];
    const raw = Buffer.concat([...names.flatMap((name, i) => [header({ name, size: (100 + i) * KiB }), pad(filler((100 + i) * KiB, i))]), Buffer.alloc(1024)]);
    const hostile = await writePage([{ raw, createdBy: 'RUN echo "</script><script>alert(2)</script>" \x1b]0;x\x07' }]);
    const html = readFileSync(hostile, 'utf8');
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('</script><script>');
    expect(html).not.toContain('<img');
    const { page, problems } = await openReport(browser, hostile);
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.click('.tm-map .r[data-path="h"]', { position: { x: 5, y: 5 } });
    const labels = await page.$$eval('.tm-map .r', (els) => els.map((e) => e.textContent ?? ''));
    for (const shown of ['q"uo\'te.bin', '<script>alert(1).bin', '<img src=x onerror=alert(3)>.bin', 'ctl\\x1b[31m\\x07.bin', '\\xff\\xfe.bin']) expect(labels.some((l) => l.startsWith(shown)), shown).toBe(true);
    expect(await page.$$eval('.tm-map *', (els) => els.filter((e) => e.tagName !== 'DIV' && e.tagName !== 'SPAN').length)).toBe(0);
    expect(await page.$$eval('script', (els) => els.length)).toBe(2); // the data and the treemap's script
    expect(await page.$$eval('img, iframe, object, embed', (els) => els.length)).toBe(0);
    await page.hover('.tm-map .r[data-path^="h/ctl"]');
    const tip = await page.locator('.tm-tip').textContent();
    expect(tip).toContain('/h/ctl\\x1b[31m\\x07.bin');
    expect(tip).toContain('RUN echo "</script><script>alert(2)</script>" \\x1b]0;x\\x07');
    expect(dialogs).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });
});

const GPU_DEVEL = 'imgscope-sample/gpu-devel:latest';
const daemon = browserOk && (await dockerAvailable());
const haveDevel = daemon && (await docker('image', 'inspect', GPU_DEVEL).then(() => true, () => false));

describe.skipIf(!browserOk || !daemon || (!haveDevel && !requireDocker))('the gpu-devel sample page', () => {
  it('weighs under 5 MB and is interactive in under 2 s in headless chromium', async () => {
    if (!haveDevel) {
      await ensureBase();
      await execa('bash', [path.join(ROOT, 'sample-images/build.sh'), 'gpu-devel'], { stdio: 'inherit' });
    }
    const out = path.join(tmpDir(), 'gpu-devel.html');
    const t0 = Date.now();
    await execa('node', [CLI, 'analyze', `docker-daemon:${GPU_DEVEL}`, '--format', 'html', '-o', out, '--quiet']);
    const analyzeMs = Date.now() - t0;
    const bytes = statSync(out).size;
    const browser = await launch();
    try {
      const { page, problems, readyMs } = await openReport(browser, out);
      const rects = await page.$$eval('.tm-map .r', (els) => els.length);
      console.log(`gpu-devel page: ${bytes} bytes, analyze ${analyzeMs} ms, interactive ${readyMs} ms (load + first frame), ${rects} rectangles drawn`);
      expect(bytes).toBeLessThan(5_000_000);
      expect(readyMs).toBeLessThan(2000);
      expect(await page.getAttribute('section.tm', 'data-ready')).toBe('true');
      expect(rects).toBeGreaterThan(10);
      await page.click('.tm-map .r[data-depth="1"] >> nth=0', { position: { x: 5, y: 5 } });
      expect(await page.$$eval('.tm-crumbs button', (bs) => bs.length)).toBe(2);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 600_000);
});

const SAMPLES = ['cpu-naive', 'cpu-multistage', 'cpu-pruned', 'gpu-devel', 'gpu-runtime'];

describe.skipIf(!browserOk)("the demo's committed pages (reports/<sample>.html)", () => {
  it('open from file:// with no request and no console error, draw the treemap, and sum to the JSON report of the same run', async () => {
    const browser = await launch();
    try {
      for (const s of SAMPLES) {
        const html = path.join(ROOT, 'reports', `${s}.html`);
        const report = JSON.parse(readFileSync(path.join(ROOT, 'reports', `${s}.json`), 'utf8')) as { image: { reference: string }; totals: { finalBytes: number } };
        const { page, problems } = await openReport(browser, html);
        expect([s, await page.getAttribute('section.tm', 'data-ready')]).toEqual([s, 'true']);
        expect([s, await page.textContent('h1 code')]).toEqual([s, report.image.reference]);
        const top = await level(page);
        // entries under a pixel are not drawn: what they hold would take less than a pixel each
        const skipped = Number(await page.getAttribute('.tm-map', 'data-skipped-bytes'));
        const skippedCount = Number(await page.getAttribute('.tm-map', 'data-skipped-count'));
        expect([s, top.rects.reduce((a, r) => a + r.bytes, 0) + skipped]).toEqual([s, report.totals.finalBytes]);
        expect((skipped / report.totals.finalBytes) * top.mapArea).toBeLessThan(Math.max(1, skippedCount));
        expectProportional({ ...top, rects: top.rects }, report.totals.finalBytes, skipped);
        expect([s, statSync(html).size < 5_000_000]).toEqual([s, true]);
        expect([s, problems]).toEqual([s, []]);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });
});
