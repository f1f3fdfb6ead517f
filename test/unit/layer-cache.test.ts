import { createReadStream, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { analyzeReference } from '../../src/pipeline.js';
import type { Analysis } from '../../src/report/types.js';
import { decodeWalkedBlob, encodeWalkedBlob, LayerCache } from '../../src/image/layer-cache.js';
import type { WalkedBlob } from '../../src/image/layer-reader.js';
import { tmpDir, writeDockerArchiveLegacy, writeDockerArchiveV25, writeOciDir, type FixtureImage } from '../helpers/images.js';
import { withLayerCache } from '../helpers/cache.js';
import { checkReport } from '../helpers/report.js';
import { formatBytes } from '../../src/util/format.js';
import { dir, file, hardlink, symlink, text } from '../helpers/tar.js';

const fixture: FixtureImage = {
  layers: [
    {
      entries: [
        dir('var/lib/dpkg'),
        text('var/lib/dpkg/status', 'Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13\nInstalled-Size: 20\n\n'),
        text('var/lib/dpkg/info/zlib1g.list', '/usr/lib/libz.so.1\n'),
        file('usr/lib/libz.so.1', 20_000),
        symlink('usr/lib/libz.so', 'libz.so.1'),
      ],
      compression: 'gzip',
      createdBy: 'ADD rootfs.tar /',
    },
    {
      entries: [
        text('usr/lib/python3/site-packages/tiny-1.0.dist-info/RECORD', 'tiny/__init__.py,,\ntiny/core.py,,\n'),
        file('usr/lib/python3/site-packages/tiny/__init__.py', 10),
        file('usr/lib/python3/site-packages/tiny/core.py', 4000),
        hardlink('usr/lib/python3/site-packages/tiny/core2.py', 'usr/lib/python3/site-packages/tiny/core.py'),
        file('app/weights/model.safetensors', 123_456),
        file('app/caf\u00e9.txt', 7),
      ],
      compression: 'zstd',
      createdBy: 'COPY . /app',
    },
  ],
};

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const same = (a: Analysis): Analysis => ({ ...a, generatedAt: '' });

describe('layer cache', () => {
  let cacheDir: string;
  // Each test runs with the cache on, in a directory of its own.
  const cached = (name: string, fn: () => Promise<void> | void): void => {
    it(name, () => {
      cacheDir = tmpDir('imgscope-cache-');
      return withLayerCache(cacheDir, async () => fn());
    });
  };
  const entries = (): string[] => readdirSync(path.join(cacheDir, 'v1')).sort();

  cached('round-trips every field of a walked layer', () => {
    const blob: WalkedBlob = {
      compression: 'gzip',
      blobSize: 777,
      walk: {
        tarBytes: 10240,
        fileBytes: 15,
        files: 2,
        endMarker: null,
        warnings: ['tar has no end-of-archive marker'],
        entries: [
          { path: '', type: 'dir', size: 0 },
          { path: 'a/caf\u00e9 \u6f22.txt', type: 'file', size: 5, body: Buffer.from('hello') },
          { path: 'a/empty', type: 'file', size: 0, body: Buffer.alloc(0) },
          { path: 'a/link', type: 'symlink', size: 0, link: '../x' },
          { path: 'a/hard', type: 'hardlink', size: 10, link: 'a/empty' },
          { path: 'a/dev', type: 'other', size: 0 },
          { path: 'a/x.so', type: 'file', size: 2 ** 40 + 3, probe: { elf: { status: 'ok', elf: { bits: 64, machine: 62, type: 3, needed: ['libc.so.6'], rpath: [], runpath: ['$ORIGIN'] } } } },
        ],
      },
    };
    const back = decodeWalkedBlob(encodeWalkedBlob('blob:sha256:ab', blob), 'blob:sha256:ab');
    expect(back).toEqual(blob);
    expect(back!.walk.entries[1]!.body).toBeInstanceOf(Buffer);
    const enc = encodeWalkedBlob('k', { ...blob, walk: { ...blob.walk, entries: [] } });
    expect(decodeWalkedBlob(enc, 'k')!.walk.entries).toEqual([]);
    // Another key, a cut-short file or foreign bytes are misses, never a wrong layer.
    const full = encodeWalkedBlob('k', blob);
    expect(decodeWalkedBlob(full, 'other')).toBeUndefined();
    expect(decodeWalkedBlob(full.subarray(0, full.length - 1), 'k')).toBeUndefined();
    expect(decodeWalkedBlob(Buffer.from('not a cache entry at all'), 'k')).toBeUndefined();
  });

  cached('OCI layout: the second analysis reads no layer blob and reports exactly the same', async () => {
    const d = tmpDir();
    const [built] = await writeOciDir(d, [{ img: fixture }]);
    const cold = checkReport(await analyzeReference(`oci:${d}`));
    // each blob under the file's identity and under its digest (checked as it streamed)
    expect(entries().filter((f) => f.endsWith('.layer'))).toHaveLength(4);
    // Remove the layer blobs: no bytes are left to read, and the digest's entry answers.
    for (const l of built!.layers) rmSync(path.join(d, 'blobs/sha256', l.digest.slice(7)));
    const progress: string[] = [];
    const warm = checkReport(await analyzeReference(`oci:${d}`, { onProgress: (m) => progress.push(m) }));
    expect(same(warm)).toEqual(same(cold));
    expect(progress.filter((m) => m.includes('from the layer cache'))).toHaveLength(2);
    expect(warm.totals.finalBytes).toBe(cold.totals.finalBytes);
    expect(cold.layers.map((l) => l.compression)).toEqual(['gzip', 'zstd']);
    // --no-cache and --verify read the blobs, which are gone.
    await expect(analyzeReference(`oci:${d}`, { noCache: true })).rejects.toThrow(/missing blob/);
    await expect(analyzeReference(`oci:${d}`, { verifyLayers: true })).rejects.toThrow(/missing blob/);
  });

  cached('docker save archives: a layer is looked up by its unchanged file; a verified blob is also stored by its digest', async () => {
    for (const write of [writeDockerArchiveV25, writeDockerArchiveLegacy]) {
      rmSync(path.join(cacheDir, 'v1'), { recursive: true, force: true });
      const f = path.join(tmpDir(), 'img.tar');
      const built = await write(f, fixture);
      const cold = checkReport(await analyzeReference(`docker-archive:${f}`));
      // the file's identity for each layer, and the digest of each compressed blob (checked as it streamed)
      expect(entries().filter((e) => e.endsWith('.layer'))).toHaveLength(write === writeDockerArchiveV25 ? 4 : 2);
      const progress: string[] = [];
      const again = checkReport(await analyzeReference(`docker-archive:${f}`, { onProgress: (m) => progress.push(m) }));
      expect(same(again)).toEqual(same(cold));
      expect(progress.filter((m) => m.includes('from the layer cache'))).toHaveLength(2);
      // Overwrite the start of the first layer's blob inside the archive (same length).
      const buf = readFileSync(f);
      const blob = built.layers[0]!.blob;
      const at = buf.indexOf(blob);
      expect(at).toBeGreaterThan(0);
      buf.fill(0x41, at, at + Math.min(100, blob.length));
      writeFileSync(f, buf);
      // A changed file is another identity: its own bytes are read again, and its digest no longer holds.
      // (A digest the archive names never answers for it: that is the archive's claim, not its bytes.)
      await expect(analyzeReference(`docker-archive:${f}`)).rejects.toThrow(/layer 1/);
      await expect(analyzeReference(`docker-archive:${f}`, { noCache: true })).rejects.toThrow(/layer 1/);
    }
  });

  cached('docker-daemon: an image whose every layer is cached is not exported again, and reports the same', async () => {
    const save = path.join(tmpDir(), 'save.tar');
    await writeDockerArchiveLegacy(save, fixture);
    // A fake Engine API: the image's ID, and its export as the daemon streams it (docker save).
    const exports: string[] = [];
    const engine = http.createServer((req, res) => {
      if (req.url!.endsWith('/json')) return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ Id: `sha256:${'c'.repeat(64)}` }));
      if (!req.url!.endsWith('/get')) return void res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"not here"}');
      exports.push(req.url!);
      res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      createReadStream(save).pipe(res);
    });
    await new Promise<void>((r) => engine.listen(0, '127.0.0.1', r));
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `tcp://127.0.0.1:${(engine.address() as AddressInfo).port}`;
    try {
      const first: string[] = [];
      const cold = checkReport(await analyzeReference('docker-daemon:fixture:latest', { onProgress: (m) => first.push(m) }));
      expect(first.filter((m) => m.startsWith('walking '))).toHaveLength(cold.layers.length);
      const again: string[] = [];
      const warm = checkReport(await analyzeReference('docker-daemon:fixture:latest', { onProgress: (m) => again.push(m) }));
      expect(exports).toHaveLength(1);
      expect(same(warm)).toEqual(same(cold));
      // The engine's layer store is not read from another host (issue 14): one line says so, then the cache.
      expect(again).toEqual([
        `docker-daemon:fixture:latest: exporting the image: the daemon is not on this host (DOCKER_HOST=${process.env.DOCKER_HOST})`,
        ...cold.layers.map((_, i) => `layer ${i + 1}/${cold.layers.length}: from the layer cache`),
      ]);
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
      await new Promise((r) => engine.close(r));
    }
  });

  cached('a damaged entry is a miss: it is removed and the layer walked again', async () => {
    const d = tmpDir();
    await writeOciDir(d, [{ img: fixture }]);
    const cold = await analyzeReference(`oci:${d}`);
    const layerFiles = entries().filter((f) => f.endsWith('.layer'));
    for (const name of layerFiles) {
      const p = path.join(cacheDir, 'v1', name);
      writeFileSync(p, readFileSync(p).subarray(0, 100));
    }
    const again = await analyzeReference(`oci:${d}`);
    expect(same(again)).toEqual(same(cold));
    // Rewritten whole by the second run.
    for (const name of layerFiles) expect(statSync(path.join(cacheDir, 'v1', name)).size).toBeGreaterThan(100);
  });

  cached('one flipped bit anywhere in an entry is a miss, never a different answer', async () => {
    const d = tmpDir();
    await writeOciDir(d, [{ img: fixture }]);
    const cold = await analyzeReference(`oci:${d}`);
    const layerFiles = entries().filter((f) => f.endsWith('.layer'));
    expect(layerFiles.length).toBeGreaterThan(0);
    const originals = new Map(layerFiles.map((n) => [n, readFileSync(path.join(cacheDir, 'v1', n))]));
    // a bit in the file sizes (the last 8-byte words before the trailer and bodies), then one in the header
    for (const pick of [(b: Buffer) => b.length - 4 - 8 * 2 + 1, (b: Buffer) => 20]) {
      for (const [name, orig] of originals) {
        const b = Buffer.from(orig);
        b[pick(b)]! ^= 0x04;
        writeFileSync(path.join(cacheDir, 'v1', name), b);
      }
      const again = checkReport(await analyzeReference(`oci:${d}`));
      expect(same(again)).toEqual(same(cold));
    }
  });

  cached('entries of another build (fingerprint) are never read; the size limit evicts the oldest', async () => {
    const blob = (n: number): WalkedBlob => ({
      compression: 'none',
      blobSize: n,
      walk: { tarBytes: n, fileBytes: 0, files: 0, endMarker: true, warnings: [], entries: [{ path: `f${n}`, type: 'file', size: n, body: Buffer.alloc(1000) }] },
    });
    const a = new LayerCache(cacheDir, 'build-a');
    a.putLayer('blob:x', blob(1));
    await a.flush();
    expect(a.getLayer('blob:x')!.blobSize).toBe(1);
    expect(new LayerCache(cacheDir, 'build-b').getLayer('blob:x')).toBeUndefined();

    const one = encodeWalkedBlob('blob:0', blob(0)).length;
    const small = new LayerCache(path.join(cacheDir, 'small'), 'fp', 3 * one + 10);
    const sdir = path.join(cacheDir, 'small', 'v1');
    let before: string[] = [];
    for (let i = 0; i < 5; i++) {
      small.putLayer(`blob:${i}`, blob(i));
      await small.flush();
      const files = readdirSync(sdir);
      expect(files.length).toBeLessThanOrEqual(3);
      // Distinct modification times an hour apart, in write order (a clock tick could tie them).
      const t = new Date(Date.now() - (10 - i) * 3600_000);
      for (const f of files.filter((x) => !before.includes(x))) utimesSync(path.join(sdir, f), t, t);
      before = files;
    }
    expect(small.getLayer('blob:0')).toBeUndefined();
    expect(small.getLayer('blob:4')!.blobSize).toBe(4);
  });

  cached('the CLI fills it, says what it holds, and clears it', async () => {
    const d = tmpDir();
    await writeOciDir(d, [{ img: fixture }]);
    const env = { IMGSCOPE_CACHE: 'on', IMGSCOPE_CACHE_DIR: cacheDir };
    await execa('node', [CLI, 'analyze', `oci:${d}`, '-f', 'json'], { env });
    const bytes = entries().reduce((t, f) => t + statSync(path.join(cacheDir, 'v1', f)).size, 0);
    expect(entries()).toHaveLength(4);
    const info = await execa('node', [CLI, 'cache'], { env });
    expect(info.stdout).toContain(path.join(cacheDir, 'v1'));
    expect(info.stdout).toContain(`4 entries, ${formatBytes(bytes)} of at most 2.00 GiB`);
    const cleared = await execa('node', [CLI, 'cache', 'clear'], { env });
    expect(cleared.stdout).toBe(`removed ${formatBytes(bytes)} from ${path.join(cacheDir, 'v1')}`);
    expect((await execa('node', [CLI, 'cache'], { env })).stdout).toContain('0 entries, 0 B');
    // --no-cache neither reads nor fills it.
    await execa('node', [CLI, 'analyze', `oci:${d}`, '-f', 'json', '--no-cache'], { env });
    expect((await execa('node', [CLI, 'cache'], { env })).stdout).toContain('0 entries');
  });

  cached('IMGSCOPE_CACHE=off turns it off', async () => {
    process.env.IMGSCOPE_CACHE = 'off';
    expect(LayerCache.open()).toBeUndefined();
    const d = tmpDir();
    await writeOciDir(d, [{ img: fixture }]);
    await analyzeReference(`oci:${d}`);
    expect(() => readdirSync(path.join(cacheDir, 'v1'))).toThrow();
  });
});
