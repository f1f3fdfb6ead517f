/**
 * Escaping for human-readable output (issue 12, points 17 and 18). Everything shown to a person
 * (terminal tables, stderr lines, Markdown, HTML) goes through one of these; JSON stays raw
 * (JSON.stringify escapes what it must, and a report keeps the exact names).
 *
 * escapeText: one value, one line, nothing a terminal acts on. C0 controls (\n and \t included:
 * a value is one line), DEL, C1 controls, bidi controls and the line/paragraph separators become
 * visible escapes. Lone UTF-16 surrogates become escapes too: U+DC80–U+DCFF is how a tar name's
 * byte that is not valid UTF-8 is carried (surrogateescape: U+DC00 + byte), so it is shown as that
 * byte, `\xNN`; any other lone surrogate as `\uXXXX`. Code points below U+0080 show as `\xNN`
 * (byte and code point agree), everything else as `\uXXXX`, so `\x9b` always means the raw byte
 * 0x9b and `\u009b` the character U+009B: the two cannot be confused.
 *
 * A backslash is left as it is. Doubling it would make every regex and `\`-continued command in a
 * Dockerfile step harder to read, and it keeps escapeText idempotent (escaped text holds no
 * character it would change), so a last pass over a whole rendered document (escapeLines) cannot
 * double-escape what a renderer already escaped. The cost: a name that literally holds the four
 * characters `\x1b` looks like one holding ESC; the JSON report tells them apart.
 */

/** Everything escapeText changes; without the `u` flag a surrogate half is matched on its own. */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]/;

/** The same, less \n: what escapeLines looks for. */
const UNSAFE_BUT_NL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]/;

const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');

/** One value on one line, safe for a terminal: see the module comment for the rules. */
export function escapeText(s: string): string {
  if (!UNSAFE.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1); // NaN past the end
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s.slice(i, i + 2); // a valid pair: an astral character, kept
        i++;
      } else out += `\\u${hex(c, 4)}`;
    } else if (c >= 0xdc00 && c <= 0xdfff) out += c >= 0xdc80 && c <= 0xdcff ? `\\x${hex(c - 0xdc00, 2)}` : `\\u${hex(c, 4)}`;
    else if (c < 0x20 || c === 0x7f) out += `\\x${hex(c, 2)}`;
    else if ((c >= 0x80 && c <= 0x9f) || c === 0x061c || c === 0x200e || c === 0x200f || (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) out += `\\u${hex(c, 4)}`;
    else out += s[i];
  }
  return out;
}

/** A multi-line text whose own line structure is kept: each line escaped, the \n between them left. */
export function escapeLines(s: string): string {
  return UNSAFE_BUT_NL.test(s) ? s.split('\n').map(escapeText).join('\n') : s;
}

/**
 * One value as GitHub-flavoured Markdown that shows it literally: in a table cell, a list item, a
 * heading or a paragraph. escapeText first (no control character, so no line break can end the cell).
 * Then:
 * - `\` → `\\` (else a backslash in the value would escape the character after it);
 * - `&` `<` `>` → entities: no raw HTML, no `<!--` comment, no `<http://…>` autolink, no entity
 *   reference from the value is interpreted;
 * - `|` → `\|` (the table's cell separator; GFM un-escapes it even inside code);
 * - `` ` `` `*` `_` `~` `[` `]` `#` → backslash-escaped: no code span, emphasis, strikethrough,
 *   link/image/footnote, heading or closing `#` sequence;
 * - `$` → `<span>$</span>`: GitHub renders `$…$` as math and does not honour `\$` (its documented
 *   way to show a literal dollar is the span);
 * - a leading `- `, `+ `, `--` or `1. `/`1) ` is escaped so a value at the start of a line (a list
 *   item's text) opens no nested list or thematic break; `=` underlines nothing (no value follows a
 *   paragraph line), `>` is an entity already.
 * Not neutralised (GitHub post-processing, not Markdown syntax): bare-URL autolinks, @mentions,
 * #123 references and :emoji: codes; mdCode's `<code>` suppresses all but the autolinks.
 */
export function escapeMarkdown(s: string): string {
  return escapeText(s)
    .replace(/[\\`*_~[\]#|]/g, '\\$&')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\$/g, '<span>$$</span>')
    .replace(/^(\s*)([-+])(?=[\s-]|$)/, '$1\\$2')
    .replace(/^(\s*\d{1,9})([.)])(?=\s|$)/, '$1\\$2');
}

/**
 * A value set in monospace, shown literally: a `<code>` element around escapeMarkdown. Not a code span,
 * inside which entities show verbatim (`&lt;`) and no escape works but `\|`.
 */
export function mdCode(s: string): string {
  return `<code>${escapeMarkdown(s)}</code>`;
}

/** Text for HTML element content or a quoted attribute: escapeText, then the five HTML specials. */
export function escapeHtml(s: string): string {
  return escapeText(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
