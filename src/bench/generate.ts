/**
 * Generates a large synthetic image for the benchmark: N layers of many files with realistic size
 * spread, written as an uncompressed legacy `docker save` archive and as a gzip OCI layout, plus the
 * plain layer tars (for the `tar -tf` / `gzip -dc | tar -t` floors on the same bytes).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tar from 'tar-stream';

export interface GenOptions {
  dir: string;
  layers: number;
  filesPerLayer: number;
  /** Target total content bytes across all layers. */
  totalBytes: number;
}

export interface Generated {
  dockerArchive: string;
  ociDir: string;
  layerTars: string[];
  layerGz: string[];
  files: number;
  contentBytes: number;
}

class Hasher extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(c: Buffer, _e: BufferEncoding, cb: (err?: Error | null, d?: Buffer) => void): void {
    this.hash.update(c);
    this.bytes += c.length;
    cb(null, c);
  }
}

/** Deterministic, moderately compressible content (text-like runs with pseudo-random bytes). */
function pool(size: number): Buffer {
  const b = Buffer.alloc(size);
  let x = 0x12345678;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = (i & 0x3ff) < 600 ? 97 + ((x >>> 16) % 26) : (x >>> 24) & 0xff;
  }
  return b;
}

function fileSize(i: number, mean: number): number {
  // A skewed spread: most files small, a few large (like site-packages), mean ≈ `mean`.
  const r = ((i * 2654435761) >>> 0) / 2 ** 32;
  return Math.max(0, Math.floor(mean * -Math.log(1 - r * 0.999)));
}

async function writeLayer(p: tar.Pack, layer: number, files: number, mean: number, data: Buffer): Promise<number> {
  let total = 0;
  const dirs = 200;
  const sp = 'usr/local/lib/python3.11/site-packages';
  const record: string[] = [];
  const add = async (name: string, body: Buffer): Promise<void> => {
    total += body.length;
    await new Promise<void>((res, rej) => p.entry({ name, size: body.length, mtime: new Date(0) }, body, (e) => (e ? rej(e) : res())));
  };
  // Files grouped by directory, as a real layer diff lists them; a pip RECORD owns them all.
  for (let i = 1; i < files; i++) {
    const size = fileSize(i + layer * 7919, mean);
    const rel = `pkg${layer}/d${Math.floor((i * dirs) / files)}/module_${i}.py`;
    const off = (i * 4099) % (data.length - size - 1);
    record.push(`${rel},sha256=AAAA,${size}`);
    await add(`${sp}/${rel}`, data.subarray(off, off + size));
  }
  record.push(`pkg${layer}-1.0.dist-info/RECORD,,`);
  await add(`${sp}/pkg${layer}-1.0.dist-info/RECORD`, Buffer.from(record.join('\n') + '\n'));
  p.finalize();
  return total;
}

/** Splits one readable into two writables, at the pace of the slower one. */
function tee(from: PassThrough, a: PassThrough, b: PassThrough): void {
  from.on('data', (c: Buffer) => {
    const okA = a.write(c);
    const okB = b.write(c);
    if (!okA || !okB) {
      from.pause();
      let waiting = (okA ? 0 : 1) + (okB ? 0 : 1);
      const resume = (): void => {
        if (--waiting === 0) from.resume();
      };
      if (!okA) a.once('drain', resume);
      if (!okB) b.once('drain', resume);
    }
  });
  from.on('end', () => {
    a.end();
    b.end();
  });
}

interface WrittenLayer {
  tarFile: string;
  gzFile: string;
  diffId: string;
  blob: { digest: string; size: number };
  contentBytes: number;
}

/** Layer `l` written once as a plain tar and once gzipped, both hashed on the way (diff_id, blob digest). */
async function writeLayerFiles(o: GenOptions, l: number, mean: number, data: Buffer): Promise<WrittenLayer> {
  const pack = tar.pack();
  const tarFile = path.join(o.dir, `layer${l}.tar`);
  const gzFile = path.join(o.dir, `layer${l}.tar.gz`);
  const diff = new Hasher();
  const gzHash = new Hasher();
  const both = new PassThrough();
  const toTar = createWriteStream(tarFile);
  const gz = zlib.createGzip({ level: 1 });
  const written = writeLayer(pack, l, o.filesPerLayer, mean, data);
  const a = new PassThrough();
  const b = new PassThrough();
  tee(both, a, b);
  let contentBytes = 0;
  await Promise.all([
    pipeline(pack, diff, both),
    pipeline(a, toTar as Writable),
    pipeline(b, gz, gzHash, createWriteStream(gzFile)),
    written.then((n) => {
      contentBytes = n;
    }),
  ]);
  const digest = gzHash.hash.digest('hex');
  return { tarFile, gzFile, diffId: `sha256:${diff.hash.digest('hex')}`, blob: { digest: `sha256:${digest}`, size: gzHash.bytes }, contentBytes };
}

