/** Builds whole images in code: docker-save (legacy and Docker 25+), OCI layout dirs and archives. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { type FEntry, gzip, packTar, sha256hex, zstd } from './tar.js';

export interface FixtureLayer {
  entries?: FEntry[];
  /** A ready-made uncompressed tar instead of entries. */
  raw?: Buffer;
  compression?: 'none' | 'gzip' | 'zstd';
  createdBy?: string;
  /** Override the media type written in the manifest (to test lying media types). */
  mediaType?: string;
  /** Damage the blob after compression; the manifest still names the damaged blob's digest. */
  corrupt?: (blob: Buffer) => Buffer;
}

export interface FixtureImage {
  layers: FixtureLayer[];
  config?: Record<string, unknown>;
  /** Extra empty-layer history steps inserted before the layer at that index. */
  emptySteps?: Array<{ before: number; createdBy: string }>;
  platform?: { os: string; architecture: string; variant?: string };
}

export interface BuiltLayer {
  tar: Buffer;
  blob: Buffer;
  diffId: string;
  digest: string;
  mediaType: string;
}

export interface BuiltImage {
  layers: BuiltLayer[];
  config: Buffer;
  configDigest: string;
  manifest: Buffer;
  manifestDigest: string;
}

const tmpRoots: string[] = [];
export function tmpDir(prefix = 'imgscope-test-'): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpRoots.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpRoots.splice(0)) rmSync(d, { recursive: true, force: true });
});

const LAYER_MT = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

export async function buildImage(img: FixtureImage): Promise<BuiltImage> {
  const layers: BuiltLayer[] = [];
  for (const l of img.layers) {
    const t = l.raw ?? (await packTar(l.entries ?? []));
    const c = l.compression ?? 'none';
    const packed = c === 'gzip' ? gzip(t) : c === 'zstd' ? await zstd(t) : t;
    const blob = l.corrupt ? l.corrupt(Buffer.from(packed)) : packed;
    layers.push({ tar: t, blob, diffId: `sha256:${sha256hex(t)}`, digest: `sha256:${sha256hex(blob)}`, mediaType: l.mediaType ?? LAYER_MT[c] });
  }
  const history: Array<Record<string, unknown>> = [];
  img.layers.forEach((l, i) => {
    for (const s of img.emptySteps ?? []) if (s.before === i) history.push({ created_by: s.createdBy, empty_layer: true });
    history.push({ created_by: l.createdBy ?? `/bin/sh -c #(nop) ADD layer${i} /` });
  });
  const p = img.platform ?? { os: 'linux', architecture: 'amd64' };
  const config = Buffer.from(
    JSON.stringify({
      architecture: p.architecture,
      os: p.os,
      ...(p.variant ? { variant: p.variant } : {}),
      created: '2026-01-01T00:00:00Z',
      config: { Env: ['PATH=/usr/bin'], ...(img.config ?? {}) },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history,
    }),
  );
  const configDigest = `sha256:${sha256hex(config)}`;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.blob.length })),
    }),
  );
  return { layers, config, configDigest, manifest, manifestDigest: `sha256:${sha256hex(manifest)}` };
}

async function writeTar(file: string, members: Array<{ name: string; data?: Buffer; linkname?: string }>): Promise<void> {
  const entries: FEntry[] = members.map((m) => (m.linkname ? { path: m.name, type: 'symlink', linkname: m.linkname } : { path: m.name, content: m.data! }));
  writeFileSync(file, await packTar(entries));
}

/** `docker save` as Docker ≤ 24 writes it: `<id>/layer.tar`, `<config>.json`, manifest.json, repositories. */
export async function writeDockerArchiveLegacy(file: string, img: FixtureImage, tags: string[] = ['fixture:latest'], opts: { symlinkDuplicate?: boolean } = {}): Promise<BuiltImage> {
  const b = await buildImage({ ...img, layers: img.layers.map((l) => ({ ...l, compression: 'none' as const })) });
  const members: Array<{ name: string; data?: Buffer; linkname?: string }> = [];
  const layerPaths: string[] = [];
  b.layers.forEach((l, i) => {
    const id = sha256hex(`${l.diffId}-${i}`);
    layerPaths.push(`${id}/layer.tar`);
    if (opts.symlinkDuplicate && i > 0 && l.diffId === b.layers[0]!.diffId) {
      members.push({ name: `${id}/layer.tar`, linkname: `../${sha256hex(`${b.layers[0]!.diffId}-0`)}/layer.tar` });
    } else {
      members.push({ name: `${id}/VERSION`, data: Buffer.from('1.0') }, { name: `${id}/layer.tar`, data: l.tar });
    }
  });
  const cfgName = `${b.configDigest.slice(7)}.json`;
  members.push({ name: cfgName, data: b.config });
  members.push({ name: 'manifest.json', data: Buffer.from(JSON.stringify([{ Config: cfgName, RepoTags: tags, Layers: layerPaths }])) });
  members.push({ name: 'repositories', data: Buffer.from('{}') });
  await writeTar(file, members);
  return b;
}

