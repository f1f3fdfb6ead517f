import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BUDGETS } from '../../src/gates.js';
import { type FixtureImage, tmpDir, writeDockerArchiveLegacy, writeOciDir } from '../helpers/images.js';
import { checkReport } from '../helpers/report.js';
import { CLI, expectFailure, run } from '../helpers/cli.js';
import { file, gzip, packTar } from '../helpers/tar.js';

const one = (extra: Partial<FixtureImage['layers'][number]> = {}): FixtureImage => ({ layers: [{ entries: [file('a', 70000), file('b', 9000)], ...extra }] });

function blobsOf(dir: string): string[] {
  const idx = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8'));
  const m = JSON.parse(readFileSync(path.join(dir, 'blobs/sha256', idx.manifests[0].digest.slice(7)), 'utf8'));
  return [idx.manifests[0].digest, m.config.digest, ...m.layers.map((l: { digest: string }) => l.digest)];
}

describe('bad input: one line naming what and where, exit code, no partial output', () => {
  it('no command at all is a usage error: help on stderr, nothing on stdout, exit 2', async () => {
    const r = await run([]);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Usage: imgscope /);
    const help = await run(['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/^Usage: imgscope /);
  });

  it('writes the report atomically on success', async () => {
    const d = path.join(tmpDir(), 'ok');
    await writeOciDir(d, [{ img: one() }]);
    const out = path.join(tmpDir(), 'r.json');
    const r = await run(['analyze', `oci:${d}`, '-f', 'json', '-o', out]);
    expect(r.exitCode).toBe(0);
    const rep = checkReport(JSON.parse(readFileSync(out, 'utf8')));
    expect(rep.totals.finalBytes).toBe(79000);
  });

  it('a truncated archive', async () => {
    const p = path.join(tmpDir(), 'trunc.tar');
    await writeDockerArchiveLegacy(p, one());
    truncateSync(p, 40000);
    await expectFailure(p, 2, /trunc\.tar: truncated tar: entry '[0-9a-f]+\/layer\.tar' needs \d+ bytes but only \d+ remain/);
  });

  it('a truncated or corrupt compressed archive (docker save | gzip)', async () => {
    const p = path.join(tmpDir(), 'img.tar');
    await writeDockerArchiveLegacy(p, one());
    const gz = gzip(readFileSync(p));
    const cut = path.join(tmpDir(), 'cut.tar.gz');
    writeFileSync(cut, gz.subarray(0, Math.floor(gz.length / 2)));
    await expectFailure(cut, 2, /cut\.tar\.gz: (corrupt gzip data: unexpected end of file|not a readable gzip-compressed image archive: .+)$/);
    const bad = Buffer.from(gz);
    for (let i = 40; i < 80; i++) bad[i] = 0x55;
    const badPath = path.join(tmpDir(), 'bad.tar.gz');
    writeFileSync(badPath, bad);
    await expectFailure(badPath, 2, /bad\.tar\.gz: corrupt gzip data: /);
  });

  it('a truncated layer tar inside a valid archive', async () => {
    const full = await packTar([file('a', 70000), file('b', 9000)]);
    const p = path.join(tmpDir(), 'innertrunc.tar');
    await writeDockerArchiveLegacy(p, { layers: [{ raw: full.subarray(0, 30000) }] });
    await expectFailure(p, 2, /layer 1 \([0-9a-f]+\/layer\.tar\): truncated tar: entry 'a' needs 70000 bytes/);
  });

  it('a corrupt gzip layer', async () => {
    const d = path.join(tmpDir(), 'badgz');
    await writeOciDir(d, [{ img: one({ compression: 'gzip', corrupt: (b) => { for (let i = 100; i < 200; i++) b[i] = 0x55; return b; } }) }]);
    await expectFailure(`oci:${d}`, 2, /layer 1 \(sha256:[0-9a-f]{64}\): corrupt gzip data: /);
  });

  it('a corrupt zstd layer', async () => {
    const d = path.join(tmpDir(), 'badzst');
    await writeOciDir(d, [{ img: one({ compression: 'zstd', corrupt: (b) => b.subarray(0, Math.floor(b.length / 2)) }) }]);
    await expectFailure(`oci:${d}`, 2, /layer 1 \(sha256:[0-9a-f]{64}\): .*(zstd|truncated)/);
  });

  it('a missing blob', async () => {
    const d = path.join(tmpDir(), 'missing');
    await writeOciDir(d, [{ img: one() }]);
    const layer = blobsOf(d)[2]!;
    rmSync(path.join(d, 'blobs/sha256', layer.slice(7)));
    await expectFailure(`oci:${d}`, 2, new RegExp(`missing: layer 1 \\(${layer}\\): missing blob ${layer}$`));
  });

  it('a manifest whose bytes do not match its digest', async () => {
    const d = path.join(tmpDir(), 'badmanifest');
    await writeOciDir(d, [{ img: one() }]);
    const m = blobsOf(d)[0]!;
    const f = path.join(d, 'blobs/sha256', m.slice(7));
    writeFileSync(f, readFileSync(f, 'utf8').replace('"schemaVersion":2', '"schemaVersion":3'));
    await expectFailure(`oci:${d}`, 2, new RegExp(`manifest ${m}: digest mismatch: expected ${m}, got sha256:`));
  });

  it('a config whose bytes do not match its digest', async () => {
    const d = path.join(tmpDir(), 'badconfig');
    await writeOciDir(d, [{ img: one() }]);
    const c = blobsOf(d)[1]!;
    const f = path.join(d, 'blobs/sha256', c.slice(7));
    writeFileSync(f, readFileSync(f, 'utf8').replace('amd64', 'arm64'));
    await expectFailure(`oci:${d}`, 2, new RegExp(`config ${c}: digest mismatch`));
    // docker-archive: the config file is named by its digest too
    const p = path.join(tmpDir(), 'badcfg.tar');
    const built = await writeDockerArchiveLegacy(p, one());
    const buf = readFileSync(p);
    const at = buf.indexOf('"architecture":"amd64"');
    buf.write('"architecture":"arm64"', at);
    // fix the outer tar header checksum is unaffected: only the member body changed
    writeFileSync(p, buf);
    await expectFailure(p, 2, new RegExp(`config ${built.configDigest.slice(7)}\\.json: digest mismatch`));
  });

  it('not an image', async () => {
    const p = path.join(tmpDir(), 'plain.tar');
    writeFileSync(p, await packTar([file('hello.txt', 10)]));
    await expectFailure(p, 2, /plain\.tar: not an image archive: no manifest\.json or index\.json/);
    const q = path.join(tmpDir(), 'text.tar');
    writeFileSync(q, 'this is not a tar file at all '.repeat(40));
    await expectFailure(q, 2, /text\.tar: not an image archive \(not a tar file\)/);
    await expectFailure('docker-archive:/nonexistent/x.tar', 2, /\/nonexistent\/x\.tar does not exist/);
  });

  it('an unknown platform', async () => {
    const d = path.join(tmpDir(), 'plat');
    await writeOciDir(d, [{ img: one() }]);
    const out = path.join(tmpDir(), 'p.json');
    const r = await run(['analyze', `oci:${d}`, '--platform', 'linux/riscv64', '-o', out]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toMatch(/^imgscope: oci:.*unknown platform linux\/riscv64: the image is linux\/amd64$/);
    expect(existsSync(out)).toBe(false);
  });

  it('a daemon that cannot be reached is an environment error (exit 3)', async () => {
    await expectFailure('docker-daemon:some/image:tag', 3, /cannot reach the Docker daemon at unix:\/\/\/tmp\/imgscope-no-such\.sock \(ENOENT\)/, {
      DOCKER_HOST: 'unix:///tmp/imgscope-no-such.sock',
    });
  });

  it('usage errors exit 2', async () => {
    const r = await run(['analyze', '--no-such-flag', 'x']);
    expect(r.exitCode).toBe(2);
    const f = await run(['analyze', 'x', '--format', 'yaml']);
    expect(f.exitCode).toBe(2);
    expect(f.stderr).toMatch(/Allowed choices are table, markdown, json/);
  });
});

/**
 * Every flag value is read before any image: the image given here does not exist, so an error about
 * the flag proves the image was never opened (the loader would have said `does not exist`).
 */
describe('bad flag values: exit 2 with one line naming the flag and the value, before any image is read', () => {
  const missing = 'docker-archive:/nonexistent/imgscope-never-read.tar';
  const flagFailure = async (args: string[], pattern: RegExp, opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<void> => {
    const out = path.join(tmpDir(), 'report.json');
    const r = await execa('node', [CLI, ...args, '-o', out], { reject: false, cwd: opts.cwd ?? process.cwd(), env: opts.env ?? {} });
    expect(r.exitCode, r.stderr).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^imgscope: /);
    expect(lines[0]).toMatch(pattern);
    expect(lines[0]).not.toMatch(/does not exist|cannot reach the Docker daemon/);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  };

  it('every budget of the table, as analyze and compare take it', async () => {
    const bad: Record<string, string> = { 'max-kind': 'compilers=1GB', 'max-owner': 'pip:torch', 'forbid-kind': 'compilers' };
    for (const b of BUDGETS) {
      const value = bad[b.name] ?? 'lots';
      const shown = value === 'compilers=1GB' ? 'compilers' : value;
      const pattern = new RegExp(`^imgscope: --${b.name}: .*'${shown}'`);
      await flagFailure(['analyze', missing, `--${b.name}`, value, '--baseline', '/nonexistent/base.json'], pattern);
      if (b.name === 'max-size') await flagFailure(['compare', missing, `${missing}2`, `--${b.name}`, value], pattern);
    }
  });

  it('sizes inside NAME=SIZE lists, out-of-range fractions, rates and GPU architectures', async () => {
    await flagFailure(['analyze', missing, '--max-kind', 'caches=lots'], /^imgscope: --max-kind caches: invalid size 'lots'/);
    await flagFailure(['analyze', missing, '--max-owner', 'pip:torch=1GB', '--max-owner', 'apt:gcc=big'], /^imgscope: --max-owner apt:gcc: invalid size 'big'/);
    await flagFailure(['analyze', missing, '--min-efficiency', '150%'], /^imgscope: --min-efficiency: must be between 0 and 1 .*'150%'/);
    await flagFailure(['analyze', missing, '--bandwidth', 'fast'], /^imgscope: --bandwidth: invalid size 'fast'/);
    await flagFailure(['analyze', missing, '--unpack-rate', '0MB/s'], /^imgscope: --unpack-rate: '0MB\/s' must be a positive rate/);
    await flagFailure(['analyze', missing, '--gpu-arch', 'hopper'], /^imgscope: --gpu-arch: 'hopper' is not a GPU architecture/);
    await flagFailure(['analyze', missing, '--platform', 'linux'], /^imgscope: invalid --platform 'linux'/);
  });

  it('--max-growth needs a baseline report, and the baseline report is read first too', async () => {
    await flagFailure(['analyze', missing, '--max-growth', '5%'], /^imgscope: --max-growth: no baseline to measure growth against: give --baseline/);
    await flagFailure(['analyze', missing, '--max-growth', '5%', '--baseline', '/nonexistent/base.json'], /^imgscope: \/nonexistent\/base\.json: no such file$/);
  });

  it('a bad value in the config file names the file; a bad flag next to a good file names the flag', async () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, '.imgscope.yml'), 'max-size: lots\n');
    await flagFailure(['analyze', missing], /^imgscope: .*\.imgscope\.yml max-size: invalid size 'lots'/, { cwd: dir });
    writeFileSync(path.join(dir, '.imgscope.yml'), 'max-size: 1GB\nmax-growth: 5%\n');
    await flagFailure(['analyze', missing, '--max-waste', 'heaps'], /^imgscope: --max-waste: invalid size 'heaps'/, { cwd: dir });
    await flagFailure(['analyze', missing], /^imgscope: .*\.imgscope\.yml max-growth: no baseline/, { cwd: dir });
  });

  it('a rules file (--config, --ci-config, .imgscope.yml, .dive-ci) that is a FIFO, a directory or over 1 MiB: one line naming it, exit 2', async () => {
    const dir = tmpDir();
    const fifo = path.join(dir, 'fifo.yml');
    execFileSync('mkfifo', [fifo]);
    const big = path.join(dir, 'big.yml');
    writeFileSync(big, `# ${'x'.repeat(1024 * 1024)}\n`);
    mkdirSync(path.join(dir, 'folder'));
    for (const flag of ['--config', '--ci-config']) {
      await flagFailure(['analyze', missing, flag, fifo], new RegExp(`^imgscope: ${flag} ${fifo}: is a FIFO, not a regular file$`));
      await flagFailure(['analyze', missing, flag, path.join(dir, 'folder')], new RegExp(`^imgscope: ${flag} ${dir}/folder: is a directory, not a regular file$`));
      await flagFailure(['analyze', missing, flag, big], new RegExp(`^imgscope: ${flag} ${big}: ${statSync(big).size} bytes, over the 1048576-byte limit`));
    }
    // the defaults found in the working directory: .imgscope.yml, and .dive-ci in CI mode
    const cwd = tmpDir();
    mkdirSync(cwd, { recursive: true });
    execFileSync('mkfifo', [path.join(cwd, '.imgscope.yml')]);
    await flagFailure(['analyze', missing], /^imgscope: .*\/\.imgscope\.yml: is a FIFO, not a regular file$/, { cwd });
    const cwd2 = tmpDir();
    mkdirSync(path.join(cwd2, '.dive-ci'), { recursive: true });
    await flagFailure(['analyze', missing], /^imgscope: .*\/\.dive-ci: is a directory, not a regular file$/, { cwd: cwd2, env: { CI: 'true' } });
    // an alias to no anchor: named like any other YAML error
    const cwd3 = tmpDir();
    mkdirSync(cwd3, { recursive: true });
    writeFileSync(path.join(cwd3, '.imgscope.yml'), 'max-size: *nowhere\n');
    await flagFailure(['analyze', missing], /^imgscope: .*\/\.imgscope\.yml: .*alias.*nowhere/i, { cwd: cwd3 });
  });

  it('compare: --names, --baseline and --runs are checked against the inputs before any is read', async () => {
    const two = ['compare', missing, `${missing}2`];
    await flagFailure([...two, '--baseline', '3'], /^imgscope: --baseline must be between 1 and 2, got '3'$/);
    await flagFailure([...two, '--names', 'only-one'], /^imgscope: --names has 1 labels for 2 images$/);
    await flagFailure([...two, '--coldstart', '--runs', 'lots'], /^imgscope: --runs must be an integer ≥ 1, got 'lots'$/);
  });

  it('coldstart: numbers, rates and ports fail before the daemon is asked', async () => {
    const env = { DOCKER_HOST: 'unix:///tmp/imgscope-no-such.sock' };
    await flagFailure(['coldstart', 'some/image', '--runs', '0'], /^imgscope: --runs must be an integer ≥ 1, got '0'$/, { env });
    await flagFailure(['coldstart', 'some/image', '--warmup', '-1'], /^imgscope: --warmup must be an integer ≥ 0, got '-1'$/, { env });
    await flagFailure(['coldstart', 'some/image', '--timeout', 'soon'], /^imgscope: --timeout must be a positive number of seconds, got 'soon'$/, { env });
    await flagFailure(['coldstart', 'some/image', '--health-interval', '0.5'], /^imgscope: --health-interval must be an integer ≥ 1, got '0.5'$/, { env });
    await flagFailure(['coldstart', 'some/image', '--cold', '--bandwidth', 'fast'], /^imgscope: --bandwidth: invalid size 'fast'/, { env });
    await flagFailure(['coldstart', 'some/image', '-p', '80'], /^imgscope: -p '80': expected /, { env });
    await flagFailure(['coldstart', 'some/image', '--log', '('], /^imgscope: --log '\(': invalid regular expression/, { env });
  });
});
