/**
 * A persistent cache of walked layers, keyed by content address, so an image analysed before is not
 * read again: a registry layer is not downloaded, a gzip layer not inflated, a daemon image not
 * exported. Layers are immutable by digest, so an entry can only go stale when imgscope's own walk
 * changes: every key includes a fingerprint of the code that shapes a walk (walker, metadata
 * capture, partial-read probes), so a new build never reads an older build's entries.
 *
 * - Layer entries (`blob:<digest>`): the LayerWalk of the layer whose stored blob has that digest,
 *   with its compression and blob size (both follow from the digest).
 * - Records (small JSON): what a daemon image was made of (config, layers), keyed by its image ID.
 *
 * Location: IMGSCOPE_CACHE_DIR, else $XDG_CACHE_HOME/imgscope, else ~/.cache/imgscope. Size: at most
 * IMGSCOPE_CACHE_MAX bytes (default 2 GiB; oldest entries are evicted first). IMGSCOPE_CACHE=off or
 * `--no-cache` disables it; `--verify` bypasses it (verification needs the bytes). The cache never
 * fails an analysis: an unreadable entry is a miss (and is removed), a failed write is ignored.
 */
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdir, open, rename } from 'node:fs/promises';
import type { ProbeResult } from '../inspect/probe.js';
import { onCleanup } from '../util/cleanup.js';
import { decodeName, encodeName, hasEscapedBytes } from '../walk/names.js';
import type { EntryType, LayerWalk, WalkedEntry } from '../walk/types.js';
import type { Compression } from './compression.js';
import type { WalkedBlob } from './layer-reader.js';

/** Bumped when the entry encoding changes. */
const FORMAT = 'imgscope-layer-cache-3';
const MAGIC = Buffer.from('IMGSCLC3');
/** Every entry ends with the CRC-32 of everything before it: a damaged entry is a miss, never a wrong answer. */
const TRAILER = 4;
export const DEFAULT_CACHE_MAX = 2 * 1024 ** 3;

const TYPES: readonly EntryType[] = ['file', 'hardlink', 'symlink', 'dir', 'other'];
const TYPE_CODE = new Map<EntryType, number>(TYPES.map((t, i) => [t, i]));

interface Header {
  key: string;
  compression: Compression;
  blobSize: number;
  tarBytes: number;
  fileBytes: number;
  files: number;
  endMarker: boolean | null;
  holeBytes?: number;
  warnings: string[];
  n: number;
  pathsLength: number;
  bodiesLength: number;
  /** [entry index, link] */
  links: Array<[number, string]>;
  /** [entry index, offset into the bodies section, length] */
  bodies: Array<[number, number, number]>;
  probes: Array<[number, ProbeResult]>;
}

/**
 * Encodes a walked layer: JSON header, then paths (NUL-separated, the tar's own bytes: see
 * walk/names.ts), types, sizes, bodies, as
 * chunks to be written together (no copy of the whole; this runs on the walk's critical path).
 */
export function encodeWalkedBlobChunks(key: string, blob: WalkedBlob): Buffer[] {
  const entries = blob.walk.entries;
  const n = entries.length;
  const types = Buffer.allocUnsafe(n);
  const sizes = new Float64Array(n);
  const links: Header['links'] = [];
  const bodyRefs: Header['bodies'] = [];
  const bodyBufs: Buffer[] = [];
  const probes: Header['probes'] = [];
  let bodyOff = 0;
  let units = 0;
  for (let i = 0; i < n; i++) units += entries[i]!.path.length;
  // UTF-8 needs at most 3 bytes per UTF-16 unit; written straight into one buffer (no joined string).
  const paths = Buffer.allocUnsafe(units * 3 + n);
  let pathsLength = 0;
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    if (i > 0) paths[pathsLength++] = 0;
    const wrote = paths.write(e.path, pathsLength, 'utf8');
    // A non-ASCII name may hold escaped bytes (lone surrogates, which UTF-8 cannot carry): write its bytes.
    if (wrote !== e.path.length && hasEscapedBytes(e.path)) pathsLength += encodeName(e.path).copy(paths, pathsLength);
    else pathsLength += wrote;
    types[i] = TYPE_CODE.get(e.type) ?? 4;
    sizes[i] = e.size;
    if (e.link !== undefined) links.push([i, e.link]);
    if (e.body) {
      bodyRefs.push([i, bodyOff, e.body.length]);
      bodyBufs.push(e.body);
      bodyOff += e.body.length;
    }
    if (e.probe) probes.push([i, e.probe]);
  }
  const w = blob.walk;
  const header: Header = {
    key,
    compression: blob.compression,
    blobSize: blob.blobSize,
    tarBytes: w.tarBytes,
    fileBytes: w.fileBytes,
    files: w.files,
    endMarker: w.endMarker,
    ...(w.holeBytes ? { holeBytes: w.holeBytes } : {}),
    warnings: w.warnings,
    n,
    pathsLength,
    bodiesLength: bodyOff,
    links,
    bodies: bodyRefs,
    probes,
  };
  const hbuf = Buffer.from(JSON.stringify(header), 'utf8');
  const fixed = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(fixed, 0);
  fixed.writeUInt32LE(hbuf.length, MAGIC.length);
  const chunks = [fixed, hbuf, paths.subarray(0, pathsLength), types, Buffer.from(sizes.buffer, sizes.byteOffset, sizes.byteLength), ...bodyBufs];
  let crc = 0;
  // empty chunks skipped: Node's zlib.crc32 returns 0, not the running value, for an empty view of an
  // empty ArrayBuffer (seen on Node 20.20)
  for (const c of chunks) if (c.length > 0) crc = crc32(c, crc);
  const trailer = Buffer.alloc(TRAILER);
  trailer.writeUInt32LE(crc >>> 0, 0);
  chunks.push(trailer);
  return chunks;
}

