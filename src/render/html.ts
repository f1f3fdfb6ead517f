/**
 * `--format html`: one self-contained page (inline CSS, no scripts, nothing fetched), for a CI
 * artifact or a browser. Renderers format; they never compute: every figure comes from the report.
 */
import type { Analysis, ColdStart, Comparison } from '../report/types.js';
import { escapeHtml } from '../util/escape.js';
import { formatBytes, formatPercent, shortenStep } from '../util/format.js';
import { cudaLines, formatSaving, UNITS_NOTE } from './analyze.js';
import { renderColdStartHtmlBody } from './coldstart.js';
import { comparisonRows, COMPARISON_HEAD, COMPARISON_NOTE, findingRows } from './compare.js';

/** HTML-escapes one text value (control and bidi characters made visible first: util/escape.ts). */
export const esc = escapeHtml;

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
.sub{color:#57606a;margin-top:0}table{border-collapse:collapse;margin:.5rem 0;width:100%}
th,td{border-bottom:1px solid #eaeef2;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f6f8fa;font-weight:600}
td.n,th.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f6f8fa;padding:0 .2rem;border-radius:3px}
.bar{background:#0969da;height:.7rem;border-radius:2px;min-width:1px}.barcell{width:35%}
.sev{font-weight:600;border-radius:3px;padding:0 .35rem;font-size:12px}.high{background:#ffebe9;color:#a40e26}.medium{background:#fff8c5;color:#7d4e00}.low{background:#ddf4ff;color:#0550ae}.info{background:#eaeef2;color:#424a53}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #d0d7de;border-radius:6px;padding:.6rem .9rem;min-width:9rem}.card b{display:block;font-size:1.2rem}
ul.ev{margin:.2rem 0;padding-left:1.1rem;color:#57606a;font-size:12px}.present{color:#a40e26}.absent{color:#8c959f}`;

function page(title: string, body: string[]): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">\n<title>${esc(title)}</title><style>${CSS}</style></head>\n<body>\n${body.join('\n')}\n</body></html>\n`;
}

type Cell = string | { html: string; num?: boolean };
function table(head: Cell[], rows: Cell[][]): string {
  const cell = (c: Cell, tag: 'td' | 'th'): string => {
    if (typeof c === 'string') return `<${tag}>${esc(c)}</${tag}>`;
    return `<${tag}${c.num ? ' class="n"' : ''}>${c.html}</${tag}>`;
  };
  return `<table><thead><tr>${head.map((h) => cell(h, 'th')).join('')}</tr></thead><tbody>\n${rows.map((r) => `<tr>${r.map((c) => cell(c, 'td')).join('')}</tr>`).join('\n')}\n</tbody></table>`;
}
const num = (s: string): Cell => ({ html: esc(s), num: true });
const code = (s: string): Cell => ({ html: `<code>${esc(s)}</code>` });
const sev = (s: string): Cell => ({ html: `<span class="sev ${esc(s)}">${esc(s)}</span>` });

function analysisSection(a: Analysis, topN: number): string[] {
  const out: string[] = [];
  out.push(`<h1>${esc(a.image.reference)}</h1>`);
  out.push(`<p class="sub">${esc([a.image.platform, `${a.totals.layers} layers`, `${a.totals.files} files`, ...(a.image.tags.length ? [a.image.tags.join(', ')] : [])].join(' · '))}; ${esc(UNITS_NOTE)}</p>`);
  const cards: Array<[string, string]> = [
    ['Image size', formatBytes(a.totals.imageBytes)],
    ['Compressed (pull)', a.totals.compressedBytes === null ? 'n/a' : formatBytes(a.totals.compressedBytes)],
    ['Final (visible)', formatBytes(a.totals.finalBytes)],
    ['Waste (reclaimable)', formatBytes(a.totals.wasteBytes)],
    ['Efficiency (dive)', formatPercent(a.totals.efficiency)],
  ];
  out.push(`<div class="cards">${cards.map(([k, v]) => `<div class="card">${esc(k)}<b>${esc(v)}</b></div>`).join('')}</div>`);

  if (a.findings.length) {
    out.push('<h2>Findings, ranked by what each fix saves</h2>');
    out.push(
      table(
        ['Severity', 'Finding', num('Saves'), 'Fix'],
        a.findings.map((f) => {
          const ev = [...(f.evidence.paths ?? []).slice(0, 5), ...(f.evidence.packages ?? []).slice(0, 5), ...(f.evidence.detail ? [f.evidence.detail] : [])];
          return [
            sev(f.severity),
            { html: `<code>${esc(f.id)}</code> ${esc(f.title)}${ev.length ? `<ul class="ev">${ev.map((e) => `<li>${esc(e)}</li>`).join('')}</ul>` : ''}` },
            num(formatSaving(f)),
            f.fix,
          ];
        }),
      ),
    );
  }

  out.push('<h2>What it is (kinds, final filesystem)</h2>');
  const maxKind = Math.max(1, ...a.kinds.map((k) => k.bytes));
  out.push(
    table(
      ['Kind', num('Size'), num('% of final'), num('Files'), ''],
      a.kinds
        .filter((k) => k.bytes > 0 || k.files > 0)
        .map((k) => [k.kind, num(formatBytes(k.bytes)), num(formatPercent(a.totals.finalBytes ? k.bytes / a.totals.finalBytes : 0)), num(String(k.files)), { html: `<div class="bar" style="width:${((k.bytes / maxKind) * 100).toFixed(1)}%"></div>` }]),
    ).replace(/<td><div class="bar"/g, '<td class="barcell"><div class="bar"'),
  );

  out.push(`<h2>Who installed it (top ${topN} owners)</h2>`);
  out.push(
    table(
      ['Owner', 'Version', num('Size'), num('Files'), 'Kinds'],
      a.owners.slice(0, topN).map((o) => [
        code(o.owner),
        o.version ?? '',
        num(formatBytes(o.bytes)),
        num(String(o.files)),
        Object.entries(o.kinds)
          .filter(([, v]) => (v ?? 0) > 0)
          .sort((x, y) => (y[1] ?? 0) - (x[1] ?? 0))
          .slice(0, 3)
          .map(([k, v]) => `${k} ${formatBytes(v)}`)
          .join(', '),
      ]),
    ),
  );

  out.push('<h2>Layers</h2>');
  out.push(
    table(
      [num('#'), 'Step', num('Size'), num('Compressed'), num('Visible'), num('Waste'), 'Mostly'],
      a.layers.map((l) => [
        num(String(l.index + 1)),
        code(shortenStep(l.createdBy || l.comment, 100)),
        num(formatBytes(l.bytes)),
        num(formatBytes(l.compressedBytes)),
        num(formatBytes(l.visibleBytes)),
        num(formatBytes(l.wasteBytes)),
        l.topKinds[0] ? `${l.topKinds[0].kind}${l.topOwners[0] ? `, ${l.topOwners[0].owner}` : ''}` : '',
      ]),
    ),
  );

  const cl = cudaLines(a);
  if (cl.length) {
    out.push('<h2>CUDA and native libraries</h2>');
    out.push(`<ul>${cl.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>`);
  }
  if (a.waste.topPaths.length) {
    out.push('<h2>Largest hidden (wasted) paths</h2>');
    out.push(
      table(
        ['Path', num('Size'), 'Added in', 'Hidden in', 'How'],
        a.waste.topPaths.slice(0, 15).map((p) => [code(`/${p.path}`), num(formatBytes(p.bytes)), `layer ${p.addedInLayer + 1}`, `layer ${p.hiddenInLayer + 1}`, p.how]),
      ),
    );
  }
  if (a.warnings.length) out.push('<h2>Warnings</h2>', `<ul>${a.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>`);
  return out;
}

export function renderAnalysisHtml(list: Analysis[], topN = 15): string {
  const title = list.length === 1 ? `imgscope: ${list[0]!.image.reference}` : `imgscope: ${list.length} images`;
  return page(title, list.flatMap((a, i) => [...(i ? ['<hr>'] : []), ...analysisSection(a, topN)]));
}

export function renderComparisonHtml(c: Comparison): string {
  const out: string[] = ['<h1>imgscope comparison</h1>', `<p class="sub">${esc(COMPARISON_NOTE)}</p>`];
  out.push(table(COMPARISON_HEAD.map((h, i) => (i ? num(h) : h)), comparisonRows(c).map((r) => r.map((v, i) => (i ? num(v) : v)))));
  out.push('<h2>By kind</h2>');
  out.push(
    table(
      ['Kind', ...c.rows.map((r) => num(r.name))],
      c.kinds.filter((k) => k.bytes.some((b) => b > 0)).map((k) => [k.kind, ...k.bytes.map((b, i) => num(i === c.baseline ? formatBytes(b) : `${formatBytes(b)} (${k.delta[i]! >= 0 ? '+' : '−'}${formatBytes(Math.abs(k.delta[i]!))})`))]),
    ),
  );
  if (c.findings?.length) {
    out.push('<h2>Findings</h2>');
    out.push(
      table(
        ['Finding', ...c.rows.map((r) => r.name)],
        findingRows(c).map((r, k) => [
          { html: `<span class="sev ${esc(c.findings![k]!.severity)}">${esc(c.findings![k]!.severity)}</span> <code>${esc(c.findings![k]!.id)}</code>` },
          ...r.slice(1).map((v) => ({ html: `<span class="${v === '·' ? 'absent' : 'present'}">${esc(v)}</span>` })),
        ]),
      ),
    );
  }
  for (const d of c.diffs) {
    out.push(`<h2>${esc(d.name)} vs ${esc(c.rows[c.baseline]!.name)}</h2>`);
    const rows: Cell[][] = [];
    for (const g of [...d.growers, ...d.shrinkers]) rows.push([code(g.owner), num(formatBytes(g.baseline)), num(formatBytes(g.bytes)), num(`${g.delta >= 0 ? '+' : '−'}${formatBytes(Math.abs(g.delta))}`)]);
    for (const x of d.onlyHere) rows.push([{ html: `<code>${esc(x.owner)}</code> (only here)` }, num(''), num(formatBytes(x.bytes)), num(`+${formatBytes(x.bytes)}`)]);
    for (const x of d.onlyInBaseline) rows.push([{ html: `<code>${esc(x.owner)}</code> (only in baseline)` }, num(formatBytes(x.bytes)), num(''), num(`−${formatBytes(x.bytes)}`)]);
    if (rows.length) out.push(table(['Owner', num('Baseline'), num('Here'), num('Δ')], rows));
  }
  return page('imgscope comparison', out);
}

export function renderColdStartHtml(list: ColdStart[]): string {
  const out = list.flatMap((c, i) => [...(i ? ['<hr>'] : []), ...renderColdStartHtmlBody(c)]);
  return page(list.length === 1 ? `imgscope coldstart: ${list[0]!.reference}` : 'imgscope coldstart', out);
}
