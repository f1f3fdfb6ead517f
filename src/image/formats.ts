import { inputError, withContext } from '../errors.js';
import { basename } from '../util/paths.js';
import type { WalkOptions } from '../walk/types.js';
import type { ArchiveFiles } from './archive.js';
import { compressionFromMediaType } from './compression.js';
import { checkShape, type Shape } from './shapes.js';
import type { WalkedBlob } from './layer-reader.js';
import type { LayerCache } from './layer-cache.js';
import { isDigest, sha256, verifyBytes } from './digest.js';
import { formatPlatform, hostPlatform, isAttestation, platformMatches } from './platform.js';
import {
  type Descriptor,
  type ImageConfigJson,
  LAYER_MEDIA_TYPES,
  type LoadedImage,
  type LoadedLayer,
  type LoadOptions,
  MT,
} from './types.js';

/** Parses a JSON document and, given its shape, checks the fields imgscope reads (shapes.ts). */
function parseJson<T>(what: string, buf: Buffer, shape?: Shape): T {
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw inputError(`${what}: invalid JSON: ${(err as Error).message}`, err);
  }
  if (shape) checkShape(shape, what, v);
  return v as T;
}

/**
 * Layers walked concurrently (compressed ones decompress on libuv's thread pool, registry blobs
 * download in parallel, like `docker pull`'s 3 concurrent downloads) but handed over strictly in
 * stacking order: at most `LAYER_CONCURRENCY` layers' entries are alive beyond the one being merged.
 * IMGSCOPE_LAYER_CONCURRENCY=1 walks one layer at a time.
 */
export const LAYER_CONCURRENCY = Math.max(1, Number.parseInt(process.env.IMGSCOPE_LAYER_CONCURRENCY ?? '', 10) || 3);

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
 * `what`) and stored under the first of `put` it may enter: `blob:<digest>` only when the walk
 * verified that digest against the bytes it read, `file:<identity>` (an unchanged file on disk)
 * otherwise. An archive that lies about a digest can then never poison the entry another image
 * reads (docs/architecture.md "Layer cache").
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
  const key = cache ? put(w).find((k) => k !== undefined && (k.startsWith('file:') || (k.startsWith('blob:') && !!w.verified?.includes(k.slice(5))))) : undefined;
  if (key) cache!.putLayer(key, w);
  return w;
}

const blobKey = (digest: string | undefined): string | undefined => (digest ? `blob:${digest}` : undefined);

function blobPath(digest: string): string {
  const [alg, hex] = digest.split(':');
  return `blobs/${alg}/${hex}`;
}

export function walkOpts(opts: Pick<LoadOptions, 'capture' | 'probe'>): WalkOptions {
  const w: WalkOptions = {};
  if (opts.capture) w.capture = opts.capture;
  if (opts.probe) w.probe = opts.probe;
  return w;
}

function checkPlatform(where: string, config: ImageConfigJson, opts: LoadOptions): void {
  if (!opts.platform) return;
  const have = { os: config.os ?? '', architecture: config.architecture ?? '', variant: config.variant };
  if (!platformMatches(opts.platform, have)) {
    throw inputError(`${where}: unknown platform ${formatPlatform(opts.platform)}: the image is ${formatPlatform(have)}`);
  }
}

interface DockerManifestItem {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
  LayerSources?: Record<string, Descriptor>;
}

