/**
 * OCI and Docker v2 manifests, wherever they are stored (an OCI layout, a registry): an index is
 * expanded to one image manifest, and the manifest read to its config and its layers as blobs for the
 * layer loop (layers.ts).
 */
import { inputError } from '../errors.js';
import { compressionFromMediaType } from './compression.js';
import { isDigest } from './digest.js';
import type { WalkedBlob } from './layer-reader.js';
import { blobKey, type LayerSource, type OpenedImage } from './layers.js';
import { formatPlatform, hostPlatform, isAttestation, platformMatches } from './platform.js';
import { checkShape, type Shape } from './shapes.js';
import { type Descriptor, type ImageConfigJson, LAYER_MEDIA_TYPES, type LoadOptions, MT } from './types.js';

/** Parses a JSON document and, given its shape, checks the fields imgscope reads (shapes.ts). */
export function parseJson<T>(what: string, buf: Buffer, shape?: Shape): T {
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw inputError(`${what}: invalid JSON: ${(err as Error).message}`, err);
  }
  if (shape) checkShape(shape, what, v);
  return v as T;
}

/** With --platform, the config must be that platform's. */
export function checkPlatform(where: string, config: ImageConfigJson, opts: LoadOptions): void {
  if (!opts.platform) return;
  const have = { os: config.os ?? '', architecture: config.architecture ?? '', variant: config.variant };
  if (!platformMatches(opts.platform, have)) {
    throw inputError(`${where}: unknown platform ${formatPlatform(opts.platform)}: the image is ${formatPlatform(have)}`);
  }
}

/** Normalizes a docker reference for tag matching: drops docker.io/ and library/, adds :latest. */
export function normalizeTag(ref: string): string {
  let r = ref.replace(/^docker\.io\//, '').replace(/^library\//, '');
  const lastSlash = r.lastIndexOf('/');
  if (!r.includes('@') && r.indexOf(':', lastSlash + 1) < 0) r += ':latest';
  return r;
}

export interface IndexJson {
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
const MAX_INDEX_FANOUT = 1000;

/** An index's `manifests` (its shape checked on reading, shapes.ts): null is an empty list (moby/moby#47210). */
export function descriptorList(v: Descriptor[] | null | undefined): Descriptor[] {
  return v ?? [];
}

/** Every image manifest an index lists, nested indexes expanded (each read once), attestations skipped. */
async function expandIndex(store: ManifestStore, top: Descriptor[]): Promise<Descriptor[]> {
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
  return candidates;
}

/** Expands (nested) indexes into image manifests, skipping attestations, and picks the platform. */
export async function selectImageManifest(store: ManifestStore, top: Descriptor[], opts: LoadOptions): Promise<Descriptor> {
  const where = store.where;
  const candidates = await expandIndex(store, top);
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

/** The manifest, checked to be one image's (not an index, not schema1, not an artifact). */
function imageManifest(where: string, chosen: Descriptor, raw: Buffer): ManifestJson & { config: Descriptor; layers: Descriptor[] } {
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
  return manifest as ManifestJson & { config: Descriptor; layers: Descriptor[] };
}

/** A manifest's layer as the layer loop walks it: from the store, cached by its blob digest. */
function manifestLayer(store: ManifestStore, d: Descriptor, i: number, diffId: string | undefined, opts: LoadOptions): LayerSource {
  const src: LayerSource = {
    index: i,
    name: d.digest,
    digest: d.digest,
    pullBytes: d.size,
    blob: {
      walk: () => store.walkLayer(d, i, opts, diffId),
      streams: () => store.streamsLayer?.(d, opts) ?? true,
      cacheKeys: () => {
        // A blob file on disk (an OCI layout) is looked up by its identity only: its name is its own
        // claim (docs/architecture.md "Layer cache"); a registry's blob, or one no longer on disk, by
        // its digest. What a walk checked is stored under both.
        const identity = store.identity?.(d);
        return { lookup: identity ? [identity] : [blobKey(d.digest)], store: () => [identity, blobKey(d.digest)] };
      },
    },
  };
  if (diffId) src.diffId = diffId;
  if (d.mediaType) src.mediaType = d.mediaType;
  const claims = compressionFromMediaType(d.mediaType);
  if (claims) src.claims = claims;
  return src;
}

/** Reads the chosen manifest and its config; its layers are walked by the layer loop. */
export async function openManifest(store: ManifestStore, chosen: Descriptor, tags: string[], opts: LoadOptions, manifestBuf?: Buffer): Promise<OpenedImage> {
  const where = store.where;
  const manifest = imageManifest(where, chosen, manifestBuf ?? (await store.readManifest(chosen, 'manifest')));
  const configBuf = await store.readBlob(manifest.config, 'config');
  const config = parseJson<ImageConfigJson>(`${where}: config ${manifest.config.digest}`, configBuf, 'config');
  checkPlatform(where, config, opts);
  const diffIds = config.rootfs?.diff_ids ?? [];
  const warnings: string[] = [];
  const layers = manifest.layers.flatMap((d, i) => {
    if (d.mediaType && !LAYER_MEDIA_TYPES.has(d.mediaType)) {
      warnings.push(`layer ${i + 1} (${d.digest}): unknown media type ${d.mediaType}, ignored`);
      return [];
    }
    if (!isDigest(d.digest)) throw inputError(`${where}: layer ${i + 1}: invalid digest '${d.digest}'`);
    return [manifestLayer(store, d, i, diffIds[i], opts)];
  });
  return { where, tags, manifestDigest: chosen.digest, configDigest: manifest.config.digest, config, listed: manifest.layers.length, layers, warnings };
}
