import Table from 'cli-table3';
import type { Analysis } from '../report/types.js';
import { escapeMarkdown, escapeText, mdCode } from '../util/escape.js';
import { formatBytes, formatPercent, shortenStep } from '../util/format.js';

export const UNITS_NOTE = 'sizes in binary units (1 KiB = 1024 B); apparent bytes, like du -sb';

/**
 * A terminal table whose cells are escaped (util/escape.ts) as they are pushed; a cell given as
 * { lines } is already escaped and keeps its own line breaks (wrapped text).
 */
function table(head: string[], align?: Array<'left' | 'right'>): { push(row: Array<string | { lines: string }>): void; toString(): string } {
  const t = new Table({ head, style: { head: [], border: [], compact: true }, colAligns: align ?? [] });
  return {
    push: (row) => void t.push(row.map((c) => (typeof c === 'string' ? escapeText(c) : c.lines))),
    toString: () => t.toString(),
  };
}

function wrap(s: string, width: number): string {
  const words = s.split(' ');
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > width) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines.join('\n');
}

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
export function cudaLines(a: Analysis): string[] {
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

function title(a: Analysis): string {
  const tags = a.image.tags.length ? ` (${a.image.tags.join(', ')})` : '';
  return `${a.image.reference}${tags} — ${a.image.platform}, ${a.totals.layers} layers, ${a.totals.files} files`;
}

/** Terminal summary: totals, kinds, top owners with their kind split, layers, top waste. */
export function renderAnalysisTable(a: Analysis, topN = 15): string {
  const out: string[] = [];
  out.push(escapeText(title(a)));
  out.push(`(${UNITS_NOTE})`);
  const t = table(['Image size', 'Compressed (pull)', 'Final (visible)', 'Waste (reclaimable)', 'Efficiency (dive)'], ['right', 'right', 'right', 'right', 'right']);
  t.push([
    formatBytes(a.totals.imageBytes),
    a.totals.compressedBytes === null ? 'n/a (uncompressed source)' : formatBytes(a.totals.compressedBytes),
    formatBytes(a.totals.finalBytes),
    formatBytes(a.totals.wasteBytes),
    formatPercent(a.totals.efficiency),
  ]);
  out.push(t.toString());

  out.push('What it is (kinds, final filesystem)');
  const k = table(['Kind', 'Size', '% of final', 'Files'], ['left', 'right', 'right', 'right']);
  for (const r of a.kinds) {
    if (r.bytes === 0 && r.files === 0) continue;
    k.push([r.kind, formatBytes(r.bytes), formatPercent(a.totals.finalBytes ? r.bytes / a.totals.finalBytes : 0), String(r.files)]);
  }
  out.push(k.toString());

  out.push(`Who installed it (top ${topN} owners)`);
  const o = table(['Owner', 'Version', 'Size', 'Files', 'Kinds'], ['left', 'left', 'right', 'right', 'left']);
  for (const r of a.owners.slice(0, topN)) {
    o.push([r.owner, r.version ?? '', formatBytes(r.bytes), String(r.files), kindSplit(r.kinds)]);
  }
  out.push(o.toString());

  out.push('Layers');
  const l = table(['#', 'Step', 'Size', 'Compressed', 'Visible', 'Waste', 'Mostly'], ['right', 'left', 'right', 'right', 'right', 'right', 'left']);
  for (const r of a.layers) {
    l.push([
      String(r.index + 1),
      shortenStep(r.createdBy || r.comment, 56),
      formatBytes(r.bytes),
      formatBytes(r.compressedBytes),
      formatBytes(r.visibleBytes),
      formatBytes(r.wasteBytes),
      r.topKinds[0] ? `${r.topKinds[0].kind}${r.topOwners[0] ? `, ${r.topOwners[0].owner}` : ''}` : '',
    ]);
  }
  out.push(l.toString());

  if (a.findings.length) {
    out.push('Findings (ranked by what each fix saves)');
    const f = table(['Severity', 'Finding', 'Saves', 'Fix'], ['left', 'left', 'right', 'left']);
    for (const x of a.findings) f.push([x.severity, { lines: wrap(escapeText(`[${x.id}] ${x.title}`), 60) }, { lines: formatSaving(x).replace(', ', '\n') }, { lines: wrap(escapeText(x.fix), 60) }]);
    out.push(f.toString());
    if (a.findings.some((x) => x.savingSeconds != null)) out.push(`(${pullModelNote(a)})`);
  }
  const cl = cudaLines(a);
  if (cl.length) out.push('CUDA and native libraries', ...cl.map((l) => `  ${escapeText(l)}`));
  if (a.waste.topPaths.length) {
    out.push('Largest hidden (wasted) paths');
    const w = table(['Path', 'Size', 'Added in', 'Hidden in', 'How'], ['left', 'right', 'right', 'right', 'left']);
    for (const p of a.waste.topPaths.slice(0, 10)) {
      w.push([`/${p.path}`, formatBytes(p.bytes), `layer ${p.addedInLayer + 1}`, `layer ${p.hiddenInLayer + 1}`, p.how]);
    }
    out.push(w.toString());
  }
  for (const w of a.warnings) out.push(`warning: ${escapeText(w)}`);
  return out.join('\n') + '\n';
}

/** A Markdown cell: plain text (escaped here) or { md } already written as Markdown from escaped parts. */
type MdCell = string | { md: string };
const mdCell = (c: MdCell): string => (typeof c === 'string' ? escapeMarkdown(c) : c.md);

function mdTable(head: string[], rows: MdCell[][], align: Array<'l' | 'r'>): string {
  const lines = [
    `| ${head.map(mdCell).join(' | ')} |`,
    `| ${align.map((x) => (x === 'r' ? '---:' : ':---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** GitHub-flavoured Markdown report (for a PR comment or a job summary). */
export function renderAnalysisMarkdown(a: Analysis, topN = 15): string {
  const out: string[] = [];
  out.push(`## imgscope: ${mdCode(a.image.reference)}`);
  out.push('');
  out.push(escapeMarkdown(`${a.image.platform}, ${a.totals.layers} layers, ${a.totals.files} files; ${UNITS_NOTE}.`));
  out.push('');
  out.push(
    mdTable(
      ['Image size', 'Compressed (pull)', 'Final (visible)', 'Waste (reclaimable)', 'Efficiency (dive)'],
      [[formatBytes(a.totals.imageBytes), formatBytes(a.totals.compressedBytes), formatBytes(a.totals.finalBytes), formatBytes(a.totals.wasteBytes), formatPercent(a.totals.efficiency)]],
      ['r', 'r', 'r', 'r', 'r'],
    ),
  );
  out.push('', '### Kinds', '');
  out.push(
    mdTable(
      ['Kind', 'Size', '% of final', 'Files'],
      a.kinds.filter((r) => r.files > 0).map((r) => [r.kind, formatBytes(r.bytes), formatPercent(a.totals.finalBytes ? r.bytes / a.totals.finalBytes : 0), String(r.files)]),
      ['l', 'r', 'r', 'r'],
    ),
  );
  out.push('', `### Top ${topN} owners`, '');
  out.push(
    mdTable(
      ['Owner', 'Version', 'Size', 'Files', 'Kinds'],
      a.owners.slice(0, topN).map((r) => [{ md: mdCode(r.owner) }, r.version ?? '', formatBytes(r.bytes), String(r.files), kindSplit(r.kinds)]),
      ['l', 'l', 'r', 'r', 'l'],
    ),
  );
  out.push('', '### Layers', '');
  out.push(
    mdTable(
      ['#', 'Step', 'Size', 'Compressed', 'Visible', 'Waste'],
      a.layers.map((r) => [String(r.index + 1), { md: mdCode(shortenStep(r.createdBy || r.comment, 80)) }, formatBytes(r.bytes), formatBytes(r.compressedBytes), formatBytes(r.visibleBytes), formatBytes(r.wasteBytes)]),
      ['r', 'l', 'r', 'r', 'r', 'r'],
    ),
  );
  if (a.findings.length) {
    out.push('', '### Findings (ranked by what each fix saves)', '');
    out.push(
      mdTable(
        ['Severity', 'Finding', 'Saves', 'Evidence', 'Fix'],
        a.findings.map((f) => [
          f.severity,
          { md: `**${escapeMarkdown(f.id)}**: ${escapeMarkdown(f.title)}` },
          formatSaving(f),
          { md: [...(f.evidence.paths ?? []).slice(0, 3).map(escapeMarkdown), ...(f.evidence.packages ?? []).slice(0, 3).map(mdCode), escapeMarkdown(f.evidence.detail ?? '')].filter(Boolean).join('<br>') },
          f.fix,
        ]),
        ['l', 'l', 'r', 'l', 'l'],
      ),
    );
  }
  if (a.findings.some((x) => x.savingSeconds != null)) out.push('', `_${escapeMarkdown(pullModelNote(a))}._`);
  const cl = cudaLines(a);
  if (cl.length) out.push('', '### CUDA and native libraries', '', ...cl.map((l) => `- ${escapeMarkdown(l)}`));
  if (a.warnings.length) {
    out.push('', '### Warnings', '');
    for (const w of a.warnings) out.push(`- ${escapeMarkdown(w)}`);
  }
  return out.join('\n') + '\n';
}
