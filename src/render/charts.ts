/**
 * The comparison's charts (issue 16): per image, the final size stacked by kind and the cold start
 * stacked by phase, as static inline SVG: no script, a `<title>` per segment for hover, a title and
 * a description for screen readers, an HTML legend. All bars of a chart share one axis (ticks in
 * binary byte units or ms/s/min), and each bar ends at the figure the table shows for that image:
 * Final for the sizes, Cold start for the phases (docs/coldstart.md "In the comparison").
 */
import type { Comparison } from '../report/types.js';
import { escapeHtml, escapeText } from '../util/escape.js';
import { formatBytes, formatMs, formatPercent } from '../util/format.js';
import { KIND_COLOURS, PHASE_COLOURS, PHASES } from './palette.js';

export interface Segment {
  /** What the segment is (a kind, a phase): its legend entry and its `data-key`. */
  key: string;
  value: number;
  colour: string;
}

export interface Bar {
  name: string;
  /** Empty and `total` null: the image has nothing to draw, and `missing` says why. */
  segments: Segment[];
  total: number | null;
  missing?: string;
}

export interface Axis {
  /** The value at the right end of the plot. */
  max: number;
  ticks: Array<{ value: number; label: string }>;
}

/** Units and the value from which each is used. */
type Units = ReadonlyArray<{ unit: string; factor: number; from: number }>;

export const BYTE_UNITS: Units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'].map((unit, i) => ({ unit, factor: 1024 ** i, from: 1024 ** i }));
/** Seconds from 1 s; minutes only from 10 min, so a 78 s pull reads "80 s", not "1.33 min". */
export const MS_UNITS: Units = [
  { unit: 'ms', factor: 1, from: 0 },
  { unit: 's', factor: 1000, from: 1000 },
  { unit: 'min', factor: 60_000, from: 600_000 },
];

/** An axis from 0 to a round number at or above `max`, with 3 to 6 ticks at round values of one unit. */
export function niceAxis(max: number, units: Units): Axis {
  const u = [...units].reverse().find((x) => max >= x.from) ?? units[0]!;
  const v = max > 0 ? max / u.factor : 1;
  const raw = v / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw * (1 - 1e-12))!;
  const n = Math.max(1, Math.ceil(v / step - 1e-9));
  const ticks = Array.from({ length: n + 1 }, (_, i) => {
    const x = Number((i * step).toPrecision(12));
    return { value: x * u.factor, label: i === 0 ? '0' : `${x} ${u.unit}` };
  });
  return { max: ticks[n]!.value, ticks };
}

// the drawing, in SVG user units (the SVG scales to the page's width)
const LABEL_W = 170;
const PLOT_W = 480;
const RIGHT_W = 110;
const W = LABEL_W + PLOT_W + RIGHT_W;
const ROW_H = 26;
const BAR_H = 16;
const TOP = 6;
const NAME_CHARS = 24;

const num = (x: number): string => String(Number(x.toFixed(3)));

/** A name cut to fit the label column (by code point, after escapeText so no escape is cut), HTML-escaped. */
function shortName(name: string): string {
  const cps = Array.from(escapeText(name));
  return escapeHtml(cps.length > NAME_CHARS ? `${cps.slice(0, NAME_CHARS - 1).join('')}…` : cps.join(''));
}

export interface ChartSpec {
  /** Unique on the page: the SVG's title and description ids derive from it. */
  id: string;
  title: string;
  bars: Bar[];
  axis: Axis;
  format: (v: number) => string;
  /** The hover text of one segment. */
  describe: (bar: Bar, s: Segment) => string;
}

function barSvg(spec: ChartSpec, bar: Bar, i: number): string {
  const y = TOP + i * ROW_H;
  const mid = y + ROW_H / 2;
  const scale = PLOT_W / spec.axis.max;
  const out = [`<g data-image="${i}"><text x="${LABEL_W - 8}" y="${mid}" text-anchor="end" dominant-baseline="middle"><title>${escapeHtml(bar.name)}</title>${shortName(bar.name)}</text>`];
  if (bar.total === null) {
    out.push(`<text x="${LABEL_W + 4}" y="${mid}" dominant-baseline="middle" fill="#57606a" font-style="italic">${escapeHtml(bar.missing ?? 'n/a')}</text></g>`);
    return out.join('');
  }
  let cum = 0;
  for (const s of bar.segments) {
    if (s.value <= 0) continue;
    const x0 = cum * scale;
    cum += s.value;
    const x1 = cum * scale;
    out.push(
      `<rect x="${num(LABEL_W + x0)}" y="${y + (ROW_H - BAR_H) / 2}" width="${num(x1 - x0)}" height="${BAR_H}" fill="${s.colour}" data-key="${escapeHtml(s.key)}">` +
        `<title>${escapeHtml(spec.describe(bar, s))}</title></rect>`,
    );
  }
  out.push(`<text x="${num(LABEL_W + cum * scale + 6)}" y="${mid}" dominant-baseline="middle" class="total">${escapeHtml(spec.format(bar.total))}</text></g>`);
  return out.join('');
}

