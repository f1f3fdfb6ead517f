/**
 * dive's CI rules read as dive reads them: the expected efficiency, wasted bytes and user-wasted ratio
 * come from a port of dive's algorithm (filetree/efficiency.go, image/analysis.go) run over the
 * fixture's own layer list, never from imgscope; pass and fail follow dive's comparisons
 * (ci/rules.go) on those numbers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { diveKey, goParseFloat, humanizeParseBytes, isDiveDisabled } from '../../src/ci/dive.js';
import { CLI } from '../helpers/cli.js';
import { type FixtureImage, tmpDir, writeDockerArchiveLegacy } from '../helpers/images.js';
import { dir, type FEntry, file, whiteout } from '../helpers/tar.js';

type L = Array<{ path: string; size?: number; dir?: boolean; wh?: boolean }>;

/** dive's numbers for a layer list: every leaf (file or whiteout) an occurrence; a whiteout of a directory weighs the bytes under it in the layers before. */
function diveNumbers(layers: L[]) {
  const rec = new Map<string, { min: number; cum: number; n: number }>();
  const stacked = new Map<string, number>();
  const dirs = new Set<string>();
  for (const layer of layers) {
    for (const e of layer) {
      if (e.dir) {
        dirs.add(e.path);
        continue;
      }
      let size = e.size ?? 0;
      if (e.wh) size = dirs.has(e.path) ? [...stacked].filter(([p]) => p.startsWith(`${e.path}/`)).reduce((s, [, b]) => s + b, 0) : 0;
      const r = rec.get(e.path) ?? { min: -1, cum: 0, n: 0 };
      r.cum += size;
      r.min = r.min < 0 || size < r.min ? size : r.min;
      r.n++;
      rec.set(e.path, r);
    }
    for (const e of layer) {
      if (e.wh) for (const p of [...stacked.keys()]) if (p === e.path || p.startsWith(`${e.path}/`)) stacked.delete(p);
      else if (!e.dir) stacked.set(e.path, e.size ?? 0);
    }
  }
  const rs = [...rec.values()];
  const cum = rs.reduce((s, r) => s + r.cum, 0);
  const efficiency = cum === 0 ? 1 : rs.reduce((s, r) => s + r.min, 0) / cum;
  const wasted = rs.filter((r) => r.n >= 2).reduce((s, r) => s + r.cum, 0);
  const user = layers.slice(1).reduce((s, l) => s + l.reduce((t, e) => t + (e.size ?? 0), 0), 0);
  return { efficiency, wasted, userWasted: wasted / user };
}

/** dive's verdicts (ci/rules.go) for thresholds as dive holds them (undefined: disabled). */
function diveFails(n: ReturnType<typeof diveNumbers>, t: { eff?: number; bytes?: number; user?: number }): string[] {
  const out: string[] = [];
  if (t.eff !== undefined && t.eff > n.efficiency) out.push('lowest-efficiency');
  if (t.bytes !== undefined && n.wasted > t.bytes) out.push('highest-wasted-bytes');
  if (t.user !== undefined && n.userWasted > t.user) out.push('highest-user-wasted-percent');
  return out;
}

const toEntries = (l: L): FEntry[] => l.map((e) => (e.dir ? dir(e.path) : e.wh ? whiteout(e.path) : file(e.path, e.size!)));

/** Overwrites, a deleted file and a deleted directory: dive's efficiency, wasted bytes and user ratio are all far from trivial. */
const WASTEFUL: L[] = [
  [{ path: 'a', size: 1000 }, { path: 'b', size: 2000 }, { path: 'd', dir: true }, { path: 'd/x', size: 500 }, { path: 'd/y', size: 500 }],
  [{ path: 'a', size: 3000 }, { path: 'c', size: 4000 }],
  [{ path: 'b', wh: true }, { path: 'c', size: 1000 }, { path: 'e', size: 6000 }],
  [{ path: 'd', wh: true }],
];
const CLEAN: L[] = [[{ path: 'a', size: 1000 }], [{ path: 'b', size: 2000 }]];
const SINGLE: L[] = [[{ path: 'a', size: 1000 }]];

async function archive(layers: L[]): Promise<string> {
  const p = path.join(tmpDir(), 'img.tar');
  const img: FixtureImage = { layers: layers.map((l) => ({ entries: toEntries(l) })) };
  await writeDockerArchiveLegacy(p, img);
  return p;
}

