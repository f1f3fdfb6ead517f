/**
 * The one layer loop every transport goes through: a transport opens an image (config, tags and its
 * layers as blobs it can walk), and this loop walks them, keeps stacking order, reads and fills the
 * layer cache, says the progress lines and builds each `LoadedLayer`. A transport never walks layers
 * itself (docs/architecture.md "Sources").
 */
import { withContext } from '../errors.js';
import type { WalkOptions } from '../walk/types.js';
import type { Compression } from './compression.js';
import { decodeWalkedBlob, type LayerCache } from './layer-cache.js';
import type { WalkedBlob } from './layer-reader.js';
import type { ImageConfigJson, LoadedImage, LoadedLayer, LoadOptions } from './types.js';

/** A layer blob the transport can walk when its turn comes. */
export interface WalkableBlob {
  walk(): Promise<WalkedBlob>;
  /** False when walking it seeks (synchronously): it is then not started ahead of its turn. */
  streams?(): boolean;
  /**
   * Layer cache keys, asked once when the layer's turn comes: where to look (the first hit wins) and,
   * for a walked layer, where it may be stored (the first key the walk earned, see cachedWalk).
   */
  cacheKeys?(): CacheKeys;
}

/** Where the layer cache may hold a layer, and where a walk of it may be stored. */
export interface CacheKeys {
  lookup: Array<string | undefined>;
  store: (w: WalkedBlob) => Array<string | undefined>;
}

/** A layer entry the transport already read from the layer cache (all of an image, or nothing). */
export interface CachedBlob {
  key: string;
  bytes: Buffer | undefined;
}

/** One layer of an opened image, in stacking order. */
export interface LayerSource {
  /** Its position among the layers the manifest lists (0-based; layers of unknown type are skipped). */
  index: number;
  /** How progress lines and errors name it: its member path, or its blob digest. */
  name: string;
  digest?: string;
  diffId?: string;
  mediaType?: string;
  /** The compression its media type claims: a blob that is something else gets a warning. */
  claims?: Compression;
  /**
   * Bytes a pull transfers: what the descriptor says, or (`'blob'`, a source that holds the blob
   * itself, as docker save does) the blob's size when it is compressed and unknown (null) otherwise.
   */
  pullBytes: number | 'blob';
  blob: WalkableBlob | CachedBlob;
}

/** What a transport hands the layer loop. */
export interface OpenedImage {
  /** How errors name the image (the archive, the layout, the registry reference). */
  where: string;
  tags: string[];
  manifestDigest?: string;
  configDigest: string;
  config: ImageConfigJson;
  /** How many layers the manifest lists (progress says "layer i/N"). */
  listed: number;
  layers: LayerSource[];
  warnings: string[];
  /** Runs once every layer was handed over (a streamed archive's warnings, the daemon's cache record). */
  after?: (img: LoadedImage) => void;
}

/** `img` with `then` run after its own `after` (a progress meter finished, a warning added). */
export function andAfter(img: OpenedImage, then: (img: LoadedImage) => void): OpenedImage {
  const after = img.after;
  return {
    ...img,
    after: (loaded) => {
      after?.(loaded);
      then(loaded);
    },
  };
}

/**
 * Layers walked concurrently (compressed ones decompress on libuv's thread pool, registry blobs
 * download in parallel, like `docker pull`'s 3 concurrent downloads) but handed over strictly in
 * stacking order: at most `LAYER_CONCURRENCY` layers' entries are alive beyond the one being merged.
 * IMGSCOPE_LAYER_CONCURRENCY=1 walks one layer at a time.
 */
const LAYER_CONCURRENCY = Math.max(1, Number.parseInt(process.env.IMGSCOPE_LAYER_CONCURRENCY ?? '', 10) || 3);

export async function inOrder<T>(
  n: number,
  start: (i: number) => Promise<T>,
  consume: (value: T, i: number) => void,
  concurrency = LAYER_CONCURRENCY,
  /** Whether layer i may start before its turn (false for a seekable layer: walked synchronously, it would only hold memory early). */
  ahead: (i: number) => boolean = () => true,
): Promise<void> {
  const pending = new Map<number, Promise<T>>();
  let next = 0;
  let current = 0;
  const launch = (): void => {
    while (next < n && pending.size < concurrency && (next === current || ahead(next))) {
      const p = start(next);
      p.catch(() => undefined); // observed in order below; never an unhandled rejection
      pending.set(next, p);
      next++;
    }
  };
  for (let i = 0; i < n; i++) {
    current = i;
    launch();
    const v = await pending.get(i)!;
    pending.delete(i);
    consume(v, i);
  }
}

/**
 * A layer from the layer cache under the first of `get` that is there, else walked (errors named by
 * `what`) and stored under each of `put` it may enter: `blob:<digest>` only when the walk verified
 * that digest against the bytes it read, `file:<identity>` (an unchanged file on disk). An archive
 * that lies about a digest can then never poison the entry another image reads, and a file on disk
 * is looked up by its identity only, so a warm cache never answers for bytes it did not see
 * (docs/architecture.md "Layer cache").
 */
