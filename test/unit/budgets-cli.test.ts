/** analyze's budgets end to end: the flags read up front, the saved baseline report, one FAIL line per broken rule. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FixtureImage, tmpDir, writeOciDir } from '../helpers/images.js';
import { run } from '../helpers/cli.js';
import { file } from '../helpers/tar.js';

const image = (sizes: number[]): FixtureImage => ({ layers: [{ entries: sizes.map((n, i) => file(`f${i}`, n)) }] });

describe('analyze budgets', () => {
  it('measures growth against a saved report and fails each broken rule on its own line, in the table order', async () => {
    const small = path.join(tmpDir(), 'small');
    const big = path.join(tmpDir(), 'big');
    await writeOciDir(small, [{ img: image([1000, 1000]) }]);
    await writeOciDir(big, [{ img: image([1000, 1000, 1000]) }]);
    const base = path.join(tmpDir(), 'base.json');
    expect((await run(['analyze', `oci:${small}`, '-f', 'json', '-o', base])).exitCode).toBe(0);
    const baseBytes = JSON.parse(readFileSync(base, 'utf8')).totals.imageBytes as number;

    const same = await run(['analyze', `oci:${small}`, '-q', '--baseline', base, '--max-growth', '0%'], { GITHUB_STEP_SUMMARY: '' });
    expect(same.stderr).toBe('');
    expect(same.exitCode).toBe(0);

    const summary = path.join(tmpDir(), 'summary.md');
    writeFileSync(summary, '');
    const grown = await run(['analyze', `oci:${big}`, '-q', '-f', 'json', '--baseline', base, '--max-growth', '10%', '--max-size', String(baseBytes)], { GITHUB_STEP_SUMMARY: summary });
    expect(grown.exitCode).toBe(1);
    const bigBytes = JSON.parse(grown.stdout).totals.imageBytes as number;
    const lines = grown.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^imgscope: FAIL max-size: oci:.*: image size .* \\(${bigBytes} B\\) > limit .* \\(${baseBytes} B\\)$`));
    expect(lines[1]).toMatch(new RegExp(`^imgscope: FAIL max-growth: oci:.*: image size grew ${(((bigBytes - baseBytes) / baseBytes) * 100).toFixed(2)}% `));
    expect(readFileSync(summary, 'utf8')).toContain('### Budgets: 2 failed');
  });

  it('--fail-on with an unknown finding id is exit 2, one line listing the ids the rules know (read from their source)', async () => {
    const img = path.join(tmpDir(), 'img');
    await writeOciDir(img, [{ img: image([1000]) }]);
    // the ids every rule can emit, read from src/findings/rules.ts itself
    const src = readFileSync(new URL('../../src/findings/rules.ts', import.meta.url), 'utf8');
    const ids = [...new Set([...src.matchAll(/\bid: '([a-z0-9-]+)'/g)].map((m) => m[1]!))];
    expect(ids.length).toBeGreaterThan(10);
    for (const bad of ['bogus', 'layer-wast', 'high,layer-wast']) {
      const r = await run(['analyze', `oci:${img}`, '-q', '--fail-on', bad], { GITHUB_STEP_SUMMARY: '' });
      expect(r.exitCode, bad).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^imgscope: --fail-on: unknown 'layer-wast'|^imgscope: --fail-on: unknown 'bogus'/);
      for (const id of ids) expect(lines[0]).toContain(id);
      expect(r.stdout).toBe('');
    }
    // every real id and severity is accepted (this image has none of those findings: exit 0)
    const ok = await run(['analyze', `oci:${img}`, '-q', '-f', 'json', '--fail-on', ids.filter((i) => i !== 'runs-as-root' && i !== 'no-healthcheck' && i !== 'base-not-pinned').join(',')], { GITHUB_STEP_SUMMARY: '' });
    expect(ok.stderr).toBe('');
    expect(ok.exitCode).toBe(0);
  });
});