/** Normalizes a docker reference for tag matching: drops docker.io/ and library/, adds :latest. */
export function normalizeTag(ref: string): string {
  let r = ref.replace(/^docker\.io\//, '').replace(/^library\//, '');
  const lastSlash = r.lastIndexOf('/');
  if (!r.includes('@') && r.indexOf(':', lastSlash + 1) < 0) r += ':latest';
  return r;
}

/**
 * A `docker save` archive: the legacy layout (manifest.json + `<id>/layer.tar`) and the one Docker 25+
 * writes (manifest.json pointing into `blobs/sha256/`, also an OCI layout). manifest.json is read first;
 * without it, index.json makes it an OCI layout.
 */
export async function loadDockerArchive(
  files: ArchiveFiles,
  reference: string,
  transport: LoadedImage['transport'],
  tag: string | undefined,
  opts: LoadOptions,
): Promise<LoadedImage> {
  const where = files.describe;
  const manifestBuf = files.readSmall('manifest.json');
  if (!manifestBuf) {
    if (files.has('index.json')) return loadOciLayout(files, reference, transport, tag, opts);
    throw inputError(`${where}: not an image archive: no manifest.json or index.json`);
  }
  const items = parseJson<DockerManifestItem[]>(`${where}: manifest.json`, manifestBuf);
  if (!Array.isArray(items) || items.length === 0) {
    if (files.has('index.json')) return loadOciLayout(files, reference, transport, tag, opts);
    throw inputError(`${where}: manifest.json lists no images`);
  }
  checkShape('manifest.json', `${where}: manifest.json`, items);
  let item: DockerManifestItem | undefined;
  if (tag) {
    const want = normalizeTag(tag);
    item = items.find((i) => (i.RepoTags ?? []).some((t) => normalizeTag(t) === want));
    if (!item) {
      const all = items.flatMap((i) => i.RepoTags ?? []).join(', ') || 'none';
      throw inputError(`${where}: no image tagged '${tag}' in the archive (tags: ${all})`);
    }
  } else if (items.length === 1) {
    item = items[0];
  } else {
    const all = items.map((i) => (i.RepoTags ?? [])[0] ?? i.Config).join(', ');
    throw inputError(`${where}: the archive holds ${items.length} images (${all}); name one as docker-archive:PATH:TAG`);
  }
  if (!item || typeof item.Config !== 'string' || !Array.isArray(item.Layers) || !item.Layers.every((l) => typeof l === 'string')) {
    throw inputError(`${where}: manifest.json entry has no Config or Layers`);
  }
  const configBuf = files.readSmall(item.Config);
  if (!configBuf) throw inputError(`${where}: missing config ${item.Config}`);
  const hex = basename(item.Config).replace(/\.json$/, '');
  const configDigest = /^[a-f0-9]{64}$/.test(hex) ? `sha256:${hex}` : sha256(configBuf);
  verifyBytes(`${where}: config ${item.Config}`, configBuf, configDigest);
  const config = parseJson<ImageConfigJson>(`${where}: config ${item.Config}`, configBuf, 'config');
  checkPlatform(where, config, opts);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== item.Layers.length) {
    throw inputError(`${where}: manifest.json lists ${item.Layers.length} layers but the config has ${diffIds.length} diff_ids`);
  }
  const layers: LoadedLayer[] = [];
  await inOrder(
    item.Layers.length,
    async (i) => {
      const name = item.Layers[i]!;
      const diffId = diffIds[i];
      const src = diffId ? item.LayerSources?.[diffId] : undefined;
      const blobHex = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name)?.[1];
      const digest = src?.digest ?? (blobHex ? `sha256:${blobHex}` : undefined);
      opts.onProgress?.(`layer ${i + 1}/${item.Layers.length}: ${name}`);
      // Cache keys: the stored blob's digest (named by the layout), or for a legacy `<id>/layer.tar`
      // the diff_id (the digest of exactly those bytes), when verified; else the file's identity.
      // (A streamed archive, the daemon's export, has walked every layer already: only stores.)
      const stored = blobHex ? `sha256:${blobHex}` : undefined;
      const identity = files.identity?.(name);
      // A diff_id names the uncompressed tar: it keys only a layer stored uncompressed (then it is
      // also the blob's digest), never a compressed one (an OCI blob of that digest is a plain tar).
      const plain = !!files.streamsLayer && !files.streamsLayer(name, false);
      const get = files.streamsLayer ? [blobKey(stored ?? (plain ? diffId : undefined)), identity] : [];
      const w = await cachedWalk(
        opts.cache,
        opts,
        get,
        () => files.walkLayer(name, { digest, ...(diffId ? { diffId } : {}), verifyUncompressed: opts.verifyLayers }, walkOpts(opts)),
        (w) => [blobKey(stored), w.compression === 'none' ? blobKey(diffId) : undefined, identity],
        `${where}: layer ${i + 1} (${name})`,
        () => opts.onProgress?.(`layer ${i + 1}/${item.Layers.length}: from the layer cache`),
      );
      const layer: LoadedLayer = {
        compression: w.compression,
        // docker save stores layers uncompressed: what a pull transfers is unknown unless the blob is compressed.
        compressedBytes: w.compression === 'none' ? null : w.blobSize,
        walk: w.walk,
      };
      if (digest) layer.digest = digest;
      if (diffId) layer.diffId = diffId;
      if (src?.mediaType) layer.mediaType = src.mediaType;
      return layer;
    },
    (layer) => {
      layers.push(layer);
      opts.onLayer?.(layers.length - 1, layer);
    },
    LAYER_CONCURRENCY,
    (i) => files.streamsLayer?.(item.Layers[i]!, !!opts.verifyLayers) ?? true,
  );
  return {
    reference,
    transport,
    tags: item.RepoTags ?? [],
    configDigest,
    config,
    layers,
    warnings: [],
  };
}

