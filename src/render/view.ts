/**
 * A document decided once, written in three syntaxes (docs/architecture.md "Views"): a view is a
 * title and a list of blocks (headings, paragraphs, notes, lists, tables with their alignment); the
 * terminal, Markdown and HTML writers below only supply syntax, so the three formats cannot drift
 * apart. Every string in a view is plain text (names, paths and steps from the image included): each
 * writer escapes all of it for its syntax (util/escape.ts), so no view builder escapes anything.
 */
import Table from 'cli-table3';
import { escapeHtml, escapeMarkdown, escapeText, mdCode } from '../util/escape.js';

/**
 * A run of text inside a line: plain, a monospace value (a name, a path, a step: `<code>` in Markdown
 * and HTML), a severity (a coloured badge in HTML), or a finding's presence in the comparison's matrix
 * (greyed or red in HTML). Only HTML styles the last two; the terminal and Markdown show the text.
 */
export type Span = string | { code: string } | { badge: string } | { tone: 'present' | 'absent'; text: string };
/** One line of text: a plain string, or spans set side by side. */
export type Inline = string | Span[];
/** A table cell: one line, or a list (a finding's evidence), one item a line. */
export type Cell = Inline | { list: Inline[] };
export type Align = 'l' | 'r' | 'c';

export interface TableBlock {
  kind: 'table';
  head: string[];
  rows: Cell[][];
  /** Per column (default: first left, rest right). */
  align?: Align[];
  /** Terminal only: plain cells longer than this are wrapped at spaces (long titles and fixes). */
  wrap?: number;
  /** HTML only: a bar per row, its length this share of the longest (the kinds table). */
  bars?: number[];
  /** HTML only: a one-row table of headline figures, shown as cards. */
  cards?: boolean;
}

export type Block =
  | { kind: 'heading'; text: Inline }
  | { kind: 'text'; text: Inline }
  /** An aside on how to read what precedes it (a full sentence). */
  | { kind: 'note'; text: string }
  | { kind: 'list'; items: Inline[] }
  | TableBlock;

export interface View {
  title: Inline;
  blocks: Block[];
}

const alignOf = (b: TableBlock, i: number): Align => b.align?.[i] ?? (i === 0 ? 'l' : 'r');

/** Writes a view's spans in one syntax: each span kind once. */
type SpanWriter = (s: Span) => string;
const inlineWith = (w: SpanWriter) => (i: Inline): string => (typeof i === 'string' ? w(i) : i.map(w).join(''));
const plainOf = (s: Span): string => (typeof s === 'string' ? s : 'code' in s ? s.code : 'badge' in s ? s.badge : s.text);

const textInline = inlineWith((s) => escapeText(plainOf(s)));

/** A word longer than the width (a deep path, a digest) is cut, after its slashes first, so a column stays narrow. */
function pieces(w: string, width: number): string[] {
  if (w.length <= width) return [w];
  const out: string[] = [];
  let cur = '';
  // after each slash, and where a part is still too long (a digest), every `width` characters
  const parts = w.split(/(?<=\/)/).flatMap((p) => p.match(new RegExp(`.{1,${width}}`, 'gsu')) ?? []);
  for (const part of parts) {
    if (cur && cur.length + part.length > width) {
      out.push(cur);
      cur = part;
    } else cur += part;
  }
  if (cur) out.push(cur);
  return out;
}

function wrap(s: string, width: number): string {
  const lines: string[] = [];
  let cur = '';
  for (const word of s.split(' ')) {
    // the pieces of one cut word join without a space when they share a line
    pieces(word, width).forEach((w, i) => {
      const sep = i === 0 && cur ? ' ' : '';
      if (cur && cur.length + sep.length + w.length > width) {
        lines.push(cur);
        cur = w;
      } else cur += sep + w;
    });
  }
  if (cur) lines.push(cur);
  return lines.join('\n');
}

function textCell(b: TableBlock, c: Cell): string {
  // a list item's continuation lines are indented under its first
  if (typeof c === 'object' && 'list' in c) return c.list.map((i) => `- ${b.wrap ? wrap(textInline(i), b.wrap - 2).replace(/\n/g, '\n  ') : textInline(i)}`).join('\n');
  const s = textInline(c);
  return b.wrap ? wrap(s, b.wrap) : s;
}

function textTable(b: TableBlock): string {
  const colAligns = b.head.map((_, i) => ({ l: 'left', r: 'right', c: 'center' } as const)[alignOf(b, i)]);
  const t = new Table({ head: b.head.map(escapeText), style: { head: [], border: [], compact: true }, colAligns });
  for (const r of b.rows) t.push(r.map((c) => textCell(b, c)));
  return t.toString();
}

