/**
 * A document decided once, written in three syntaxes (docs/architecture.md "Views"): a view is a
 * list of blocks (headings, paragraphs, tables with their alignment); the terminal, Markdown and HTML
 * writers below only supply syntax, so the three formats cannot drift apart. Every string in a view is
 * plain text (names, paths and steps from the image included): each writer escapes all of it for its
 * syntax (util/escape.ts), so no view builder escapes anything.
 */
import Table from 'cli-table3';
import { escapeHtml, escapeMarkdown, escapeText } from '../util/escape.js';

export type Block =
  | { kind: 'heading'; text: string }
  | { kind: 'text'; text: string }
  | { kind: 'table'; head: string[]; rows: string[][]; /** 'l' or 'r' per column (default: first left, rest right). */ align?: Array<'l' | 'r'> };

export interface View {
  title: string;
  blocks: Block[];
}

const alignOf = (b: Extract<Block, { kind: 'table' }>, i: number): 'l' | 'r' => b.align?.[i] ?? (i === 0 ? 'l' : 'r');

export function viewToTable(v: View): string {
  const e = escapeText;
  const out: string[] = [e(v.title)];
  for (const b of v.blocks) {
    if (b.kind === 'heading') out.push('', e(b.text));
    else if (b.kind === 'text') out.push(e(b.text));
    else {
      const t = new Table({ head: b.head.map(e), style: { head: [], border: [], compact: true }, colAligns: b.head.map((_, i) => (alignOf(b, i) === 'l' ? 'left' : 'right')) });
      for (const r of b.rows) t.push(r.map(e));
      out.push(t.toString());
    }
  }
  return out.join('\n') + '\n';
}

export function viewToMarkdown(v: View, level = 2): string {
  const h = '#'.repeat(level);
  const mdEsc = escapeMarkdown;
  const out: string[] = [`${h} ${mdEsc(v.title)}`, ''];
  for (const b of v.blocks) {
    if (b.kind === 'heading') out.push(`${h}# ${mdEsc(b.text)}`, '');
    else if (b.kind === 'text') out.push(mdEsc(b.text), '');
    else {
      out.push(`| ${b.head.map(mdEsc).join(' | ')} |`);
      out.push(`| ${b.head.map((_, i) => (alignOf(b, i) === 'l' ? ':---' : '---:')).join(' | ')} |`);
      for (const r of b.rows) out.push(`| ${r.map(mdEsc).join(' | ')} |`);
      out.push('');
    }
  }
  return out.join('\n') + '\n';
}

export const htmlEsc = escapeHtml;

/** The body of a view as HTML (the page around it is html.ts's). */
export function viewToHtml(v: View): string[] {
  const out: string[] = [`<h1>${htmlEsc(v.title)}</h1>`];
  for (const b of v.blocks) {
    if (b.kind === 'heading') out.push(`<h2>${htmlEsc(b.text)}</h2>`);
    else if (b.kind === 'text') out.push(`<p class="sub">${htmlEsc(b.text)}</p>`);
    else {
      const cls = (i: number): string => (alignOf(b, i) === 'r' ? ' class="n"' : '');
      out.push(
        `<table><thead><tr>${b.head.map((c, i) => `<th${cls(i)}>${htmlEsc(c)}</th>`).join('')}</tr></thead><tbody>\n` +
          b.rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${htmlEsc(c)}</td>`).join('')}</tr>`).join('\n') +
          '\n</tbody></table>',
      );
    }
  }
  return out;
}
