import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { compare } from '../../src/compare.js';
import { computeFindings } from '../../src/findings/rules.js';
import { createHash } from 'node:crypto';
import { esc, renderAnalysisHtml, renderComparisonHtml, scriptJson } from '../../src/render/html.js';
import { analyzeReference } from '../../src/pipeline.js';
import type { TreeData } from '../../src/visual/tree.js';
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

  it('analyze with a treemap: the data once, `<` escaped, the one script allowed by its hash, no request allowed', async () => {
    const d = path.join(tmpDir(), 'tree');
    await writeOciDir(d, [{ img: { config: {}, layers: [{ entries: [file('app/</script><!--x', 4096), file('usr/bin/tool', 8192)], createdBy: 'RUN echo </script>' }] } }]);
    let tree: TreeData | undefined;
    const a = await analyzeReference(`oci:${d}`, { onTree: (t) => (tree = t) });
    const html = renderAnalysisHtml([a], 15, [tree]);
    const data = [...html.matchAll(/<script type="application\/json" class="tm-data">([^]*?)<\/script>/g)];
    expect(data).toHaveLength(1);
    expect(data[0]![1]).not.toContain('<');
    expect(JSON.parse(data[0]![1]!)).toEqual(tree);
    const scripts = [...html.matchAll(/<script type="module">([^]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(1);
    const policy = (/<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '').replaceAll('&#39;', "'");
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain(`script-src 'sha256-${createHash('sha256').update(scripts[0]!).digest('base64')}'`);
    expect(policy).not.toMatch(/connect-src|unsafe-eval|script-src[^;]*unsafe-inline/);
    // the tables stay, below the treemap
    expect(html.indexOf('class="tm"')).toBeGreaterThan(0);
    expect(html.indexOf('class="tm"')).toBeLessThan(html.indexOf('<table'));
    expect(html).toContain('<td');
    // without the data: no script at all
    const plain = renderAnalysisHtml([a]);
    expect(plain).not.toContain('<script');
    expect(plain).toContain('script-src &#39;none&#39;');
  });

  it('scriptJson escapes every `<`, so no value can close the element or open a comment', () => {
    const v = { p: '</script><!--<script>', q: 'a\u2028b' };
    const s = scriptJson(v);
    expect(s).not.toContain('<');
    expect(JSON.parse(s)).toEqual(v);
  });
});

