/**
 * The `docker save` format: the legacy layout (manifest.json + `<id>/layer.tar`) and the one Docker 25+
 * writes (manifest.json pointing into `blobs/sha256/`, also an OCI layout). Read from a tar on disk,
 * from a compressed tar, or from the daemon's export as it streams (docs/formats.md "Docker save archives").
 */
import { inputError } from '../errors.js';
import { basename } from '../util/paths.js';
import type { ArchiveFiles } from './archive.js';
import { sha256, verifyBytes } from './digest.js';
import { blobKey, type CacheKeys, type LayerSource, type OpenedImage, walkOpts } from './layers.js';
import { checkPlatform, normalizeTag, parseJson } from './manifest.js';
import { openOciLayout } from './oci-layout.js';
import { checkShape } from './shapes.js';
import type { Descriptor, ImageConfigJson, LoadOptions } from './types.js';

interface DockerManifestItem {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
  LayerSources?: Record<string, Descriptor>;
}

/** The manifest.json entry named by `tag`, or the only one. */
function pickItem(where: string, items: DockerManifestItem[], tag: string | undefined): DockerManifestItem {
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
  return item;
}

/** The entry's config, checked against the digest its file name gives. */
function readConfig(files: ArchiveFiles, item: DockerManifestItem, opts: LoadOptions): { configDigest: string; config: ImageConfigJson } {
  const where = files.describe;
  const configBuf = files.readSmall(item.Config);
  if (!configBuf) throw inputError(`${where}: missing config ${item.Config}`);
  const hex = basename(item.Config).replace(/\.json$/, '');
  const configDigest = /^[a-f0-9]{64}$/.test(hex) ? `sha256:${hex}` : sha256(configBuf);
  verifyBytes(`${where}: config ${item.Config}`, configBuf, configDigest);
  const config = parseJson<ImageConfigJson>(`${where}: config ${item.Config}`, configBuf, 'config');
  checkPlatform(where, config, opts);
  return { configDigest, config };
}

/** One member of the archive as the layer loop walks it. */
function archiveLayer(files: ArchiveFiles, item: DockerManifestItem, i: number, diffId: string | undefined, opts: LoadOptions): LayerSource {
  const name = item.Layers[i]!;
  const from = diffId ? item.LayerSources?.[diffId] : undefined;
  const blobHex = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name)?.[1];
  const digest = from?.digest ?? (blobHex ? `sha256:${blobHex}` : undefined);
  const cacheKeys = (): CacheKeys => {
    // A file on disk is looked up under its identity only: a digest it names is its own claim, and a
    // hit under that claim would report the layer it claims instead of the bytes it holds
    // (docs/architecture.md "Layer cache"). What a walk checked is stored under the digests too, for
    // the sources that look up by digest (a registry, the engine's store). A streamed archive (the
    // daemon's export) has no identity: it only stores.
    const stored = blobHex ? `sha256:${blobHex}` : undefined;
    const identity = files.identity?.(name);
    // A diff_id names the uncompressed tar: it keys only a layer stored uncompressed (then it is
    // also the blob's digest), never a compressed one (an OCI blob of that digest is a plain tar).
    return { lookup: identity ? [identity] : [], store: (w) => [identity, blobKey(stored), w.compression === 'none' ? blobKey(diffId) : undefined] };
  };
  const src: LayerSource = {
    index: i,
    name,
    // docker save stores layers uncompressed: what a pull transfers is unknown unless the blob is compressed.
    pullBytes: 'blob',
    blob: {
      walk: () => files.walkLayer(name, { digest, ...(diffId ? { diffId } : {}), verifyUncompressed: opts.verifyLayers }, walkOpts(opts)),
      streams: () => files.streamsLayer?.(name, !!opts.verifyLayers) ?? true,
      cacheKeys,
    },
  };
  if (digest) src.digest = digest;
  if (diffId) src.diffId = diffId;
  if (from?.mediaType) src.mediaType = from.mediaType;
  return src;
}

/**
 * A `docker save` archive, the image named by `tag` or the only one it holds. manifest.json is read
 * first; without it, index.json makes it an OCI layout.
 */
export async function openDockerSave(files: ArchiveFiles, tag: string | undefined, opts: LoadOptions): Promise<OpenedImage> {
  const where = files.describe;
  const manifestBuf = files.readSmall('manifest.json');
  if (!manifestBuf) {
    if (files.has('index.json')) return openOciLayout(files, tag, opts);
    throw inputError(`${where}: not an image archive: no manifest.json or index.json`);
  }
  const items = parseJson<DockerManifestItem[]>(`${where}: manifest.json`, manifestBuf);
  if (!Array.isArray(items) || items.length === 0) {
    if (files.has('index.json')) return openOciLayout(files, tag, opts);
    throw inputError(`${where}: manifest.json lists no images`);
  }
  checkShape('manifest.json', `${where}: manifest.json`, items);
  const item = pickItem(where, items, tag);
  const { configDigest, config } = readConfig(files, item, opts);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== item.Layers.length) {
    throw inputError(`${where}: manifest.json lists ${item.Layers.length} layers but the config has ${diffIds.length} diff_ids`);
  }
  const layers = item.Layers.map((_, i) => archiveLayer(files, item, i, diffIds[i], opts));
  return { where, tags: item.RepoTags ?? [], configDigest, config, listed: item.Layers.length, layers, warnings: [] };
}
