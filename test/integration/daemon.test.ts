import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeReference } from '../../src/pipeline.js';
import type { Analysis } from '../../src/report/types.js';
import { wantsBody } from '../../src/catalog/metadata.js';
import { assignOwners } from '../../src/attribute/owners.js';
import { MergedFs } from '../../src/fs/filesystem.js';
import { loadImage } from '../../src/image/load.js';
import { buildFixture, docker, dockerAvailable, ensureBase, requireDocker, ROOT } from '../helpers/docker.js';
import { withLayerCache } from '../helpers/cache.js';
import { tmpDir } from '../helpers/images.js';
import { startRegistry } from '../helpers/registry.js';
import { analyzeChecked, checkReport } from '../helpers/report.js';

const IMAGE = 'imgscope-test/pyapp:1';
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const available = await dockerAvailable();
if (requireDocker && !available) throw new Error('IMGSCOPE_REQUIRE_DOCKER=1 but no Docker daemon answers `docker info`');

/**
 * Runs inside a container of the image: apparent bytes of a package's regular files (+ the .pyc of its
 * .py), hardlinks counted once (by inode), like du -sb.
 */
const PKG_BYTES = `
for p in "$@"; do
  n=$(dpkg -L "$p" | while IFS= read -r f; do
    [ -f "$f" ] && [ ! -L "$f" ] || continue
    readlink -f "$f"
    case "$f" in *.py) d=$(dirname "$f"); b=$(basename "$f" .py)
      for c in "$d"/__pycache__/"$b".*.pyc; do [ -f "$c" ] && readlink -f "$c"; done;; esac
  done | sort -u | tr '\\n' '\\0' | xargs -0 -r stat -c '%i %s' | sort -u | awk '{s+=$2} END {print s+0}')
  echo "$p $n $(dpkg-query -W -f '\${Installed-Size}' "$p")"
done
echo "__all__ $(find / -xdev \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -type f -printf '%i %s\\n' | sort -u | awk '{s+=$2} END {print s+0}') 0"
`;

const PACKAGES = ['python3-yaml', 'libpython3.11-stdlib', 'libpython3.11-minimal', 'python3.11-minimal', 'libyaml-0-2', 'coreutils', 'libc6', 'perl-base', 'libssl3'];

