/**
 * `--format html`: one self-contained page (inline CSS, nothing fetched), for a CI artifact or a
 * browser. The documents are the views (analyze.ts, compare.ts, coldstart.ts); this file supplies the
 * page around them, its style sheet and, for analyze, the treemap (docs/html.md "The treemap"): its
 * data embedded once as JSON, its script (page/treemap.ts, compiled) inline. A Content-Security-Policy
 * forbids every request and any script but that one (by its hash).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { envError } from '../errors.js';
import type { Analysis, ColdStart, Comparison } from '../report/types.js';
import type { TreeData } from '../visual/tree.js';
import { KIND_COLOURS } from './palette.js';
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

const TREEMAP_CSS = `
.tm{margin:1rem 0}.tm-bar{display:flex;gap:.4rem;align-items:center;flex-wrap:wrap;margin:.3rem 0;font-size:13px}
.tm button{font:inherit;font-size:13px;border:1px solid #d0d7de;background:#f6f8fa;border-radius:4px;padding:.1rem .5rem;cursor:pointer;color:#1b1f24}
.tm-group button[aria-pressed=true]{background:#0969da;color:#fff;border-color:#0969da}.tm-crumbs{display:flex;gap:.2rem;flex-wrap:wrap;align-items:center}
.tm-crumbs button{max-width:28rem;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}.tm-crumbs button[aria-current]{font-weight:600;background:#fff}
.tm-map{position:relative;height:560px;border:1px solid #d0d7de;overflow:hidden;background:#fff;user-select:none}
.tm-map .r{position:absolute;box-sizing:border-box;border:1px solid #fff;overflow:hidden;cursor:pointer}
.tm-map .r.g{background:rgba(234,238,242,.7);border-color:#8c959f}
.tm-map .r span{display:block;font-size:11px;line-height:14px;padding:0 3px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;pointer-events:none;color:#1b1f24}
.tm-map.waste .r:not(.g) span{color:#fff}.tm-map .r:focus{outline:2px solid #0969da;outline-offset:-2px}
.tm-tip{position:fixed;z-index:10;max-width:36rem;background:#1b1f24;color:#fff;padding:.4rem .6rem;border-radius:4px;font-size:12px;pointer-events:none;overflow-wrap:anywhere}
.tm-tip .p{font-weight:600}.tm-legend{display:flex;gap:.8rem;flex-wrap:wrap;font-size:12px;margin:.3rem 0}
.tm-legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.25rem;vertical-align:middle;border-radius:2px}`;

/** No request of any kind; style inline; scripts only those whose hashes are listed. */
function csp(scripts: string[]): string {
  const hashes = scripts.map((s) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`);
  return `default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src ${hashes.length ? hashes.join(' ') : "'none'"}; base-uri 'none'; form-action 'none'`;
}

function page(title: string, body: string[], script?: string): string {
  const policy = csp(script ? [script] : []);
  const tail = script ? `\n<script type="module">${script}</script>` : '';
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${esc(policy)}"><meta name="viewport" content="width=device-width,initial-scale=1">\n<title>${esc(title)}</title><style>${CSS}${script ? TREEMAP_CSS : ''}</style></head>\n<body>\n${body.join('\n')}${tail}\n</body></html>\n`;
}

/** The compiled treemap script (dist/render/page/treemap.js; from the sources, the built copy in dist). */
function treemapScript(): string {
  const candidates = [new URL('./page/treemap.js', import.meta.url), new URL('../../dist/render/page/treemap.js', import.meta.url)];
  const file = candidates.map((u) => fileURLToPath(u)).find((f) => existsSync(f));
  if (!file) throw envError(`the treemap script ${fileURLToPath(candidates[0]!)} is missing: the package is incomplete (run npm run build)`);
  const js = readFileSync(file, 'utf8').replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n');
  if (/<\/script|<!--/i.test(js)) throw envError(`${file}: the treemap script may not contain </script or <!--`);
  return js;
}

/** JSON inside a <script> element: `<` escaped, so no data can end the element or open a comment. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** The treemap's markup; the script fills it from the embedded data. */
function treemapSection(tree: TreeData): string {
  const groups = (['dir', 'owner', 'layer', 'waste'] as const).map((g, i) => `<button type="button" data-group="${g}" aria-pressed="${i === 0}">${g === 'dir' ? 'directory' : g}</button>`);
  return [
    // the kinds' colours in the order of tree.kinds: one palette for the treemap and the charts (palette.ts)
    `<section class="tm" aria-label="treemap of the final filesystem" data-kind-colours="${esc(JSON.stringify(tree.kinds.map((k) => KIND_COLOURS[k])))}">`,
    `<div class="tm-bar"><span>Group by</span><span class="tm-group">${groups.join('')}</span></div>`,
    '<nav class="tm-bar tm-crumbs" aria-label="zoom"></nav>',
    '<div class="tm-map" role="application" aria-label="treemap: Tab or arrows move, Enter zooms in, Backspace zooms out"></div>',
    '<div class="tm-legend"></div><div class="tm-tip" role="tooltip" hidden></div>',
    `<script type="application/json" class="tm-data">${scriptJson(tree)}</script>`,
    '</section>',
  ].join('\n');
}

/** One analysis's document, its treemap (when given) after the headline and before the first table's heading. */
function analysisBody(a: Analysis, topN: number, tree: TreeData | undefined): string[] {
  const doc = viewToHtml(analysisView(a, topN));
  if (!tree) return doc;
  const at = doc.findIndex((l) => l.startsWith('<h2'));
  doc.splice(at < 0 ? doc.length : at, 0, '<h2>Treemap</h2>', treemapSection(tree));
  return doc;
}

/**
 * The analyze page. `trees[i]`, when given, is `list[i]`'s treemap data (pipeline.ts onTree): the page
 * then draws it above the tables.
 */
export function renderAnalysisHtml(list: Analysis[], topN = 15, trees: ReadonlyArray<TreeData | undefined> = []): string {
  const title = list.length === 1 ? `imgscope: ${list[0]!.image.reference}` : `imgscope: ${list.length} images`;
  const body = list.flatMap((a, i) => [...(i ? ['<hr>'] : []), ...analysisBody(a, topN, trees[i])]);
  return page(title, body, trees.some((t) => t) ? treemapScript() : undefined);
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
