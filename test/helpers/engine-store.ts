/**
 * A Docker engine layer store on disk, built from layer tars the way the engine unpacks them
 * (docs/formats.md "Engine layer stores"): the tar's bytes but the bodies go into a tar-split record,
 * the bodies into the layer's diff directory, and a layerdb folder per chain ID. The tar is split
 * with plain header arithmetic (ustar sizes, PAX and GNU records as headers with bodies), not with
 * the decoder under test.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sha256hex, gzip } from './tar.js';

/** One tar-split line. */
type Split = { type: 1; name: string; size: number; position: number } | { type: 2; payload: string; position: number };

const octal = (b: Buffer, off: number, len: number): number => {
  const s = b.toString('latin1', off, off + len).replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, '');
  return s ? Number.parseInt(s, 8) : 0;
};
const cstr = (b: Buffer, off: number, len: number): string => {
  const z = b.indexOf(0, off);
  return b.toString('utf8', off, z < 0 || z > off + len ? off + len : z);
};
const padded = (n: number): number => Math.ceil(n / 512) * 512;

/** Splits an uncompressed tar (ustar + PAX/GNU records, no sparse files) into tar-split lines and bodies. */
export function splitTar(tar: Buffer): { lines: Split[]; bodies: Array<{ name: string; body: Buffer }> } {
  const lines: Split[] = [];
  const bodies: Array<{ name: string; body: Buffer }> = [];
  let seg: Buffer[] = [];
  let at = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
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
    if (flag === 'x' || flag === 'L' || flag === 'g') {
      const body = tar.subarray(at, at + size);
      if (flag === 'L') longName = cstr(body, 0, size);
      if (flag === 'x') paxPath = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1];
      seg.push(tar.subarray(at, at + padded(size)));
      at += padded(size);
      continue;
    }
    let name = cstr(h, 0, 100);
    if (h.toString('latin1', 257, 263) === 'ustar\0' && h[345]) name = `${cstr(h, 345, 155)}/${name}`;
    name = paxPath ?? longName ?? name;
    longName = paxPath = undefined;
    const stored = '123456'.includes(flag) ? 0 : size;
    flush();
    lines.push({ type: 1, name, size: stored, position: lines.length });
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
    let size = 0;
    for (const b of bodies) {
      mkdirSync(path.dirname(path.join(diff, b.name)), { recursive: true });
      writeFileSync(path.join(diff, b.name), b.body);
      size += b.body.length;
    }
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