describe.skipIf(!available)('against a real Docker daemon', () => {
  let daemon: Analysis;
  let measured: Map<string, { bytes: number; installedKiB: number }>;

  beforeAll(async () => {
    await ensureBase();
    await buildFixture(IMAGE, path.join(ROOT, 'test/fixtures/pyapp'));
    daemon = await analyzeChecked(`docker-daemon:${IMAGE}`);
    const out = await docker('run', '--rm', '--label', 'imgscope=test', '--entrypoint', 'sh', IMAGE, '-c', PKG_BYTES, 'sh', ...PACKAGES);
    measured = new Map(
      out
        .trim()
        .split('\n')
        .map((l) => l.split(' '))
        .map(([p, b, s]) => [p!, { bytes: Number(b), installedKiB: Number(s) }]),
    );
  });

  it('reads the daemon\'s docker save stream without a warning (the legacy layout\'s VERSION files are part of the format)', () => {
    expect(daemon.warnings).toEqual([]);
  });

  it('matches docker image inspect Size within 1%', async () => {
    const size = Number(await docker('image', 'inspect', IMAGE, '--format', '{{.Size}}'));
    expect(Math.abs(daemon.totals.imageBytes - size) / size).toBeLessThan(0.01);
  });

  it('matches the apparent bytes of the whole filesystem inside a container within 1%', () => {
    const all = measured.get('__all__')!.bytes;
    expect(Math.abs(daemon.totals.finalBytes - all) / all).toBeLessThan(0.01);
  });

  it('matches per-package bytes measured inside a container within 1%', () => {
    for (const p of PACKAGES) {
      const ours = daemon.owners.find((o) => o.owner === `apt:${p}`)?.bytes;
      const theirs = measured.get(p)!.bytes;
      expect(theirs, p).toBeGreaterThan(0);
      expect([p, Math.abs(ours! - theirs) / theirs < 0.01]).toEqual([p, true]);
    }
  });

  it('matches dpkg Installed-Size within 10% (files dpkg lists, without the .pyc made at install)', async () => {
    const img = await loadImage(`docker-daemon:${IMAGE}`, { capture: wantsBody });
    const fs = new MergedFs();
    for (const l of img.layers) fs.applyLayer(l.walk);
    fs.finish();
    const files = fs.visible().filter((f) => f.node.inode);
    const { owners } = assignOwners(fs, files);
    const listed = new Map<string, number>();
    files.forEach((f, i) => {
      if (!f.path.endsWith('.pyc')) listed.set(owners[i]!, (listed.get(owners[i]!) ?? 0) + f.bytes);
    });
    for (const p of PACKAGES) {
      const kib = measured.get(p)!.installedKiB;
      const ours = listed.get(`apt:${p}`)!;
      expect([p, Math.abs(ours - kib * 1024) / (kib * 1024) < 0.1]).toEqual([p, true]);
      expect(daemon.owners.find((o) => o.owner === `apt:${p}`)!.installedSizeKiB).toBe(kib);
    }
  });

  it('finds the known waste: 3 MiB written in one layer and deleted in the next', () => {
    const top = daemon.waste.topPaths[0]!;
    expect(top).toMatchObject({ path: 'opt/scratch.dat', bytes: 3145728, how: 'deleted' });
    expect(daemon.layers[top.addedInLayer]!.createdBy).toMatch(/head -c 3145728/);
    expect(daemon.layers[top.hiddenInLayer]!.createdBy).toMatch(/rm \/opt\/scratch\.dat/);
    expect(daemon.layers[top.addedInLayer]!.wasteBytes).toBe(3145728);
    // history steps map to layers, skipping empty ones (CMD; the legacy builder gives WORKDIR a layer)
    expect(daemon.history.filter((h) => h.emptyLayer).map((h) => h.createdBy)).toEqual([expect.stringMatching(/CMD \["python3" "\/app\/app\.py"\]/)]);
    expect(daemon.history.filter((h) => !h.emptyLayer).map((h) => h.layer)).toEqual(daemon.layers.map((l) => l.index));
    expect(daemon.kinds.find((k) => k.kind === 'app')!.bytes).toBe(55);
  });

  it('gives the same owners, kinds and final size as docker-archive, oci and oci-archive', async () => {
    const d = tmpDir();
    const tar = path.join(d, 'img.tar');
    await docker('save', '-o', tar, IMAGE);
    await execa('skopeo', ['copy', '-q', `docker-archive:${tar}`, `oci:${d}/layout:v1`]);
    await execa('skopeo', ['copy', '-q', '--dest-compress-format', 'zstd', `docker-archive:${tar}`, `oci-archive:${d}/img-oci.tar:v1`]);
    const others = [await analyzeChecked(`docker-archive:${tar}`), await analyzeChecked(`oci:${d}/layout:v1`), await analyzeChecked(`oci-archive:${d}/img-oci.tar`)];
    for (const r of others) {
      expect(r.totals.finalBytes).toBe(daemon.totals.finalBytes);
      expect(r.totals.imageBytes).toBe(daemon.totals.imageBytes);
      expect(r.owners).toEqual(daemon.owners);
      expect(r.kinds).toEqual(daemon.kinds);
    }
    expect(others[2]!.layers.every((l) => l.compression === 'zstd')).toBe(true);
    expect(others[2]!.totals.compressedBytes).toBeGreaterThan(0);
    expect(others[2]!.totals.compressedBytes).toBeLessThan(daemon.totals.imageBytes);
  });

  it('says clearly when an image is not in the daemon, and when a pull fails', async () => {
    const missing = await execa('node', [CLI, 'analyze', 'imgscope-test/does-not-exist:1'], { reject: false });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr.trim()).toMatch(/^imgscope: imgscope-test\/does-not-exist:1: image 'imgscope-test\/does-not-exist:1' is not in the Docker daemon at .* \(use --pull to pull it\)$/);
    const pull = await execa('node', [CLI, 'analyze', '--pull', '127.0.0.1:1/nope/missing:1'], { reject: false });
    expect(pull.exitCode).toBe(3);
    expect(pull.stderr.trim().split('\n')).toHaveLength(1);
    expect(pull.stderr).toMatch(/pulling 127\.0\.0\.1:1\/nope\/missing:1/);
  });

  it('reads straight from a registry (docker://) and pulls through the daemon with --pull', async () => {
    const reg = await startRegistry();
    const remote = `${reg.host}/imgscope-test/pyapp:1`;
    try {
      await execa('skopeo', ['copy', '-q', '--dest-tls-verify=false', `docker-daemon:${IMAGE}`, `docker://${remote}`]);
      await execa('docker', ['rmi', remote], { reject: false });
      const without = await execa('node', [CLI, 'analyze', remote], { reject: false });
      expect(without.exitCode).toBe(2);
      const r = await execa('node', [CLI, 'analyze', '--pull', '-f', 'json', remote]);
      const a = checkReport(JSON.parse(r.stdout));
      expect(a.totals.finalBytes).toBe(daemon.totals.finalBytes);
      expect(a.owners).toEqual(daemon.owners);
      // straight from the registry: same figures, plus what a pull transfers
      const direct = await analyzeChecked(`docker://${remote}`);
      expect(direct.owners).toEqual(daemon.owners);
      expect(direct.kinds).toEqual(daemon.kinds);
      expect(direct.totals.imageBytes).toBe(daemon.totals.imageBytes);
      expect(direct.layers.every((l) => l.compression === 'gzip')).toBe(true);
      expect(direct.totals.compressedBytes).toBeGreaterThan(0);
      expect(direct.totals.compressedBytes).toBeLessThan(direct.totals.imageBytes);
    } finally {
      await execa('docker', ['rmi', remote], { reject: false });
      await reg.stop();
    }
  });

  it('analyses a daemon image again from the layer cache, without exporting it (the export path: --daemon-read export)', async () => {
    const cacheDir = tmpDir('imgscope-cache-');
    const cold: string[] = [];
    const warm: string[] = [];
    let a!: Analysis;
    let b!: Analysis;
    await withLayerCache(cacheDir, async () => {
      a = checkReport(await analyzeReference(`docker-daemon:${IMAGE}`, { daemonRead: 'export', onProgress: (m) => cold.push(m) }));
      const entries = readdirSync(path.join(cacheDir, 'v1'));
      expect(entries.filter((f) => f.endsWith('.layer'))).toHaveLength(a.layers.length);
      expect(entries.filter((f) => f.endsWith('.json'))).toHaveLength(1); // the image record
      b = checkReport(await analyzeReference(`docker-daemon:${IMAGE}`, { daemonRead: 'export', onProgress: (m) => warm.push(m) }));
      // One damaged entry: the image is exported again (a partial hit saves nothing), same report.
      const victim = path.join(cacheDir, 'v1', entries.find((f) => f.endsWith('.layer'))!);
      writeFileSync(victim, 'damaged');
      const again: string[] = [];
      const c = checkReport(await analyzeReference(`docker-daemon:${IMAGE}`, { daemonRead: 'export', onProgress: (m) => again.push(m) }));
      expect(again.some((m) => m.endsWith('from the layer cache'))).toBe(false);
      expect({ ...c, generatedAt: '' }).toEqual({ ...a, generatedAt: '' });
    });
    expect(cold.some((m) => m.endsWith('from the layer cache'))).toBe(false);
    // Every layer from the cache, and nothing else: no export was read.
    expect(warm).toHaveLength(a.layers.length);
    expect(warm.every((m) => m.endsWith('from the layer cache'))).toBe(true);
    expect({ ...b, generatedAt: '' }).toEqual({ ...a, generatedAt: '' });
    // The CLI (its own build fingerprint, so its own entries): the same report cold and warm.
    const env = { ...process.env, IMGSCOPE_CACHE: 'on', IMGSCOPE_CACHE_DIR: cacheDir };
    const run = async (): Promise<Analysis> => checkReport(JSON.parse((await execa('node', [CLI, 'analyze', `docker-daemon:${IMAGE}`, '--daemon-read', 'export', '-f', 'json'], { env })).stdout));
    const c1 = await run();
    const c2 = await run();
    expect({ ...c2, generatedAt: '' }).toEqual({ ...c1, generatedAt: '' });
    expect(c1.totals).toEqual(a.totals);
  });

  it('writes valid JSON and Markdown from the CLI for a daemon image', async () => {
    const json = await execa('node', [CLI, 'analyze', `docker-daemon:${IMAGE}`, '-f', 'json']);
    checkReport(JSON.parse(json.stdout));
    const md = await execa('node', [CLI, 'analyze', IMAGE, '-f', 'markdown']);
    // Names, paths and steps are set as <code> elements (util/escape.ts mdCode): shown literally, whatever they hold.
    expect(md.stdout).toMatch(/^## imgscope: <code>imgscope-test\/pyapp:1<\/code>/);
    expect(md.stdout).toMatch(/\| <code>apt:libpython3\.11-stdlib<\/code> \| 3\.11\.\S+ \| [\d.]+ MiB \|/);
  });
});