export function encodeWalkedBlob(key: string, blob: WalkedBlob): Buffer {
  return Buffer.concat(encodeWalkedBlobChunks(key, blob));
}

/** The header of an entry and where its sections start, when the entry is whole and for `key`. */
function checkEntry(buf: Buffer, key: string): { h: Header; pos: number } | undefined {
  if (buf.length < MAGIC.length + 4 + TRAILER || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const body = buf.length - TRAILER;
  if (crc32(buf.subarray(0, body)) >>> 0 !== buf.readUInt32LE(body)) return undefined;
  const hlen = buf.readUInt32LE(MAGIC.length);
  let pos = MAGIC.length + 4;
  if (pos + hlen > body) return undefined;
  let h: Header;
  try {
    h = JSON.parse(buf.toString('utf8', pos, pos + hlen)) as Header;
  } catch {
    return undefined;
  }
  pos += hlen;
  if (h.key !== key || !Number.isInteger(h.n) || h.n < 0) return undefined;
  if (body !== pos + h.pathsLength + h.n + 8 * h.n + h.bodiesLength) return undefined;
  const types = buf.subarray(pos + h.pathsLength, pos + h.pathsLength + h.n);
  for (let i = 0; i < types.length; i++) if (types[i]! >= TYPES.length) return undefined;
  return { h, pos };
}

/** Decodes an entry written by encodeWalkedBlob; undefined when it is not one, is cut short or is for another key. */
export function decodeWalkedBlob(buf: Buffer, key: string): WalkedBlob | undefined {
  const c = checkEntry(buf, key);
  if (!c) return undefined;
  const { h } = c;
  let { pos } = c;
  const n = h.n;
  const names = n === 0 ? [] : decodeName(buf, pos, pos + h.pathsLength).split('\0');
  if (names.length !== n) return undefined;
  pos += h.pathsLength;
  const types = buf.subarray(pos, pos + n);
  pos += n;
  // Copied out: the sizes section need not be 8-byte aligned inside the file buffer.
  const sizes = new Float64Array(buf.buffer.slice(buf.byteOffset + pos, buf.byteOffset + pos + 8 * n));
  pos += 8 * n;
  const entries: WalkedEntry[] = new Array<WalkedEntry>(n);
  for (let i = 0; i < n; i++) {
    const t = TYPES[types[i]!];
    if (!t) return undefined;
    entries[i] = { path: names[i]!, type: t, size: sizes[i]! };
  }
  for (const [i, link] of h.links) entries[i]!.link = link;
  for (const [i, off, len] of h.bodies) entries[i]!.body = Buffer.from(buf.subarray(pos + off, pos + off + len));
  for (const [i, p] of h.probes) entries[i]!.probe = p;
  const walk: LayerWalk = { entries, tarBytes: h.tarBytes, fileBytes: h.fileBytes, files: h.files, endMarker: h.endMarker, warnings: h.warnings };
  if (h.holeBytes) walk.holeBytes = h.holeBytes;
  return { walk, compression: h.compression, blobSize: h.blobSize };
}

let fingerprintMemo: string | null | undefined;

/** Relative module specifiers of `import … from`, `export … from`, `import '…'` and `import('…')`. */
const RELATIVE_IMPORT = /\b(?:from|import)\s*\(?\s*['"](\.\.?\/[^'"]+)['"]/g;
/** `import type …;` and `export type … from …;`: gone from the built files, so no part of a walk. */
const TYPE_ONLY = /^\s*(?:import|export)\s+type\b[^;]*;/gm;

/**
 * The modules whose code shapes a walk, found from the code itself: the walk, probe and shared-rule
 * stages (walk/, inspect/, catalog/: the walkers, the probes, the capture predicate), the modules of
 * this stage that call the walkers (the layer reader, the archive reader), and every module they
 * import, transitively. Read from the built files (dist/) in a build, from src/ under the tests.
 */
export function walkModules(root: string, ext: string): string[] {
  const dirFiles = (dir: string): string[] => readdirSync(path.join(root, dir)).filter((f) => f.endsWith(ext)).map((f) => path.join(root, dir, f));
  const callsWalker = (f: string): boolean => /\bfrom\s*['"]\.\.\/walk\//.test(readFileSync(f, 'utf8').replace(TYPE_ONLY, ''));
  const todo = [...dirFiles('walk'), ...dirFiles('inspect'), ...dirFiles('catalog'), ...dirFiles('image').filter(callsWalker)];
  const seen = new Set<string>(todo);
  while (todo.length > 0) {
    const f = todo.pop()!;
    for (const m of readFileSync(f, 'utf8').replace(TYPE_ONLY, '').matchAll(RELATIVE_IMPORT)) {
      const dep = path.resolve(path.dirname(f), m[1]!.replace(/\.js$/, ext));
      // A specifier quoted in a comment may name no file; a real import always does.
      if (seen.has(dep) || !dep.startsWith(root + path.sep) || !existsSync(dep)) continue;
      seen.add(dep);
      todo.push(dep);
    }
  }
  return [...seen].sort();
}

/**
 * A hash of the code whose output a cache entry holds (walkModules): a build that changes any of it
 * never reads an older build's entries. null when it cannot be read (no caching then).
 */
export function walkFingerprint(): string | null {
  if (fingerprintMemo !== undefined) return fingerprintMemo;
  try {
    const here = fileURLToPath(import.meta.url);
    const root = path.dirname(path.dirname(here));
    const h = createHash('sha256').update(FORMAT);
    for (const f of walkModules(root, path.extname(here))) h.update(f.slice(root.length)).update(readFileSync(f));
    fingerprintMemo = h.digest('hex').slice(0, 32);
  } catch {
    fingerprintMemo = null;
  }
  return fingerprintMemo;
}

export function defaultCacheDir(): string {
  if (process.env.IMGSCOPE_CACHE_DIR) return process.env.IMGSCOPE_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache'), 'imgscope');
}

export function cacheDisabledByEnv(): boolean {
  const v = (process.env.IMGSCOPE_CACHE ?? '').trim().toLowerCase();
  return v === 'off' || v === '0' || v === 'false' || v === 'no';
}

function maxFromEnv(): number {
  const v = Number(process.env.IMGSCOPE_CACHE_MAX);
  return Number.isFinite(v) && v >= 0 && process.env.IMGSCOPE_CACHE_MAX?.trim() ? v : DEFAULT_CACHE_MAX;
}

export class LayerCache {
  private readonly dir: string;

  constructor(
    root: string,
    private readonly fingerprint: string,
    private readonly maxBytes: number = maxFromEnv(),
  ) {
    this.dir = path.join(root, 'v1');
  }

  /** The cache the environment asks for, or undefined when disabled or unusable. */
  static open(opts: { disabled?: boolean } = {}): LayerCache | undefined {
    if (opts.disabled || cacheDisabledByEnv()) return undefined;
    const fp = walkFingerprint();
    if (!fp) return undefined;
    try {
      return new LayerCache(defaultCacheDir(), fp);
    } catch {
      return undefined; // no home directory to put it in
    }
  }

  private file(key: string, ext: string): string {
    const name = createHash('sha256').update(`${this.fingerprint}\0${key}`).digest('hex');
    return path.join(this.dir, `${name}.${ext}`);
  }

  /** Whether a layer entry exists (cheap: no read). */
  hasLayer(key: string): boolean {
    try {
      return statSync(this.file(key, 'layer')).isFile();
    } catch {
      return false;
    }
  }

  getLayer(key: string): WalkedBlob | undefined {
    const buf = this.getLayerBytes(key);
    return buf ? decodeWalkedBlob(buf, key) : undefined;
  }

  /**
   * The encoded entry, checked whole (decodeWalkedBlob cannot fail on it): a caller can check every
   * layer of an image before handing the first one over.
   */
  getLayerBytes(key: string): Buffer | undefined {
    const f = this.file(key, 'layer');
    let buf: Buffer;
    try {
      buf = readWhole(f);
    } catch {
      return undefined;
    }
    if (!checkEntry(buf, key)) {
      tryUnlink(f);
      return undefined;
    }
    touch(f);
    return buf;
  }

  putLayer(key: string, blob: WalkedBlob): void {
    this.write(this.file(key, 'layer'), encodeWalkedBlobChunks(key, blob));
  }

  getRecord<T>(key: string): T | undefined {
    const f = this.file(key, 'json');
    try {
      const v = JSON.parse(readFileSync(f, 'utf8')) as { key: string; value: T };
      if (v.key !== key) return undefined;
      touch(f);
      return v.value;
    } catch {
      return undefined;
    }
  }

  putRecord(key: string, value: unknown): void {
    this.write(this.file(key, 'json'), [Buffer.from(JSON.stringify({ key, value }))]);
  }

  private readonly pending = new Set<Promise<void>>();

  /**
   * Writes atomically (temp file + rename) on libuv's threads, so the analysis goes on meanwhile;
   * flush() waits for the writes. A temp file of an interrupted write is removed on Ctrl-C.
   */
  private write(file: string, chunks: Buffer[]): void {
    const total = chunks.reduce((a, c) => a + c.length, 0);
    if (total > this.maxBytes) return;
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const forget = onCleanup(() => tryUnlink(tmp));
    const p = (async () => {
      try {
        await mkdir(this.dir, { recursive: true });
        const fh = await open(tmp, 'w');
        try {
          const { bytesWritten } = await fh.writev(chunks);
          if (bytesWritten !== total) throw new Error('short write');
        } finally {
          await fh.close();
        }
        await rename(tmp, file);
      } catch {
        tryUnlink(tmp);
      } finally {
        forget();
      }
    })();
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Waits for pending writes, then evicts down to the size limit. Never throws. */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
    this.evict();
  }

  /** Entries and bytes on disk (every build's entries: they share the size limit). */
  usage(): { dir: string; entries: number; bytes: number; maxBytes: number } {
    let entries = 0;
    let bytes = 0;
    try {
      for (const name of readdirSync(this.dir)) {
        if (name.endsWith('.tmp')) continue;
        try {
          bytes += statSync(path.join(this.dir, name)).size;
          entries++;
        } catch {
          // removed meanwhile
        }
      }
    } catch {
      // no cache yet
    }
    return { dir: this.dir, entries, bytes, maxBytes: this.maxBytes };
  }

  /** Removes every entry; returns how many bytes that freed. */
  clear(): number {
    const { bytes } = this.usage();
    rmSync(this.dir, { recursive: true, force: true });
    return bytes;
  }

  /** Removes the least recently used entries until the cache fits its size (stray temp files too). */
  private evict(): void {
    let list: Array<{ f: string; size: number; mtime: number }>;
    try {
      list = readdirSync(this.dir).flatMap((name) => {
        const f = path.join(this.dir, name);
        try {
          const st = statSync(f);
          // Temp files of writers that died (older than an hour) go first.
          if (name.endsWith('.tmp') && Date.now() - st.mtimeMs > 3600_000) return [{ f, size: st.size, mtime: 0 }];
          return name.endsWith('.tmp') ? [] : [{ f, size: st.size, mtime: st.mtimeMs }];
        } catch {
          return [];
        }
      });
    } catch {
      return;
    }
    let total = list.reduce((a, e) => a + e.size, 0);
    list.sort((a, b) => a.mtime - b.mtime);
    for (const e of list) {
      if (total <= this.maxBytes && e.mtime > 0) break;
      tryUnlink(e.f);
      total -= e.size;
    }
  }
}

function readWhole(f: string): Buffer {
  const fd = openSync(f, 'r');
  try {
    const size = statSync(f).size;
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const r = readSync(fd, buf, got, size - got, got);
      if (r === 0) break;
      got += r;
    }
    return got === size ? buf : buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

function touch(f: string): void {
  try {
    const now = new Date();
    utimesSync(f, now, now);
  } catch {
    // best effort: only the eviction order depends on it
  }
}

function tryUnlink(f: string): void {
  try {
    unlinkSync(f);
  } catch {
    // already gone
  }
}
