/**
 * A containers/storage overlay store on disk (docs/formats.md "Containers storage"), built from layer
 * tars the way Podman stores them: each tar split into a tar-split record and a diff directory (by
 * the engine store helper's header arithmetic, not the decoder under test), a layers.json parent
 * chain, and an images.json record whose manifest and config are big-data files named as
 * containers/storage names them (`=` + base64 of a key that is not all letters and digits).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { splitTar, tarSplitGz, writeBodies } from './engine-store.js';
import { gzip, sha256hex } from './tar.js';

export interface StoreLayer {
  tar: Buffer;
  /** Store it as arrived gzip-compressed: layers.json records `compression: 2` and the gzip's size and digest. */
  gzip?: boolean;
}

export interface StoreImage {
  layers: StoreLayer[];
  names?: string[];
  config?: Record<string, unknown>;
}

export interface BuiltStoreImage {
  id: string;
  layerIds: string[];
  diffIds: string[];
  /** Per layer: the gzip blob's size and digest when stored compressed. */
  compressed: Array<{ size: number; digest: string } | undefined>;
  config: Buffer;
}

/** The file a big-data key is kept in, computed here as base64 of the key (not by the code under test). */
const bigDataName = (key: string): string => (/^[A-Za-z0-9]+$/.test(key) ? key : `=${Buffer.from(key, 'utf8').toString('base64')}`);

/** One image's layers: tar-split, diff directory and layers.json record, chained by parent. */
function storeLayers(root: string, img: StoreImage, tag: string): { records: Array<Record<string, unknown>>; built: Omit<BuiltStoreImage, 'id' | 'config'> } {
  const records: Array<Record<string, unknown>> = [];
  const built: Omit<BuiltStoreImage, 'id' | 'config'> = { layerIds: [], diffIds: [], compressed: [] };
  let parent: string | undefined;
  img.layers.forEach((l, i) => {
    const diffId = `sha256:${sha256hex(l.tar)}`;
    const id = sha256hex(`layer ${tag} ${i} ${diffId}`);
    const { lines, bodies } = splitTar(l.tar);
    const diff = path.join(root, 'overlay', id, 'diff');
    mkdirSync(diff, { recursive: true });
    // Overlay keeps no `.wh.` file: a whiteout is a 0/0 device under the hidden name, an opaque marker an xattr.
    writeBodies(diff, bodies.filter((x) => !x.name.subarray(x.name.lastIndexOf(0x2f) + 1).toString('latin1').startsWith('.wh.')));
    writeFileSync(path.join(root, 'overlay-layers', `${id}.tar-split.gz`), tarSplitGz(lines));
    const gz = l.gzip ? gzip(l.tar) : undefined;
    const c = gz ? { size: gz.length, digest: `sha256:${sha256hex(gz)}` } : { size: l.tar.length, digest: diffId };
    records.push({ id, ...(parent ? { parent } : {}), 'compressed-diff-digest': c.digest, 'compressed-size': c.size, 'diff-digest': diffId, 'diff-size': l.tar.length, ...(gz ? { compression: 2 } : {}) });
    built.layerIds.push(id);
    built.diffIds.push(diffId);
    built.compressed.push(gz ? c : undefined);
    parent = id;
  });
  return { records, built };
}

/** A store root holding these images (overlay driver); returns what each was stored as. */
export function storageRoot(root: string, images: StoreImage[]): BuiltStoreImage[] {
  for (const d of ['overlay-images', 'overlay-layers', 'overlay']) mkdirSync(path.join(root, d), { recursive: true });
  const imageRecords: Array<Record<string, unknown>> = [];
  const layerRecords: Array<Record<string, unknown>> = [];
  const out = images.map((img, n) => {
    const { records, built } = storeLayers(root, img, String(n));
    layerRecords.push(...records);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: built.diffIds }, history: [], ...img.config }));
    const configDigest = `sha256:${sha256hex(config)}`;
    const id = configDigest.slice(7);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: img.layers.map((l, i) => ({
        mediaType: l.gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
        digest: built.compressed[i]?.digest ?? built.diffIds[i],
        size: built.compressed[i]?.size ?? l.tar.length,
      })),
    }));
    const manifestDigest = `sha256:${sha256hex(manifest)}`;
    const dir = path.join(root, 'overlay-images', id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, bigDataName(configDigest)), config);
    writeFileSync(path.join(dir, 'manifest'), manifest);
    writeFileSync(path.join(dir, bigDataName(`manifest-${manifestDigest}`)), manifest);
    imageRecords.push({
      id,
      digest: manifestDigest,
      ...(img.names ? { names: img.names } : {}),
      ...(built.layerIds.length ? { layer: built.layerIds[built.layerIds.length - 1] } : {}),
      'big-data-names': [configDigest, `manifest-${manifestDigest}`, 'manifest'],
      'big-data-digests': { [configDigest]: configDigest, [`manifest-${manifestDigest}`]: manifestDigest, manifest: manifestDigest },
    });
    return { id, ...built, config };
  });
  writeFileSync(path.join(root, 'overlay-images', 'images.json'), JSON.stringify(imageRecords));
  writeFileSync(path.join(root, 'overlay-layers', 'layers.json'), JSON.stringify(layerRecords));
  return out;
}
