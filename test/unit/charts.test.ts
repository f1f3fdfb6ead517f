/**
 * The comparison's charts (issue 16 point 2): every segment's width is proportional to the bytes or
 * milliseconds the fixtures were built with, one scale per chart, and each bar ends at the figure the
 * table shows. Expected values come from the fixtures (test/helpers/charts.ts), not from imgscope.
 */
import { describe, expect, it } from 'vitest';
import { compare } from '../../src/compare.js';
import { BYTE_UNITS, MS_UNITS, niceAxis } from '../../src/render/charts.js';
import { renderComparisonHtml } from '../../src/render/html.js';
import { KIND_COLOURS } from '../../src/render/palette.js';
import { KINDS } from '../../src/catalog/kinds.js';
import { escapeHtml } from '../../src/util/escape.js';
import { formatBytes, formatMs } from '../../src/util/format.js';
import { CHART_IMAGES, chartInputs, finalBytes, HOSTILE_NAME, sum } from '../helpers/charts.js';
import { expectSchemaValid } from '../helpers/report.js';

const GiB = 1024 ** 3;

interface Seg { x: number; width: number; key: string; title: string; fill: string }
interface Row { segs: Seg[]; text: string }

/** The bars of one chart, by image index, read back from the page's markup. */
function bars(html: string, id: string): Row[] {
  const svg = html.match(new RegExp(`<svg id="${id}"[\\s\\S]*?</svg>`))?.[0];
  expect(svg, id).toBeDefined();
  return [...svg!.matchAll(/<g data-image="(\d+)">([\s\S]*?)<\/g>/g)].map((g) => ({
    segs: [...g[2]!.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="\d+" fill="([^"]+)" data-key="([^"]+)"><title>([^<]*)<\/title><\/rect>/g)].map((m) => ({
      x: Number(m[1]), width: Number(m[2]), fill: m[3]!, key: m[4]!, title: m[5]!,
    })),
    text: g[2]!.replace(/<title>[^<]*<\/title>/g, '').replace(/<[^>]+>/g, '|'),
  }));
}

/** Widths are written to 3 decimals: each may be off by half a thousandth, a sum by that per segment. */
const TOL = 0.002;

/** Every segment's width is one scale times its value; returns the scale (user units per unit). */
function expectProportional(rows: Row[], expected: Array<Record<string, number>>): number {
  const all = rows.flatMap((r, i) => r.segs.map((s) => ({ s, v: expected[i]![s.key]! })));
  const big = all.reduce((a, b) => (b.v > a.v ? b : a));
  const k = big.s.width / big.v;
  for (const { s, v } of all) expect(Math.abs(s.width - k * v), `${s.key}: ${s.width} for ${v}`).toBeLessThanOrEqual(TOL);
  for (const r of rows) r.segs.forEach((s, j) => j && expect(Math.abs(s.x - (r.segs[j - 1]!.x + r.segs[j - 1]!.width))).toBeLessThanOrEqual(TOL));
  return k;
}

