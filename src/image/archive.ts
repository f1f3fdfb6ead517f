import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { inputError, withContext } from '../errors.js';
import { dirname, joinRel, normalizeEntryPath } from '../util/paths.js';
import { iterateTarFile } from '../walk/seek-walker.js';
import { TarFormatError } from '../walk/tar-header.js';
import type { WalkOptions } from '../walk/types.js';
import { sniffCompression } from './compression.js';
import { type BlobCheck, peekStream, walkLayerFile, walkLayerStream, type WalkedBlob } from './layer-reader.js';

/** Small JSON/metadata files are read whole; anything bigger is never loaded into memory. */
export const MAX_SMALL_FILE = 64 * 1024 * 1024;

/**
 * The files of an image container format (a `docker save` tar, an OCI layout directory or tar, or a
 * `docker save` stream from the daemon), addressed by their normalized path inside it.
 */
export interface ArchiveFiles {
  readonly describe: string;
  has(name: string): boolean;
  /** Whole content of a small file, or undefined when absent. */
  readSmall(name: string): Buffer | undefined;
  walkLayer(name: string, check: BlobCheck, opts: WalkOptions): Promise<WalkedBlob>;
  /** Whether walking this layer streams it (compressed, or read in full to verify) rather than seeking. */
  streamsLayer?(name: string, verify: boolean): boolean;
}

/** Sniffs a layer blob stored in a file range: does walking it stream (true) or seek (false)? */
function blobStreams(file: string, offset: number, size: number, verify: boolean): boolean {
  if (verify) return true;
  try {
    const fd = openSync(file, 'r');
    try {
      const head = Buffer.alloc(Math.min(512, size));
      if (head.length) readSync(fd, head, 0, head.length, offset);
      return sniffCompression(head) !== 'none';
    } finally {
      closeSync(fd);
    }
  } catch {
    return true; // the walk itself reports the error
  }
}

interface TarIndexEntry {
  offset: number;
  size: number;
  link?: string;
}