export function viewToTable(v: View): string {
  const out: string[] = [textInline(v.title)];
  for (const b of v.blocks) {
    if (b.kind === 'heading') out.push('', textInline(b.text));
    else if (b.kind === 'text') out.push(textInline(b.text));
    else if (b.kind === 'note') out.push(`(${escapeText(b.text)})`);
    else if (b.kind === 'list') out.push(...b.items.map((i) => `  ${textInline(i)}`));
    else out.push(textTable(b));
  }
  return out.join('\n') + '\n';
}

const mdInline = inlineWith((s) => (typeof s === 'object' && 'code' in s ? mdCode(s.code) : escapeMarkdown(plainOf(s))));
const mdCell = (c: Cell): string => (typeof c === 'object' && 'list' in c ? c.list.map(mdInline).join('<br>') : mdInline(c));
const MD_ALIGN = { l: ':---', r: '---:', c: ':---:' } as const;

export function viewToMarkdown(v: View, level = 2): string {
  const h = '#'.repeat(level);
  const out: string[] = [`${h} ${mdInline(v.title)}`, ''];
  for (const b of v.blocks) {
    if (b.kind === 'heading') out.push(`${h}# ${mdInline(b.text)}`, '');
    else if (b.kind === 'text') out.push(mdInline(b.text), '');
    else if (b.kind === 'note') out.push(`_${escapeMarkdown(b.text)}_`, '');
    else if (b.kind === 'list') out.push(...b.items.map((i) => `- ${mdInline(i)}`), '');
    else {
      out.push(`| ${b.head.map(escapeMarkdown).join(' | ')} |`);
      out.push(`| ${b.head.map((_, i) => MD_ALIGN[alignOf(b, i)]).join(' | ')} |`);
      for (const r of b.rows) out.push(`| ${r.map(mdCell).join(' | ')} |`);
      out.push('');
    }
  }
  return out.join('\n') + '\n';
}

export const htmlEsc = escapeHtml;

const htmlInline = inlineWith((s) => {
  if (typeof s === 'string') return htmlEsc(s);
  if ('code' in s) return `<code>${htmlEsc(s.code)}</code>`;
  if ('badge' in s) return `<span class="sev ${htmlEsc(s.badge)}">${htmlEsc(s.badge)}</span>`;
  return `<span class="${s.tone}">${htmlEsc(s.text)}</span>`;
});
const htmlCell = (c: Cell): string =>
  typeof c === 'object' && 'list' in c ? (c.list.length ? `<ul class="ev">${c.list.map((i) => `<li>${htmlInline(i)}</li>`).join('')}</ul>` : '') : htmlInline(c);
const HTML_CLASS = { l: '', r: ' class="n"', c: ' class="c"' } as const;

function htmlTable(b: TableBlock): string {
  if (b.cards) return `<div class="cards">${b.head.map((h, i) => `<div class="card">${htmlEsc(h)}<b>${htmlCell(b.rows[0]?.[i] ?? '')}</b></div>`).join('')}</div>`;
  const cls = (i: number): string => HTML_CLASS[alignOf(b, i)];
  const bar = (r: number): string => (b.bars ? `<td class="barcell"><div class="bar" style="width:${((b.bars[r] ?? 0) * 100).toFixed(1)}%"></div></td>` : '');
  return (
    `<table><thead><tr>${b.head.map((c, i) => `<th${cls(i)}>${htmlEsc(c)}</th>`).join('')}${b.bars ? '<th></th>' : ''}</tr></thead><tbody>\n` +
    b.rows.map((r, k) => `<tr>${r.map((c, i) => `<td${cls(i)}>${htmlCell(c)}</td>`).join('')}${bar(k)}</tr>`).join('\n') +
    '\n</tbody></table>'
  );
}

/** The body of a view as HTML (the page around it is html.ts's). */
export function viewToHtml(v: View): string[] {
  const out: string[] = [`<h1>${htmlInline(v.title)}</h1>`];
  for (const b of v.blocks) {
    if (b.kind === 'heading') out.push(`<h2>${htmlInline(b.text)}</h2>`);
    else if (b.kind === 'text' || b.kind === 'note') out.push(`<p class="sub">${b.kind === 'text' ? htmlInline(b.text) : htmlEsc(b.text)}</p>`);
    else if (b.kind === 'list') out.push(`<ul>${b.items.map((i) => `<li>${htmlInline(i)}</li>`).join('')}</ul>`);
    else out.push(htmlTable(b));
  }
  return out;
}