interface IndexJson {
  schemaVersion?: number;
  mediaType?: string;
  manifests?: Descriptor[] | null;
}

interface ManifestJson {
  schemaVersion?: number;
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
}

function isIndexType(mt: string | undefined): boolean {
  return mt === MT.ociIndex || mt === MT.dockerList;
}

function refNames(d: Descriptor): string[] {
  const a = d.annotations ?? {};
  return [a['org.opencontainers.image.ref.name'], a['io.containerd.image.name']].filter((x): x is string => !!x);
}

function tagMatches(d: Descriptor, tag: string): boolean {
  return refNames(d).some((n) => n === tag || normalizeTag(n) === normalizeTag(tag) || n.endsWith(`:${tag}`));
}

/**
 * Where manifests and blobs come from (an OCI layout, a registry). Reads are verified against the
 * descriptor's digest and size.
 */
export interface ManifestStore {
  readonly where: string;
  /** What to call several images when none was chosen (e.g. "name one as oci:DIR:TAG"). */
  readonly chooseHint: string;
  readManifest(d: Descriptor, what: string): Promise<Buffer>;
  readBlob(d: Descriptor, what: string): Promise<Buffer>;
  /** Walks a layer, checking its blob digest (and, with --verify, its diff_id) where it reads every byte. */
  walkLayer(d: Descriptor, index: number, opts: LoadOptions, diffId?: string): Promise<WalkedBlob>;
  /** A cache key for a layer whose digest is not checked on the fast path: the unchanged file it is read from. */
  identity?(d: Descriptor): string | undefined;
  /** False when the layer is walked by seeking (synchronously): it is then not started ahead of its turn. */
  streamsLayer?(d: Descriptor, opts: LoadOptions): boolean;
}

/** At most this many manifests and indexes are read while expanding an index (docs/architecture.md "Resource bounds"). */
export const MAX_INDEX_FANOUT = 1000;

/** An index's `manifests` (its shape checked on reading, shapes.ts): null is an empty list (moby/moby#47210). */
export function descriptorList(v: Descriptor[] | null | undefined): Descriptor[] {
  return v ?? [];
}

