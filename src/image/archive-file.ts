/**
 * The transports of an image archive file (`docker-archive:`, `oci-archive:`): a plain tar is indexed
 * once and its layers read by offset; a gzip- or zstd-compressed one is inflated once, as a stream.
 */
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ImgscopeError, inputError } from '../errors.js';
import { type ArchiveFiles, StreamedArchive, TarFileArchive } from './archive.js';
import { type Compression, decompressor, sniffCompression } from './compression.js';
import { andAfter, type OpenedImage, walkOpts } from './layers.js';
import type { LoadOptions } from './types.js';
import { ByteMeter } from '../util/progress.js';

/** How the archive's files are read as an image (docker save, or an OCI layout). */
export type ArchiveFormat = (files: ArchiveFiles, tag: string | undefined, opts: LoadOptions) => Promise<OpenedImage>;

/** The compression of a whole archive file (`docker save … | gzip > img.tar.gz`); undefined when unreadable. */
function compressionOf(file: string): Compression | 'unknown' | undefined {
  let fd: number;
  try {
    if (!statSync(file).isFile()) return undefined; // opening a FIFO would block; TarFileArchive says why
    fd = openSync(file, 'r');
  } catch {
    return undefined; // TarFileArchive says why
  }
  try {
    const head = Buffer.alloc(512);
    const n = readSync(fd, head, 0, 512, 0);
    return sniffCompression(head.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

/**
 * A gzip- or zstd-compressed `docker save` or OCI archive cannot be read by offset: it is inflated
 * once, as a stream, and each layer walked as it passes (as the daemon's export is), nothing written
 * to disk. Layers are held walked until the manifest (at the end of a docker save) says their order.
 */
async function inflateArchive(file: string, c: 'gzip' | 'zstd', opts: LoadOptions, meter: ByteMeter | undefined): Promise<StreamedArchive> {
  const inflated = new PassThrough();
  const read = createReadStream(file, { highWaterMark: 1024 * 1024 });
  const reading = meter ? pipeline(read, meter.counter(), decompressor(c)!, inflated) : pipeline(read, decompressor(c)!, inflated);
  try {
    const [archive] = await Promise.all([StreamedArchive.consume(file, inflated, walkOpts(opts), undefined, opts.onProgress), reading]);
    return archive;
  } catch (err) {
    reading.catch(() => undefined);
    if (err instanceof ImgscopeError) throw err; // names the archive and the layer already
    const e = err as NodeJS.ErrnoException;
    if (typeof e?.code === 'string' && e.code.startsWith('Z_')) throw inputError(`${file}: corrupt ${c} data: ${e.message}`, err);
    const msg = e?.message ?? String(err);
    // tar-stream's words for the outer tar, said as the layer walkers say them
    if (/Unexpected end of data/i.test(msg)) throw inputError(`${file}: truncated archive: the ${c} stream ends inside the tar`, err);
    if (/Invalid tar header/i.test(msg)) throw inputError(`${file}: invalid tar header in the ${c}-compressed archive`, err);
    throw inputError(`${file}: not a readable ${c}-compressed image archive: ${msg}`, err);
  }
}

/** An archive file on disk, read as `format`; the image named by `tag` or the only one it holds. */
export async function openArchiveFile(file: string, tag: string | undefined, format: ArchiveFormat, opts: LoadOptions): Promise<OpenedImage> {
  const c = compressionOf(file);
  if (c !== 'gzip' && c !== 'zstd') {
    const tarFile = new TarFileArchive(file);
    const meter = progressOf(file, opts);
    tarFile.meter = meter;
    return finishing(await format(tarFile, tag, opts), meter);
  }
  const meter = progressOf(file, opts);
  let archive: StreamedArchive;
  try {
    archive = await inflateArchive(file, c, opts, meter);
  } finally {
    meter?.finish();
  }
  const img = await format(archive, tag, opts);
  // What the stream skipped is said after what the layers said.
  return { ...img, after: (loaded) => loaded.warnings.push(...archive.warnings) };
}

/** The bytes of reading FILE (its layers as they are walked, or the compressed file as it streams) against its size. */
function progressOf(file: string, opts: LoadOptions): ByteMeter | undefined {
  return opts.onProgress ? new ByteMeter(opts.onProgress, `read ${file}`, statSync(file).size) : undefined;
}

/** The image, its progress finished once every layer was handed over. */
function finishing(img: OpenedImage, meter: ByteMeter | undefined): OpenedImage {
  return meter ? andAfter(img, () => meter.finish()) : img;
}
