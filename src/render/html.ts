/**
 * `--format html`: one self-contained page (inline CSS, no scripts, nothing fetched), for a CI
 * artifact or a browser. The documents are the views (analyze.ts, compare.ts, coldstart.ts); this file
 * only supplies the page around them and its style sheet.
 */
import type { Analysis, ColdStart, Comparison } from '../report/types.js';
import { escapeHtml } from '../util/escape.js';
import { analysisView } from './analyze.js';
import { comparisonCharts } from './charts.js';
import { coldStartView } from './coldstart.js';
import { comparisonView } from './compare.js';
import { viewToHtml } from './view.js';

/** HTML-escapes one text value (control and bidi characters made visible first: util/escape.ts). */
export const esc = escapeHtml;

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
.sub{color:#57606a;margin-top:0}table{border-collapse:collapse;margin:.5rem 0;width:100%}
th,td{border-bottom:1px solid #eaeef2;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f6f8fa;font-weight:600}
td.n,th.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}td.c,th.c{text-align:center}code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f6f8fa;padding:0 .2rem;border-radius:3px}
.bar{background:#0969da;height:.7rem;border-radius:2px;min-width:1px}.barcell{width:35%}
.sev{font-weight:600;border-radius:3px;padding:0 .35rem;font-size:12px}.high{background:#ffebe9;color:#a40e26}.medium{background:#fff8c5;color:#7d4e00}.low{background:#ddf4ff;color:#0550ae}.info{background:#eaeef2;color:#424a53}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #d0d7de;border-radius:6px;padding:.6rem .9rem;min-width:9rem}.card b{display:block;font-size:1.2rem}
ul.ev{margin:.2rem 0;padding-left:1.1rem;color:#57606a;font-size:12px}.present{color:#a40e26}.absent{color:#8c959f}`;

function page(title: string, body: string[]): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">\n<title>${esc(title)}</title><style>${CSS}</style></head>\n<body>\n${body.join('\n')}\n</body></html>\n`;
}

export function renderAnalysisHtml(list: Analysis[], topN = 15): string {
  const title = list.length === 1 ? `imgscope: ${list[0]!.image.reference}` : `imgscope: ${list.length} images`;
  return page(title, list.flatMap((a, i) => [...(i ? ['<hr>'] : []), ...viewToHtml(analysisView(a, topN))]));
}

/** The comparison's tables, with its charts (charts.ts) right after the table of the images side by side. */
export function renderComparisonHtml(c: Comparison): string {
  const view = comparisonView(c);
  const body = viewToHtml(view);
  // viewToHtml: the <h1>, then one element per block
  const at = 1 + view.blocks.findIndex((b) => b.kind === 'table') + 1;
  body.splice(at, 0, '<section aria-label="Charts">', ...comparisonCharts(c), '</section>');
  return page('imgscope comparison', body);
}

export function renderColdStartHtml(list: ColdStart[]): string {
  const out = list.flatMap((c, i) => [...(i ? ['<hr>'] : []), ...viewToHtml(coldStartView(c))]);
  return page(list.length === 1 ? `imgscope coldstart: ${list[0]!.reference}` : 'imgscope coldstart', out);
}
