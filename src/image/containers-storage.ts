/**
 * The `containers-storage:` transport (docs/formats.md "Containers storage"): an image of Podman,
 * Buildah or CRI-O read straight from their store, with no daemon and no export. The image's
 * manifest and config are big-data files of `overlay-images/<id>/`, its layers a parent chain in
 * `overlay-layers/layers.json`, and each layer is walked from its tar-split record
 * (`overlay-layers/<id>.tar-split.gz`) and its diff directory (`overlay/<id>/diff`), as the engine
 * store read walks Docker's (docs/formats.md "Engine layer stores"). There is no export to fall back
 * to: a layer the store cannot give whole is an error naming it.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envError, inputError } from '../errors.js';
import { walkTarSplit } from '../walk/tar-split-walker.js';
import type { Compression } from './compression.js';
import { sha256, verifyBytes } from './digest.js';
import type { WalkedBlob } from './layer-reader.js';
import { blobKey, type LayerSource, type OpenedImage, walkOpts } from './layers.js';
import { checkPlatform, parseJson } from './manifest.js';
import { defaultStorage, parseStorageRef, type StorageLocation } from './storage-conf.js';
import { findImage, type StoredImage } from './storage-lookup.js';
import { verifyStoredLayer } from './storage-verify.js';
import type { ImageConfigJson, LoadOptions } from './types.js';
import { ByteMeter } from '../util/progress.js';

/** One layer of `overlay-layers/layers.json`, the fields imgscope reads. */
export interface StoredLayerRecord {
  id: string;
  parent?: string;
  'diff-digest'?: string;
  'diff-size'?: number;
  'uncompressed-size'?: number;
  'compressed-diff-digest'?: string;
  'compressed-size'?: number;
  /** containers/storage's archive.Compression: 0 none, 1 bzip2, 2 gzip, 3 xz, 4 zstd. */
  compression?: number;
}

/** The report's name of a recorded compression (bzip2 and xz have none: only their size is reported). */
const COMPRESSION: Record<number, Compression> = { 2: 'gzip', 4: 'zstd' };

/** A layer of the image, checked against the config, with where its files are. */
interface ChainLayer {
  rec: StoredLayerRecord;
  diffId: string;
  tarSplit: string;
  diffDir: string;
}

/**
 * The file containers/storage keeps a big-data item in: its key when the key is all letters and
 * digits, else `=` and the key in base64 (containers/storage `images.go` makeBigDataBaseName).
 */
export function bigDataFile(key: string): string {
  return /^[A-Za-z0-9]+$/.test(key) ? key : `=${Buffer.from(key).toString('base64')}`;
}

/** The store a reference reads, checked to be an overlay store imgscope can read. */
function storeOf(graphroot: string | undefined, driver: string | undefined, where: string): StorageLocation & { driver: string } {
  const loc: StorageLocation = graphroot ? { graphroot, from: where, ...(driver ? { driver } : {}) } : defaultStorage();
  const d = loc.driver ?? (['overlay', 'vfs', 'btrfs', 'zfs', 'devmapper'].find((x) => existsSync(join(loc.graphroot, `${x}-images`))) || 'overlay');
  if (d !== 'overlay' && d !== 'overlay2') throw envError(`${where}: the store at ${loc.graphroot} uses the ${d} driver: only overlay stores are read`);
  const images = join(loc.graphroot, 'overlay-images');
  try {
    accessSync(images, constants.R_OK | constants.X_OK);
    accessSync(join(loc.graphroot, 'overlay-layers'), constants.R_OK | constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw envError(`${where}: cannot read the containers storage at ${loc.graphroot} (${code}${loc.from !== where ? `, root from ${loc.from}` : ''})`, err);
  }
  return { ...loc, driver: 'overlay' };
}

/** A JSON list the store keeps (images.json, layers.json), empty when the file is absent (a store that never held one). */
function storeList<T>(file: string): T[] {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw envError(`cannot read ${file} (${code ?? 'error'})`, err);
  }
  const v = parseJson<unknown>(file, buf);
  if (!Array.isArray(v) || !v.every((x) => x && typeof x === 'object' && typeof (x as { id?: unknown }).id === 'string')) {
    throw inputError(`${file}: not a list of records with an id`);
  }
  return v as T[];
}

