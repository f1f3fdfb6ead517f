import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/pipeline.js';
import { wantsBody } from '../../src/catalog/metadata.js';
import { loadImage } from '../../src/image/load.js';
import { parsePlatform } from '../../src/image/platform.js';
import { type FixtureImage, tmpDir, writeDockerArchiveLegacy, writeDockerArchiveV25, writeOciArchive, writeOciDir } from '../helpers/images.js';
import { analyzeChecked, checkReport } from '../helpers/report.js';
import { dir, file, gzip, hardlink, packTar, whiteout, zstd } from '../helpers/tar.js';

/** A three-layer image whose numbers are known by construction. */
function sample(compression: 'none' | 'gzip' | 'zstd' = 'none'): FixtureImage {
  return {
    layers: [
      { entries: [dir('usr'), file('usr/bin/a', 1000), file('usr/bin/b', 2000), file('etc/big', 5000)], compression, createdBy: '/bin/sh -c #(nop) ADD file:abc in / ' },
      { entries: [file('usr/bin/a', 300), whiteout('etc/big'), hardlink('usr/bin/b2', 'usr/bin/b')], compression, createdBy: 'RUN update' },
      { entries: [file('app/main.py', 77)], compression, createdBy: 'COPY . /app # buildkit' },
    ],
    config: { WorkingDir: '/app' },
  };
}
// image = 1000+2000+5000 + 300 + 77; final = 300 + 2000 + 77; waste = 1000 + 5000 (layer 1)
const IMAGE = 8377;
const FINAL = 2377;
const WASTE = 6000;