/** `docker save` as Docker 25+ writes it: blobs/sha256 + manifest.json + index.json + oci-layout. */
export async function writeDockerArchiveV25(file: string, img: FixtureImage, tags: string[] = ['fixture:latest']): Promise<BuiltImage> {
  const b = await buildImage(img);
  const members = [
    ...b.layers.map((l) => ({ name: `blobs/sha256/${l.digest.slice(7)}`, data: l.blob })),
    { name: `blobs/sha256/${b.configDigest.slice(7)}`, data: b.config },
    { name: `blobs/sha256/${b.manifestDigest.slice(7)}`, data: b.manifest },
    {
      name: 'index.json',
      data: Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: b.manifestDigest, size: b.manifest.length, annotations: { 'io.containerd.image.name': `docker.io/library/${tags[0]}`, 'org.opencontainers.image.ref.name': tags[0]!.split(':')[1] } }] })),
    },
    { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    {
      name: 'manifest.json',
      data: Buffer.from(
        JSON.stringify([
          {
            Config: `blobs/sha256/${b.configDigest.slice(7)}`,
            RepoTags: tags,
            Layers: b.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
            LayerSources: Object.fromEntries(b.layers.filter((l) => l.blob !== l.tar).map((l) => [l.diffId, { mediaType: l.mediaType, digest: l.digest, size: l.blob.length }])),
          },
        ]),
      ),
    },
  ];
  await writeTar(file, members);
  return b;
}

export interface LayoutImage {
  img: FixtureImage;
  tag?: string;
  platform?: { os: string; architecture: string; variant?: string };
}

export interface LayoutOptions {
  /** Put the platform manifests behind a nested index (index.json → index → manifests). */
  nested?: boolean;
  /** Add a BuildKit attestation manifest (platform unknown/unknown). */
  attestation?: boolean;
}

/** Lays out blobs + index.json for an OCI layout; returns the files (relative path → bytes). */
export async function ociLayoutFiles(images: LayoutImage[], opts: LayoutOptions = {}): Promise<{ files: Map<string, Buffer>; built: BuiltImage[] }> {
  const files = new Map<string, Buffer>();
  const built: BuiltImage[] = [];
  const descs: Array<Record<string, unknown>> = [];
  for (const li of images) {
    const b = await buildImage({ ...li.img, ...(li.platform ? { platform: li.platform } : {}) });
    built.push(b);
    for (const l of b.layers) files.set(`blobs/sha256/${l.digest.slice(7)}`, l.blob);
    files.set(`blobs/sha256/${b.configDigest.slice(7)}`, b.config);
    files.set(`blobs/sha256/${b.manifestDigest.slice(7)}`, b.manifest);
    const d: Record<string, unknown> = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: b.manifestDigest, size: b.manifest.length };
    if (li.platform) d.platform = li.platform;
    if (li.tag && !opts.nested) d.annotations = { 'org.opencontainers.image.ref.name': li.tag };
    descs.push(d);
  }
  if (opts.attestation) {
    const att = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.in-toto+json', digest: `sha256:${'0'.repeat(64)}`, size: 0 }, layers: [] }));
    const dg = `sha256:${sha256hex(att)}`;
    files.set(`blobs/sha256/${dg.slice(7)}`, att);
    descs.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: dg, size: att.length, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': String(descs[0]?.digest) } });
  }
  let top = descs;
  if (opts.nested) {
    const idx = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: descs }));
    const dg = `sha256:${sha256hex(idx)}`;
    files.set(`blobs/sha256/${dg.slice(7)}`, idx);
    top = [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: dg, size: idx.length, annotations: { 'org.opencontainers.image.ref.name': images[0]?.tag ?? 'latest' } }];
  }
  files.set('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: top })));
  files.set('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
  return { files, built };
}

export async function writeOciDir(dirPath: string, images: LayoutImage[], opts: LayoutOptions = {}): Promise<BuiltImage[]> {
  const { files, built } = await ociLayoutFiles(images, opts);
  for (const [name, data] of files) {
    mkdirSync(path.dirname(path.join(dirPath, name)), { recursive: true });
    writeFileSync(path.join(dirPath, name), data);
  }
  return built;
}

/** An OCI layout as a tar; `dotSlash` prefixes member names with `./` as some writers do. */
export async function writeOciArchive(file: string, images: LayoutImage[], opts: LayoutOptions & { dotSlash?: boolean } = {}): Promise<BuiltImage[]> {
  const { files, built } = await ociLayoutFiles(images, opts);
  await writeTar(file, [...files].map(([name, data]) => ({ name: opts.dotSlash ? `./${name}` : name, data })));
  return built;
}