/** Runs analyze in `cwd` (in CI mode, CI=true, unless `env` says otherwise), returns the exit code and the rules that failed (FAIL lines). */
async function gate(cwd: string, tar: string, args: string[] = [], env: Record<string, string> = { CI: 'true' }) {
  const r = await execa('node', [CLI, 'analyze', `docker-archive:${tar}`, '-q', '-f', 'json', '-o', path.join(cwd, 'r.json'), ...args], { cwd, reject: false, env: { GITHUB_STEP_SUMMARY: '', ...env } });
  const fails = r.stderr.split('\n').flatMap((l) => /^imgscope: FAIL ([a-z-]+):/.exec(l)?.[1] ?? []);
  return { code: r.exitCode, fails, stderr: r.stderr };
}

function workdir(files: Record<string, string>): string {
  const d = tmpDir();
  mkdirSync(d, { recursive: true });
  for (const [n, t] of Object.entries(files)) writeFileSync(path.join(d, n), t);
  return d;
}

/** dive's README example, verbatim. */
const README_DIVE_CI = `rules:
  # If the efficiency is measured below X%, mark as failed.
  # Expressed as a ratio between 0-1.
  lowestEfficiency: 0.95

  # If the amount of wasted space is at least X or larger than X, mark as failed.
  # Expressed in B, KB, MB, and GB.
  highestWastedBytes: 20MB

  # If the amount of wasted space makes up for X% or more of the image, mark as failed.
  # Note: the base image layer is NOT included in the total image size.
  # Expressed as a ratio between 0-1; fails if the threshold is met or crossed.
  highestUserWastedPercent: 0.20
`;

