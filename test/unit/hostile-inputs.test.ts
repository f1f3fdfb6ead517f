/**
 * Issue 12, integrity and resource bounds: each hostile input is built in code and run through the
 * CLI; the failures keep the promises (one line naming the image and what was wrong, exit 2, no
 * report written) and the numbers never come from bytes that were not checked.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { analyzeReference } from '../../src/pipeline.js';
import { withLayerCache } from '../helpers/cache.js';
import { expectFailure, run } from '../helpers/cli.js';
import { type FixtureImage, tmpDir, writeDockerArchiveLegacy, writeDockerArchiveV25, writeOciArchive, writeOciDir } from '../helpers/images.js';
import { file, packTar, sha256hex } from '../helpers/tar.js';

const files = (n: number, prefix: string): FixtureImage => ({ layers: [{ entries: Array.from({ length: n }, (_, i) => file(`${prefix}/f${i}`, 100 + i)) }] });

/** Overwrites bytes inside `blob` where it sits in `archive` (same length): a tampered layer. */
function tamper(archive: Buffer, blob: Buffer): Buffer {
  const at = archive.indexOf(blob);
  expect(at).toBeGreaterThan(0);
  const out = Buffer.from(archive);
  out[at + 520] = out[at + 520]! ^ 0x01; // inside the first file's body: the tar stays well formed
  return out;
}

describe('integrity: never accept what does not match (points 7, 8)', () => {
  it('a tampered layer is rejected in a gzip- or zstd-compressed archive as in the plain one', async () => {
    for (const write of [writeDockerArchiveV25, writeDockerArchiveLegacy]) {
      const plain = path.join(tmpDir(), 'img.tar');
      const built = await write(plain, files(3, 'app'));
      const bad = tamper(readFileSync(plain), built.layers[0]!.blob);
      writeFileSync(plain, bad);
      const gz = `${plain}.gz`;
      writeFileSync(gz, gzipSync(bad));
      const zst = `${plain}.zst`;
      execFileSync('zstd', ['-q', '-f', plain, '-o', zst]);
      for (const f of [gz, zst]) await expectFailure(`docker-archive:${f}`, 2, /digest mismatch: expected sha256:[0-9a-f]{64}, got sha256:/);
      // The plain legacy archive is read by seeking: only --verify reads every byte, and then checks the diff_id.
      const r = await run(['analyze', `docker-archive:${plain}`, '--verify', '-f', 'json']);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/digest mismatch/);
    }
  });

  it('an archive that lies about a diff_id cannot poison the cache entry a genuine archive reads', async () => {
    await withLayerCache(tmpDir('imgscope-cache-'), async () => {
      const genuine = path.join(tmpDir(), 'genuine.tar');
      const built = await writeDockerArchiveLegacy(genuine, files(10, 'real'));
      // The attacker's archive: the genuine config (so the genuine diff_id), a one-file layer.tar.
      const liar = path.join(tmpDir(), 'liar.tar');
      const fake = await packTar([file('evil', 5)]);
      const members = await packTar([
        { path: 'x/layer.tar', content: fake },
        { path: `${built.configDigest.slice(7)}.json`, content: built.config },
        { path: 'manifest.json', content: JSON.stringify([{ Config: `${built.configDigest.slice(7)}.json`, RepoTags: ['liar:1'], Layers: ['x/layer.tar'] }]) },
      ]);
      writeFileSync(liar, members);
      expect((await analyzeReference(`docker-archive:${liar}`)).totals.files).toBe(1);
      expect((await analyzeReference(`docker-archive:${genuine}`)).totals.files).toBe(10);
      // The liar seen streamed (compressed) is rejected outright.
      writeFileSync(`${liar}.gz`, gzipSync(members));
      await expect(analyzeReference(`docker-archive:${liar}.gz`)).rejects.toThrow(/diff_id\) digest mismatch/);
      expect(sha256hex(fake)).not.toBe(built.layers[0]!.diffId.slice(7));
    });
  });

  it('a warm cache never answers for an archive that lies about a diff_id: its own bytes are walked', async () => {
    await withLayerCache(tmpDir('imgscope-cache-'), async () => {
      const genuine = path.join(tmpDir(), 'genuine.tar');
      const built = await writeDockerArchiveLegacy(genuine, files(10, 'real'));
      // the genuine layers enter the cache under their checked diff_id (a compressed archive is hashed)
      writeFileSync(`${genuine}.gz`, gzipSync(readFileSync(genuine)));
      expect((await analyzeReference(`docker-archive:${genuine}.gz`)).totals.files).toBe(10);
      // the liar names the genuine config (so the genuine diff_id) and holds one other file
      const liar = path.join(tmpDir(), 'liar.tar');
      const fake = await packTar([file('evil', 5)]);
      writeFileSync(liar, await packTar([
        { path: 'x/layer.tar', content: fake },
        { path: `${built.configDigest.slice(7)}.json`, content: built.config },
        { path: 'manifest.json', content: JSON.stringify([{ Config: `${built.configDigest.slice(7)}.json`, RepoTags: ['liar:1'], Layers: ['x/layer.tar'] }]) },
      ]));
      const seen = await analyzeReference(`docker-archive:${liar}`);
      expect([seen.totals.files, seen.totals.finalBytes]).toEqual([1, 5]);
      // the same for an OCI layout whose blob file is named by the genuine layer's digest
      const oci = path.join(tmpDir(), 'oci');
      const plainLayer: FixtureImage = { layers: [{ ...files(10, 'real').layers[0]!, compression: 'none' }] };
      const [layout] = await writeOciDir(oci, [{ img: plainLayer }]);
      expect((await analyzeReference(`oci:${oci}`)).totals.files).toBe(10);
      const blob = path.join(oci, 'blobs/sha256', layout!.layers[0]!.digest.slice(7));
      rmSync(blob);
      writeFileSync(blob, fake);
      const copy = path.join(tmpDir(), 'oci-copy');
      execFileSync('cp', ['-r', oci, copy]);
      expect((await analyzeReference(`oci:${copy}`)).totals.files).toBe(1);
    });
  });
});

