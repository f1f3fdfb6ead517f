/**
 * Builds tar archives in memory with byte counts known by construction. tar-stream's packer writes
 * ustar (and PAX for long names); a tiny raw writer covers what it never emits (GNU L/K, odd flags).
 */
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import tar from 'tar-stream';

export interface FEntry {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'link' | 'char';
  /** Content length for files (content is deterministic filler unless `content` is given). */
  size?: number;
  content?: string | Buffer;
  linkname?: string;
}

export function filler(size: number, seed = 0): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

export function file(path: string, size: number): FEntry {
  return { path, size };
}
export function text(path: string, content: string): FEntry {
  return { path, content };
}
export function dir(path: string): FEntry {
  return { path, type: 'dir' };
}
export function symlink(path: string, target: string): FEntry {
  return { path, type: 'symlink', linkname: target };
}
export function hardlink(path: string, target: string): FEntry {
  return { path, type: 'link', linkname: target };
}
export function whiteout(path: string): FEntry {
  const i = path.lastIndexOf('/');
  return { path: i < 0 ? `.wh.${path}` : `${path.slice(0, i)}/.wh.${path.slice(i + 1)}`, size: 0 };
}
export function opaque(dirPath: string): FEntry {
  return { path: `${dirPath}/.wh..wh..opq`, size: 0 };
}

/** Packs entries with tar-stream (ustar, PAX for long names). */
export async function packTar(entries: FEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c: unknown) => chunks.push(c as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const mtime = new Date(0);
    if (type === 'file') {
      const body = e.content !== undefined ? Buffer.from(e.content) : filler(e.size ?? 0);
      await new Promise<void>((res, rej) => pack.entry({ name: e.path, size: body.length, mtime }, body, (err) => (err ? rej(err) : res())));
    } else if (type === 'dir') {
      pack.entry({ name: e.path, type: 'directory', mtime });
    } else if (type === 'symlink') {
      pack.entry({ name: e.path, type: 'symlink', linkname: e.linkname!, mtime });
    } else if (type === 'link') {
      pack.entry({ name: e.path, type: 'link', linkname: e.linkname!, mtime });
    } else {
      pack.entry({ name: e.path, type: 'character-device', mtime });
    }
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** One raw 512-byte ustar header (for GNU L/K records and unusual flags). */
export function rawHeader(name: string, size: number, typeflag: string, linkname = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(typeflag, 156);
  h.write(linkname.slice(0, 100), 157);
  h.write('ustar  \0', 257, 'latin1'); // GNU magic
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i]!;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

export interface HeaderSpec {
  /** Name bytes (a string is written as UTF-8). */
  name: string | Buffer;
  size?: number;
  typeflag?: string;
  linkname?: string;
  /** Raw bytes for the 12-byte size field (a base-256 or malformed value), checksum still valid. */
  sizeField?: Buffer;
  /** POSIX ustar magic (with the prefix field) instead of GNU's. */
  ustar?: boolean;
  prefix?: string;
  /** Old GNU sparse: up to 4 [offset, length] pairs in the header, the real size, and whether extension blocks follow. */
  sparse?: { map: Array<[number, number]>; realSize: number; extended?: boolean };
}

/** One raw 512-byte header built from bytes, for inputs no packer writes. */
export function header(spec: HeaderSpec): Buffer {
  const h = Buffer.alloc(512);
  const name = typeof spec.name === 'string' ? Buffer.from(spec.name) : spec.name;
  name.copy(h, 0, 0, Math.min(100, name.length));
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  if (spec.sizeField) spec.sizeField.copy(h, 124, 0, 12);
  else h.write((spec.size ?? 0).toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write(spec.typeflag ?? '0', 156, 'latin1');
  if (spec.linkname) h.write(spec.linkname.slice(0, 100), 157);
  if (spec.ustar) {
    h.write('ustar\u000000', 257, 'latin1');
    if (spec.prefix) h.write(spec.prefix, 345);
  } else {
    h.write('ustar  \0', 257, 'latin1');
  }
  if (spec.sparse) {
    spec.sparse.map.slice(0, 4).forEach(([o, n], i) => {
      h.write(o.toString(8).padStart(11, '0') + '\0', 386 + i * 24);
      h.write(n.toString(8).padStart(11, '0') + '\0', 386 + i * 24 + 12);
    });
    h[482] = spec.sparse.extended ? 1 : 0;
    h.write(spec.sparse.realSize.toString(8).padStart(11, '0') + '\0', 483);
  }
  h.write('        ', 148);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i]!;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

/** PAX records ("%d key=value\n"), each length counting itself. */
export function paxRecords(records: Array<[string, string | Buffer]>): Buffer {
  return Buffer.concat(
    records.map(([k, v]) => {
      const body = Buffer.concat([Buffer.from(` ${k}=`), Buffer.from(v), Buffer.from('\n')]);
      let n = body.length + 1;
      while (`${n}`.length + body.length !== n) n = `${n}`.length + body.length;
      return Buffer.concat([Buffer.from(`${n}`), body]);
    }),
  );
}

export function pad(b: Buffer): Buffer {
  const r = b.length % 512;
  return r === 0 ? b : Buffer.concat([b, Buffer.alloc(512 - r)]);
}

/** A raw GNU-format tar: entries may have long names encoded as `L`/`K` records. */
export function gnuTar(entries: Array<{ path: string; size?: number; type?: '0' | '1' | '2' | '5' | 'S' | 'Z'; linkname?: string }>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (Buffer.byteLength(e.path) > 99) {
      const n = Buffer.from(e.path + '\0');
      parts.push(rawHeader('././@LongLink', n.length, 'L'), pad(n));
    }
    if (e.linkname && Buffer.byteLength(e.linkname) > 99) {
      const n = Buffer.from(e.linkname + '\0');
      parts.push(rawHeader('././@LongLink', n.length, 'K'), pad(n));
    }
    const size = e.size ?? 0;
    parts.push(rawHeader(e.path, size, e.type ?? '0', e.linkname ?? ''));
    if (size > 0) parts.push(pad(filler(size)));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export function sha256hex(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

export function gzip(b: Buffer): Buffer {
  return zlib.gzipSync(b, { level: 1 });
}

let zstdReady: Promise<typeof import('@bokuweb/zstd-wasm')> | undefined;
export async function zstd(b: Buffer): Promise<Buffer> {
  zstdReady ??= import('@bokuweb/zstd-wasm').then(async (m) => {
    await m.init();
    return m;
  });
  const m = await zstdReady;
  return Buffer.from(m.compress(b, 3));
}
