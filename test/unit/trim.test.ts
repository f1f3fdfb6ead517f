/**
 * Markdown within GitHub's limits: the job summary (1 MiB) and `--format markdown --compact` (64 KiB,
 * a PR comment). The longest table is cut first, each cut says how many rows it left out, and what
 * was not cut is there whole.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analysesMarkdown, COMMENT_LIMIT, STEP_SUMMARY_LIMIT, truncateMarkdown } from '../../src/render/trim.js';
import { renderAnalysisMarkdown } from '../../src/render/analyze.js';
import type { Analysis, Finding } from '../../src/report/types.js';
import { makeAnalysis } from '../helpers/analysis.js';
import { run } from '../helpers/cli.js';
import { tmpDir, writeDockerArchiveLegacy } from '../helpers/images.js';
import { file, text } from '../helpers/tar.js';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
const SP = 'usr/local/lib/python3.11/site-packages';

/** A report with `owners` owners and `findings` findings (each with a long fix), built in code. */
function bigReport(owners: number, findings: number): Analysis {
  const o: Record<string, number> = {};
  for (let i = 0; i < owners; i++) o[`pip:package-with-a-long-name-${String(i).padStart(6, '0')}`] = 1000 + i;
  const a = makeAnalysis({ reference: 'big:1', imageBytes: 1e9, owners: o, kinds: { other: Object.values(o).reduce((s, v) => s + v, 0) }, steps: [['RUN a', 1], ['RUN b', 2]] });
  const f: Finding[] = Array.from({ length: findings }, (_, i) => ({
    id: 'unwanted-files', severity: 'low', title: `finding number ${i}`, savingBytes: i, evidence: { items: [{ path: `some/path/${i}` }] }, fix: 'x'.repeat(300),
  }));
  return { ...a, findings: f };
}

const rowsOf = (md: string, prefix: string): number => md.split('\n').filter((l) => l.startsWith(prefix)).length;

describe('Markdown within GitHub limits', () => {
  it('cuts the longest table first, down to what the limit needs, and says how many rows it left out', () => {
    const a = bigReport(20_000, 50);
    const full = renderAnalysisMarkdown(a, 100_000);
    expect(bytes(full)).toBeGreaterThan(STEP_SUMMARY_LIMIT);
    const fitted = analysesMarkdown([a], 100_000, STEP_SUMMARY_LIMIT, '1 MiB');
    expect(bytes(fitted)).toBeLessThanOrEqual(STEP_SUMMARY_LIMIT);
    const kept = rowsOf(fitted, '| <code>pip:');
    expect(kept).toBeGreaterThan(1000);
    expect(fitted).toContain(`Cut: ${20_000 - kept} of the 20000 rows of "Who installed it (top 100000 owners)" are left out to stay under 1 MiB`);
    // the findings table (shorter) is whole
    expect(rowsOf(fitted, '| low |')).toBe(50);
    expect(fitted).not.toContain('rows of "Findings');
    // and it is the same document up to the cut
    expect(full.startsWith(fitted.slice(0, fitted.indexOf('| <code>pip:') + 1000))).toBe(true);
  });

  it('under 64 KiB both long tables are cut, the longest first, each with its note', () => {
    const a = bigReport(3000, 400);
    const fitted = analysesMarkdown([a], 100_000, COMMENT_LIMIT, '64 KiB');
    expect(bytes(fitted)).toBeLessThanOrEqual(COMMENT_LIMIT);
    const owners = rowsOf(fitted, '| <code>pip:');
    const findings = rowsOf(fitted, '| low |');
    expect(fitted).toContain(`Cut: ${3000 - owners} of the 3000 rows of "Who installed it (top 100000 owners)"`);
    expect(fitted).toContain(`Cut: ${400 - findings} of the 400 rows of "Findings (ranked by what each fix saves)"`);
    // the layers table is untouched
    expect(fitted).toContain('| 2 | <code>RUN b</code> |');
  });

  it('text with no table to cut is cut at a line, with a last line that says so', () => {
    const t = truncateMarkdown('line\n'.repeat(50_000), 1000, '1 KB');
    expect(bytes(t)).toBeLessThanOrEqual(1000);
    expect(t).toMatch(/\n_Cut: the rest of this report is left out to stay under 1 KB; .*_\n$/);
    expect(truncateMarkdown('short\n', 1000, 'x')).toBe('short\n');
  });

  it('analyze --format markdown --compact stays under 64 KiB for an image of 2,000 pip packages; the job summary has them all', async () => {
    const n = 2000;
    const entries = Array.from({ length: n }, (_, i) => [
      text(`${SP}/pkg_${i}-1.0.dist-info/RECORD`, `pkg_${i}/__init__.py,,100\npkg_${i}-1.0.dist-info/RECORD,,\n`),
      file(`${SP}/pkg_${i}/__init__.py`, 100),
    ]).flat();
    const tar = path.join(tmpDir(), 'many.tar');
    await writeDockerArchiveLegacy(tar, { layers: [{ entries }] });
    const summary = path.join(tmpDir(), 'summary.md');
    writeFileSync(summary, '');
    const r = await run(['analyze', `docker-archive:${tar}`, '-q', '--format', 'markdown', '--compact', '--top', '100000'], { GITHUB_STEP_SUMMARY: summary });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(bytes(r.stdout)).toBeLessThanOrEqual(COMMENT_LIMIT);
    const kept = rowsOf(r.stdout, '| <code>pip:pkg-');
    expect(kept).toBeGreaterThan(100);
    expect(r.stdout).toContain(`Cut: ${n - kept} of the ${n} rows of "Who installed it (top 100000 owners)" are left out to stay under 64 KiB (a PR comment)`);
    // the job summary's limit is 1 MiB: every package is there
    const s = readFileSync(summary, 'utf8');
    expect(rowsOf(s, '| <code>pip:pkg-')).toBe(n);
    expect(s).not.toContain('Cut:');
  }, 60_000);
});