/** Expands (nested) indexes into image manifests, skipping attestations, and picks the platform. */
export async function selectImageManifest(store: ManifestStore, top: Descriptor[], opts: LoadOptions): Promise<Descriptor> {
  const where = store.where;
  const candidates: Descriptor[] = [];
  // Each index is read once, however often it is listed, and the whole expansion is capped.
  const seen = new Set<string>();
  let listed = 0;
  const expand = async (list: Descriptor[], depth: number): Promise<void> => {
    for (const d of list) {
      if (++listed > MAX_INDEX_FANOUT) throw inputError(`${where}: the index lists more than ${MAX_INDEX_FANOUT} manifests`);
      if (isAttestation(d)) continue;
      if (isIndexType(d.mediaType)) {
        if (depth > 8) throw inputError(`${where}: indexes nested too deeply`);
        if (seen.has(d.digest)) continue;
        seen.add(d.digest);
        const nested = parseJson<IndexJson>(`${where}: index ${d.digest}`, await store.readManifest(d, 'index'), 'index');
        await expand(
          descriptorList(nested.manifests).map((m) => (m.annotations || !d.annotations ? m : { ...m, annotations: d.annotations })),
          depth + 1,
        );
      } else if (d.mediaType === MT.ociManifest || d.mediaType === MT.dockerManifest || d.mediaType === undefined) {
        candidates.push(d);
      } else if (d.mediaType === MT.schema1 || d.mediaType === MT.schema1Signed) {
        throw inputError(`${where}: schema1 manifest ${d.digest} is deprecated and not supported`);
      }
    }
  };
  await expand(top, 0);
  const distinct = new Set(candidates.map((c) => c.digest));
  if (distinct.size === 1 && !opts.platform) return candidates[0]!;
  if (candidates.length === 0) throw inputError(`${where}: the index lists no image manifests`);
  const want = opts.platform ?? hostPlatform();
  const withPlatform = candidates.filter((c) => c.platform);
  const chosen = withPlatform.find((c) => platformMatches(want, c.platform)) ?? (distinct.size === 1 ? candidates[0] : undefined);
  if (chosen) return chosen;
  if (withPlatform.length === 0) throw inputError(`${where}: holds ${distinct.size} images; ${store.chooseHint}`);
  const have = [...new Set(withPlatform.map((c) => formatPlatform(c.platform)))].join(', ');
  throw inputError(`${where}: unknown platform ${formatPlatform(want)}: the image has ${have}`);
}

/** Reads the chosen manifest, its config and every layer (walked in order). */
export async function loadFromManifest(
  store: ManifestStore,
  chosen: Descriptor,
  meta: { reference: string; transport: LoadedImage['transport']; tags: string[] },
  opts: LoadOptions,
  manifestBuf?: Buffer,
): Promise<LoadedImage> {
  const where = store.where;
  const raw = manifestBuf ?? (await store.readManifest(chosen, 'manifest'));
  const manifest = parseJson<ManifestJson>(`${where}: manifest ${chosen.digest}`, raw, 'manifest');
  if (isIndexType(manifest.mediaType)) throw inputError(`${where}: manifest ${chosen.digest} is an index, not a manifest`);
  if (manifest.mediaType === MT.schema1 || manifest.mediaType === MT.schema1Signed || manifest.schemaVersion === 1) {
    throw inputError(`${where}: schema1 manifest ${chosen.digest} is deprecated and not supported`);
  }
  if (!manifest.config || !Array.isArray(manifest.layers)) {
    throw inputError(`${where}: manifest ${chosen.digest} has no config or layers`);
  }
  if (manifest.config.mediaType && manifest.config.mediaType !== MT.ociConfig && manifest.config.mediaType !== MT.dockerConfig) {
    throw inputError(`${where}: ${chosen.digest} is an artifact (config type ${manifest.config.mediaType}), not an image`);
  }
  const configBuf = await store.readBlob(manifest.config, 'config');
  const config = parseJson<ImageConfigJson>(`${where}: config ${manifest.config.digest}`, configBuf, 'config');
  checkPlatform(where, config, opts);
  const diffIds = config.rootfs?.diff_ids ?? [];
  const warnings: string[] = [];
  const layers: LoadedLayer[] = [];
  const mlayers = manifest.layers ?? [];
  const wanted = mlayers.map((d, i) => ({ d, i })).filter(({ d, i }) => {
    if (d.mediaType && !LAYER_MEDIA_TYPES.has(d.mediaType)) {
      warnings.push(`layer ${i + 1} (${d.digest}): unknown media type ${d.mediaType}, ignored`);
      return false;
    }
    if (!isDigest(d.digest)) throw inputError(`${where}: layer ${i + 1}: invalid digest '${d.digest}'`);
    return true;
  });
  await inOrder(
    wanted.length,
    async (k) => {
      const { d, i } = wanted[k]!;
      opts.onProgress?.(`layer ${i + 1}/${mlayers.length}: ${d.digest}`);
      const identity = store.identity?.(d);
      const w = await cachedWalk(
        opts.cache,
        opts,
        [blobKey(d.digest), identity],
        () => store.walkLayer(d, i, opts, diffIds[i]),
        () => [blobKey(d.digest), identity],
        `${where}: layer ${i + 1} (${d.digest})`,
        () => opts.onProgress?.(`layer ${i + 1}/${mlayers.length}: from the layer cache`),
      );
      const layer: LoadedLayer = { digest: d.digest, compression: w.compression, compressedBytes: d.size, walk: w.walk };
      const diffId = diffIds[i];
      if (diffId) layer.diffId = diffId;
      if (d.mediaType) layer.mediaType = d.mediaType;
      const claimed = compressionFromMediaType(d.mediaType);
      const warning = claimed && claimed !== w.compression ? `layer ${i + 1} (${d.digest}): media type says ${claimed} but the blob is ${w.compression}` : undefined;
      return { layer, warning };
    },
    ({ layer, warning }) => {
      if (warning) warnings.push(warning);
      layers.push(layer);
      opts.onLayer?.(layers.length - 1, layer);
    },
    LAYER_CONCURRENCY,
    (k) => store.streamsLayer?.(wanted[k]!.d, opts) ?? true,
  );
  return {
    reference: meta.reference,
    transport: meta.transport,
    tags: meta.tags,
    manifestDigest: chosen.digest,
    configDigest: manifest.config.digest,
    config,
    layers,
    warnings,
  };
}

