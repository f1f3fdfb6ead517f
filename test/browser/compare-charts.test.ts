/**
 * The comparison page's charts in a real browser (issue 16 points 2 and 5): the rendered width of
 * every bar segment, read with getBoundingClientRect, is proportional to the bytes or milliseconds the
 * reports hold (one scale per chart), each bar ends at the table's figure, a hover lands on the
 * segment whose <title> names it, a hostile image name stays text, and the page makes no request and
 * logs no error. Two pages: constructed reports (test/helpers/charts.ts) and the demo's reports/.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analysis, ColdStart } from '../../src/report/types.js';
import { escapeText } from '../../src/util/escape.js';
import { haveChromium, launch, openReport } from '../helpers/browser.js';
import { CHART_IMAGES, chartAnalysis, chartColdStart, finalBytes, HOSTILE_NAME, sum } from '../helpers/charts.js';
import { tmpDir } from '../helpers/images.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const REPORTS = fileURLToPath(new URL('../../reports/', import.meta.url));

interface Drawn { image: number; key: string; x: number; width: number; title: string }
interface Chart { segs: Drawn[]; totals: string[]; missing: string[] }

/** Every segment of a chart as the browser lays it out, and each bar's end label or missing note. */
async function readChart(page: import('playwright-core').Page, id: string): Promise<Chart> {
  return page.evaluate((id) => {
    const svg = document.getElementById(id)!;
    const groups = [...svg.querySelectorAll('g[data-image]')];
    return {
      segs: groups.flatMap((g) =>
        [...g.querySelectorAll('rect')].map((r) => {
          const b = r.getBoundingClientRect();
          return { image: Number(g.getAttribute('data-image')), key: r.getAttribute('data-key')!, x: b.x, width: b.width, title: r.querySelector('title')!.textContent! };
        }),
      ),
      totals: groups.map((g) => g.querySelector('text.total')?.textContent ?? ''),
      missing: groups.map((g) => (g.querySelector('rect') ? '' : [...g.querySelectorAll(':scope > text')].at(-1)!.textContent!)),
    };
  }, id);
}

/** Rendered pixels per unit, checked the same for every segment (within 0.01 px), and contiguous bars. */
function expectProportional(chart: Chart, value: (image: number, key: string) => number): number {
  const big = chart.segs.reduce((a, b) => (value(b.image, b.key) > value(a.image, a.key) ? b : a));
  const k = big.width / value(big.image, big.key);
  for (const s of chart.segs) expect(Math.abs(s.width - k * value(s.image, s.key)), `${s.image} ${s.key}`).toBeLessThan(0.01);
  chart.segs.forEach((s, j) => {
    const prev = chart.segs[j - 1];
    if (prev?.image === s.image) expect(Math.abs(s.x - (prev.x + prev.width))).toBeLessThan(0.01);
  });
  return k;
}

const barWidth = (c: Chart, image: number): number => sum(c.segs.filter((s) => s.image === image).map((s) => s.width));

/** The first table's column, by its header. */
const column = (page: import('playwright-core').Page, head: string): Promise<string[]> =>
  page.evaluate((head) => {
    const t = document.querySelector('table')!;
    const i = [...t.querySelectorAll('thead th')].findIndex((th) => th.textContent === head);
    return [...t.querySelectorAll('tbody tr')].map((tr) => tr.children[i]!.textContent!);
  }, head);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};

async function comparePage(args: string[], names: string): Promise<string> {
  const out = path.join(tmpDir('imgscope-charts-'), 'comparison.html');
  const r = await execa('node', [CLI, 'compare', ...args, '--names', names, '--format', 'html', '--output', out], { reject: false });
  expect(r.exitCode, r.stderr).toBe(0);
  return out;
}

