/**
 * Issue 12, points 17 and 18: names, steps, tags and error snippets from an image reach no terminal
 * raw (control, bidi and lone-surrogate characters are shown as escapes) and render literally in
 * the Markdown meant for PR comments and job summaries.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { Analysis } from '../../src/report/types.js';
import { compare } from '../../src/compare.js';
import { computeFindings } from '../../src/findings/rules.js';
import { renderAnalysisMarkdown, renderAnalysisTable } from '../../src/render/analyze.js';
import { renderComparisonMarkdown, renderComparisonTable } from '../../src/render/compare.js';
import { renderAnalysisHtml, renderComparisonHtml } from '../../src/render/html.js';
import { type View, viewToHtml, viewToMarkdown, viewToTable } from '../../src/render/view.js';
import { escapeLines, escapeMarkdown, escapeText } from '../../src/util/escape.js';
import { makeAnalysis } from '../helpers/analysis.js';
import { tmpDir, writeDockerArchiveLegacy } from '../helpers/images.js';
import { file, packTar, text, whiteout } from '../helpers/tar.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** Everything at once: ESC (a colour and a title-setting OSC), BEL, CR, DEL, a C1 CSI, a bidi override, a lone surrogate byte, HTML, a comment, Markdown. */
const NASTY = 'a\x1b[31mred\x1b]0;pwned\x07 bel\x07 cr\rdel\x7f c1\u009b rlo\u202eevil raw\udcff <script>alert(1)</script> <img src=x onerror=alert(1)> <!-- | `tick` *star* _und_ [link](http://x) ~~s~~ $a$ # end\\';

