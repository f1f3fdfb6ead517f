/**
 * Markdown that must fit a limit: GitHub's job summary (1 MiB a step) and a PR comment (65,536
 * characters; `--format markdown --compact`). The longest table is cut first, then the next
 * longest, each down to what the limit needs; every cut table gets a note saying how many of its
 * rows were left out. Only if tables alone cannot make it fit is the text itself cut, with a last line
 * that says so. The JSON report always has everything.
 */
import type { Analysis } from '../report/types.js';
import { analysisView } from './analyze.js';
import { type Block, type Inline, type TableBlock, type View, viewToMarkdown } from './view.js';

/** GitHub's limit on what one step writes to GITHUB_STEP_SUMMARY. */
export const STEP_SUMMARY_LIMIT = 1024 * 1024;
/** GitHub's limit on a PR or issue comment body (65,536 characters; counted here in UTF-8 bytes, never fewer). */
export const COMMENT_LIMIT = 65536;
/** Rows a cut table keeps at least. */
const MIN_ROWS = 3;

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
const plain = (i: Inline): string => (typeof i === 'string' ? i : i.map((s) => (typeof s === 'string' ? s : 'code' in s ? s.code : 'badge' in s ? s.badge : s.text)).join(''));
const writeAll = (views: View[]): string => views.map((v) => viewToMarkdown(v)).join('\n');

interface Cut {
  view: number;
  block: number;
  rows: number;
  kept: number;
}

/** The views with each cut table's rows sliced and its note after it. */
function apply(views: View[], cuts: Cut[], why: string): View[] {
  return views.map((v, vi) => {
    const blocks: Block[] = [];
    v.blocks.forEach((b, bi) => {
      const cut = cuts.find((c) => c.view === vi && c.block === bi);
      if (!cut || b.kind !== 'table') return void blocks.push(b);
      blocks.push({ ...b, rows: b.rows.slice(0, cut.kept) });
      const heading = [...v.blocks.slice(0, bi)].reverse().find((x) => x.kind === 'heading');
      const name = heading && heading.kind === 'heading' ? `"${plain(heading.text)}"` : 'this table';
      blocks.push({ kind: 'note', text: `Cut: ${cut.rows - cut.kept} of the ${cut.rows} rows of ${name} are left out to stay under ${why}; the JSON report (--format json) has them all.` });
    });
    return { ...v, blocks };
  });
}

/** The cuttable tables, largest first, with their size in Markdown. */
function tables(views: View[], cuts: Cut[]): Array<{ view: number; block: number; size: number; rows: number }> {
  const out: Array<{ view: number; block: number; size: number; rows: number }> = [];
  views.forEach((v, vi) =>
    v.blocks.forEach((b, bi) => {
      if (b.kind !== 'table' || b.cards) return;
      const kept = cuts.find((c) => c.view === vi && c.block === bi)?.kept ?? b.rows.length;
      if (kept <= MIN_ROWS) return;
      const t: TableBlock = { ...b, rows: b.rows.slice(0, kept) };
      out.push({ view: vi, block: bi, size: bytes(viewToMarkdown({ title: '', blocks: [t] })), rows: kept });
    }),
  );
  return out.sort((a, b) => b.size - a.size);
}

/** Cuts `text` at the last line break that leaves room for the closing line. */
export function truncateMarkdown(text: string, limit: number, why: string): string {
  if (bytes(text) <= limit) return text;
  const tail = `\n\n_Cut: the rest of this report is left out to stay under ${why}; the JSON report (--format json) has it all._\n`;
  let body = Buffer.from(text, 'utf8').subarray(0, Math.max(0, limit - bytes(tail))).toString('utf8');
  body = body.replace(/\uFFFD$/, ''); // a character the byte cut split
  const nl = body.lastIndexOf('\n');
  return (nl > 0 ? body.slice(0, nl) : body) + tail;
}

/**
 * The views as Markdown within `limit` bytes: as they are when they fit, else with the longest tables
 * cut first (each to what the excess needs, never below a few rows), and the text cut last.
 */
export function fitViews(views: View[], limit: number, why: string): string {
  let text = writeAll(views);
  const cuts: Cut[] = [];
  for (let guard = 0; bytes(text) > limit && guard < 1000; guard++) {
    const [top] = tables(views, cuts);
    if (!top) break;
    const excess = bytes(text) - limit + 400; // the note this cut adds
    const perRow = top.size / top.rows;
    const kept = Math.max(MIN_ROWS, top.rows - Math.ceil(excess / perRow));
    const cut = cuts.find((c) => c.view === top.view && c.block === top.block);
    if (cut) cut.kept = kept;
    else cuts.push({ view: top.view, block: top.block, rows: (views[top.view]!.blocks[top.block] as TableBlock).rows.length, kept });
    text = writeAll(apply(views, cuts, why));
  }
  return truncateMarkdown(text, limit, why);
}

/** The analysis documents in Markdown within `limit` bytes. */
export function analysesMarkdown(results: Analysis[], top: number, limit: number, why: string): string {
  return fitViews(results.map((a) => analysisView(a, top)), limit, why);
}
