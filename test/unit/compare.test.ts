import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { compare } from '../../src/compare.js';
import { matchColdStarts } from '../../src/reports.js';
import { evaluate, loadConfig, parseFraction, parseRules, parseSize, resolveRules } from '../../src/gates.js';
import { comparisonRows, COMPARISON_HEAD, renderComparisonMarkdown, renderComparisonTable } from '../../src/render/compare.js';
import { computeFindings, SEVERITIES } from '../../src/findings/rules.js';
import type { ColdStart } from '../../src/report/types.js';
import { makeAnalysis } from '../helpers/analysis.js';
import { tmpDir } from '../helpers/images.js';
import { expectSchemaValid } from '../helpers/report.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

const naive = makeAnalysis({
  reference: 'app:naive',
  imageBytes: 2 * GiB,
  wasteBytes: 100 * MiB,
  efficiency: 0.9,
  kinds: { toolchain: 500 * MiB, caches: 300 * MiB, python: 400 * MiB, system: 700 * MiB },
  owners: { 'apt:gcc-12': 500 * MiB, 'pip:torch': 400 * MiB, unowned: 1000 * MiB, 'apt:make': 1 * MiB },
  steps: [['ADD file:0123456789abcdef0123 in /', 1 * GiB], ['RUN apt-get install build-essential', 1 * GiB]],
});
const multi = makeAnalysis({
  reference: 'app:multi',
  imageBytes: 1 * GiB,
  kinds: { python: 450 * MiB, system: 500 * MiB },
  owners: { 'pip:torch': 450 * MiB, unowned: 400 * MiB, 'pip:fastapi': 100 * MiB },
  steps: [['ADD file:fedcba9876543210fedc in /', 1 * GiB - 5], ['COPY --from=builder /install /usr/local', 5]],
});
const st = (v: number) => ({ median: v, p90: v, min: v, max: v, n: 1 });
/** A cold measurement: one run whose pull took `pull` ms and whose start → ready took `toReady` ms. */
const cold = (ref: string, pull: number, toReady: number, downloaded: number): ColdStart =>
  ({
    reference: ref,
    runs: [{ pull, create: 10, start: 20, ready: toReady - 30, startToReady: toReady, total: pull + toReady }],
    phases: { pull: st(pull), total: st(pull + toReady) },
    cold: { imageIdBefore: null, removedReferences: [], deletedImages: 0, sharedLayers: [], notRestored: [] },
    pulls: [{ downloadedBytes: downloaded, presentBytes: ref === 'app:multi' ? 50 * MiB : 0 }],
    workingSet: null,
  }) as unknown as ColdStart;
/** A warm measurement written before startToReady existed (create + start + ready only). */
const warm = (ref: string, toReady: number, workingSetBytes?: number): ColdStart =>
  ({
    reference: ref,
    runs: [{ create: 10, start: 20, ready: toReady - 30, total: toReady }],
    phases: { total: st(toReady) },
    ...(workingSetBytes !== undefined ? { workingSet: { bytes: workingSetBytes, share: 0.25 } } : {}),
  }) as unknown as ColdStart;

