/**
 * The cold-start document (one view, three syntaxes: view.ts). Every figure comes from the
 * ColdStart report; this file only decides what is shown and formats it.
 */
import type { ColdStart, PullTrace } from '../report/types.js';
import { formatBytes, formatPercent, formatRate } from '../util/format.js';
import { UNITS_NOTE } from './analyze.js';
import { type Block, type View, viewToMarkdown, viewToTable } from './view.js';

/** "a, b and 3 more". */
const someOf = (names: string[], n = 2): string => names.slice(0, n).join(', ') + (names.length > n ? ` and ${names.length - n} more` : '');
const fmt = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const short = (d: string): string => d.replace(/^sha256:/, '').slice(0, 12);

const PHASE_LABELS: Array<[keyof ColdStart['phases'], string]> = [
  ['pull', 'pull (request → last layer unpacked)'],
  ['download', '  download (first → last layer fetched)'],
  ['extract', '  extract (first → last layer unpacked)'],
  ['create', 'create (request → create event)'],
  ['start', 'start (create → start event)'],
  ['ready', 'ready (start → first passing probe)'],
  ['startToReady', 'start → ready (create request → ready)'],
];

function pullBlocks(c: ColdStart, p: PullTrace, runIndex: number): Block[] {
  const blocks: Block[] = [];
  const shared = new Map((c.cold?.sharedLayers ?? []).map((s) => [s.index, s.images]));
  const downloaded = p.layers.filter((l) => l.status === 'downloaded');
  const present = p.layers.filter((l) => l.status === 'present');
  blocks.push({ kind: 'heading', text: `Pull, layer by layer (measured run ${runIndex + 1} of ${c.pulls!.length})` });
  const parts = [
    `${formatBytes(p.downloadedBytes)} downloaded in ${downloaded.length} layer(s)`,
    present.length ? `${present.length} layer(s) (${formatBytes(p.presentBytes)} compressed) already on the daemon` : 'no layer was already on the daemon: a fully cold pull',
  ];
  if (p.estimatedLayers) parts.push(`${p.estimatedLayers} layer(s) too small to report progress counted at their manifest size`);
  if (p.relay) parts.push(`through a ${formatRate(p.relay.bytesPerSec)} relay that carried ${formatBytes(p.relay.wireBytes)} (measured ${formatRate(p.downloadMs > 0 ? (p.downloadedBytes / p.downloadMs) * 1000 : 0)} while downloading)`);
  blocks.push({ kind: 'text', text: parts.join('; ') + '.' });
  const span = (a: number | null, b: number | null): string => (a === null || b === null ? '' : `${fmt(a)} → ${fmt(b)}`);
  blocks.push({
    kind: 'table',
    head: ['#', 'Layer', 'Compressed', 'Downloaded', 'Download (ms)', 'Extract (ms)', 'Status'],
    align: ['r', 'l', 'r', 'r', 'r', 'r', 'l'],
    rows: p.layers.map((l) => [
      String(l.index + 1),
      short(l.digest),
      formatBytes(l.compressedBytes),
      l.status === 'present' ? '—' : l.downloadedBytes === null ? 'n/a' : formatBytes(l.downloadedBytes),
      span(l.downloadStartMs, l.downloadEndMs),
      span(l.extractStartMs, l.extractEndMs),
      l.status === 'present'
        ? shared.has(l.index)
          ? `already present, shared with ${someOf(shared.get(l.index)!)}`
          : 'already present (held outside any image: build cache or a container)'
        : 'downloaded',
    ]),
  });
  return blocks;
}

