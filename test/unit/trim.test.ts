/**
 * Markdown within GitHub's limits: the job summary (1 MiB) and `--format markdown --compact` (64 KiB,
 * a PR comment). The longest table is cut first, each cut says how many rows it left out, and what
 * was not cut is there whole.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
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

  it("the job summary fits what is left of the step's 1 MiB after what the file already holds", async () => {
    const tar = path.join(tmpDir(), 'small.tar');
    const entries = Array.from({ length: 80 }, (_, i) => [
      text(`${SP}/pkg_${i}-1.0.dist-info/RECORD`, `pkg_${i}/__init__.py,,100\npkg_${i}-1.0.dist-info/RECORD,,\n`),
      file(`${SP}/pkg_${i}/__init__.py`, 100),
    ]).flat();
    await writeDockerArchiveLegacy(tar, { layers: [{ entries }] });
    // the summary this image gets in an empty file
    const fresh = path.join(tmpDir(), 'fresh.md');
    writeFileSync(fresh, '');
    expect((await run(['analyze', `docker-archive:${tar}`, '-q', '-f', 'json', '--top', '1000'], { GITHUB_STEP_SUMMARY: fresh })).exitCode).toBe(0);
    const full = bytes(readFileSync(fresh, 'utf8'));
    expect(full).toBeGreaterThan(5000);
    // an earlier command of the step left all but 2,500 bytes of the limit taken
    const summary = path.join(tmpDir(), 'summary.md');
    const before = 'x'.repeat(99) + '\n';
    writeFileSync(summary, before.repeat(Math.floor((STEP_SUMMARY_LIMIT - 2500) / 100)));
    const held = statSync(summary).size;
    const r = await run(['analyze', `docker-archive:${tar}`, '-q', '-f', 'json', '--top', '1000'], { GITHUB_STEP_SUMMARY: summary });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(statSync(summary).size).toBeLessThanOrEqual(STEP_SUMMARY_LIMIT);
    const added = readFileSync(summary, 'utf8').slice(held);
    expect(added).toContain('Cut:');
    // a second run in the same step still stays under the limit
    const r2 = await run(['analyze', `docker-archive:${tar}`, '-q', '-f', 'json'], { GITHUB_STEP_SUMMARY: summary });
    expect(r2.exitCode).toBe(0);
    expect(statSync(summary).size).toBeLessThanOrEqual(STEP_SUMMARY_LIMIT);
    // a file already at the limit gets nothing more, and stderr says why
    writeFileSync(summary, 'y'.repeat(STEP_SUMMARY_LIMIT));
    const r3 = await run(['analyze', `docker-archive:${tar}`, '-q', '-f', 'json'], { GITHUB_STEP_SUMMARY: summary });
    expect(r3.exitCode).toBe(0);
    expect(statSync(summary).size).toBe(STEP_SUMMARY_LIMIT);
    expect(r3.stderr).toMatch(/^imgscope: GITHUB_STEP_SUMMARY \(.*\) already holds 1048576 bytes of GitHub's 1 MiB; nothing added to it$/);
  });
});