describe('compare', () => {
  const c = compare(
    [
      { name: 'naive', analysis: naive, starts: [cold('app:naive', 40_000, 1200, 900 * MiB), warm('app:naive', 1100)] },
      { name: 'multi-stage', analysis: multi, starts: [warm('app:multi', 900, 100 * MiB), cold('app:multi', 9000, 1000, 300 * MiB)] },
    ],
    0,
    '0.0.0',
  );

  it('computes deltas against the baseline', () => {
    expect(c.rows.map((r) => [r.name, r.imageBytes, r.vsBaseline.imageBytes, r.vsBaseline.imageRatio, r.coldStartMs, r.vsBaseline.coldStartMs])).toEqual([
      ['naive', 2 * GiB, 0, 1, 41_200, 0],
      ['multi-stage', GiB, -GiB, 0.5, 10_000, -31_200],
    ]);
    // pull and start → ready from the cold run, warm start from the warm one (create + start + ready when older)
    expect(c.rows.map((r) => [r.pullMs, r.startToReadyMs, r.warmStartMs, r.downloadedBytes, r.workingSetBytes, r.vsBaseline.warmStartMs])).toEqual([
      [40_000, 1200, 1100, 900 * MiB, null, 0],
      [9000, 1000, 900, 300 * MiB, 100 * MiB, -200],
    ]);
    // the one cold run's phases, which add up to the cold start (test/unit/charts.test.ts: the median of several)
    expect(c.rows.map((r) => r.coldStartPhases)).toEqual([
      { pullMs: 40_000, createMs: 10, startMs: 20, readyMs: 1170 },
      { pullMs: 9000, createMs: 10, startMs: 20, readyMs: 970 },
    ]);
    const k = Object.fromEntries(c.kinds.map((r) => [r.kind, r.delta[1]]));
    expect(k).toMatchObject({ toolchain: -500 * MiB, caches: -300 * MiB, python: 50 * MiB, system: -200 * MiB });
    const d = c.diffs[0]!;
    expect(d.growers).toEqual([{ owner: 'pip:torch', baseline: 400 * MiB, bytes: 450 * MiB, delta: 50 * MiB }]);
    expect(d.shrinkers).toEqual([{ owner: 'unowned', baseline: 1000 * MiB, bytes: 400 * MiB, delta: -600 * MiB }]);
    expect(d.onlyHere).toEqual([{ owner: 'pip:fastapi', bytes: 100 * MiB }]);
    expect(d.onlyInBaseline).toEqual([{ owner: 'apt:gcc-12', bytes: 500 * MiB }, { owner: 'apt:make', bytes: MiB }]);
    // the base layer's step matches across images although its content hash differs
    expect(d.stepsOnlyHere).toEqual([{ step: 'COPY --from=builder /install /usr/local', bytes: 5 }]);
    expect(d.stepsOnlyInBaseline).toEqual([{ step: 'RUN apt-get install build-essential', bytes: GiB }]);
    expectSchemaValid(c);
  });

  it('matches saved cold-start reports to an analysis by image ID, or by reference and tag', () => {
    const a = { ...naive, image: { ...naive.image, reference: 'docker://127.0.0.1:5055/app:naive', tags: ['127.0.0.1:5055/app:naive'], configDigest: `sha256:${'a'.repeat(64)}` } };
    const byId = { ...warm('app:naive', 1), imageId: `sha256:${'a'.repeat(64)}` } as ColdStart; // timed under its local name
    const byRef = { ...cold('127.0.0.1:5055/app:naive', 1, 1, 1), imageId: `sha256:${'b'.repeat(64)}` } as ColdStart;
    const other = { ...warm('app:other', 1), imageId: `sha256:${'c'.repeat(64)}` } as ColdStart;
    expect(matchColdStarts(a, [byId, other, byRef])).toEqual([byId, byRef]);
  });

  it('renders Markdown that parses back into the same rows', () => {
    const md = renderComparisonMarkdown(c);
    const lines = md.split('\n');
    const start = lines.findIndex((l) => l.startsWith('| Approach'));
    const parse = (l: string): string[] => l.replace(/^\| | \|$/g, '').split(/ (?<!\\)\| /);
    expect(parse(lines[start]!)).toEqual(COMPARISON_HEAD);
    expect(lines[start + 1]).toMatch(/^\| :--- \| ---: /);
    const body = lines.slice(start + 2, start + 2 + c.rows.length).map(parse);
    expect(body).toEqual(comparisonRows(c));
    // a pull that found layers on the daemon says so
    expect(c.rows.map((r) => r.presentBytes)).toEqual([0, 50 * MiB]);
    expect(body[0]![4]).toBe('40.0 s');
    expect(body[1]).toEqual(['multi-stage', '1.00 GiB', '341 MiB', '950 MiB', '9000 ms (partly warm: 50.0 MiB of 350 MiB already there)', '1000 ms', '10.0 s', '900 ms', '100 MiB (25.0%)', '−50.0% size, −31.2 s cold start']);
  });

  it('lines up the findings of every image, worst first, in JSON, table and Markdown', () => {
    const withFindings = (a: typeof naive) => ({ ...a, findings: computeFindings(a) });
    const x = compare([{ name: 'naive', analysis: withFindings(naive) }, { name: 'multi-stage', analysis: withFindings(multi) }], 0, '0.0.0');
    expectSchemaValid(x);
    const row = (id: string) => x.findings!.find((f) => f.id === id)!;
    // naive carries 500 MiB of toolchain; multi-stage none
    expect(row('toolchain-in-image').images).toEqual([{ severity: 'medium', savingBytes: 500 * MiB, savingSeconds: expect.any(Number) as number }, null]);
    // both run as root (makeAnalysis leaves User empty)
    expect(row('runs-as-root').images.map((i) => i?.severity)).toEqual(['medium', 'medium']);
    const sev = x.findings!.map((f) => f.severity);
    expect([...sev].sort((a, b) => SEVERITIES.indexOf(a) - SEVERITIES.indexOf(b))).toEqual(sev);
    // 500 MiB at the default model: 1/3 compressed (makeAnalysis) over 100 MB/s + unpacking at 150 MB/s
    const secs = (500 * MiB * (1 / 3)) / 100e6 + (500 * MiB) / 150e6;
    expect(row('toolchain-in-image').images[0]!.savingSeconds).toBeCloseTo(secs, 1);
    expect(renderComparisonTable(x)).toMatch(new RegExp(`│ toolchain-in-image \\(medium\\) +│ +✗ 500 MiB, ~${secs.toFixed(1)} s/pull +│ +· +│`));
    // the `~` is escaped: GitHub reads ~…~ as strikethrough
    expect(renderComparisonMarkdown(x)).toContain(`| <code>toolchain-in-image</code> (medium) | ✗ 500 MiB, \\~${secs.toFixed(1)} s/pull | · |`);
  });
});

