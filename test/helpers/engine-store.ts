/**
 * A Docker engine layer store on disk, built from layer tars the way the engine unpacks them
 * (docs/formats.md "Engine layer stores"): the tar's bytes but the bodies go into a tar-split record,
 * the bodies into the layer's diff directory, and a layerdb folder per chain ID. The tar is split
 * with plain header arithmetic (ustar sizes, PAX and GNU records as headers with bodies), not with
 * the decoder under test.
 */
import { closeSync, mkdirSync, openSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { tmpDir } from './images.js';
import { sha256hex, gzip } from './tar.js';

/** One tar-split line: a name that is not UTF-8 is written as `name_raw` (its bytes in base64), as tar-split does. */
type Split = { type: 1; name?: string; name_raw?: string; size: number; payload?: string; position: number } | { type: 2; payload: string; position: number };

const octal = (b: Buffer, off: number, len: number): number => {
  const s = b.toString('latin1', off, off + len).replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, '');
  return s ? Number.parseInt(s, 8) : 0;
};
/** A NUL-terminated field's bytes. */
const cbytes = (b: Buffer, off: number, len: number): Buffer => {
  const z = b.indexOf(0, off);
  return b.subarray(off, z < 0 || z > off + len ? off + len : z);
};
const padded = (n: number): number => Math.ceil(n / 512) * 512;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The PAX `path` record's bytes, if any. */
function paxPath(body: Buffer): Buffer | undefined {
  let at = 0;
  while (at < body.length) {
    const sp = body.indexOf(0x20, at);
    const len = Number(body.toString('latin1', at, sp));
    if (!(len > 0)) return undefined;
    const rec = body.subarray(sp + 1, at + len - 1);
    if (rec.subarray(0, 5).toString('latin1') === 'path=') return rec.subarray(5);
    at += len;
  }
  return undefined;
}

/** A tar-split file line for the name's bytes. */
function fileLine(name: Buffer, size: number, position: number): Split & { type: 1 } {
  try {
    return { type: 1, name: utf8.decode(name), size, position };
  } catch {
    return { type: 1, name_raw: name.toString('base64'), size, position };
  }
}

/**
 * Splits an uncompressed tar (ustar + PAX/GNU records, no sparse files) into tar-split lines and
 * bodies (names as bytes). As the engine does (Go's archive/tar), a file line gives the header's
 * size, also for a header-only entry (a link, a directory, a device), which has no body in the tar.
 */
export function splitTar(tar: Buffer): { lines: Split[]; bodies: Array<{ name: Buffer; body: Buffer }> } {
  const lines: Split[] = [];
  const bodies: Array<{ name: Buffer; body: Buffer }> = [];
  let seg: Buffer[] = [];
  let at = 0;
  let longName: Buffer | undefined;
  let pax: Buffer | undefined;
  const flush = (): void => {
    if (seg.length) lines.push({ type: 2, payload: Buffer.concat(seg).toString('base64'), position: lines.length });
    seg = [];
  };
  while (at + 512 <= tar.length) {
    const h = tar.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const size = octal(h, 124, 12);
    const flag = String.fromCharCode(h[156]!);
    seg.push(h);
    at += 512;
    if (flag === 'x' || flag === 'L') {
      const body = tar.subarray(at, at + size);
      if (flag === 'L') longName = cbytes(body, 0, size);
      if (flag === 'x') pax = paxPath(body);
      seg.push(tar.subarray(at, at + padded(size)));
      at += padded(size);
      continue;
    }
    if (flag === 'g') {
      // Go's reader hands a global header over as an entry once its records are read, before their
      // padding (read by the next call): tar-split records header and records, the entry, then the padding.
      seg.push(tar.subarray(at, at + size));
      flush();
      lines.push(fileLine(cbytes(h, 0, 100), 0, lines.length));
      seg.push(tar.subarray(at + size, at + padded(size)));
      at += padded(size);
      continue;
    }
    let name = cbytes(h, 0, 100);
    if (h.toString('latin1', 257, 263) === 'ustar\0' && h[345]) name = Buffer.concat([cbytes(h, 345, 155), Buffer.from('/'), name]);
    name = pax ?? longName ?? name;
    longName = pax = undefined;
    const stored = '123456'.includes(flag) ? 0 : size;
    flush();
    const line = fileLine(name, size, lines.length);
    // a header-only entry's content (none) has the CRC-64 0, which the engine writes as its payload
    if (stored === 0 && size > 0) line.payload = 'AAAAAAAAAAA=';
    lines.push(line);
    // The engine unpacks every regular file, empty ones too.
    if (flag === '0' || flag === '\0' || flag === '7') bodies.push({ name, body: tar.subarray(at, at + stored) });
    at += stored;
    if (padded(stored) > stored) seg.push(tar.subarray(at, at + padded(stored) - stored));
    at += padded(stored) - stored;
  }
  seg.push(tar.subarray(at));
  flush();
  return { lines, bodies };
}