export function coldStartView(c: ColdStart, top = 15): View {
  const blocks: Block[] = [];
  const mode = c.cold ? 'cold: the image removed under every reference and pulled before each run' : 'warm: the image already on the daemon';
  blocks.push({ kind: 'text', text: `${c.runs.length} measured run(s) after ${c.warmupRuns} warm-up; ${mode}; readiness: ${c.readiness.kind} (${c.readiness.note})` });
  if (c.gpus) blocks.push({ kind: 'text', text: `GPU request: ${JSON.stringify(c.gpus)}` });
  const rows: string[][] = [];
  for (const [k, label] of PHASE_LABELS) {
    const s = c.phases[k];
    if (s) rows.push([label, fmt(s.median), fmt(s.p90), fmt(s.min), fmt(s.max)]);
  }
  const t = c.phases.total;
  rows.push([c.cold ? 'cold start (pull + start → ready)' : 'warm start (start → ready)', fmt(t.median), fmt(t.p90), fmt(t.min), fmt(t.max)]);
  blocks.push({ kind: 'table', head: ['Phase (ms)', 'median', 'p90', 'min', 'max'], rows });

  if (c.cold) {
    const r = c.cold;
    const lines: string[] = [];
    if (r.imageIdBefore) {
      lines.push(`Removed before each pull and restored after it: ${r.removedReferences.join(', ') || '(no references)'}; ${r.deletedImages} image(s) deleted (the image and its untagged parents).`);
    } else lines.push('The daemon did not have the image before the first pull.');
    if (r.sharedLayers.length) {
      lines.push(`${r.sharedLayers.length} layer(s) stayed on the daemon because other images use them: ${r.sharedLayers.map((s) => `layer ${s.index + 1} (${someOf(s.images)})`).join('; ')}.`);
    }
    for (const n of r.notRestored) lines.push(`NOT restored: ${n.reference}: ${n.why}`);
    blocks.push({ kind: 'heading', text: 'What was removed, shared and restored' });
    for (const l of lines) blocks.push({ kind: 'text', text: l });
  }
  if (c.pulls?.length) {
    // the run whose pull took the median time stands for the others
    const order = c.pulls.map((p, i) => [p.totalMs, i] as const).sort((a, b) => a[0] - b[0]);
    const idx = order[Math.floor((order.length - 1) / 2)]![1];
    blocks.push(...pullBlocks(c, c.pulls[idx]!, idx));
  }
  const ws = c.workingSet;
  if (ws) {
    blocks.push({ kind: 'heading', text: 'Working set: files opened before ready' });
    blocks.push({
      kind: 'text',
      text: `Opened ${ws.files} file(s), ${formatBytes(ws.bytes)} of the image's ${formatBytes(ws.finalBytes)} final size (${formatPercent(ws.share)}): whole-file sizes of what the container's processes opened from create to ready, each file once.${ws.unverifiedOpens ? ` ${ws.unverifiedOpens} open(s) by processes that exited before they could be checked were left out.` : ''}`,
    });
    blocks.push({ kind: 'table', head: ['Layer', 'Files', 'Bytes'], rows: ws.byLayer.map((l) => [String(l.layer + 1), String(l.files), formatBytes(l.bytes)]) });
    blocks.push({ kind: 'table', head: ['Kind', 'Files', 'Bytes'], rows: ws.byKind.map((k) => [k.kind, String(k.files), formatBytes(k.bytes)]) });
    blocks.push({ kind: 'table', head: ['Owner', 'Files', 'Bytes'], rows: ws.byOwner.slice(0, top).map((o) => [o.owner, String(o.files), formatBytes(o.bytes)]) });
    blocks.push({ kind: 'table', head: ['Largest files opened', 'Bytes', 'Layer', 'Owner', 'Kind'], align: ['l', 'r', 'r', 'l', 'l'], rows: ws.largest.slice(0, top).map((f) => [`/${f.path}`, formatBytes(f.bytes), String(f.layer + 1), f.owner, f.kind]) });
  }
  if (c.imports) {
    blocks.push({ kind: 'heading', text: `Python imports: ${fmt(c.imports.totalMs)} ms in all (one extra run with PYTHONPROFILEIMPORTTIME)` });
    blocks.push({ kind: 'text', text: 'Per top-level package: the summed self time of its modules, wherever they were imported from, and its share of the total.' });
    blocks.push({ kind: 'table', head: ['Package', 'self ms', 'share', 'modules'], rows: c.imports.packages.slice(0, top).map((r) => [r.package, fmt(r.selfMs), formatPercent(r.share), String(r.modules)]) });
  }
  if (c.notes?.length) {
    blocks.push({ kind: 'heading', text: 'Notes' });
    for (const n of c.notes) blocks.push({ kind: 'text', text: n });
  }
  if (ws || c.pulls?.length) blocks.push({ kind: 'text', text: UNITS_NOTE });
  return { title: `imgscope coldstart: ${c.reference}`, blocks };
}

export function renderColdStartTable(c: ColdStart, top = 15): string {
  return viewToTable(coldStartView(c, top));
}

export function renderColdStartMarkdown(c: ColdStart, top = 15): string {
  return viewToMarkdown(coldStartView(c, top));
}