/** One chart as an `<svg>`: bars, the shared axis with its grid, a title and a description. */
export function chartSvg(spec: ChartSpec): string {
  const axisY = TOP + spec.bars.length * ROW_H + 4;
  const h = axisY + 20;
  const grid = spec.axis.ticks.map((t) => {
    const x = num(LABEL_W + (t.value / spec.axis.max) * PLOT_W);
    return `<line x1="${x}" x2="${x}" y1="${TOP}" y2="${axisY}" stroke="#d0d7de"/><text x="${x}" y="${axisY + 14}" text-anchor="middle" fill="#57606a" font-size="11">${escapeHtml(t.label)}</text>`;
  });
  const desc = spec.bars
    .map((b) => `${b.name}: ${b.total === null ? (b.missing ?? 'n/a') : `${spec.format(b.total)} (${b.segments.filter((s) => s.value > 0).map((s) => `${s.key} ${spec.format(s.value)}`).join(', ')})`}`)
    .join('; ');
  return (
    `<svg id="${spec.id}" class="chart" viewBox="0 0 ${W} ${h}" width="100%" style="max-width:${W * 1.25}px;display:block" font-size="12" font-family="system-ui,sans-serif" role="img" aria-labelledby="${spec.id}-title ${spec.id}-desc">` +
    `<title id="${spec.id}-title">${escapeHtml(spec.title)}</title><desc id="${spec.id}-desc">${escapeHtml(desc)}</desc>` +
    `<g class="grid">${grid.join('')}</g><g class="bars">${spec.bars.map((b, i) => barSvg(spec, b, i)).join('')}</g></svg>`
  );
}

/** The legend, in HTML under the SVG: a colour square and the name of each key drawn. */
function legend(entries: Array<{ key: string; colour: string }>): string {
  const item = (e: { key: string; colour: string }): string =>
    `<li style="display:flex;align-items:center;gap:.3rem"><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="${e.colour}"/></svg>${escapeHtml(e.key)}</li>`;
  return `<ul class="legend" style="list-style:none;display:flex;flex-wrap:wrap;gap:.2rem 1rem;padding:0;margin:.3rem 0 0 0;font-size:12px">${entries.map(item).join('')}</ul>`;
}

/** Final bytes per image, stacked by kind; the bar ends at the row's finalBytes (the kinds add up to it). */
export function sizeBars(c: Comparison): Bar[] {
  return c.rows.map((r, i) => ({
    name: r.name,
    total: r.finalBytes,
    segments: c.kinds.map((k) => ({ key: k.kind, value: k.bytes[i] ?? 0, colour: KIND_COLOURS[k.kind] })),
  }));
}

/** The median cold run per image, stacked by phase; the bar ends at the row's coldStartMs. */
export function coldStartBars(c: Comparison): Bar[] {
  return c.rows.map((r) => {
    const p = r.coldStartPhases;
    if (!p || r.coldStartMs === null) return { name: r.name, total: null, segments: [], missing: 'no cold run' };
    const values = { pull: p.pullMs, create: p.createMs, start: p.startMs, ready: p.readyMs };
    return { name: r.name, total: r.coldStartMs, segments: PHASES.map((ph) => ({ key: ph, value: values[ph], colour: PHASE_COLOURS[ph] })) };
  });
}

const share = (v: number, total: number | null): string => (total ? formatPercent(v / total) : 'n/a');

function figure(caption: string, svg: string, keys: Array<{ key: string; colour: string }>): string {
  return `<figure style="margin:1rem 0"><figcaption class="sub">${caption}</figcaption>${svg}${legend(keys)}</figure>`;
}

/** Both charts, each a `<figure>` (caption, SVG, legend), for the comparison page. */
export function comparisonCharts(c: Comparison): string[] {
  const size = sizeBars(c);
  const used = c.kinds.filter((k) => k.bytes.some((b) => b > 0)).map((k) => ({ key: k.kind, colour: KIND_COLOURS[k.kind] }));
  const out = [
    figure(
      '<b>Final size by kind</b>: the bytes visible in the container, one colour per kind; each bar ends at the image\'s Final column.',
      chartSvg({
        id: 'chart-size', title: 'Final size by kind, per image', bars: size, format: formatBytes,
        axis: niceAxis(Math.max(0, ...size.map((b) => b.total ?? 0)), BYTE_UNITS),
        describe: (b, s) => `${b.name}: ${s.key} ${formatBytes(s.value)} (${share(s.value, b.total)} of ${formatBytes(b.total)} final)`,
      }),
      used,
    ),
  ];
  const cold = coldStartBars(c);
  if (!cold.some((b) => b.total !== null)) out.push('<figure style="margin:1rem 0"><figcaption class="sub"><b>Cold start by phase</b>: no image has a cold run (coldstart --cold).</figcaption></figure>');
  else {
    out.push(
      figure(
        '<b>Cold start by phase</b>: pull, create, start and ready of each image\'s median cold run (the run whose total is the median); each bar ends at the image\'s Cold start column.',
        chartSvg({
          id: 'chart-coldstart', title: 'Cold start by phase (median cold run), per image', bars: cold, format: formatMs,
          axis: niceAxis(Math.max(0, ...cold.map((b) => b.total ?? 0)), MS_UNITS),
          describe: (b, s) => `${b.name}: ${s.key} ${formatMs(s.value)} (${share(s.value, b.total)} of the ${formatMs(b.total)} cold start, median run)`,
        }),
        PHASES.map((p) => ({ key: p, colour: PHASE_COLOURS[p] })),
      ),
    );
  }
  return out;
}