function imageConfig(diffIds: string[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/bin'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: diffIds.map((_, i) => ({ created_by: `/bin/sh -c pip install pkg${i}` })),
    }),
  );
}

/** The OCI layout (gzip layers): the gzip files move into the blob directory; returns their new paths. */
function writeOciLayout(dir: string, blobDir: string, layerGz: string[], blobs: Array<{ digest: string; size: number }>, config: Buffer, configHex: string): string[] {
  for (let l = 0; l < layerGz.length; l++) renameSync(layerGz[l]!, path.join(blobDir, blobs[l]!.digest.slice(7)));
  writeFileSync(path.join(blobDir, configHex), config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${configHex}`, size: config.length },
      layers: blobs.map((b) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...b })),
    }),
  );
  const mHex = createHash('sha256').update(manifest).digest('hex');
  writeFileSync(path.join(blobDir, mHex), manifest);
  writeFileSync(path.join(dir, 'oci', 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${mHex}`, size: manifest.length }] }));
  writeFileSync(path.join(dir, 'oci', 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  return blobs.map((b) => path.join(blobDir, b.digest.slice(7)));
}

/** The legacy docker save archive (uncompressed layers), streamed from the layer files. */
async function writeDockerArchive(dir: string, layerTars: string[], diffIds: string[], config: Buffer, configHex: string): Promise<string> {
  const archive = path.join(dir, 'image.tar');
  const outer = tar.pack();
  const done = pipeline(outer, createWriteStream(archive));
  const layerPaths: string[] = [];
  for (let l = 0; l < layerTars.length; l++) {
    const id = createHash('sha256').update(`${diffIds[l]}${l}`).digest('hex');
    layerPaths.push(`${id}/layer.tar`);
    const size = statSync(layerTars[l]!).size;
    await new Promise<void>((res, rej) => {
      const entry = outer.entry({ name: `${id}/layer.tar`, size, mtime: new Date(0) }, (e) => (e ? rej(e) : res()));
      createReadStream(layerTars[l]!).pipe(entry);
    });
  }
  outer.entry({ name: `${configHex}.json`, mtime: new Date(0) }, config);
  outer.entry({ name: 'manifest.json', mtime: new Date(0) }, JSON.stringify([{ Config: `${configHex}.json`, RepoTags: ['bench:latest'], Layers: layerPaths }]));
  outer.finalize();
  await done;
  return archive;
}

export async function generate(o: GenOptions): Promise<Generated> {
  mkdirSync(o.dir, { recursive: true });
  const mean = o.totalBytes / (o.layers * o.filesPerLayer);
  const data = pool(64 * 1024 * 1024);
  const blobDir = path.join(o.dir, 'oci', 'blobs', 'sha256');
  mkdirSync(blobDir, { recursive: true });
  const layers: WrittenLayer[] = [];
  for (let l = 0; l < o.layers; l++) layers.push(await writeLayerFiles(o, l, mean, data));
  const diffIds = layers.map((w) => w.diffId);
  const layerTars = layers.map((w) => w.tarFile);
  const config = imageConfig(diffIds);
  const configHex = createHash('sha256').update(config).digest('hex');
  const blobs = layers.map((w) => w.blob);
  const layerGz = writeOciLayout(o.dir, blobDir, layers.map((w) => w.gzFile), blobs, config, configHex);
  const archive = await writeDockerArchive(o.dir, layerTars, diffIds, config, configHex);
  const contentBytes = layers.reduce((n, w) => n + w.contentBytes, 0);
  return { dockerArchive: archive, ociDir: path.join(o.dir, 'oci'), layerTars, layerGz, files: o.layers * o.filesPerLayer, contentBytes };
}