/** No byte a terminal acts on: nothing below 0x20 but the text's own \n, no DEL, C1, bidi control or lone surrogate. */
function expectClean(out: string): void {
  expect(out).not.toMatch(/[\x00-\x09\x0b-\x1f]/);
  expect(out).not.toMatch(/[\x7f-\x9f]/);
  expect(out).not.toMatch(/[\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/);
  expect(out).not.toMatch(/\p{Cs}/u); // in u mode a surrogate pair is one code point: only lone halves match
}

/** The escapes of NASTY's characters, as a person sees them. */
function expectVisible(out: string): void {
  for (const e of ['\\x1b[31m', '\\x07', '\\x0d', '\\x7f', '\\u009b', '\\u202e', '\\xff']) expect(out).toContain(e);
}

/** Markdown with no HTML of the value's: the only tags are the renderer's own <code>, <br> and <span> (around a $). */
function expectNoRawHtml(md: string): void {
  expect(md.replace(/<\/?code>|<br>|<span>\$<\/span>/g, '')).not.toContain('<');
  expect(md).not.toContain('<!--');
  expect(md).toContain('&lt;script&gt;');
  expect(md).toContain('&lt;!--');
}

function nastyAnalysis(): Analysis {
  const a = makeAnalysis({
    reference: `docker-archive:/tmp/${NASTY}.tar`,
    imageBytes: 300 * 1024 ** 2,
    wasteBytes: 200 * 1024 ** 2,
    kinds: { python: 100 * 1024 ** 2 },
    owners: { [`pip:${NASTY}`]: 100 * 1024 ** 2 },
    steps: [[`/bin/sh -c echo ${NASTY}`, 200 * 1024 ** 2], ['RUN rm -rf /x', 100 * 1024 ** 2]],
  });
  a.image.tags = [`${NASTY}:latest`];
  a.owners[0]!.version = NASTY;
  a.waste.topPaths = [{ path: `app/${NASTY}`, bytes: 200 * 1024 ** 2, addedInLayer: 0, hiddenInLayer: 1, how: 'deleted' }];
  a.warnings = [`manifest.json: invalid JSON: ${NASTY}`];
  a.findings = computeFindings(a);
  expect(a.findings.some((f) => f.evidence.items?.some((i) => i.path.includes(NASTY)))).toBe(true);
  return a;
}

describe('escapeText', () => {
  it('shows controls, C1, bidi controls and lone surrogates as escapes, and leaves the rest', () => {
    expect(escapeText('a\x1b[2Jb')).toBe('a\\x1b[2Jb');
    expect(escapeText('\x00\x07\t\n\r\x7f')).toBe('\\x00\\x07\\x09\\x0a\\x0d\\x7f');
    expect(escapeText('\u0080\u009b\u009f\u00a0é')).toBe('\\u0080\\u009b\\u009f\u00a0é');
    expect(escapeText('\u202a\u202e\u2066\u2069\u200e\u200f\u061c\u2028')).toBe('\\u202a\\u202e\\u2066\\u2069\\u200e\\u200f\\u061c\\u2028');
    // a tar name byte that is not UTF-8 (U+DC00 + byte) is shown as that byte; other lone halves as code units
    expect(escapeText('x\udcffy\udc80')).toBe('x\\xffy\\x80');
    expect(escapeText('\udc7f\udd00\ud800 \udbff')).toBe('\\udc7f\\udd00\\ud800 \\udbff');
    expect(escapeText('\ud83d\ude00 🐍 日本語')).toBe('😀 🐍 日本語'); // valid pairs stay
    expect(escapeText('\ude00\ud83d')).toBe('\\ude00\\ud83d'); // halves in the wrong order are two lone ones
    // a byte 0x9b and the character U+009B read differently
    expect(escapeText('\udc9b')).not.toBe(escapeText('\u009b'));
    // a backslash is left alone, so escaping is idempotent
    expect(escapeText('C:\\x \\n')).toBe('C:\\x \\n');
    expect(escapeText(escapeText(NASTY))).toBe(escapeText(NASTY));
    expectClean(escapeText(NASTY));
    expect(escapeLines('a\x1b\nb\u202e\n')).toBe('a\\x1b\nb\\u202e\n');
  });
});

describe('escapeMarkdown', () => {
  it('writes a value that GitHub shows literally', () => {
    expect(escapeMarkdown('<!-- x -->')).toBe('&lt;!-- x --&gt;');
    expect(escapeMarkdown('<img src=x onerror=alert(1)>')).toBe('&lt;img src=x onerror=alert(1)&gt;');
    expect(escapeMarkdown('&lt; &amp;')).toBe('&amp;lt; &amp;amp;');
    expect(escapeMarkdown('a|b')).toBe('a\\|b');
    expect(escapeMarkdown('`c` *e* _u_ ~s~ [l](u) ![i](u) # h \\')).toBe('\\`c\\` \\*e\\* \\_u\\_ \\~s\\~ \\[l\\](u) !\\[i\\](u) \\# h \\\\');
    expect(escapeMarkdown('$a$')).toBe('<span>$</span>a<span>$</span>');
    expect(escapeMarkdown('- x')).toBe('\\- x');
    expect(escapeMarkdown('---')).toBe('\\---');
    expect(escapeMarkdown('+ x')).toBe('\\+ x');
    expect(escapeMarkdown('12. x')).toBe('12\\. x');
    expect(escapeMarkdown('1.00 GiB')).toBe('1.00 GiB');
    expect(escapeMarkdown('-3 B')).toBe('-3 B');
    expect(escapeMarkdown('a\r\nb\x1b')).toBe('a\\\\x0d\\\\x0ab\\\\x1b'); // escapes are text too: their \ is doubled for Markdown
    expectClean(escapeMarkdown(NASTY));
    expectNoRawHtml(escapeMarkdown(NASTY));
  });
});

describe('renderers', () => {
  it('analyze: the terminal table holds no raw control character, the Markdown no raw HTML', () => {
    const a = nastyAnalysis();
    const t = renderAnalysisTable(a);
    expectClean(t);
    expectVisible(t);
    expect(t).toContain('<script>'); // a terminal shows HTML as the text it is
    const md = renderAnalysisMarkdown(a);
    expectClean(md);
    expectNoRawHtml(md);
    expect(md).toContain('\\\\x1b\\[31mred'); // the escape, with Markdown's own escapes on top
    // every table row keeps its column count: the value's | is escaped
    for (const l of md.split('\n').filter((x) => x.startsWith('| ') && x.includes('pip:'))) expect(l.split(/(?<!\\)\|/).length - 2).toBe(5);
    const layerRow = md.split('\n').find((l) => l.startsWith('| 1 | <code>'))!;
    expect(layerRow.split(/(?<!\\)\|/).length - 2).toBe(7);
    const html = renderAnalysisHtml([a]);
    expectClean(html);
    expectVisible(html);
    expect(html).not.toContain('<script>');
  });

  it('compare: names, owners and steps escaped in the table, Markdown and HTML', () => {
    const a = nastyAnalysis();
    const b = makeAnalysis({ reference: 'b:1', imageBytes: 1024 ** 3, kinds: { python: 100 * 1024 ** 2 }, steps: [['RUN true', 1024 ** 3]] });
    const c = compare([{ name: NASTY, analysis: a }, { name: `b${NASTY}`, analysis: { ...b, findings: computeFindings(b) } }], 0, '0.0.0');
    const t = renderComparisonTable(c);
    expectClean(t);
    expectVisible(t);
    const md = renderComparisonMarkdown(c);
    expectClean(md);
    expectNoRawHtml(md);
    expect(md).toMatch(/^### .*\\\\x1b.* vs /m);
    const html = renderComparisonHtml(c);
    expectClean(html);
    expect(html).not.toContain('<script>');
  });

  it('views (coldstart): every block in every syntax', () => {
    const v: View = {
      title: `imgscope coldstart: ${NASTY}`,
      blocks: [
        { kind: 'heading', text: NASTY },
        { kind: 'text', text: `NOT restored: ${NASTY}: gone` },
        { kind: 'text', text: `- ${NASTY}` },
        { kind: 'table', head: ['#', NASTY], rows: [['1', NASTY], [NASTY, '2']] },
      ],
    };
    const t = viewToTable(v);
    expectClean(t);
    expectVisible(t);
    const md = viewToMarkdown(v);
    expectClean(md);
    expectNoRawHtml(md);
    expect(md).toContain('\n\\- a\\\\x1b'); // a paragraph that would start a list does not
    for (const l of md.split('\n').filter((x) => x.startsWith('| '))) expect(l.split(/(?<!\\)\|/).length - 2).toBe(2);
    const html = viewToHtml(v).join('\n');
    expectClean(html);
    expect(html).not.toContain('<script>');
  });
});

async function cli(args: string[]) {
  return execa('node', [CLI, ...args], { reject: false, env: { IMGSCOPE_CACHE: 'off' }, extendEnv: true });
}

describe('the CLI', () => {
  const ESC_NAME = 'srv/evil\x1b]0;pwned\x07name\x1b[2J.bin';
  const STEP = '/bin/sh -c echo <script>alert(1)</script> <!-- x\rhidden \u202e';

  it('analyze: a layer file named with ESC (hidden later: the waste table and finding name it), a step with <script> and CR, a tag with ESC: table and Markdown', async () => {
    const p = path.join(tmpDir(), 'evil.tar');
    await writeDockerArchiveLegacy(
      p,
      {
        layers: [
          { entries: [file(ESC_NAME, 1_200_000), text('app/ok.txt', 'hello')], createdBy: STEP },
          { entries: [whiteout(ESC_NAME)], createdBy: '/bin/sh -c rm /srv/evil*' },
        ],
      },
      ['evil\x1b[41m:latest'],
    );
    const json = await cli(['analyze', p, '-f', 'json', '-q']);
    expect(json.exitCode, json.stderr).toBe(0);
    const rep = JSON.parse(json.stdout) as Analysis;
    // JSON keeps the exact values
    expect(rep.waste.topPaths[0]!.path).toBe(ESC_NAME);
    expect(rep.layers[0]!.createdBy).toBe(STEP);
    expect(rep.image.tags).toEqual(['evil\x1b[41m:latest']);

    const t = await cli(['analyze', p, '-q']);
    expect(t.exitCode, t.stderr).toBe(0);
    expectClean(t.stdout);
    expect(t.stdout).toContain('evil\\x1b]0;pwned\\x07name\\x1b[2J.bin');
    expect(t.stdout).toContain('evil\\x1b[41m:latest');
    expect(t.stdout).toContain('<script>');

    const md = await cli(['analyze', p, '-q', '-f', 'markdown']);
    expect(md.exitCode, md.stderr).toBe(0);
    expectClean(md.stdout);
    expectNoRawHtml(md.stdout);
    expect(md.stdout).toContain('evil\\\\x1b\\]0;pwned\\\\x07name\\\\x1b\\[2J.bin');
  });

  it('an error naming a file with ESC, and a JSON error snippet with ESC, print \\x1b on stderr', async () => {
    const missing = await cli(['analyze', 'docker-archive:/nonexistent/a\x1b[2Jb\u202e.tar', '-q']);
    expect(missing.exitCode).toBe(2);
    expectClean(missing.stderr);
    expect(missing.stderr).toContain('/nonexistent/a\\x1b[2Jb\\u202e.tar');
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);

    const p = path.join(tmpDir(), 'badjson.tar');
    writeFileSync(p, await packTar([text('manifest.json', '\x1b]0;pwned\x07\x1b[31m[{"Config":1}]\r')]));
    const bad = await cli(['analyze', p, '-q']);
    expect(bad.exitCode).toBe(2);
    expectClean(bad.stderr);
    expect(bad.stderr).toMatch(/^imgscope: .*manifest\.json.*\\x1b/);

    // commander's own usage errors echo the argument: escaped too
    const usage = await cli(['analyze', p, '--format', 'x\x1b[2J']);
    expect(usage.exitCode).toBe(2);
    expectClean(usage.stderr);
    expect(usage.stderr).toContain('x\\x1b[2J');
  });
});