describe('resource bounds: never hang, never follow the attacker sizes (points 12, 14, 15)', () => {
  it('a FIFO, a device or a directory where a file belongs is named, not opened', async () => {
    const d = tmpDir();
    const fifo = path.join(d, 'image.tar');
    execFileSync('mkfifo', [fifo]);
    await expectFailure(`docker-archive:${fifo}`, 2, /image\.tar is a FIFO, not a regular file/);
    await expectFailure(fifo, 2, /image\.tar: is a FIFO, not an image archive or layout/);
    await expectFailure(`docker-archive:${d}`, 2, /is a directory, not a regular file/);
    // index.json → /dev/zero, and a config blob that is a FIFO
    const layout = path.join(d, 'layout');
    const [built] = await writeOciDir(layout, [{ img: files(1, 'a') }]);
    const cfg = path.join(layout, 'blobs/sha256', built!.configDigest.slice(7));
    rmSync(cfg);
    execFileSync('mkfifo', [cfg]);
    await expectFailure(`oci:${layout}`, 2, new RegExp(`${built!.configDigest.slice(7)}: is a FIFO, not a regular file`));
    rmSync(path.join(layout, 'index.json'));
    symlinkSync('/dev/zero', path.join(layout, 'index.json'));
    await expectFailure(`oci:${layout}`, 2, /index\.json: is a character device, not a regular file/);
    mkdirSync(path.join(d, 'idxdir'));
    await writeOciDir(path.join(d, 'idxdir'), [{ img: files(1, 'a') }]);
    rmSync(path.join(d, 'idxdir', 'index.json'));
    mkdirSync(path.join(d, 'idxdir', 'index.json'));
    await expectFailure(`oci:${path.join(d, 'idxdir')}`, 2, /index\.json: is a directory, not a regular file/);
  });

  it('nested indexes listing each other many times are read once each', async () => {
    const d = tmpDir();
    await writeOciDir(d, [{ img: files(2, 'a') }]);
    const idx = JSON.parse(readFileSync(path.join(d, 'index.json'), 'utf8'));
    let list = idx.manifests;
    const reads: string[] = [];
    for (let level = 0; level < 4; level++) {
      const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: Array(60).fill(list[0]) }));
      const dg = `sha256:${sha256hex(body)}`;
      writeFileSync(path.join(d, 'blobs/sha256', dg.slice(7)), body);
      reads.push(dg);
      list = [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: dg, size: body.length }];
    }
    writeFileSync(path.join(d, 'index.json'), JSON.stringify({ ...idx, manifests: list }));
    const a = await analyzeReference(`oci:${d}`);
    expect(a.totals.files).toBe(2);
    // 60^4 paths through the indexes would be 13 million; a wide one over the cap is refused.
    const wide = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: Array.from({ length: 1001 }, (_, i) => ({ ...idx.manifests[0], annotations: { n: String(i) } })) }));
    writeFileSync(path.join(d, 'index.json'), wide);
    await expectFailure(`oci:${d}`, 2, /lists more than 1000 manifests/);
  });

  it('"manifests" that is not a list is named as such', async () => {
    const d = tmpDir();
    await writeOciDir(d, [{ img: files(1, 'a') }]);
    writeFileSync(path.join(d, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: 5 }));
    await expectFailure(`oci:${d}`, 2, /index\.json: \/manifests must be array or null/);
  });

  it('members of a compressed archive that are not layers are skipped, what is kept is bounded', async () => {
    const p = path.join(tmpDir(), 'oci.tar');
    await writeOciArchive(p, [{ img: files(2, 'a') }]);
    // append 20 MB members of junk (not JSON, not a layer) before the end of the archive
    const tarBuf = readFileSync(p);
    const junk = await packTar(Array.from({ length: 5 }, (_, i) => ({ path: `junk/${i}`, content: Buffer.alloc(20_000_000, 0x41) })));
    const joined = Buffer.concat([junk.subarray(0, junk.length - 1024), tarBuf]);
    writeFileSync(`${p}.gz`, gzipSync(joined, { level: 1 }));
    const r = await run(['analyze', `oci-archive:${p}.gz`, '-f', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.totals.files).toBe(2);
    expect(rep.warnings.filter((w: string) => /skipped a 20000000-byte member/.test(w))).toHaveLength(5);
  });
});

describe('messages that name the file (point 19)', () => {
  it('an output path that is a directory, or in no directory, fails before any image is read', async () => {
    const d = tmpDir();
    for (const [out, why] of [
      [d, 'it is a directory'],
      [path.join(d, 'no', 'such', 'r.json'), 'its directory does not exist'],
    ] as const) {
      // the image does not exist either: the output check comes first
      const r = await run(['analyze', `oci:${path.join(d, 'missing')}`, '-f', 'json', '-o', out]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim()).toBe(`imgscope: cannot write ${out}: ${why}`);
    }
  });
});
