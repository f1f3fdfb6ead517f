import { closeSync, fstatSync, openSync, readFileSync, readSync, type Stats, statSync } from 'node:fs';
import { describeStat, regularFile, statOrUndefined } from '../util/files.js';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { inputError, withContext } from '../errors.js';
import { dirname, joinRel, normalizeEntryPath } from '../util/paths.js';
import type { ByteMeter, OnProgress } from '../util/progress.js';
import { iterateTarFile } from '../walk/seek-walker.js';
import { TarFormatError } from '../walk/tar-header.js';
import type { WalkOptions } from '../walk/types.js';
import { sniffCompression } from './compression.js';
import { type BlobCheck, peekStream, walkLayerFile, walkLayerStream, type WalkedBlob } from './layer-reader.js';

/** Small JSON/metadata files are read whole; anything bigger is never loaded into memory. */
export const MAX_SMALL_FILE = 64 * 1024 * 1024;
/** All the metadata a streamed archive may hold besides its layers (manifests and configs are KiBs). */
export const MAX_STREAMED_METADATA = 128 * 1024 * 1024;

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
  /** `file:…` naming the bytes of this member on disk while the file is unchanged (a layer cache key). */
  identity?(name: string): string | undefined;
}

function fileIdentity(file: string, offset: number, size: number): string | undefined {
  try {
    const st = statSync(file, { bigint: true });
    return `file:${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${offset}:${size}`;
  } catch {
    return undefined;
  }
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
    regularFile(file); // before open: opening a FIFO would block
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (err) {
      throw inputError(`${file}: cannot open: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
    }
    try {
      const size = fstatSync(fd).size;
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

  identity(name: string): string | undefined {
    const e = this.lookup(name);
    return e ? fileIdentity(this.file, e.offset, e.size) : undefined;
  }

  /** Counts each layer's bytes in the file once it is walked (progress). */
  meter: ByteMeter | undefined;

  async walkLayer(name: string, check: BlobCheck, opts: WalkOptions): Promise<WalkedBlob> {
    const e = this.lookup(name);
    if (!e) throw inputError(`${this.file}: missing blob ${name}`);
    const w = await walkLayerFile(this.file, e.offset, e.size, check, opts);
    this.meter?.add(e.size);
    return w;
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

/** An OCI image layout directory: every file it names must be a regular file inside it. */
export class DirArchive implements ArchiveFiles {
  readonly describe: string;
  constructor(readonly dir: string) {
    this.describe = dir;
  }
  private resolve(name: string): string {
    return path.join(this.dir, normalizeEntryPath(name));
  }
  /** The stat of a member that exists; an error when it exists but is not a regular file. */
  private file(name: string): Stats | undefined {
    const p = this.resolve(name);
    const st = statOrUndefined(p);
    if (st && !st.isFile()) throw inputError(`${p}: is ${describeStat(st)}, not a regular file`);
    return st;
  }
  has(name: string): boolean {
    return this.file(name) !== undefined;
  }
  readSmall(name: string): Buffer | undefined {
    const st = this.file(name);
    if (!st) return undefined;
    const p = this.resolve(name);
    if (st.size > MAX_SMALL_FILE) throw inputError(`${p}: ${st.size} bytes, too large for a metadata file`);
    const buf = readFileSync(p);
    if (buf.length !== st.size) throw inputError(`${p}: changed while it was read`);
    return buf;
  }
  streamsLayer(name: string, verify: boolean): boolean {
    const st = statOrUndefined(this.resolve(name));
    return !st?.isFile() || blobStreams(this.resolve(name), 0, st.size, verify);
  }

  identity(name: string): string | undefined {
    const st = statOrUndefined(this.resolve(name));
    return st?.isFile() ? fileIdentity(this.resolve(name), 0, st.size) : undefined;
  }

  walkLayer(name: string, check: BlobCheck, opts: WalkOptions): Promise<WalkedBlob> {
    const st = this.file(name);
    if (!st) throw inputError(`${this.dir}: missing blob ${name}`);
    return walkLayerFile(this.resolve(name), 0, st.size, check, opts);
  }
}

/** The per-layer version file of the legacy `docker save` layout. */
const LEGACY_VERSION = /^[0-9a-f]{64}\/VERSION$/;

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
  /** Bytes of metadata kept so far. */
  kept = 0;
  constructor(readonly describe: string) {}

  static async consume(
    describe: string,
    src: Readable,
    opts: WalkOptions,
    meter?: ByteMeter,
    onProgress?: OnProgress,
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
          // Metadata is JSON (manifests, configs, index.json, oci-layout, repositories): anything
          // else is skipped unread, and what is kept is bounded in total.
          const size = h.size ?? 0;
          const json = /^\s*[[{]/.test(head.toString('latin1', 0, Math.min(head.length, 64)));
          if (!json || size > MAX_SMALL_FILE) {
            // The legacy `docker save` layout has a `<id>/VERSION` ("1.0") beside each layer: part of
            // the format (docs/formats.md "Docker save archives"), so it is skipped without a word.
            if (!LEGACY_VERSION.test(name)) a.warnings.push(`${name}: skipped a ${size}-byte member that is neither a layer nor metadata`);
            rest.resume();
            await new Promise((r) => rest.on('end', r));
            continue;
          }
          a.kept += size;
          if (a.kept > MAX_STREAMED_METADATA) {
            throw inputError(`${describe}: holds more than ${MAX_STREAMED_METADATA} bytes of JSON besides its layers (at ${name}); not an image archive`);
          }
          const chunks: Buffer[] = [];
          for await (const ch of rest) chunks.push(ch as Buffer);
          a.small.set(name, Buffer.concat(chunks));
        } else {
          // on a terminal, a note after the bar of the bytes (meter)
          onProgress?.(`walking ${name} (${h.size} bytes)`);
          try {
            a.layers.set(name, await walkLayerStream(rest, c, { compute: true }, opts));
          } catch (err) {
            throw withContext(`${describe}: layer ${name}`, err);
          }
        }
      }
    };
    await Promise.all([meter ? pipeline(src, meter.counter(), extract) : pipeline(src, extract), consume()]);
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
  /** The layer walked as it streamed by, its bytes checked now against the digests the image names. */
  async walkLayer(name: string, check: BlobCheck): Promise<WalkedBlob> {
    const w = this.layers.get(this.resolve(name));
    if (!w) throw inputError(`${this.describe}: missing layer ${name}`);
    const verified: string[] = [];
    const compare = (what: string, want: string | undefined, got: string | undefined): void => {
      if (!want) return;
      if (!want.startsWith('sha256:')) throw inputError(`cannot check a ${want.split(':')[0]} digest in a streamed archive`);
      if (want !== got) throw inputError(`${what} digest mismatch: expected ${want}, got ${got}`);
      verified.push(want);
    };
    compare('blob', check.digest, w.computed?.blob);
    if (check.size !== undefined && check.size !== w.blobSize) {
      throw inputError(`size mismatch: descriptor says ${check.size} bytes, blob has ${w.blobSize}`);
    }
    compare('uncompressed layer (diff_id)', check.diffId, w.computed?.diff);
    return { ...w, verified };
  }
}
