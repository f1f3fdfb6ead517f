import Table from 'cli-table3';
import type { Comparison, ComparisonRow } from '../report/types.js';
import { escapeMarkdown, escapeText, mdCode } from '../util/escape.js';
import { formatBytes, formatMs, formatPercent } from '../util/format.js';
import { formatSaving, UNITS_NOTE } from './analyze.js';

function signedBytes(n: number): string {
  return n === 0 ? '±0 B' : `${n > 0 ? '+' : '−'}${formatBytes(Math.abs(n))}`;
}

function vsBaseline(r: ComparisonRow, isBase: boolean): string {
  if (isBase) return 'baseline';
  const parts: string[] = [];
  if (r.vsBaseline.imageRatio !== null) {
    const pct = (r.vsBaseline.imageRatio - 1) * 100;
    parts.push(`${pct >= 0 ? '+' : '−'}${Math.abs(pct).toFixed(1)}% size`);
  }
  const d = r.vsBaseline.coldStartMs ?? r.vsBaseline.warmStartMs;
  if (d !== null) parts.push(`${d >= 0 ? '+' : '−'}${formatMs(Math.abs(d))} ${r.vsBaseline.coldStartMs !== null ? 'cold start' : 'warm start'}`);
  return parts.join(', ');
}

/** The pull time, flagged when the daemon kept some of the image's layers (a partly warm pull). */
const pullCell = (r: ComparisonRow): string =>
  r.presentBytes && r.downloadedBytes !== null ? `${formatMs(r.pullMs)} (partly warm: ${formatBytes(r.presentBytes)} of ${formatBytes(r.presentBytes + r.downloadedBytes)} already there)` : formatMs(r.pullMs);

const readAtStart = (r: ComparisonRow): string => (r.workingSetBytes === null ? 'n/a' : `${formatBytes(r.workingSetBytes)} (${formatPercent(r.workingSetShare)})`);

/** The document-style rows, one per image (COMPARISON_HEAD names the columns, COMPARISON_NOTE says what each measured). */
export function comparisonRows(c: Comparison): string[][] {
  return c.rows.map((r, i) => [
    r.name,
    formatBytes(r.imageBytes),
    formatBytes(r.compressedBytes),
    formatBytes(r.finalBytes),
    pullCell(r),
    formatMs(r.startToReadyMs),
    formatMs(r.coldStartMs),
    formatMs(r.warmStartMs),
    readAtStart(r),
    vsBaseline(r, i === c.baseline),
  ]);
}

export const COMPARISON_HEAD = ['Approach', 'Image size', 'Compressed', 'Final', 'Pull', 'Start → ready', 'Cold start', 'Warm start', 'Read at start', 'vs baseline'];

export const COMPARISON_NOTE = [
  `${UNITS_NOTE}; times are medians over the measured runs.`,
  'Image size: the layers\' uncompressed bytes. Compressed: what a pull transfers. Final: bytes visible in the container.',
  'Pull: pull request → last layer unpacked, on a daemon the image was removed from (coldstart --cold); "partly warm" when the daemon kept layers that other images share (each coldstart report lists them).',
  'Start → ready: container create request → first passing readiness probe, right after that pull.',
  'Cold start: pull + start → ready, what a node that never saw the image pays.',
  'Warm start: create → ready with the image already present.',
  'Read at start: bytes of the image\'s files the container opened before ready (coldstart --trace-files), and their share of the final size.',
  'n/a: not measured.',
].join(' ');

/** A terminal table whose head and cells are escaped (util/escape.ts): image names and owners come from outside. */
function t(head: string[]): { push(row: string[]): void; toString(): string } {
  const table = new Table({ head: head.map(escapeText), style: { head: [], border: [], compact: true }, colAligns: ['left', ...head.slice(1).map(() => 'right' as const)] });
  return { push: (row) => void table.push(row.map(escapeText)), toString: () => table.toString() };
}

/** The findings matrix: one row per finding, a cell per image ("✗ 477 MiB" where present, "·" where not). */
export function findingRows(c: Comparison): string[][] {
  return (c.findings ?? []).map((f) => [
    `${f.severity} ${f.id}`,
    ...f.images.map((x) => (x ? `✗${x.savingBytes !== null ? ` ${formatSaving(x)}` : ''}` : '·')),
  ]);
}

