import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import { ImgscopeError, inputError } from '../errors.js';
import { DirArchive, StreamedArchive, TarFileArchive } from './archive.js';
import { type Compression, decompressor, sniffCompression } from './compression.js';
import { loadDockerArchive, loadOciLayout, walkOpts } from './formats.js';
import { parseReference } from './reference.js';
import type { LoadedImage, LoadOptions } from './types.js';

/** Resolves a reference to an image from whichever source it names, fully walked. */
export async function loadImage(reference: string, opts: LoadOptions = {}): Promise<LoadedImage> {
  const ref = parseReference(reference);
  switch (ref.transport) {
    case 'docker-archive':
    case 'oci-archive': {
      const c = compressionOf(ref.path);
      if (c === 'gzip' || c === 'zstd') return loadCompressedArchive(ref.path, c, reference, ref.transport, ref.tag, opts);
      const files = new TarFileArchive(ref.path);
      return ref.transport === 'docker-archive'
        ? loadDockerArchive(files, reference, 'docker-archive', ref.tag, opts)
        : loadOciLayout(files, reference, 'oci-archive', ref.tag, opts);
    }
    case 'oci':
      return loadOciLayout(new DirArchive(ref.path), reference, 'oci', ref.tag, opts);
    case 'docker-daemon': {
      // dockerode (and its ssh/http2 stack) is only loaded when the daemon is used.
      const { loadFromDaemon } = await import('./daemon.js');
      return loadFromDaemon(reference, ref.name, opts);
    }
    case 'docker': {
      const { loadFromRegistry } = await import('./registry.js');
      return loadFromRegistry(reference, ref.name, opts);
    }
  }
}

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
async function loadCompressedArchive(
  file: string,
  c: 'gzip' | 'zstd',
  reference: string,
  transport: 'docker-archive' | 'oci-archive',
  tag: string | undefined,
  opts: LoadOptions,
): Promise<LoadedImage> {
  const inflated = new PassThrough();
  const reading = pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), decompressor(c)!, inflated);
  let archive: StreamedArchive;
  try {
    [archive] = await Promise.all([StreamedArchive.consume(file, inflated, walkOpts(opts), opts.onProgress), reading]);
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
  const img = transport === 'docker-archive' ? await loadDockerArchive(archive, reference, transport, tag, opts) : await loadOciLayout(archive, reference, transport, tag, opts);
  img.warnings.push(...archive.warnings);
  return img;
}