/** A big-data item of an image, checked against `digest` or else the digest the store recorded for it; `what` names it in errors. */
function bigData(root: string, image: StoredImage, key: string, what: string, digest?: string): Buffer {
  const file = join(root, 'overlay-images', image.id, bigDataFile(key));
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw inputError(`${what}: image ${image.id} has no ${key} in the store (${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
  }
  const want = digest ?? image['big-data-digests']?.[key];
  if (want) verifyBytes(`${what} ${file}`, buf, want);
  return buf;
}

/** The image's config: the one its manifest names (else the big-data item named by its ID), checked against that digest. */
function storedConfig(root: string, image: StoredImage, where: string, opts: LoadOptions): StoredConfig {
  let digest = `sha256:${image.id}`;
  let manifest: ManifestLayers | undefined;
  let manifestDigest: string | undefined;
  if ((image['big-data-names'] ?? []).includes('manifest')) {
    const buf = bigData(root, image, 'manifest', `${where}: manifest`);
    manifest = parseJson<ManifestLayers>(`${where}: manifest`, buf);
    manifestDigest = sha256(buf);
    const d = manifest.config?.digest;
    if (typeof d === 'string') digest = d;
  }
  const config = parseJson<ImageConfigJson>(`${where}: config`, bigData(root, image, digest, `${where}: config`, digest), 'config');
  checkPlatform(where, config, opts);
  return { config, digest, ...(manifest ? { manifest, manifestDigest } : {}) };
}

/** The image's config and digest, and its stored manifest (as pulled or committed) with that manifest's digest. */
interface StoredConfig {
  config: ImageConfigJson;
  digest: string;
  manifest?: ManifestLayers;
  manifestDigest?: string;
}

/** What a stored manifest says that the report uses. */
interface ManifestLayers {
  config?: { digest?: unknown };
  layers?: Array<{ digest?: unknown; mediaType?: unknown }>;
}

/**
 * The image's layers from its top layer down the parent chain, base first, each checked against the
 * config's diff ID at its place, with its tar-split record and its diff directory present.
 */
function layerChain(root: string, image: StoredImage, layers: Map<string, StoredLayerRecord>, diffIds: string[], where: string): ChainLayer[] {
  const chain: StoredLayerRecord[] = [];
  for (let id = image.layer; id; id = layers.get(id)!.parent) {
    const rec = layers.get(id);
    if (!rec) throw inputError(`${where}: layer ${id} (layer ${diffIds.length - chain.length} from the base) is not in overlay-layers/layers.json`);
    if (chain.length >= diffIds.length) throw inputError(`${where}: the store's layer chain is longer than the config's ${diffIds.length} diff IDs`);
    chain.unshift(rec);
  }
  if (chain.length !== diffIds.length) throw inputError(`${where}: the store's layer chain has ${chain.length} layers, the config ${diffIds.length}`);
  return chain.map((rec, i) => {
    const name = `layer ${i + 1} (${rec.id})`;
    if (rec['diff-digest'] !== diffIds[i]) throw inputError(`${where}: ${name} records diff digest ${String(rec['diff-digest'])}, the config ${diffIds[i]}`);
    const tarSplit = join(root, 'overlay-layers', `${rec.id}.tar-split.gz`);
    const diffDir = join(root, 'overlay', rec.id, 'diff');
    if (!existsSync(tarSplit)) throw inputError(`${where}: ${name}: no tar-split record ${tarSplit}`);
    if (!existsSync(diffDir)) throw inputError(`${where}: ${name}: no diff directory ${diffDir}`);
    return { rec, diffId: diffIds[i]!, tarSplit, diffDir };
  });
}

/** The tar size containers/storage counted when it applied the layer. */
const tarSize = (rec: StoredLayerRecord): number | undefined => rec['diff-size'] ?? rec['uncompressed-size'];

/**
 * Walks one layer from the store. The tar its tar-split rebuilds must have the size the store
 * counted when it applied the layer: a record that is truncated, corrupt or of another tar is an
 * error naming the layer, never a smaller image.
 */
function walkChainLayer(l: ChainLayer, opts: LoadOptions): WalkedBlob {
  let gz: Buffer;
  try {
    gz = readFileSync(l.tarSplit);
  } catch (err) {
    throw envError(`cannot read ${l.tarSplit} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
  }
  let walked: WalkedBlob;
  try {
    const wo = walkOpts(opts);
    const w = walkTarSplit(gz, l.diffDir, wo);
    // --verify: the tar rebuilt from the store, as podman save rebuilds it, against the diff ID.
    if (opts.verifyLayers) verifyStoredLayer(gz, l.diffDir, l.diffId);
    walked = { walk: w.walk, compression: 'none', blobSize: w.walk.tarBytes };
  } catch (err) {
    // A body only its owner may read (a rootless store's subordinate IDs) is the environment, not the image.
    if ((err as NodeJS.ErrnoException).code === 'EACCES') throw envError(`${l.tarSplit}: ${(err as Error).message} (a rootless store is read inside \`podman unshare\`)`, err);
    throw inputError(`${l.tarSplit}: ${(err as Error).message}`, err);
  }
  const size = tarSize(l.rec);
  if (size !== undefined && size !== walked.walk.tarBytes) {
    throw inputError(`${l.tarSplit} rebuilds a ${walked.walk.tarBytes}-byte tar where layers.json records ${size} bytes`);
  }
  return recorded(l.rec, walked);
}

/** A walk with the compression and blob size the store recorded for a layer that arrived compressed. */
function recorded(rec: StoredLayerRecord, w: WalkedBlob): WalkedBlob {
  const c = COMPRESSION[rec.compression ?? 0];
  const size = rec['compressed-size'];
  return c && size !== undefined ? { ...w, compression: c, blobSize: size } : w;
}

/**
 * One layer as the layer loop walks it. A layer stored as it arrived uncompressed is looked up in
 * the layer cache by its diff ID, as the engine store read does; one that arrived compressed is
 * looked up here, so that a cached walk still carries the compression and size the store recorded.
 */
function layerSource(l: ChainLayer, i: number, n: number, manifest: ManifestLayers | undefined, opts: LoadOptions, meter?: ByteMeter): LayerSource {
  const key = blobKey(l.diffId)!;
  const cache = opts.verifyLayers ? undefined : opts.cache;
  const compressed = COMPRESSION[l.rec.compression ?? 0] !== undefined && l.rec['compressed-size'] !== undefined;
  const src: LayerSource = {
    index: i,
    name: l.rec.id,
    diffId: l.diffId,
    pullBytes: compressed ? l.rec['compressed-size']! : 'blob',
    blob: {
      walk: async () => {
        const hit = compressed ? cache?.getLayer(key) : undefined;
        if (hit) return recorded(l.rec, hit);
        const w = walkChainLayer(l, opts);
        meter?.add(tarSize(l.rec) ?? 0);
        return w;
      },
      streams: () => false,
      // A store walk hashes nothing: it is looked up by diff ID (what an export verified), never stored.
      cacheKeys: () => ({ lookup: compressed ? [] : [key], store: () => [] }),
    },
  };
  // The blob digest of a layer that arrived compressed, as its manifest names it (a manifest that
  // lists as many layers as the config: not a schema 1 one, with its empty layers); an uncompressed
  // layer's blob is its diff ID, which `podman save` does not name either.
  const m = manifest?.layers?.length === n ? manifest.layers[i] : undefined;
  const d = m?.digest ?? l.rec['compressed-diff-digest'];
  const mt = m?.mediaType;
  if (compressed && typeof d === 'string') src.digest = d;
  if (compressed && typeof mt === 'string') src.mediaType = mt;
  return src;
}

/** Opens `containers-storage:[STORE]NAME`: the image named in the store, its config and its layers. */
export async function openContainersStorage(rest: string, opts: LoadOptions): Promise<OpenedImage> {
  const where = `containers-storage:${rest}`;
  const ref = parseStorageRef(rest, where);
  const store = storeOf(ref.graphroot, ref.driver, where);
  const root = store.graphroot;
  const images = storeList<StoredImage>(join(root, 'overlay-images', 'images.json'));
  const found = findImage(images, ref.image, `${where} (store ${root})`);
  const { config, digest, manifest, manifestDigest } = storedConfig(root, found.image, where, opts);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (!Array.isArray(diffIds) || !diffIds.every((d) => typeof d === 'string')) throw inputError(`${where}: the config's rootfs.diff_ids is not a list of digests`);
  const records = [...storeList<StoredLayerRecord>(join(root, 'overlay-layers', 'layers.json')), ...storeList<StoredLayerRecord>(join(root, 'overlay-layers', 'volatile-layers.json'))];
  const chain = layerChain(root, found.image, new Map(records.map((r) => [r.id, r])), diffIds, where);
  opts.onProgress?.(`${where}: reading the containers storage at ${root}`);
  // the layers' tar sizes as the store recorded them, counted as each is walked
  const sizes = chain.map((l) => tarSize(l.rec));
  const total = sizes.every((s) => s !== undefined) ? sizes.reduce((a, b) => a! + b!, 0) : undefined;
  const meter = opts.onProgress ? new ByteMeter(opts.onProgress, `read ${ref.image}`, total) : undefined;
  const layers = chain.map((l, i) => layerSource(l, i, chain.length, manifest, opts, meter));
  const tags = found.name ? [found.name] : (found.image.names ?? []);
  const after = meter ? { after: () => meter.finish() } : {};
  return { where, tags, ...(manifestDigest ? { manifestDigest } : {}), configDigest: digest, config, listed: layers.length, layers, warnings: [], ...after };
}
