/**
 * The analysis document (one view, three syntaxes: view.ts): what each format shows of an Analysis is
 * decided here once. Every figure comes from the report; this file only chooses and formats.
 */
import type { Analysis } from '../report/types.js';
import { formatBytes, formatPercent, shortenStep } from '../util/format.js';
import { evidenceLines, findingCell, locationText } from './evidence.js';
import { type Block, type Inline, type Span, type View, viewToMarkdown, viewToTable } from './view.js';

export const UNITS_NOTE = 'sizes in binary units (1 KiB = 1024 B); apparent bytes, like du -sb';

function kindSplit(kinds: Record<string, number | undefined>, n = 3): string {
  return Object.entries(kinds)
    .filter(([, v]) => (v ?? 0) > 0)
    .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
    .slice(0, n)
    .map(([k, v]) => `${k} ${formatBytes(v)}`)
    .join(', ');
}

/** "477 MiB, ~5.6 s/pull" — the byte saving and the pull seconds it is worth. */
export function formatSaving(f: { savingBytes: number | null; savingSeconds?: number | null }): string {
  if (f.savingBytes === null) return '';
  const s = f.savingSeconds;
  return s === undefined || s === null ? formatBytes(f.savingBytes) : `${formatBytes(f.savingBytes)}, ~${s < 10 ? s.toFixed(1) : s.toFixed(0)} s/pull`;
}

function pullModelNote(a: Analysis): string {
  const m = a.evidence.pullModel;
  if (!m) return '';
  const mbps = (v: number): string => `${Number((v / 1e6).toPrecision(3))} MB/s`;
  return `s/pull: estimated seconds off every pull at ${mbps(m.networkBytesPerSec)} network and ${mbps(m.unpackBytesPerSec)} unpacking, ${(m.compressionRatio * 100).toFixed(0)}% compressed ratio (${m.ratioSource === 'image' ? "the image's" : 'assumed'}); --bandwidth and --unpack-rate change them`;
}

/** CUDA facts (runtime versions, frameworks, fatbin architectures), one line each; none for CPU images. */
function cudaLines(a: Analysis): string[] {
  const c = a.evidence.cuda;
  if (!c) return [];
  const out: string[] = [];
  if (c.runtimes.length) out.push(`CUDA runtime: ${[...new Set(c.runtimes.map((r) => `${r.version} (${r.owner})`))].join(', ')}`);
  for (const f of c.frameworks) out.push(`${f.name}${f.version ? ` ${f.version}` : ''}: ${f.cuda ? `built for CUDA ${f.cuda}` : 'CPU build'} (${f.source})`);
  if (c.fatbins.length) {
    const archs = new Map<string, number>();
    for (const f of c.fatbins) for (const [k, v] of Object.entries(f.sass)) archs.set(k, (archs.get(k) ?? 0) + v);
    const ptx = new Set(c.fatbins.flatMap((f) => Object.keys(f.ptx)));
    const sorted = [...archs.entries()].sort((x, y) => Number(x[0].slice(3)) - Number(y[0].slice(3)));
    out.push(`GPU code in ${c.fatbins.length} CUDA libraries: SASS ${sorted.map(([k, v]) => `${k} ${formatBytes(v)}`).join(', ')}${ptx.size ? `; PTX ${[...ptx].sort().join(' ')}` : ''}${c.targetArch ? `; checked against ${c.targetArch}` : ' (check a deployment GPU with --gpu-arch)'}`);
  }
  const sl = a.evidence.sharedLibraries;
  if (sl && sl.checked > 0) out.push(`Shared-library dependencies of ${sl.checked} Python extension/library files checked: ${sl.missing.length} unresolved${sl.hostProvided.length ? `; expected from the host: ${sl.hostProvided.join(', ')}` : ''}${sl.unreadable.length ? `; ${sl.unreadable.length} unreadable` : ''}`);
  return out;
}

/** A Dockerfile step in the layers table is cut to this many characters (the JSON has it whole). */
const STEP_WIDTH = 80;

function subtitle(a: Analysis): Inline {
  const tags: Span[] = a.image.tags.length ? ['; tags: ', ...a.image.tags.flatMap((t, i): Span[] => [...(i ? [', '] : []), { code: t }])] : [];
  return [`${a.image.platform}, ${a.totals.layers} layers, ${a.totals.files} files`, ...tags, `; ${UNITS_NOTE}.`];
}

function sizeBlocks(a: Analysis, topN: number): Block[] {
  const t = a.totals;
  const maxKind = Math.max(1, ...a.kinds.map((k) => k.bytes));
  const kinds = a.kinds.filter((k) => k.bytes > 0 || k.files > 0);
  return [
    {
      kind: 'table', cards: true, align: ['r', 'r', 'r', 'r', 'r'],
      head: ['Image size', 'Compressed (pull)', 'Final (visible)', 'Waste (reclaimable)', 'Efficiency (dive)'],
      rows: [[formatBytes(t.imageBytes), t.compressedBytes === null ? 'n/a (uncompressed source)' : formatBytes(t.compressedBytes), formatBytes(t.finalBytes), formatBytes(t.wasteBytes), formatPercent(t.efficiency)]],
    },
    { kind: 'heading', text: 'What it is (kinds, final filesystem)' },
    {
      kind: 'table', head: ['Kind', 'Size', '% of final', 'Files'], bars: kinds.map((k) => k.bytes / maxKind),
      rows: kinds.map((k) => [k.kind, formatBytes(k.bytes), formatPercent(t.finalBytes ? k.bytes / t.finalBytes : 0), String(k.files)]),
    },
    { kind: 'heading', text: `Who installed it (top ${topN} owners)` },
    {
      kind: 'table', head: ['Owner', 'Version', 'Size', 'Files', 'Kinds'], align: ['l', 'l', 'r', 'r', 'l'],
      rows: a.owners.slice(0, topN).map((o) => [[{ code: o.owner }], o.version ?? '', formatBytes(o.bytes), String(o.files), kindSplit(o.kinds)]),
    },
    { kind: 'heading', text: 'Layers' },
    layersTable(a),
    ...dockerfileNote(a),
  ];
}