/** An outer tar on disk, indexed once from its headers; members are read by offset, never extracted. */
export class TarFileArchive implements ArchiveFiles {
  private readonly index = new Map<string, TarIndexEntry>();
  constructor(readonly file: string) {
    this.describe = file;
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (err) {
      throw inputError(`${file}: cannot open: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
    }
    try {
      const size = statSync(file).size;
      const head = Buffer.alloc(Math.min(512, size));
      if (head.length) {
        readFileHead(fd, head);
      }
      const c = sniffCompression(head);
      if (c === 'gzip' || c === 'zstd') {
        throw inputError(`${file}: is a ${c}-compressed file; decompress it first (an image archive is a plain tar)`);
      }
      if (c === 'unknown') throw inputError(`${file}: not an image archive (not a tar file)`);
      iterateTarFile(fd, 0, size, (e) => {
        const name = normalizeEntryPath(e.name);
        if (e.typeflag === 50 /* symlink */) this.index.set(name, { offset: 0, size: 0, link: joinRel(dirname(name), e.linkname) });
        else if (e.typeflag === 49 /* hardlink */) this.index.set(name, { offset: 0, size: 0, link: normalizeEntryPath(e.linkname) });
        else if (e.typeflag !== 53 /* dir */) this.index.set(name, { offset: e.bodyOffset, size: e.stored });
        return false;
      });
    } catch (err) {
      if (err instanceof TarFormatError) throw inputError(`${file}: ${err.message}`, err);
      throw err;
    } finally {
      closeSync(fd);
    }
  }
  readonly describe: string;

  private lookup(name: string): TarIndexEntry | undefined {
    let e = this.index.get(normalizeEntryPath(name));
    for (let hops = 0; e?.link !== undefined && hops < 16; hops++) e = this.index.get(e.link);
    return e?.link === undefined ? e : undefined;
  }

  has(name: string): boolean {
    return this.lookup(name) !== undefined;
  }

  readSmall(name: string): Buffer | undefined {
    const e = this.lookup(name);
    if (!e) return undefined;
    if (e.size > MAX_SMALL_FILE) throw inputError(`${this.file}: ${name} is ${e.size} bytes, too large for a metadata file`);
    const fd = openSync(this.file, 'r');
    try {
      const buf = Buffer.alloc(e.size);
      readAt(fd, buf, e.offset);
      return buf;
    } finally {
      closeSync(fd);
    }
  }

  streamsLayer(name: string, verify: boolean): boolean {
    const e = this.lookup(name);
    return !e || blobStreams(this.file, e.offset, e.size, verify);
  }

  walkLayer(name: string, check: BlobCheck, opts: WalkOptions): Promise<WalkedBlob> {
    const e = this.lookup(name);
    if (!e) throw inputError(`${this.file}: missing blob ${name}`);
    return walkLayerFile(this.file, e.offset, e.size, check, opts);
  }
}

function readFileHead(fd: number, buf: Buffer): void {
  readAt(fd, buf, 0);
}

function readAt(fd: number, buf: Buffer, pos: number): void {
  let got = 0;
  while (got < buf.length) {
    const r = readSync(fd, buf, got, buf.length - got, pos + got);
    if (r === 0) throw inputError(`unexpected end of file at offset ${pos + got}`);
    got += r;
  }
}

/** An OCI image layout directory. */
export class DirArchive implements ArchiveFiles {
  readonly describe: string;
  constructor(readonly dir: string) {
    this.describe = dir;
  }
  private resolve(name: string): string {
    return path.join(this.dir, normalizeEntryPath(name));
  }
  has(name: string): boolean {
    return existsSync(this.resolve(name));
  }
  readSmall(name: string): Buffer | undefined {
    const p = this.resolve(name);
    if (!existsSync(p)) return undefined;
    const st = statSync(p);
    if (st.size > MAX_SMALL_FILE) throw inputError(`${p}: ${st.size} bytes, too large for a metadata file`);
    return readFileSync(p);
  }
  streamsLayer(name: string, verify: boolean): boolean {
    const p = this.resolve(name);
    return !existsSync(p) || blobStreams(p, 0, statSync(p).size, verify);
  }

  walkLayer(name: string, check: BlobCheck, opts: WalkOptions): Promise<WalkedBlob> {
    const p = this.resolve(name);
    if (!existsSync(p)) throw inputError(`${this.dir}: missing blob ${name}`);
    return walkLayerFile(p, 0, statSync(p).size, check, opts);
  }
}

/**
 * A `docker save` stream (from the daemon) consumed in one pass: small files are kept, every layer
 * tar is walked as it streams by (layers are recognised by sniffing, since manifest.json comes last),
 * and nothing is written to disk.
 */
export class StreamedArchive implements ArchiveFiles {
  readonly small = new Map<string, Buffer>();
  readonly layers = new Map<string, WalkedBlob>();
  readonly links = new Map<string, string>();
  readonly warnings: string[] = [];
  constructor(readonly describe: string) {}

  static async consume(
    describe: string,
    src: Readable,
    opts: WalkOptions,
    onProgress?: (msg: string) => void,
  ): Promise<StreamedArchive> {
    const a = new StreamedArchive(describe);
    const extract = tar.extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0]);
    const consume = async (): Promise<void> => {
      for await (const entry of extract) {
        const h = entry.header;
        const name = normalizeEntryPath(h.name);
        if (h.type === 'symlink' && h.linkname) a.links.set(name, joinRel(dirname(name), h.linkname));
        if (h.type === 'link' && h.linkname) a.links.set(name, normalizeEntryPath(h.linkname));
        if (h.type !== 'file' && h.type !== 'contiguous-file' && h.type !== null) {
          entry.resume();
          continue;
        }
        const { head, rest } = await peekStream(entry as unknown as Readable, 512);
        const c = sniffCompression(head);
        if (c === 'unknown') {
          if ((h.size ?? 0) > MAX_SMALL_FILE) {
            a.warnings.push(`${name}: skipped a ${h.size}-byte member that is neither a layer nor metadata`);
            rest.resume();
            await new Promise((r) => rest.on('end', r));
            continue;
          }
          const chunks: Buffer[] = [];
          for await (const ch of rest) chunks.push(ch as Buffer);
          a.small.set(name, Buffer.concat(chunks));
        } else {
          onProgress?.(`walking ${name} (${h.size} bytes)`);
          try {
            a.layers.set(name, await walkLayerStream(rest, c, {}, opts));
          } catch (err) {
            throw withContext(`${describe}: layer ${name}`, err);
          }
        }
      }
    };
    await Promise.all([pipeline(src, extract), consume()]);
    return a;
  }

  private resolve(name: string): string {
    let n = normalizeEntryPath(name);
    for (let hops = 0; this.links.has(n) && hops < 16; hops++) n = this.links.get(n)!;
    return n;
  }
  has(name: string): boolean {
    const n = this.resolve(name);
    return this.small.has(n) || this.layers.has(n);
  }
  readSmall(name: string): Buffer | undefined {
    return this.small.get(this.resolve(name));
  }
  async walkLayer(name: string): Promise<WalkedBlob> {
    const w = this.layers.get(this.resolve(name));
    if (!w) throw inputError(`${this.describe}: missing layer ${name}`);
    return w;
  }
}