describe.skipIf(!haveChromium())('comparison charts in a browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('draws the constructed reports to scale, hovers to a segment\'s title, keeps a hostile name as text', async () => {
    const dir = tmpDir('imgscope-charts-');
    const args: string[] = [];
    CHART_IMAGES.forEach((img, n) => {
      const a = path.join(dir, `a${n}.json`);
      writeFileSync(a, JSON.stringify(chartAnalysis(img, n)));
      args.push(a);
      for (const cold of img.coldRuns.length ? [true, false] : [false]) {
        const f = path.join(dir, `s${n}-${cold}.json`);
        writeFileSync(f, JSON.stringify({ schemaVersion: 1, tool: { name: 'imgscope', version: '0.0.0' }, generatedAt: '2026-01-01T00:00:00.000Z', coldStart: chartColdStart(img, n, cold) }));
        args.push(f);
      }
    });
    const file = await comparePage(args, CHART_IMAGES.map((i) => i.name).join(','));
    const { page, problems } = await openReport(browser, file);

    const size = await readChart(page, 'chart-size');
    const kSize = expectProportional(size, (i, key) => (CHART_IMAGES[i]!.kinds as Record<string, number>)[key]!);
    const finals = await column(page, 'Final');
    CHART_IMAGES.forEach((img, i) => {
      expect(Math.abs(barWidth(size, i) - kSize * finalBytes(img))).toBeLessThan(0.05);
      expect(size.totals[i]).toBe(finals[i]);
    });

    const cold = await readChart(page, 'chart-coldstart');
    const phases = ['pull', 'create', 'start', 'ready'];
    const kCold = expectProportional(cold, (i, key) => CHART_IMAGES[i]!.medianRun![phases.indexOf(key)]!);
    const colds = await column(page, 'Cold start');
    CHART_IMAGES.forEach((img, i) => {
      if (!img.medianRun) {
        expect(cold.missing[i]).toBe('no cold run');
        expect(colds[i]).toBe('n/a');
        return;
      }
      expect(Math.abs(barWidth(cold, i) - kCold * sum(img.medianRun))).toBeLessThan(0.05);
      expect(cold.totals[i]).toBe(colds[i]);
    });

    // hover the first image's largest segment: the pointer lands on it, and its title names it
    const rect = page.locator('#chart-size g[data-image="0"] rect[data-key="cuda-devel"]');
    await rect.hover();
    const under = await rect.evaluate((r) => {
      const b = r.getBoundingClientRect();
      const hit = document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2);
      return { same: hit === r, hovered: r.matches(':hover'), title: hit?.querySelector('title')?.textContent };
    });
    expect(under).toEqual({ same: true, hovered: true, title: `${escapeText(HOSTILE_NAME)}: cuda-devel 1.00 GiB (71.9% of 1.39 GiB final)` });

    // the hostile name: no script element, its text (control character made visible) in the label's title and the table
    expect(await page.evaluate(() => document.querySelectorAll('script').length)).toBe(0);
    expect(await page.locator('#chart-size g[data-image="0"] > text > title').textContent()).toBe(escapeText(HOSTILE_NAME));
    expect((await column(page, 'Approach'))[0]).toBe(escapeText(HOSTILE_NAME));
    // the charts' accessible names
    expect(await page.locator('#chart-size').getAttribute('role')).toBe('img');
    expect(await page.evaluate(() => document.getElementById('chart-coldstart-desc')!.textContent)).toContain('warm-only: no cold run');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('draws the demo\'s reports to the numbers in them', async () => {
    const samples = ['cpu-naive', 'cpu-multistage', 'cpu-pruned', 'gpu-devel', 'gpu-runtime'];
    const read = <T>(f: string): T => JSON.parse(readFileSync(path.join(REPORTS, f), 'utf8')) as T;
    const file = await comparePage(
      [...samples.map((s) => path.join(REPORTS, `${s}.json`)), ...samples.flatMap((s) => [`${s}.coldstart.json`, `${s}.warmstart.json`].map((f) => path.join(REPORTS, f)))],
      'naive,multi-stage,pruned,gpu-devel,gpu-runtime',
    );
    const { page, problems } = await openReport(browser, file);
    const analyses = samples.map((s) => read<Analysis>(`${s}.json`));
    const size = await readChart(page, 'chart-size');
    const k = expectProportional(size, (i, key) => analyses[i]!.kinds.find((x) => x.kind === key)!.bytes);
    analyses.forEach((a, i) => expect(Math.abs(barWidth(size, i) - k * a.totals.finalBytes)).toBeLessThan(0.05));
    // each cold bar is the median run's total: pull + create + start + ready of the runs, computed here
    const runs = samples.map((s) => read<{ coldStart: ColdStart }>(`${s}.coldstart.json`).coldStart.runs);
    const cold = await readChart(page, 'chart-coldstart');
    const totals = runs.map((rs) => median(rs.map((r) => r.pull! + r.create + r.start + r.ready)));
    const widths = samples.map((_, i) => barWidth(cold, i));
    widths.forEach((w, i) => expect(w / widths[0]!).toBeCloseTo(totals[i]! / totals[0]!, 3));
    expect(problems).toEqual([]);
    await page.close();
  });
});