function layersTable(a: Analysis): Block {
  const df = !!a.dockerfile;
  return {
    kind: 'table', head: ['#', ...(df ? ['Dockerfile'] : []), 'Step', 'Size', 'Compressed', 'Visible', 'Waste', 'Mostly'], align: ['r', ...(df ? ['l' as const] : []), 'l', 'r', 'r', 'r', 'r', 'l'],
    rows: a.layers.map((l) => [
      String(l.index + 1),
      ...(df ? [l.dockerfile ? [{ code: locationText(l.dockerfile) }, ...(l.dockerfile.instruction === 'FROM' ? [' (base image)'] : [])] : 'no match'] : []),
      [{ code: shortenStep(l.createdBy || l.comment, STEP_WIDTH) }],
      formatBytes(l.bytes),
      formatBytes(l.compressedBytes),
      formatBytes(l.visibleBytes),
      formatBytes(l.wasteBytes),
      l.topKinds[0] ? `${l.topKinds[0].kind}${l.topOwners[0] ? `, ${l.topOwners[0].owner}` : ''}` : '',
    ]),
  };
}

/** With --dockerfile: how the history matched it, and the steps that match no line (docs/dockerfile.md). */
function dockerfileNote(a: Analysis): Block[] {
  const d = a.dockerfile;
  if (!d) return [];
  const stage = d.stage === undefined ? 'no stage matched' : `stage ${d.stage}`;
  const unmatched = d.unmatched.length
    ? `; ${d.unmatched.length > 1 ? `${d.unmatched.length} steps match no instruction with confidence and show` : '1 step matches no instruction with confidence and shows'} no line (history ${d.unmatched.map((u) => u.step + 1).join(', ')})`
    : '';
  return [{ kind: 'note', text: `${d.file} (${stage}): ${d.matched} history steps matched to its lines, ${d.baseImage ?? 0} came with the base image (its FROM line)${unmatched}.` }];
}

function findingBlocks(a: Analysis): Block[] {
  if (!a.findings.length) return [];
  const blocks: Block[] = [
    { kind: 'heading', text: 'Findings (ranked by what each fix saves)' },
    {
      kind: 'table', head: ['Severity', 'Finding', 'Saves', 'Evidence', 'Fix'], align: ['l', 'l', 'r', 'l', 'l'], wrap: 44,
      rows: a.findings.map((f) => [[{ badge: f.severity }], findingCell(f), formatSaving(f), { list: evidenceLines(f) }, f.fix]),
    },
  ];
  if (a.findings.some((x) => x.savingSeconds != null)) blocks.push({ kind: 'note', text: `${pullModelNote(a)}.` });
  return blocks;
}

function otherBlocks(a: Analysis, topN: number): Block[] {
  const blocks: Block[] = [];
  const cl = cudaLines(a);
  if (cl.length) blocks.push({ kind: 'heading', text: 'CUDA and native libraries' }, { kind: 'list', items: cl });
  if (a.waste.topPaths.length) {
    blocks.push({ kind: 'heading', text: 'Largest hidden (wasted) paths' });
    blocks.push({
      kind: 'table', head: ['Path', 'Size', 'Added in', 'Hidden in', 'How'], align: ['l', 'r', 'r', 'r', 'l'],
      rows: a.waste.topPaths.slice(0, topN).map((p) => [[{ code: `/${p.path}` }], formatBytes(p.bytes), `layer ${p.addedInLayer + 1}`, `layer ${p.hiddenInLayer + 1}`, p.how]),
    });
  }
  if (a.warnings.length) blocks.push({ kind: 'heading', text: 'Warnings' }, { kind: 'list', items: a.warnings });
  return blocks;
}

/** The analysis document: headline sizes, kinds, owners, layers, findings, CUDA, hidden paths, warnings. */
export function analysisView(a: Analysis, topN = 15): View {
  return {
    title: ['imgscope: ', { code: a.image.reference }],
    blocks: [{ kind: 'text', text: subtitle(a) }, ...sizeBlocks(a, topN), ...findingBlocks(a), ...otherBlocks(a, topN)],
  };
}

/** Terminal summary. */
export function renderAnalysisTable(a: Analysis, topN = 15): string {
  return viewToTable(analysisView(a, topN));
}

/** GitHub-flavoured Markdown report (for a PR comment or a job summary). */
export function renderAnalysisMarkdown(a: Analysis, topN = 15): string {
  return viewToMarkdown(analysisView(a, topN));
}