async function cachedWalk(
  cache: LayerCache | undefined,
  opts: Pick<LoadOptions, 'verifyLayers'>,
  get: Array<string | undefined>,
  walk: () => Promise<WalkedBlob>,
  put: (w: WalkedBlob) => Array<string | undefined>,
  what: string,
  onHit: () => void,
): Promise<WalkedBlob> {
  // --verify reads every byte: it takes nothing from the cache, but what it verified may enter it.
  for (const key of opts.verifyLayers || !cache ? [] : get) {
    const hit = key && cache ? cache.getLayer(key) : undefined;
    if (hit) {
      onHit();
      return hit;
    }
  }
  let w: WalkedBlob;
  try {
    w = await walk();
  } catch (err) {
    throw withContext(what, err);
  }
  const keys = cache ? put(w).filter((k) => k !== undefined && (k.startsWith('file:') || (k.startsWith('blob:') && !!w.verified?.includes(k.slice(5))))) : [];
  for (const key of keys) cache!.putLayer(key!, w);
  return w;
}

/** The layer cache key of a blob digest. */
export const blobKey = (digest: string | undefined): string | undefined => (digest ? `blob:${digest}` : undefined);

/** The walk options of the load options: which file bodies to keep, which files to probe. */
export function walkOpts(opts: Pick<LoadOptions, 'capture' | 'probe'>): WalkOptions {
  const w: WalkOptions = {};
  if (opts.capture) w.capture = opts.capture;
  if (opts.probe) w.probe = opts.probe;
  return w;
}

const isCached = (b: WalkableBlob | CachedBlob): b is CachedBlob => 'bytes' in b;

/** The walked layer as the image's `LoadedLayer`, and a warning when its media type named another compression. */
function loadedLayer(src: LayerSource, w: WalkedBlob): { layer: LoadedLayer; warning?: string } {
  const compressedBytes = src.pullBytes !== 'blob' ? src.pullBytes : w.compression === 'none' ? null : w.blobSize;
  const layer: LoadedLayer = { compression: w.compression, compressedBytes, walk: w.walk };
  if (src.digest) layer.digest = src.digest;
  if (src.diffId) layer.diffId = src.diffId;
  if (src.mediaType) layer.mediaType = src.mediaType;
  const c = src.claims;
  return c && c !== w.compression ? { layer, warning: `layer ${src.index + 1} (${src.name}): media type says ${c} but the blob is ${w.compression}` } : { layer };
}

/** One layer's turn: taken from what the transport read from the cache, from the cache, or walked. */
async function walkOne(img: OpenedImage, src: LayerSource, opts: LoadOptions): Promise<{ layer: LoadedLayer; warning?: string }> {
  const label = `layer ${src.index + 1}/${img.listed}`;
  const blob = src.blob;
  if (isCached(blob)) {
    const w = decodeWalkedBlob(blob.bytes!, blob.key)!;
    blob.bytes = undefined; // decoded one layer at a time
    opts.onProgress?.(`${label}: from the layer cache`);
    return loadedLayer(src, w);
  }
  opts.onProgress?.(`${label}: ${src.name}`);
  const keys = blob.cacheKeys?.() ?? { lookup: [], store: () => [] };
  const w = await cachedWalk(
    opts.cache,
    opts,
    keys.lookup,
    () => blob.walk(),
    keys.store,
    `${img.where}: layer ${src.index + 1} (${src.name})`,
    () => opts.onProgress?.(`${label}: from the layer cache`),
  );
  return loadedLayer(src, w);
}

/** Walks every layer of an opened image and hands each over (`opts.onLayer`) in stacking order. */
export async function loadLayers(reference: string, transport: string, img: OpenedImage, opts: LoadOptions): Promise<LoadedImage> {
  const layers: LoadedLayer[] = [];
  const warnings = img.warnings;
  await inOrder(
    img.layers.length,
    (k) => walkOne(img, img.layers[k]!, opts),
    ({ layer, warning }) => {
      if (warning) warnings.push(warning);
      layers.push(layer);
      opts.onLayer?.(layers.length - 1, layer);
    },
    LAYER_CONCURRENCY,
    (k) => {
      const blob = img.layers[k]!.blob;
      // What the transport read from the cache is handed over in turn, as it is decoded.
      return isCached(blob) ? false : (blob.streams?.() ?? true);
    },
  );
  const out: LoadedImage = {
    reference,
    transport,
    tags: img.tags,
    ...(img.manifestDigest ? { manifestDigest: img.manifestDigest } : {}),
    configDigest: img.configDigest,
    config: img.config,
    layers,
    warnings,
  };
  img.after?.(out);
  return out;
}
