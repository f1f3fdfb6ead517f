import Table from 'cli-table3';
import type { Comparison, ComparisonRow } from '../compare.js';
import { formatBytes } from '../util/format.js';
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
  if (r.vsBaseline.coldStartMs !== null) {
    const d = r.vsBaseline.coldStartMs;
    parts.push(`${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(0)} ms start`);
  }
  return parts.join(', ');
}

const cold = (ms: number | null): string => (ms === null ? 'n/a' : `${ms.toFixed(0)} ms`);

/** The document-style rows: Approach | Image size | Compressed (pull) | Final | Cold start | vs baseline. */
export function comparisonRows(c: Comparison): string[][] {
  return c.rows.map((r, i) => [
    r.name,
    formatBytes(r.imageBytes),
    formatBytes(r.compressedBytes),
    formatBytes(r.finalBytes),
    cold(r.coldStartMs),
    vsBaseline(r, i === c.baseline),
  ]);
}

export const COMPARISON_HEAD = ['Approach', 'Image size', 'Compressed (pull)', 'Final', 'Cold start (median)', 'vs baseline'];

function t(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [], compact: true }, colAligns: ['left', ...head.slice(1).map(() => 'right' as const)] });
}

/** The findings matrix: one row per finding, a cell per image ("✗ 477 MiB" where present, "·" where not). */
export function findingRows(c: Comparison): string[][] {
  return (c.findings ?? []).map((f) => [
    `${f.severity} ${f.id}`,
    ...f.images.map((x) => (x ? `✗${x.savingBytes !== null ? ` ${formatSaving(x)}` : ''}` : '·')),
  ]);
}

export function renderComparisonTable(c: Comparison): string {
  const out: string[] = [`(${UNITS_NOTE}; cold start = median of the measured runs, container create to ready)`];
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
    out.push(`${d.name} vs ${c.rows[c.baseline]!.name}`);
    const o = t(['Owner', 'Baseline', 'Here', 'Δ']);
    for (const g of [...d.growers.slice(0, 5), ...d.shrinkers.slice(0, 5)]) o.push([g.owner, formatBytes(g.baseline), formatBytes(g.bytes), signedBytes(g.delta)]);
    for (const x of d.onlyHere.slice(0, 5)) o.push([`${x.owner} (only here)`, '', formatBytes(x.bytes), signedBytes(x.bytes)]);
    for (const x of d.onlyInBaseline.slice(0, 5)) o.push([`${x.owner} (only in baseline)`, formatBytes(x.bytes), '', signedBytes(-x.bytes)]);
    out.push(o.toString());
  }
  return out.join('\n') + '\n';
}

const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function md(head: string[], rows: string[][], align: string[]): string {
  return [`| ${head.map(esc).join(' | ')} |`, `| ${align.join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

/** GitHub-flavoured Markdown, ready for a PR comment or a job summary. */
export function renderComparisonMarkdown(c: Comparison): string {
  const right = (n: number): string[] => [':---', ...Array.from({ length: n - 1 }, () => '---:')];
  const out: string[] = ['## imgscope comparison', ''];
  out.push(md(COMPARISON_HEAD, comparisonRows(c), right(COMPARISON_HEAD.length)), '');
  out.push(`${UNITS_NOTE}. Image size: the layers' uncompressed bytes; compressed: what a pull transfers (n/a when the source keeps layers uncompressed); final: bytes visible in the container; cold start: median time from container create to ready.`, '');
  out.push('### What differs, by kind', '');
  const kh = ['Kind', ...c.rows.map((r) => r.name)];
  out.push(md(kh, c.kinds.filter((k) => k.bytes.some((b) => b > 0)).map((k) => [k.kind, ...k.bytes.map((b, i) => (i === c.baseline ? formatBytes(b) : `${formatBytes(b)} (${signedBytes(k.delta[i]!)})`))]), right(kh.length)));
  if (c.findings?.length) {
    out.push('', '### Findings', '', '✗ = present (with what fixing it saves), · = absent.', '');
    const fh = ['Finding', ...c.rows.map((r) => r.name)];
    out.push(md(fh, findingRows(c).map((r) => [`\`${r[0]!.split(' ')[1]}\` (${r[0]!.split(' ')[0]})`, ...r.slice(1)]), [':---', ...c.rows.map(() => ':---:')]));
  }
  for (const d of c.diffs) {
    out.push('', `### ${esc(d.name)} vs ${esc(c.rows[c.baseline]!.name)}`, '');
    const rows: string[][] = [];
    for (const g of [...d.growers, ...d.shrinkers]) rows.push([`\`${g.owner}\``, formatBytes(g.baseline), formatBytes(g.bytes), signedBytes(g.delta)]);
    for (const x of d.onlyHere) rows.push([`\`${x.owner}\` (only here)`, '', formatBytes(x.bytes), signedBytes(x.bytes)]);
    for (const x of d.onlyInBaseline) rows.push([`\`${x.owner}\` (only in baseline)`, formatBytes(x.bytes), '', signedBytes(-x.bytes)]);
    if (rows.length) out.push(md(['Owner', 'Baseline', 'Here', 'Δ'], rows, right(4)), '');
    const steps: string[][] = [
      ...d.stepsOnlyHere.map((s) => ['only here', `\`${s.step.slice(0, 100)}\``, formatBytes(s.bytes)]),
      ...d.stepsOnlyInBaseline.map((s) => ['only in baseline', `\`${s.step.slice(0, 100)}\``, formatBytes(s.bytes)]),
    ];
    if (steps.length) out.push(md(['', 'Dockerfile step', 'Size'], steps, [':---', ':---', '---:']));
  }
  return out.join('\n') + '\n';
}