export function renderComparisonTable(c: Comparison): string {
  const out: string[] = [COMPARISON_NOTE];
  const main = t(COMPARISON_HEAD);
  for (const r of comparisonRows(c)) main.push(r);
  out.push(main.toString());
  out.push('By kind');
  const k = t(['Kind', ...c.rows.map((r) => r.name)]);
  for (const row of c.kinds) if (row.bytes.some((b) => b > 0)) k.push([row.kind, ...row.bytes.map((b, i) => (i === c.baseline ? formatBytes(b) : `${formatBytes(b)} (${signedBytes(row.delta[i]!)})`))]);
  out.push(k.toString());
  if (c.findings?.length) {
    out.push('Findings (✗ = present, with what fixing it saves; · = absent)');
    const f = t(['Finding', ...c.rows.map((r) => r.name)]);
    for (const r of findingRows(c)) f.push(r);
    out.push(f.toString());
  }
  for (const d of c.diffs) {
    out.push(escapeText(`${d.name} vs ${c.rows[c.baseline]!.name}`));
    const o = t(['Owner', 'Baseline', 'Here', 'Δ']);
    for (const g of [...d.growers.slice(0, 5), ...d.shrinkers.slice(0, 5)]) o.push([g.owner, formatBytes(g.baseline), formatBytes(g.bytes), signedBytes(g.delta)]);
    for (const x of d.onlyHere.slice(0, 5)) o.push([`${x.owner} (only here)`, '', formatBytes(x.bytes), signedBytes(x.bytes)]);
    for (const x of d.onlyInBaseline.slice(0, 5)) o.push([`${x.owner} (only in baseline)`, formatBytes(x.bytes), '', signedBytes(-x.bytes)]);
    out.push(o.toString());
  }
  return out.join('\n') + '\n';
}

const esc = escapeMarkdown;

/** A Markdown cell: plain text (escaped here) or { md } already written as Markdown from escaped parts. */
type MdCell = string | { md: string };
const cell = (c: MdCell): string => (typeof c === 'string' ? esc(c) : c.md);

function md(head: MdCell[], rows: MdCell[][], align: string[]): string {
  return [`| ${head.map(cell).join(' | ')} |`, `| ${align.join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** GitHub-flavoured Markdown, ready for a PR comment or a job summary. */
export function renderComparisonMarkdown(c: Comparison): string {
  const right = (n: number): string[] => [':---', ...Array.from({ length: n - 1 }, () => '---:')];
  const out: string[] = ['## imgscope comparison', ''];
  out.push(md(COMPARISON_HEAD, comparisonRows(c), right(COMPARISON_HEAD.length)), '');
  out.push(esc(COMPARISON_NOTE), '');
  out.push('### What differs, by kind', '');
  const kh = ['Kind', ...c.rows.map((r) => r.name)];
  out.push(md(kh, c.kinds.filter((k) => k.bytes.some((b) => b > 0)).map((k) => [k.kind, ...k.bytes.map((b, i) => (i === c.baseline ? formatBytes(b) : `${formatBytes(b)} (${signedBytes(k.delta[i]!)})`))]), right(kh.length)));
  if (c.findings?.length) {
    out.push('', '### Findings', '', '✗ = present (with what fixing it saves), · = absent.', '');
    const fh = ['Finding', ...c.rows.map((r) => r.name)];
    // finding ids are [a-z0-9-]+ (the report schema checks loaded ones): a code span shows them as they are
    out.push(md(fh, findingRows(c).map((r) => [{ md: `\`${r[0]!.split(' ')[1]}\` (${esc(r[0]!.split(' ')[0]!)})` }, ...r.slice(1)]), [':---', ...c.rows.map(() => ':---:')]));
  }
  for (const d of c.diffs) {
    out.push('', `### ${esc(d.name)} vs ${esc(c.rows[c.baseline]!.name)}`, '');
    const rows: MdCell[][] = [];
    for (const g of [...d.growers, ...d.shrinkers]) rows.push([{ md: mdCode(g.owner) }, formatBytes(g.baseline), formatBytes(g.bytes), signedBytes(g.delta)]);
    for (const x of d.onlyHere) rows.push([{ md: `${mdCode(x.owner)} (only here)` }, '', formatBytes(x.bytes), signedBytes(x.bytes)]);
    for (const x of d.onlyInBaseline) rows.push([{ md: `${mdCode(x.owner)} (only in baseline)` }, formatBytes(x.bytes), '', signedBytes(-x.bytes)]);
    if (rows.length) out.push(md(['Owner', 'Baseline', 'Here', 'Δ'], rows, right(4)), '');
    const steps: MdCell[][] = [
      ...d.stepsOnlyHere.map((s) => ['only here', { md: mdCode(s.step.slice(0, 100)) }, formatBytes(s.bytes)]),
      ...d.stepsOnlyInBaseline.map((s) => ['only in baseline', { md: mdCode(s.step.slice(0, 100)) }, formatBytes(s.bytes)]),
    ];
    if (steps.length) out.push(md(['', 'Dockerfile step', 'Size'], steps, [':---', ':---', '---:']));
  }
  return out.join('\n') + '\n';
}