describe('image sources', () => {
  it('reads the legacy docker save layout', async () => {
    const p = path.join(tmpDir(), 'legacy.tar');
    const built = await writeDockerArchiveLegacy(p, sample(), ['repo/app:v1']);
    const a = await analyzeChecked(`docker-archive:${p}`);
    expect(a.totals).toMatchObject({ imageBytes: IMAGE, finalBytes: FINAL, wasteBytes: WASTE, compressedBytes: null, layers: 3, files: 4 });
    expect(a.image.tags).toEqual(['repo/app:v1']);
    expect(a.image.configDigest).toBe(built.configDigest);
    expect(a.layers.map((l) => [l.bytes, l.visibleBytes, l.wasteBytes, l.files])).toEqual([[8000, 2000, 6000, 3], [300, 300, 0, 2], [77, 77, 0, 1]]);
    expect(a.layers.map((l) => l.diffId)).toEqual(built.layers.map((l) => l.diffId));
    expect(a.layers[2]!.createdBy).toBe('COPY . /app # buildkit');
    expect(a.layers[0]!.tarBytes).toBe(built.layers[0]!.tar.length);
    expect(a.kinds.find((k) => k.kind === 'app')!.bytes).toBe(77);
  });

  it('follows symlinked layer.tar members (docker save shares layers that way)', async () => {
    const img: FixtureImage = { layers: [{ entries: [file('x', 10)] }, { entries: [file('x', 10)] }] };
    const p = path.join(tmpDir(), 'dup.tar');
    await writeDockerArchiveLegacy(p, img, ['dup:latest'], { symlinkDuplicate: true });
    const a = await analyzeChecked(p);
    expect(a.totals).toMatchObject({ imageBytes: 20, finalBytes: 10, wasteBytes: 10 });
  });

  it('reads the Docker 25+ layout (manifest.json into blobs/sha256) with compressed layers', async () => {
    const p = path.join(tmpDir(), 'v25.tar');
    const built = await writeDockerArchiveV25(p, sample('gzip'));
    const a = await analyzeChecked(`docker-archive:${p}`);
    expect(a.totals).toMatchObject({ imageBytes: IMAGE, finalBytes: FINAL, wasteBytes: WASTE });
    expect(a.totals.compressedBytes).toBe(built.layers.reduce((s, l) => s + l.blob.length, 0));
    expect(a.layers.every((l) => l.compression === 'gzip')).toBe(true);
  });

  it.each(['none', 'gzip', 'zstd'] as const)('reads an OCI layout directory and archive (%s layers) with the same figures', async (c) => {
    const d = path.join(tmpDir(), 'oci');
    const built = await writeOciDir(d, [{ img: sample(c), tag: 'v1' }]);
    const a = await analyzeChecked(`oci:${d}:v1`);
    const t = path.join(tmpDir(), 'oci.tar');
    await writeOciArchive(t, [{ img: sample(c), tag: 'v1' }], { dotSlash: true });
    const b = await analyzeChecked(`oci-archive:${t}`);
    for (const r of [a, b]) {
      expect(r.totals).toMatchObject({ imageBytes: IMAGE, finalBytes: FINAL, wasteBytes: WASTE });
      expect(r.totals.compressedBytes).toBe(built[0]!.layers.reduce((s, l) => s + l.blob.length, 0));
      expect(r.image.manifestDigest).toBe(built[0]!.manifestDigest);
      expect(r.layers.map((l) => l.compression)).toEqual([c, c, c]);
    }
    expect(b.owners).toEqual(a.owners);
    expect(b.kinds).toEqual(a.kinds);
  });

  it('gives the same owners, kinds and final size from docker-archive, oci and oci-archive', async () => {
    const d = tmpDir();
    await writeDockerArchiveLegacy(path.join(d, 'l.tar'), sample());
    await writeDockerArchiveV25(path.join(d, 'v.tar'), sample('zstd'));
    await writeOciDir(path.join(d, 'oci'), [{ img: sample('gzip') }]);
    await writeOciArchive(path.join(d, 'o.tar'), [{ img: sample() }]);
    const reports = await Promise.all(['docker-archive:l.tar', 'docker-archive:v.tar', 'oci:oci', 'oci-archive:o.tar'].map((r) => analyzeChecked(r.replace(':', `:${d}/`))));
    for (const r of reports.slice(1)) {
      expect(r.layers.map((l) => [l.bytes, l.files, l.visibleBytes, l.wasteBytes, l.whiteouts, l.tarBytes])).toEqual(
        reports[0]!.layers.map((l) => [l.bytes, l.files, l.visibleBytes, l.wasteBytes, l.whiteouts, l.tarBytes]),
      );
      expect(r.owners).toEqual(reports[0]!.owners);
      expect(r.kinds).toEqual(reports[0]!.kinds);
      expect(r.totals.finalBytes).toBe(reports[0]!.totals.finalBytes);
    }
  });

  it('reads whole archives compressed with gzip or zstd (docker save | gzip), streamed, as the plain ones', async () => {
    const d = tmpDir();
    await writeDockerArchiveLegacy(path.join(d, 'l.tar'), sample());
    await writeDockerArchiveV25(path.join(d, 'v.tar'), sample('gzip'));
    await writeOciArchive(path.join(d, 'o.tar'), [{ img: sample('zstd') }]);
    const plain = await analyzeChecked(`docker-archive:${d}/l.tar`);
    writeFileSync(path.join(d, 'l.tar.gz'), gzip(readFileSync(path.join(d, 'l.tar'))));
    writeFileSync(path.join(d, 'v.tar.zst'), await zstd(readFileSync(path.join(d, 'v.tar'))));
    writeFileSync(path.join(d, 'o.tar.gz'), gzip(readFileSync(path.join(d, 'o.tar'))));
    for (const ref of [`docker-archive:${d}/l.tar.gz`, `docker-archive:${d}/v.tar.zst`, `oci-archive:${d}/o.tar.gz`, `${d}/l.tar.gz`]) {
      const r = await analyzeChecked(ref);
      expect(r.totals).toMatchObject({ imageBytes: IMAGE, finalBytes: FINAL, wasteBytes: WASTE, layers: 3 });
      expect(r.owners).toEqual(plain.owners);
      expect(r.kinds).toEqual(plain.kinds);
      expect(r.layers.map((l) => [l.bytes, l.files, l.visibleBytes, l.wasteBytes, l.createdBy])).toEqual(plain.layers.map((l) => [l.bytes, l.files, l.visibleBytes, l.wasteBytes, l.createdBy]));
    }
    // Tag selection works on a compressed archive too.
    expect((await loadImage(`docker-archive:${d}/l.tar.gz:fixture:latest`)).tags).toEqual(['fixture:latest']);
  });

  it('sniffs a bare path: a directory is an OCI layout, a file a tar', async () => {
    const d = path.join(tmpDir(), 'layout');
    await writeOciDir(d, [{ img: sample() }]);
    expect((await analyzeChecked(d)).image.transport).toBe('oci');
    const t = path.join(tmpDir(), 'bare.tar');
    await writeOciArchive(t, [{ img: sample() }]);
    const a = await analyzeChecked(t);
    expect(a.totals.finalBytes).toBe(FINAL);
  });

  it('chooses the platform from a nested multi-platform index and skips attestations', async () => {
    const amd: FixtureImage = { layers: [{ entries: [file('amd', 111)] }] };
    const arm: FixtureImage = { layers: [{ entries: [file('arm', 222)] }] };
    const d = path.join(tmpDir(), 'multi');
    await writeOciDir(
      d,
      [
        { img: amd, tag: 'v1', platform: { os: 'linux', architecture: 'amd64' } },
        { img: arm, tag: 'v1', platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
      { nested: true, attestation: true },
    );
    const a = await analyzeChecked(`oci:${d}`, { platform: parsePlatform('linux/arm64') });
    expect(a.totals.finalBytes).toBe(222);
    expect(a.image.platform).toBe('linux/arm64/v8');
    const b = await analyzeChecked(`oci:${d}`, { platform: parsePlatform('linux/amd64') });
    expect(b.totals.finalBytes).toBe(111);
    await expect(loadImage(`oci:${d}`, { platform: parsePlatform('linux/s390x') })).rejects.toThrow(
      /unknown platform linux\/s390x: the image has linux\/amd64, linux\/arm64\/v8/,
    );
  });

  it('sniffs the real compression when the media type lies, and warns', async () => {
    const d = path.join(tmpDir(), 'liar');
    await writeOciDir(d, [{ img: { layers: [{ entries: [file('f', 4321)], compression: 'gzip', mediaType: 'application/vnd.oci.image.layer.v1.tar' }] } }]);
    const a = await analyzeChecked(`oci:${d}`);
    expect(a.totals.finalBytes).toBe(4321);
    expect(a.layers[0]!.compression).toBe('gzip');
    expect(a.warnings.join('\n')).toMatch(/media type says none but the blob is gzip/);
  });

  it('reads multi-member gzip (estargz-style) layers', async () => {
    const t1 = await packTar([file('one', 1500)]);
    const t2 = await packTar([file('two', 2500)]);
    // Concatenate the two tars without the first one's end-of-archive blocks, each gzipped on its own.
    const blob = Buffer.concat([gzip(t1.subarray(0, t1.length - 1024)), gzip(t2)]);
    const d = path.join(tmpDir(), 'estargz');
    const built = await writeOciDir(d, [{ img: { layers: [{ raw: Buffer.concat([t1.subarray(0, t1.length - 1024), t2]) }] } }]);
    // swap the layer blob for the multi-member one and fix up the digests
    const { createHash } = await import('node:crypto');
    const dg = 'sha256:' + createHash('sha256').update(blob).digest('hex');
    writeFileSync(path.join(d, 'blobs/sha256', dg.slice(7)), blob);
    const m = JSON.parse(built[0]!.manifest.toString());
    m.layers[0] = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: dg, size: blob.length };
    const mb = Buffer.from(JSON.stringify(m));
    const mdg = 'sha256:' + createHash('sha256').update(mb).digest('hex');
    writeFileSync(path.join(d, 'blobs/sha256', mdg.slice(7)), mb);
    writeFileSync(path.join(d, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: mdg, size: mb.length }] }));
    const a = await analyzeChecked(`oci:${d}`);
    expect(a.totals.finalBytes).toBe(4000);
    expect(a.totals.files).toBe(2);
  });

  it('streams a docker save tar the way the daemon sends it (layers before manifest.json)', async () => {
    const { StreamedArchive } = await import('../../src/image/archive.js');
    const { openDockerSave } = await import('../../src/image/docker-save.js');
    const { loadLayers } = await import('../../src/image/layers.js');
    const loadDockerArchive = async (files: import('../../src/image/archive.js').ArchiveFiles, ref: string, transport: string, tag: undefined, opts: import('../../src/image/types.js').LoadOptions) =>
      loadLayers(ref, transport, await openDockerSave(files, tag, opts), opts);
    const { createReadStream } = await import('node:fs');
    const p = path.join(tmpDir(), 'stream.tar');
    await writeDockerArchiveLegacy(p, sample());
    const files = await StreamedArchive.consume('stream', createReadStream(p), { capture: wantsBody });
    const a = checkReport(analyze(await loadDockerArchive(files, 'docker-daemon:x', 'docker-daemon', undefined, { capture: wantsBody })));
    expect(a.totals).toMatchObject({ imageBytes: IMAGE, finalBytes: FINAL, wasteBytes: WASTE });
    const v = path.join(tmpDir(), 'stream25.tar');
    await writeDockerArchiveV25(v, sample('gzip'));
    const files25 = await StreamedArchive.consume('stream', createReadStream(v), { capture: wantsBody });
    const b = checkReport(analyze(await loadDockerArchive(files25, 'docker-daemon:x', 'docker-daemon', undefined, {})));
    expect(b.totals).toMatchObject({ imageBytes: IMAGE, finalBytes: FINAL });
  });

  it('picks one image of several by tag', async () => {
    const d = path.join(tmpDir(), 'tags');
    await writeOciDir(d, [
      { img: { layers: [{ entries: [file('a', 1)] }] }, tag: 'one' },
      { img: { layers: [{ entries: [file('b', 2)] }] }, tag: 'two' },
    ]);
    expect((await analyzeChecked(`oci:${d}:two`)).totals.finalBytes).toBe(2);
    await expect(loadImage(`oci:${d}`)).rejects.toThrow(/holds 2 images; name one as oci:DIR:TAG/);
    await expect(loadImage(`oci:${d}:three`)).rejects.toThrow(/no image tagged 'three' .*tags: one, two/);
  });
});