describe('budgets', () => {
  const at = (rules: Parameters<typeof parseRules>[0], base = naive) => evaluate([{ name: 'naive', analysis: naive }], parseRules(rules, 'test'), base).map((f) => f.rule);

  it('each rule passes at its boundary and fails just past it', () => {
    const t = naive.totals;
    expect(at({ maxSize: t.imageBytes })).toEqual([]);
    expect(at({ maxSize: t.imageBytes - 1 })).toEqual(['max-size']);
    expect(at({ maxCompressed: t.compressedBytes! })).toEqual([]);
    expect(at({ maxCompressed: t.compressedBytes! - 1 })).toEqual(['max-compressed']);
    expect(at({ maxWaste: 100 * MiB })).toEqual([]);
    expect(at({ maxWaste: 100 * MiB - 1 })).toEqual(['max-waste']);
    expect(at({ minEfficiency: '90%' })).toEqual([]);
    expect(at({ minEfficiency: 0.9001 })).toEqual(['min-efficiency']);
    expect(at({ forbidKind: 'cuda-devel,model-weights' })).toEqual([]);
    expect(at({ forbidKind: 'cuda-devel,toolchain' })).toEqual(['forbid-kind']);
    expect(at({ maxKind: ['caches=300MiB'] })).toEqual([]);
    expect(at({ maxKind: [`caches=${300 * MiB - 1}`] })).toEqual(['max-kind']);
    expect(at({ maxOwner: { 'pip:torch': '400MiB' } })).toEqual([]);
    expect(at({ maxOwner: { 'pip:torch': 400 * MiB - 1 } })).toEqual(['max-owner']);
    const grown = makeAnalysis({ reference: 'x', imageBytes: 1000 });
    const base = makeAnalysis({ reference: 'b', imageBytes: 1000 });
    const growth = (bytes: number, limit: string): string[] =>
      evaluate([{ name: 'x', analysis: { ...grown, totals: { ...grown.totals, imageBytes: bytes } } }], parseRules({ maxGrowth: limit }, 't'), base).map((f) => f.message);
    expect(growth(1050, '5%')).toEqual([]);
    expect(growth(1051, '5%')).toEqual(['image size grew 5.10% (1000 B (1000 B) → 1.03 KiB (1051 B)) > limit 5.00%']);
    expect(evaluate([{ name: 'x', analysis: makeAnalysis({ reference: 'x', imageBytes: 1, compressedBytes: null }) }], parseRules({ maxCompressed: '1GB' }, 't'))[0]!.message).toMatch(/compressed size unknown/);
  });

  it('parses sizes and fractions', () => {
    expect(parseSize('2GB', 'x')).toBe(2e9);
    expect(parseSize('1.5GiB', 'x')).toBe(1.5 * GiB);
    expect(parseSize('3G', 'x')).toBe(3 * GiB);
    expect(parseSize('800', 'x')).toBe(800);
    expect(() => parseSize('lots', 'x')).toThrow(/invalid size 'lots'/);
    expect(parseFraction('5%', 'x')).toBeCloseTo(0.05, 12);
    expect(() => parseRules({ forbidKind: 'compilers' }, 'x')).toThrow(/unknown kind 'compilers'/);
  });

  it('merges the config file and the flags, flags winning', () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, '.imgscope.yml'), 'rules:\n  max-size: 1GB\n  max-waste: 10MiB\n  forbid-kind: [toolchain, cuda-devel]\n  max-owner:\n    pip:torch: 300MiB\n');
    const cfg = loadConfig(undefined, dir);
    expect(cfg.file).toBe(path.join(dir, '.imgscope.yml'));
    const merged = resolveRules(cfg, { maxSize: '5GB', maxWaste: undefined });
    expect(merged).toEqual({ maxSize: 5e9, maxWaste: 10 * MiB, forbidKinds: ['toolchain', 'cuda-devel'], maxOwner: { 'pip:torch': 300 * MiB } });
    // a bad value is blamed on where it came from: the flag, or the file and its key
    expect(() => resolveRules(cfg, { maxSize: 'lots' })).toThrow(/^--max-size: invalid size 'lots'/);
    writeFileSync(path.join(dir, 'lots.yml'), 'max-size: lots\n');
    const lots = loadConfig(path.join(dir, 'lots.yml'));
    expect(() => resolveRules(lots, {})).toThrow(/lots\.yml max-size: invalid size 'lots'/);
    expect(resolveRules(lots, { maxSize: '1GB' })).toEqual({ maxSize: 1e9 });
    writeFileSync(path.join(dir, 'bad.yml'), 'max-sise: 1GB\n');
    expect(() => loadConfig(path.join(dir, 'bad.yml'))).toThrow(/bad\.yml: unknown rule 'max-sise'/);
  });

  it('fails a CI job from the CLI with one line per rule, and writes the GitHub job summary', async () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, 'naive.json'), JSON.stringify(naive));
    writeFileSync(path.join(dir, 'multi.json'), JSON.stringify(multi));
    writeFileSync(path.join(dir, '.imgscope.yml'), 'max-size: 1.5GiB\nforbid-kind: toolchain\n');
    const summary = path.join(dir, 'summary.md');
    writeFileSync(summary, '# earlier step\n');
    const r = await execa('node', [CLI, 'compare', 'naive.json', 'multi.json', '--names', 'naive,multi', '-f', 'json'], {
      cwd: dir, reject: false, env: { GITHUB_STEP_SUMMARY: summary },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'imgscope: FAIL max-size: naive: image size 2.00 GiB (2147483648 B) > limit 1.50 GiB (1610612736 B)',
      'imgscope: FAIL forbid-kind: naive: toolchain is forbidden but the image carries 500 MiB (524288000 B)',
    ]);
    expectSchemaValid(JSON.parse(r.stdout));
    const written = readFileSync(summary, 'utf8');
    expect(written.startsWith('# earlier step\n## imgscope comparison')).toBe(true);
    expect(written).toContain('| multi | 1.00 GiB |');
    expect(written).toContain('### Budgets: 2 failed');
    writeFileSync(path.join(dir, 'junk.json'), '{"hello": 1}');
    const bad = await execa('node', [CLI, 'compare', 'naive.json', 'junk.json'], { cwd: dir, reject: false });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^imgscope: junk\.json: not an imgscope report \(schemaVersion 1\): /);
    // flags win over the file: a larger budget and no forbidden kinds pass
    const ok = await execa('node', [CLI, 'compare', 'naive.json', 'multi.json', '--max-size', '3GiB', '--forbid-kind', 'cuda-devel'], { cwd: dir, reject: false, env: { GITHUB_STEP_SUMMARY: '' } });
    expect(ok.stderr).toBe('');
    expect(ok.exitCode).toBe(0);
  });
});