/** An OCI image layout (directory or tar): index.json → (nested) index → manifest → config + layers. */
export async function loadOciLayout(
  files: ArchiveFiles,
  reference: string,
  transport: LoadedImage['transport'],
  tag: string | undefined,
  opts: LoadOptions,
): Promise<LoadedImage> {
  const where = files.describe;
  const indexBuf = files.readSmall('index.json');
  if (!indexBuf) throw inputError(`${where}: not an OCI image layout: no index.json`);
  if (!files.has('oci-layout')) throw inputError(`${where}: not an OCI image layout: no oci-layout file`);
  const index = parseJson<IndexJson>(`${where}: index.json`, indexBuf, 'index');
  // moby/moby#47210: `"manifests": null` when saving img@digest.
  const all = descriptorList(index.manifests);
  let top = all;
  if (tag) {
    top = top.filter((d) => tagMatches(d, tag));
    if (top.length === 0) {
      const names = all.flatMap(refNames).join(', ') || 'none';
      throw inputError(`${where}: no image tagged '${tag}' in the layout (tags: ${names})`);
    }
  }
  const read = async (d: Descriptor, what: string): Promise<Buffer> => {
    if (!isDigest(d.digest)) throw inputError(`${where}: ${what}: invalid digest '${d.digest}'`);
    const buf = files.readSmall(blobPath(d.digest));
    if (!buf) throw inputError(`${where}: missing blob ${d.digest} (${what})`);
    verifyBytes(`${where}: ${what} ${d.digest}`, buf, d.digest, d.size);
    return buf;
  };
  const store: ManifestStore = {
    where,
    chooseHint: 'name one as oci:DIR:TAG',
    readManifest: read,
    readBlob: read,
    streamsLayer: (d, o) => files.streamsLayer?.(blobPath(d.digest), !!o.verifyLayers) ?? true,
    identity: (d) => files.identity?.(blobPath(d.digest)),
    walkLayer: async (d, _i, o, diffId) => {
      const name = blobPath(d.digest);
      if (!files.has(name)) {
        const foreign = d.urls?.length ? ' (a foreign layer; its content lives at its urls)' : '';
        throw inputError(`missing blob ${d.digest}${foreign}`);
      }
      const check = { digest: d.digest, size: d.size, verifyUncompressed: o.verifyLayers, ...(o.verifyLayers && diffId ? { diffId } : {}) };
      return files.walkLayer(name, check, walkOpts(o));
    },
  };
  if (top.length === 0) throw inputError(`${where}: index.json lists no image manifests`);
  const chosen = await selectImageManifest(store, top, opts);
  return loadFromManifest(store, chosen, { reference, transport, tags: refNames(chosen).concat(top.length === 1 && top[0] !== chosen ? refNames(top[0]!) : []) }, opts);
}