describe('comparison charts', () => {
  const c = compare(chartInputs(), 0, '0.0.0');
  const html = renderComparisonHtml(c);

  it('carries the phases of the median cold run, which add up to the cold start', () => {
    expectSchemaValid(c);
    CHART_IMAGES.forEach((img, i) => {
      const row = c.rows[i]!;
      const m = img.medianRun;
      expect(row.coldStartPhases).toEqual(m ? { pullMs: m[0], createMs: m[1], startMs: m[2], readyMs: m[3] } : null);
      // the median of the runs' totals, computed here from the fixture
      const totals = img.coldRuns.map((r) => sum(r)).sort((a, b) => a - b);
      const h = Math.floor(totals.length / 2);
      const median = !totals.length ? null : totals.length % 2 ? totals[h]! : (totals[h - 1]! + totals[h]!) / 2;
      expect(row.coldStartMs).toBe(median);
      if (m) expect(sum(m)).toBe(median);
    });
    // the median run's pull is not the median pull, which the Pull column keeps
    expect(c.rows[0]!.pullMs).toBe(10_000);
    expect(c.rows[0]!.coldStartPhases!.pullMs).toBe(8000);
  });

  it('sizes: one segment per kind present, proportional to its bytes on one scale, each bar ending at Final', () => {
    const rows = bars(html, 'chart-size');
    expect(rows).toHaveLength(CHART_IMAGES.length);
    const k = expectProportional(rows, CHART_IMAGES.map((i) => i.kinds as Record<string, number>));
    rows.forEach((r, i) => {
      const img = CHART_IMAGES[i]!;
      // kinds in the report's order, zero kinds left out, coloured by the shared palette
      expect(r.segs.map((s) => s.key)).toEqual(KINDS.filter((kd) => img.kinds[kd]));
      for (const s of r.segs) expect(s.fill).toBe(KIND_COLOURS[s.key as keyof typeof KIND_COLOURS]);
      expect(Math.abs(sum(r.segs.map((s) => s.width)) - k * finalBytes(img))).toBeLessThanOrEqual(TOL * r.segs.length);
      expect(r.text).toContain(`|${formatBytes(finalBytes(img))}|`);
      expect(html).toContain(`<td class="n">${formatBytes(finalBytes(img))}</td>`);
    });
    expect(rows[0]!.segs.find((s) => s.key === 'cuda-devel')!.title).toBe(escapeHtml(`${HOSTILE_NAME}: cuda-devel 1.00 GiB (71.9% of 1.39 GiB final)`));
  });

  it('cold start: pull, create, start, ready of the median run on one scale; no bar without a cold run', () => {
    const rows = bars(html, 'chart-coldstart');
    const expected = CHART_IMAGES.map((i) => (i.medianRun ? Object.fromEntries(['pull', 'create', 'start', 'ready'].map((p, j) => [p, i.medianRun![j]!])) : {}));
    const k = expectProportional(rows, expected);
    rows.forEach((r, i) => {
      const m = CHART_IMAGES[i]!.medianRun;
      if (!m) {
        expect(r.segs).toEqual([]);
        expect(r.text).toContain('|no cold run|');
        return;
      }
      expect(r.segs.map((s) => s.key)).toEqual(['pull', 'create', 'start', 'ready']);
      expect(Math.abs(sum(r.segs.map((s) => s.width)) - k * sum(m))).toBeLessThanOrEqual(TOL * 4);
      // the bar's label is the table's Cold start cell
      expect(r.text).toContain(`|${formatMs(sum(m))}|`);
      expect(html).toContain(`<td class="n">${formatMs(sum(m))}</td>`);
    });
    expect(rows[1]!.segs[0]!.title).toBe(escapeHtml('multi "stage": pull 5300 ms (81.5% of the 6500 ms cold start, median run)'));
  });

  it('a hostile image name is text: no markup, no control character, in labels, titles and descriptions', () => {
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('\x1b');
    expect(html).not.toMatch(/alert\("x"\)/);
    // the label's title holds the whole name, escaped; the label itself is cut to fit
    expect(html).toContain(`<title>${escapeHtml(HOSTILE_NAME)}</title>`);
    expect(escapeHtml(HOSTILE_NAME)).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;\\x1b[31m');
  });

  it('with no cold run at all, says so instead of drawing an empty chart', () => {
    const warmOnly = chartInputs().map((i) => ({ ...i, starts: i.starts.filter((s) => !s.cold) }));
    const h = renderComparisonHtml(compare(warmOnly, 0, '0.0.0'));
    expect(h).toContain('<svg id="chart-size"');
    expect(h).not.toContain('chart-coldstart');
    expect(h).toContain('<b>Cold start by phase</b>: no image has a cold run (coldstart --cold).');
  });

  it('puts the ticks at round values of one unit, the axis at or just past the largest bar', () => {
    const labels = (max: number, u: typeof BYTE_UNITS) => niceAxis(max, u).ticks.map((t) => t.label);
    expect(labels(5.86 * GiB, BYTE_UNITS)).toEqual(['0', '2 GiB', '4 GiB', '6 GiB']);
    expect(niceAxis(5.86 * GiB, BYTE_UNITS).max).toBe(6 * GiB);
    expect(labels(364 * 1024 ** 2, BYTE_UNITS)).toEqual(['0', '100 MiB', '200 MiB', '300 MiB', '400 MiB']);
    expect(labels(77_613, MS_UNITS)).toEqual(['0', '20 s', '40 s', '60 s', '80 s']);
    expect(labels(12_000, MS_UNITS)).toEqual(['0', '2.5 s', '5 s', '7.5 s', '10 s', '12.5 s']);
    expect(labels(800, MS_UNITS)).toEqual(['0', '200 ms', '400 ms', '600 ms', '800 ms']);
    expect(labels(0, BYTE_UNITS).at(-1)).toBe('1 B');
  });
});