describe("dive's CI rules", () => {
  it("dive's README example and dive's defaults pass and fail where dive's rules do", async () => {
    const cases: Array<[L[], string]> = [[WASTEFUL, 'wasteful'], [CLEAN, 'clean'], [SINGLE, 'single layer']];
    for (const [layers, name] of cases) {
      const tar = await archive(layers);
      const n = diveNumbers(layers);
      // the README's file as .dive-ci in the working directory
      const readme = await gate(workdir({ '.dive-ci': README_DIVE_CI }), tar);
      const want = diveFails(n, { eff: 0.95, bytes: 20e6, user: 0.2 });
      expect(readme.fails, `${name}: ${readme.stderr}`).toEqual(want);
      expect(readme.code).toBe(want.length ? 1 : 0);
      // an empty .dive-ci: dive's defaults (lowestEfficiency 0.9, highestWastedBytes disabled, highestUserWastedPercent 0.1)
      const defaults = await gate(workdir({ '.dive-ci': '' }), tar);
      expect(defaults.fails, name).toEqual(diveFails(n, { eff: 0.9, user: 0.1 }));
    }
    expect(diveFails(diveNumbers(WASTEFUL), { eff: 0.95, bytes: 20e6, user: 0.2 })).toEqual(['lowest-efficiency', 'highest-user-wasted-percent']);
  });

  it('thresholds at the value pass, one unit past it fail; every spelling and "off" read as dive reads them', async () => {
    const tar = await archive(WASTEFUL);
    const n = diveNumbers(WASTEFUL);
    const at = await gate(workdir({}), tar, ['--lowest-efficiency', String(n.efficiency), '--highest-wasted-bytes', String(n.wasted), '--highest-user-wasted-percent', String(n.userWasted)]);
    expect(at.fails, at.stderr).toEqual([]);
    expect(at.code).toBe(0);
    const past = await gate(workdir({}), tar, ['--highest-wasted-bytes', String(n.wasted - 1)]);
    expect(past.fails).toEqual(['highest-wasted-bytes']);
    // dive 0.13's top-level kebab keys via --ci-config; the rule it leaves out takes dive's default (0.1)
    const kebab = workdir({ 'ci.yml': `lowest-efficiency-threshold: ${n.efficiency}\nhighest-wasted-bytes: ${n.wasted / 1000} KB\n` });
    const k = await gate(kebab, tar, ['--ci-config', path.join(kebab, 'ci.yml')]);
    expect(k.fails).toEqual(diveFails(n, { eff: n.efficiency, bytes: n.wasted, user: 0.1 }));
    // each spelling only where a dive reads it: camelCase at the top level and kebab under rules: are no
    // rule (read, these thresholds would pass the image); dive's defaults apply instead
    const misplaced = workdir({ 'ci.yml': 'lowestEfficiency: 0\nrules:\n  highest-user-wasted-percent: 1\n' });
    const m = await gate(misplaced, tar, ['--ci-config', path.join(misplaced, 'ci.yml')]);
    expect(diveFails(n, { eff: 0, user: 1 })).toEqual([]);
    expect(m.fails).toEqual(diveFails(n, { eff: 0.9, user: 0.1 }));
    expect(m.fails.length).toBeGreaterThan(0);
    // "off" and "disabled" switch rules off
    const off = await gate(workdir({ '.dive-ci': 'rules:\n  lowestEfficiency: off\n  highestUserWastedPercent: disabled\n' }), tar);
    expect(off.fails).toEqual([]);
    // an .imgscope.yml in the directory: the .dive-ci beside it is not read
    const both = await gate(workdir({ '.dive-ci': README_DIVE_CI, '.imgscope.yml': 'max-size: 1GB\n' }), tar);
    expect(both.fails).toEqual([]);
  });

  it("a value dive refuses is exit 2 before any image is read, naming the file and the rule", async () => {
    const d = workdir({ '.dive-ci': 'rules:\n  lowestEfficiency: 1.5\n' });
    const r = await execa('node', [CLI, 'analyze', 'docker-archive:/nonexistent.tar', '-q'], { cwd: d, reject: false, env: { CI: 'true' } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/\.dive-ci lowest-efficiency: '1\.5' is not a ratio between 0 and 1/);
    const bad = await execa('node', [CLI, 'analyze', 'docker-archive:/nonexistent.tar', '-q', '--highest-wasted-bytes', '20 MBs'], { reject: false });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--highest-wasted-bytes: '20 MBs' is not a size dive reads/);
  });

  it("rule keys as dive spells them: camelCase in any case (viper, under rules:), kebab exactly (dive 0.13's yaml tags), nothing else", () => {
    // the spellings dive's sources name: runtime/ci/rules.go (`rules.lowestEfficiency`, read by viper, keys case-insensitive)
    // and cmd/dive/cli/internal/options/ci_rules.go (yaml:"lowest-efficiency-threshold", read by yaml.v3, keys exact)
    const camel = { lowestEfficiency: 'lowestEfficiency', highestWastedBytes: 'highestWastedBytes', highestUserWastedPercent: 'highestUserWastedPercent' } as const;
    const kebab = { 'lowest-efficiency-threshold': 'lowestEfficiency', 'highest-wasted-bytes': 'highestWastedBytes', 'highest-user-wasted-percent': 'highestUserWastedPercent' } as const;
    for (const [k, raw] of Object.entries(camel)) {
      expect([k, diveKey(k)]).toEqual([k, raw]);
      expect([k, diveKey(k.toUpperCase()), diveKey(k.toLowerCase(), true)]).toEqual([k, raw, raw]);
      expect([k, diveKey(k, false)]).toEqual([k, undefined]); // dive 0.13 reads the top level by its yaml tags only
    }
    for (const [k, raw] of Object.entries(kebab)) {
      expect([k, diveKey(k), diveKey(k, false), diveKey(k, true)]).toEqual([k, raw, raw, undefined]);
      expect([k, diveKey(k.toUpperCase()), diveKey(k.replace(/-/g, '_'))]).toEqual([k, undefined, undefined]);
    }
    // keys no dive reads: imgscope's own flag name, snake case, dashes dropped or moved
    for (const k of ['lowest-efficiency', 'lowest_efficiency', 'lowest_efficiency_threshold', 'lowestefficiencythreshold', 'highest_user_wasted_percent', 'highest-wastedBytes', 'lowest-Efficiency']) {
      expect([k, diveKey(k)]).toEqual([k, undefined]);
    }
  });

  it("go-humanize's ParseBytes, Go's ParseFloat and dive's disabled values", () => {
    expect(humanizeParseBytes('20MB')).toBe(20_000_000);
    expect(humanizeParseBytes('20 MiB')).toBe(20 * 1024 * 1024);
    expect(humanizeParseBytes('20 mb')).toBe(20_000_000);
    expect(humanizeParseBytes('1k')).toBe(1000);
    expect(humanizeParseBytes('1Ki')).toBe(1024);
    expect(humanizeParseBytes('1,000')).toBe(1000);
    expect(humanizeParseBytes('1.5 GB')).toBe(1_500_000_000);
    expect(humanizeParseBytes('42')).toBe(42);
    expect(humanizeParseBytes('0.5b')).toBe(0);
    for (const bad of ['MB', '-1', ' 5', '1e3', '20 MBs', '']) expect(humanizeParseBytes(bad), bad).toBeUndefined();
    expect(goParseFloat('0.95')).toBe(0.95);
    expect(goParseFloat('.5')).toBe(0.5);
    expect(goParseFloat('5.')).toBe(5);
    expect(goParseFloat('20%')).toBeUndefined();
    // Go's ParseFloat: nan and inf in any case, hex floats only with a p exponent, '_' only after 0x, no overflow, no trimming
    expect(goParseFloat('nan')).toBeNaN();
    expect(goParseFloat('NaN')).toBeNaN();
    expect(goParseFloat('+Inf')).toBe(Infinity);
    expect(goParseFloat('-infinity')).toBe(-Infinity);
    expect(goParseFloat('0x1p-2')).toBe(0.25);
    expect(goParseFloat('0x1.8p1')).toBe(3);
    expect(goParseFloat('0x_1p0')).toBe(1);
    for (const bad of ['0x10', '1_0', '-nan', '1e400', ' 0.9', '0.9 ', '.', '1..2', 'infinit']) expect(goParseFloat(bad), bad).toBeUndefined();
    // ParseBytes: the number is digits, dots and commas only (1e3, 0x10: e3 and x10 are no unit); 2^64 and up is "too large"
    expect(humanizeParseBytes('15 EiB')).toBe(15 * 2 ** 60);
    for (const bad of ['0x10', '16 EiB', '20EB', '18446744073709551616', 'nan', 'inf']) expect(humanizeParseBytes(bad), bad).toBeUndefined();
    for (const v of ['disabled', 'off', 'OFF', ' Disabled ', '', 'false', false, null]) expect(isDiveDisabled(v), String(v)).toBe(true);
    for (const v of ['0', '0.9', 0]) expect(isDiveDisabled(v), String(v)).toBe(false);
  });

  it("a rule left empty takes dive's default; values are the YAML text dive reads (1e3 and 0x10 refused, nan accepted)", async () => {
    const tar = await archive(WASTEFUL);
    const n = diveNumbers(WASTEFUL);
    // `lowestEfficiency:` with nothing (and `~`): yaml.v3 leaves dive's default (0.9) in place
    for (const empty of ['', ' ~']) {
      const r = await gate(workdir({ '.dive-ci': `rules:\n  lowestEfficiency:${empty}\n  highestUserWastedPercent: 1\n` }), tar);
      expect(r.fails, r.stderr).toEqual(diveFails(n, { eff: 0.9, user: 1 }));
      expect(r.fails).toContain('lowest-efficiency');
    }
    // nan passes dive's range check and then never fails
    const nan = await gate(workdir({ '.dive-ci': 'rules:\n  lowestEfficiency: nan\n  highestUserWastedPercent: NaN\n' }), tar);
    expect(nan.fails, nan.stderr).toEqual([]);
    expect(nan.code).toBe(0);
    // a YAML number's text, not its value: dive refuses 1e3 and 0x10; a size past 2^64 is too large
    for (const v of ['1e3', '0x10', '20 EiB']) {
      const r = await gate(workdir({ '.dive-ci': `rules:\n  highestWastedBytes: ${v}\n` }), tar);
      expect(r.code, v).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`highest-wasted-bytes: '${v}' is not a size dive reads`);
    }
    const hex = await gate(workdir({ '.dive-ci': 'lowest-efficiency-threshold: 0x1p-1\n' }), tar);
    expect(hex.fails).toEqual(diveFails(n, { eff: 0.5, user: 0.1 }));
    // an alias reads as the value it names
    const alias = await gate(workdir({ '.dive-ci': 'x: &t 1\nlowest-efficiency-threshold: *t\nhighest-user-wasted-percent: *t\n' }), tar);
    expect(alias.fails, alias.stderr).toEqual(diveFails(n, { eff: 1, user: 1 }));
  });

  it('a .dive-ci in the working directory is read only in CI mode (CI=true, as dive) or when named by --ci-config', async () => {
    const tar = await archive(WASTEFUL);
    const n = diveNumbers(WASTEFUL);
    const want = diveFails(n, { eff: 0.95, bytes: 20e6, user: 0.2 });
    expect(want.length).toBeGreaterThan(0);
    for (const ci of ['', 'false', '0']) {
      const local = await gate(workdir({ '.dive-ci': README_DIVE_CI }), tar, [], { CI: ci });
      expect(local.fails, `CI=${ci}`).toEqual([]);
      expect(local.code).toBe(0);
    }
    for (const ci of ['true', '1', 'yes']) expect((await gate(workdir({ '.dive-ci': README_DIVE_CI }), tar, [], { CI: ci })).fails, `CI=${ci}`).toEqual(want);
    const d = workdir({ '.dive-ci': README_DIVE_CI });
    const named = await gate(d, tar, ['--ci-config', path.join(d, '.dive-ci')], { CI: '' });
    expect(named.fails).toEqual(want);
    expect(named.code).toBe(1);
  });
});