/** Writes the bodies into a diff directory under their names' bytes. */
export function writeBodies(diff: string, bodies: Array<{ name: Buffer; body: Buffer }>): number {
  let size = 0;
  const root = Buffer.from(diff);
  for (const b of bodies) {
    const file = Buffer.concat([root, Buffer.from('/'), b.name]);
    mkdirSync(file.subarray(0, file.lastIndexOf(0x2f)), { recursive: true });
    writeFileSync(file, b.body);
    size += b.body.length;
  }
  return size;
}

export function tarSplitGz(lines: Split[]): Buffer {
  return gzip(Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n'));
}

/** An engine root holding one image of these layers; returns its image ID and each layer's layerdb folder. */
export function engineRoot(root: string, layers: Buffer[]): { id: string; folders: string[]; diffIds: string[] } {
  const diffIds = layers.map((t) => `sha256:${sha256hex(t)}`);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds }, history: [] }));
  const id = `sha256:${sha256hex(config)}`;
  const imagedb = path.join(root, 'image/overlay2/imagedb/content/sha256');
  mkdirSync(imagedb, { recursive: true });
  writeFileSync(path.join(imagedb, id.slice(7)), config);
  const folders: string[] = [];
  let chain = '';
  layers.forEach((tar, i) => {
    chain = i === 0 ? diffIds[0]! : `sha256:${sha256hex(`${chain} ${diffIds[i]}`)}`;
    const folder = path.join(root, 'image/overlay2/layerdb/sha256', chain.slice(7));
    const cacheId = sha256hex(`cache ${i} ${chain}`);
    const diff = path.join(root, 'overlay2', cacheId, 'diff');
    mkdirSync(folder, { recursive: true });
    mkdirSync(diff, { recursive: true });
    const { lines, bodies } = splitTar(tar);
    const size = writeBodies(diff, bodies);
    writeFileSync(path.join(folder, 'diff'), diffIds[i]!);
    writeFileSync(path.join(folder, 'cache-id'), cacheId);
    writeFileSync(path.join(folder, 'size'), String(size));
    writeFileSync(path.join(folder, 'tar-split.json.gz'), tarSplitGz(lines));
    folders.push(folder);
  });
  return { id, folders, diffIds };
}

/** A dockerode stand-in that answers `info` as an engine with this root (or as `info` says). */
export function fakeDocker(root: string, info: Record<string, unknown> = {}): { info: () => Promise<Record<string, unknown>> } {
  return { info: async () => ({ DockerRootDir: root, Driver: 'overlay2', DriverStatus: [], ServerVersion: '20.10.24', ...info }) };
}

/**
 * A directory holding `d/sp.bin`: a 4 MiB sparse file with 8 KiB of data at 1 MiB (what `tar --sparse`
 * packs as a GNU sparse entry). Returns the directory and the file's apparent size.
 */
export function sparseDir(): { src: string; apparent: number } {
  const src = tmpDir();
  mkdirSync(path.join(src, 'd'));
  const sparse = path.join(src, 'd', 'sp.bin');
  writeFileSync(sparse, '');
  truncateSync(sparse, 4 * 1024 ** 2);
  const fd = openSync(sparse, 'r+');
  writeSync(fd, Buffer.alloc(8192, 0x41), 0, 8192, 1024 ** 2);
  closeSync(fd);
  return { src, apparent: statSync(sparse).size };
}
