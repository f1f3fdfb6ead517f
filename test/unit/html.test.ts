import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { compare } from '../../src/compare.js';
import { computeFindings } from '../../src/findings/rules.js';
import { esc, renderAnalysisHtml, renderComparisonHtml } from '../../src/render/html.js';
import { formatBytes } from '../../src/util/format.js';
import { makeAnalysis } from '../helpers/analysis.js';
import { tmpDir, writeOciDir } from '../helpers/images.js';
import { analyzeChecked } from '../helpers/report.js';
import { file, text } from '../helpers/tar.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const tags = (html: string, t: string) => [(html.match(new RegExp(`<${t}[ >]`, 'g')) ?? []).length, (html.match(new RegExp(`</${t}>`, 'g')) ?? []).length];

describe('--format html', () => {
  it('renders the report\'s own figures, escapes every name, and balances its tags', async () => {
    const d = path.join(tmpDir(), 'html');
    await writeOciDir(d, [{ img: { config: {}, layers: [{ entries: [file('usr/bin/gcc-12', 3 * 1024 * 1024), text('app/<script>alert(1)<\/script>/.env', 'TOKEN=1'), file('root/.cache/pip/y', 2048)] }] } }]);
    const a = await analyzeChecked(`oci:${d}`);
    const html = renderAnalysisHtml([a]);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toContain('<script>');
    expect(html).toContain(esc('/app/<script>alert(1)<\/script>/.env'));
    expect(html).toContain(`Image size<b>${formatBytes(a.totals.imageBytes)}</b>`);
    expect(html).toContain(`Final (visible)<b>${formatBytes(a.totals.finalBytes)}</b>`);
    for (const f of a.findings) expect(html).toContain(`<code>${f.id}</code>`);
    for (const t of ['table', 'tr', 'td', 'ul', 'li', 'h2', 'div']) {
      const [open, close] = tags(html, t);
      expect(open, t).toBe(close);
    }
  });

  it('compare and the CLI write it, atomically to --output', async () => {
    const x = makeAnalysis({ reference: 'a:1', imageBytes: 3 * 1024 ** 3, kinds: { toolchain: 500 * 1024 ** 2 } });
    const y = makeAnalysis({ reference: 'b:1', imageBytes: 1024 ** 3, kinds: { python: 100 * 1024 ** 2 } });
    const c = compare([{ name: 'naive', analysis: { ...x, findings: computeFindings(x) } }, { name: 'slim', analysis: { ...y, findings: computeFindings(y) } }], 0, '0.0.0');
    const html = renderComparisonHtml(c);
    expect(html).toContain('<td class="n">3.00 GiB</td>');
    expect(html).toContain('<code>toolchain-in-image</code>');
    const dir = tmpDir();
    const r1 = path.join(dir, 'a.json');
    const r2 = path.join(dir, 'b.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(r1, JSON.stringify(x));
    writeFileSync(r2, JSON.stringify(y));
    const out = path.join(dir, 'cmp.html');
    const r = await execa('node', [CLI, 'compare', r1, r2, '--names', 'naive,slim', '-f', 'html', '-o', out], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('<h1>imgscope comparison</h1>');
  });
});
