/**
 * The comparison document (one view, three syntaxes: view.ts): the images side by side, then what
 * differs by kind, which findings each has, and per image what differs from the baseline by owner and
 * by Dockerfile step. Every figure comes from the Comparison; this file only chooses and formats.
 */
import type { Comparison, ComparisonRow, ImageDiff } from '../report/types.js';
import { formatBytes, formatMs, formatPercent } from '../util/format.js';
import { formatSaving, UNITS_NOTE } from './analyze.js';
import { type Block, type Cell, type Span, type View, viewToMarkdown, viewToTable } from './view.js';

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

/** A Dockerfile step in the diff is cut to this many characters (the JSON has it whole). */
const STEP_WIDTH = 100;

function kindBlocks(c: Comparison): Block[] {
  return [
    { kind: 'heading', text: 'By kind' },
    {
      kind: 'table', head: ['Kind', ...c.rows.map((r) => r.name)],
      rows: c.kinds.filter((k) => k.bytes.some((b) => b > 0)).map((k) => [k.kind, ...k.bytes.map((b, i) => (i === c.baseline ? formatBytes(b) : `${formatBytes(b)} (${signedBytes(k.delta[i]!)})`))]),
    },
  ];
}

function findingBlocks(c: Comparison): Block[] {
  if (!c.findings?.length) return [];
  const cells = (x: NonNullable<Comparison['findings']>[number]): Cell[] => [
    [{ code: x.id }, ' (', { badge: x.severity }, ')'],
    // "✗ 477 MiB, ~5.6 s/pull" where the image has it, "·" where not
    ...x.images.map((p): Cell => [{ tone: p ? 'present' : 'absent', text: p ? `✗${p.savingBytes !== null ? ` ${formatSaving(p)}` : ''}` : '·' }]),
  ];
  return [
    { kind: 'heading', text: 'Findings' },
    { kind: 'text', text: '✗ = present (with what fixing it saves), · = absent.' },
    { kind: 'table', head: ['Finding', ...c.rows.map((r) => r.name)], align: ['l', ...c.rows.map(() => 'c' as const)], rows: c.findings.map(cells) },
  ];
}

/** One image against the baseline: owners that grew, shrank, or exist on one side; steps on one side. */
function diffBlocks(c: Comparison, d: ImageDiff): Block[] {
  const blocks: Block[] = [{ kind: 'heading', text: `${d.name} vs ${c.rows[c.baseline]!.name}` }];
  const owner = (o: string, note = ''): Span[] => [{ code: o }, ...(note ? [note] : [])];
  const rows: Cell[][] = [
    ...[...d.growers, ...d.shrinkers].map((g) => [owner(g.owner), formatBytes(g.baseline), formatBytes(g.bytes), signedBytes(g.delta)]),
    ...d.onlyHere.map((x) => [owner(x.owner, ' (only here)'), '', formatBytes(x.bytes), signedBytes(x.bytes)]),
    ...d.onlyInBaseline.map((x) => [owner(x.owner, ' (only in baseline)'), formatBytes(x.bytes), '', signedBytes(-x.bytes)]),
  ];
  if (rows.length) blocks.push({ kind: 'table', head: ['Owner', 'Baseline', 'Here', 'Δ'], rows });
  const steps: Cell[][] = [
    ...d.stepsOnlyHere.map((s) => ['only here', [{ code: s.step.slice(0, STEP_WIDTH) }], formatBytes(s.bytes)]),
    ...d.stepsOnlyInBaseline.map((s) => ['only in baseline', [{ code: s.step.slice(0, STEP_WIDTH) }], formatBytes(s.bytes)]),
  ];
  if (steps.length) blocks.push({ kind: 'table', head: ['', 'Dockerfile step', 'Size'], align: ['l', 'l', 'r'], rows: steps });
  return blocks;
}

export function comparisonView(c: Comparison): View {
  return {
    title: 'imgscope comparison',
    blocks: [
      { kind: 'text', text: COMPARISON_NOTE },
      { kind: 'table', head: COMPARISON_HEAD, rows: comparisonRows(c) },
      ...kindBlocks(c),
      ...findingBlocks(c),
      ...c.diffs.flatMap((d) => diffBlocks(c, d)),
    ],
  };
}

export function renderComparisonTable(c: Comparison): string {
  return viewToTable(comparisonView(c));
}

/** GitHub-flavoured Markdown, ready for a PR comment or a job summary. */
export function renderComparisonMarkdown(c: Comparison): string {
  return viewToMarkdown(comparisonView(c));
}
