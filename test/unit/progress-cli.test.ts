/**
 * Progress on a terminal (issue 16, point 4), as a person sees it: the CLI run under a pseudo-terminal
 * (util-linux `script`) draws a bar whose total is the archive file's size, clears its line at the
 * end and before an error, and prints nothing with --quiet or when stderr is not a terminal.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { CLI, run } from '../helpers/cli.js';
import { tmpDir, writeDockerArchiveLegacy } from '../helpers/images.js';
import { file, packTar } from '../helpers/tar.js';

const haveScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const CLEAR = '\r\x1b[K';
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The CLI under a 120-column pseudo-terminal: everything the terminal got (stdout and stderr together), and the exit code. */
async function onTerminal(args: string[]): Promise<{ out: string; code: number }> {
  const cmd = `stty cols 120 rows 40; exec node ${[CLI, ...args].map(quote).join(' ')}`;
  const r = await execa('script', ['-qfec', cmd, '/dev/null'], { reject: false, env: { IMGSCOPE_CACHE_DIR: path.join(tmpDir(), 'cache') }, extendEnv: true, stdin: 'ignore' });
  return { out: r.stdout, code: r.exitCode ?? -1 };
}

const UNIT: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** The totals the bar lines of `phase` show, each as [its value in bytes, how far rounding may take it]. */
function barTotals(out: string, phase: string): Array<[number, number]> {
  const totals: Array<[number, number]> = [];
  for (const draw of out.split(CLEAR)) {
    if (!draw.startsWith(`${phase}  [`)) continue;
    const m = /\]\s+[\d.]+ (?:B|KiB|MiB|GiB) \/ (\d+)(?:\.(\d+))? (B|KiB|MiB|GiB)/.exec(draw);
    expect(m, draw).not.toBeNull();
    const decimals = m![2]?.length ?? 0;
    const unit = UNIT[m![3]!]!;
    totals.push([Number(`${m![1]}.${m![2] ?? '0'}`) * unit, (0.5 * unit) / 10 ** decimals]);
  }
  return totals;
}

/** A docker-archive of a few MB: two layers of files. */
async function archive(dir: string, name = 'img.tar'): Promise<string> {
  const f = path.join(dir, name);
  await writeDockerArchiveLegacy(f, { layers: [{ entries: [file('usr/lib/big.bin', 3 * 1024 * 1024), file('etc/a.conf', 1234)] }, { entries: [file('opt/app/data.bin', 1_500_000)] }] });
  return f;
}

describe.skipIf(!haveScript)('progress on a terminal', () => {
  it('draws a bar of the archive file read against its size, and clears the line at the end', async () => {
    const dir = tmpDir();
    const f = await archive(dir);
    const size = statSync(f).size;
    const report = path.join(dir, 'report.json');
    const { out, code } = await onTerminal(['analyze', `docker-archive:${f}`, '--no-cache', '--format', 'json', '-o', report]);
    expect(code, out).toBe(0);
    expect(existsSync(report)).toBe(true);
    const totals = barTotals(out, `read ${f}`);
    expect(totals.length, JSON.stringify(out)).toBeGreaterThan(0);
    for (const [shown, within] of totals) expect(Math.abs(shown - size), `shown ${shown}, file ${size}`).toBeLessThanOrEqual(within);
    // one line redrawn: no newline, every draw fits the 120 columns, and the last thing written clears it
    expect(out.includes('\n')).toBe(false);
    for (const draw of out.split(CLEAR)) expect(draw.length, draw).toBeLessThanOrEqual(119);
    expect(out.endsWith(CLEAR)).toBe(true);
  });

  it('a gzip-compressed archive: the compressed bytes streamed against the compressed file size', async () => {
    const dir = tmpDir();
    const plain = await archive(dir);
    const gz = `${plain}.gz`;
    writeFileSync(gz, gzipSync(readFileSync(plain)));
    const size = statSync(gz).size;
    const { out, code } = await onTerminal(['analyze', `docker-archive:${gz}`, '--no-cache', '--format', 'json', '-o', path.join(dir, 'r.json')]);
    expect(code, out).toBe(0);
    const totals = barTotals(out, `read ${gz}`);
    expect(totals.length, JSON.stringify(out)).toBeGreaterThan(0);
    for (const [shown, within] of totals) expect(Math.abs(shown - size)).toBeLessThanOrEqual(within);
    expect(out.endsWith(CLEAR)).toBe(true);
  });

  it('clears the line before an error, which stays on its own line', async () => {
    const dir = tmpDir();
    const good = await packTar([file('a.bin', 20_000)]);
    const f = path.join(dir, 'broken.tar');
    // the layer ends in the middle of a file's body
    await writeDockerArchiveLegacy(f, { layers: [{ raw: good.subarray(0, 5_000) }] });
    const { out, code } = await onTerminal(['analyze', `docker-archive:${f}`, '--no-cache', '-o', path.join(dir, 'r.txt')]);
    expect(code, out).toBe(2);
    expect(barTotals(out, `read ${f}`).length, JSON.stringify(out)).toBeGreaterThan(0);
    const last = out.slice(out.lastIndexOf(CLEAR) + CLEAR.length);
    expect(last).toMatch(/^imgscope: .*broken\.tar/);
  });

  it('compare draws the same bar for each image and clears it', async () => {
    const dir = tmpDir();
    const a = await archive(dir, 'a.tar');
    const b = await archive(dir, 'b.tar');
    const { out, code } = await onTerminal(['compare', `docker-archive:${a}`, `docker-archive:${b}`, '--no-cache', '--format', 'json', '-o', path.join(dir, 'c.json')]);
    expect(code, out).toBe(0);
    for (const f of [a, b]) {
      const totals = barTotals(out, `read ${f}`);
      expect(totals.length, JSON.stringify(out)).toBeGreaterThan(0);
      for (const [shown, within] of totals) expect(Math.abs(shown - statSync(f).size)).toBeLessThanOrEqual(within);
    }
    expect(out.endsWith(CLEAR)).toBe(true);
  });

  it('--quiet: nothing on the terminal', async () => {
    const dir = tmpDir();
    const f = await archive(dir);
    const { out, code } = await onTerminal(['analyze', `docker-archive:${f}`, '--no-cache', '--quiet', '--format', 'json', '-o', path.join(dir, 'r.json')]);
    expect(code).toBe(0);
    expect(out).toBe('');
  });
});

describe('progress when stderr is not a terminal', () => {
  it('prints nothing on stderr', async () => {
    const dir = tmpDir();
    const f = await archive(dir);
    const r = await run(['analyze', `docker-archive:${f}`, '--no-cache', '--format', 'json', '-o', path.join(dir, 'r.json')], { IMGSCOPE_CACHE_DIR: path.join(dir, 'cache') });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  });
});
