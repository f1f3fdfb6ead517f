/**
 * The `docker-daemon:` transport's fast path (docs/formats.md "Engine layer stores"): instead of
 * exporting the image, read what the engine keeps of every layer it unpacked: the layer's tar-split
 * record (every byte of the tar but the file bodies) and the layer's diff directory (the bodies).
 * The walk is the one a walk of the export gives; when the store cannot give it, `StoreUnavailable`
 * says why and the caller exports (docs/architecture.md "Reading the engine's layer store").
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { inputError } from '../errors.js';
import { type StoreWalk, walkTarSplit } from '../walk/tar-split-walker.js';
import { sha256, verifyBytes } from './digest.js';
import type { WalkedBlob } from './layer-reader.js';
import { blobKey, type LayerSource, type OpenedImage, walkOpts } from './layers.js';
import { checkPlatform, normalizeTag, parseJson } from './manifest.js';
import type { ImageConfigJson, LoadOptions } from './types.js';
import { ByteMeter } from '../util/progress.js';

/** Why the layer store cannot give this image: the export can. */
export class StoreUnavailable extends Error {}

const unavailable = (why: string): never => {
  throw new StoreUnavailable(why);
};

/** What `docker info` says of where and how the engine keeps layers. */
interface EngineInfo {
  DockerRootDir?: string;
  Driver?: string;
  DriverStatus?: Array<[string, string]> | null;
  ServerVersion?: string;
}

/** What `docker image inspect` says of the image. */
export interface InspectedImage {
  Id: string;
  RepoTags?: string[] | null;
  /** The layers' unpacked bytes: what progress measures an export against. */
  Size?: number;
}

/** One layer as the engine records it under its chain ID. */
interface StoredLayer {
  diffId: string;
  folder: string;
  diffDir: string;
  size: number;
}

/** The engine's root and driver, or why its layer store is not readable from here. */
async function engineStore(docker: Docker): Promise<{ root: string; driver: string; version: number }> {
  const host = process.env.DOCKER_HOST;
  if (host && !host.startsWith('unix://')) unavailable(`the daemon is not on this host (DOCKER_HOST=${host})`);
  let info: EngineInfo;
  try {
    info = (await docker.info()) as EngineInfo;
  } catch (err) {
    return unavailable(`docker info failed: ${(err as Error).message}`);
  }
  const driver = info.Driver ?? '';
  const snapshotter = (info.DriverStatus ?? []).some(([k, v]) => k === 'driver-type' && v.includes('snapshotter'));
  if (snapshotter || driver === 'overlayfs' || driver === 'stargz') unavailable(`the daemon keeps images in the containerd image store (driver ${driver}): no tar-split to read`);
  if (driver !== 'overlay2') unavailable(`the storage driver ${driver || '(none)'} has no diff directories this reader knows (overlay2 only)`);
  // IMGSCOPE_DOCKER_ROOT: where the engine's root is seen from here (a test points it elsewhere).
  const root = process.env.IMGSCOPE_DOCKER_ROOT || info.DockerRootDir || '/var/lib/docker';
  const layerdb = join(root, 'image', driver, 'layerdb', 'sha256');
  try {
    accessSync(layerdb, constants.R_OK | constants.X_OK);
    accessSync(join(root, driver), constants.X_OK);
  } catch (err) {
    unavailable(`cannot read the engine's layer store at ${root} (${(err as NodeJS.ErrnoException).code ?? 'error'}): it is readable by root, or by a rootless daemon's user`);
  }
  return { root, driver, version: Number.parseInt(info.ServerVersion ?? '', 10) || 0 };
}

/** The chain ID of each layer: the first layer's is its diff ID, then sha256("<parent chain> <diff ID>"). */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  return out;
}

/** The layerdb folder of one layer, checked against its diff ID, with where its files live. */
function storedLayer(root: string, driver: string, diffId: string, chainId: string, i: number): StoredLayer {
  const folder = join(root, 'image', driver, 'layerdb', chainId.replace(/^sha256:/, 'sha256/'));
  const text = (f: string): string => {
    try {
      return readFileSync(join(folder, f), 'utf8').trim();
    } catch {
      return unavailable(`layer ${i + 1} (${diffId}): the layer store has no ${f} in ${folder}`);
    }
  };
  if (text('diff') !== diffId) unavailable(`layer ${i + 1}: ${folder} records diff ID ${text('diff')}, the config ${diffId}`);
  const cacheId = text('cache-id');
  if (!/^[a-f0-9]{64}(-init)?$/.test(cacheId)) unavailable(`layer ${i + 1} (${diffId}): invalid cache-id '${cacheId.slice(0, 80)}'`);
  const size = Number(text('size'));
  if (!Number.isSafeInteger(size) || size < 0) unavailable(`layer ${i + 1} (${diffId}): invalid size in ${folder}`);
  if (!existsSync(join(folder, 'tar-split.json.gz'))) unavailable(`layer ${i + 1} (${diffId}): no tar-split.json.gz in ${folder}`);
  const diffDir = join(root, driver, cacheId, 'diff');
  if (!existsSync(diffDir)) unavailable(`layer ${i + 1} (${diffId}): no diff directory ${diffDir}`);
  return { diffId, folder, diffDir, size };
}

/**
 * Walks one stored layer. Its bodies must add up to the size the engine recorded when it unpacked
 * the layer (overlay2 counts file and symlink bytes on disk; the naive differ file bytes only): a
 * tar-split that disagrees, is truncated or corrupt is never read as a smaller layer.
 */
export function walkStoredLayer(l: StoredLayer, i: number, opts: LoadOptions): WalkedBlob {
  let w: StoreWalk;
  try {
    w = walkTarSplit(readFileSync(join(l.folder, 'tar-split.json.gz')), l.diffDir, walkOpts(opts));
  } catch (err) {
    return unavailable(`layer ${i + 1} (${l.diffId}): ${(err as Error).message}`);
  }
  if (l.size !== w.bodyBytes + w.symlinkBytes && l.size !== w.bodyBytes) {
    unavailable(`layer ${i + 1} (${l.diffId}): the tar-split holds ${w.bodyBytes} bytes of files where the engine recorded ${l.size}`);
  }
  return { walk: w.walk, compression: 'none', blobSize: w.walk.tarBytes };
}

/** The tags `docker save NAME` lists: NAME when it is a tag of the image, the image's tags in NAME's repository for a bare repository, none for an ID. */
function savedTags(name: string, tags: string[]): string[] {
  if (name.startsWith('sha256:') || /^[a-f0-9]{12,64}$/.test(name) || name.includes('@')) return [];
  const want = normalizeTag(name);
  if (name.indexOf(':', name.lastIndexOf('/') + 1) >= 0) return tags.filter((t) => normalizeTag(t) === want).slice(0, 1);
  const repo = want.slice(0, want.lastIndexOf(':'));
  return tags.filter((t) => normalizeTag(t).startsWith(`${repo}:`));
}

/** The image's config from the engine's image database, checked against the image ID. */
function storedConfig(root: string, driver: string, id: string, where: string, opts: LoadOptions): ImageConfigJson {
  const file = join(root, 'image', driver, 'imagedb', 'content', id.replace(/^sha256:/, 'sha256/'));
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    return unavailable(`no config ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  verifyBytes(`${where}: config ${file}`, buf, id);
  const config = parseJson<ImageConfigJson>(`${where}: config ${file}`, buf, 'config');
  checkPlatform(where, config, opts);
  return config;
}

/**
 * The image read from the engine's layer store. Layers the layer cache holds under their diff ID
 * are left to it; every other layer is walked now, so that nothing is handed over before the store
 * proved it can give the whole image (else StoreUnavailable, and the export reads it all).
 */
export async function openDaemonStore(docker: Docker, name: string, image: InspectedImage, opts: LoadOptions): Promise<OpenedImage> {
  const where = `docker-daemon:${name}`;
  const { root, driver, version } = await engineStore(docker);
  const config = storedConfig(root, driver, image.Id, where, opts);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (!Array.isArray(diffIds) || !diffIds.every((d) => typeof d === 'string')) throw inputError(`${where}: the config's rootfs.diff_ids is not a list of digests`);
  const chains = chainIds(diffIds);
  const stored = diffIds.map((d, i) => storedLayer(root, driver, d, chains[i]!, i));
  opts.onProgress?.(`${where}: reading the engine's layer store at ${root}`);
  const cache = opts.verifyLayers ? undefined : opts.cache;
  const fresh = stored.filter((l) => !cache?.hasLayer(blobKey(l.diffId)!));
  // the layers' bytes as the engine recorded them, counted as each is walked
  const meter = opts.onProgress && fresh.length ? new ByteMeter(opts.onProgress, `read ${name} (layer store)`, fresh.reduce((n, l) => n + l.size, 0)) : undefined;
  const walkCounted = (l: StoredLayer, i: number): WalkedBlob => {
    try {
      const w = walkStoredLayer(l, i, opts);
      meter?.add(l.size);
      return w;
    } catch (err) {
      meter?.finish(); // the export may read it instead: its own bar
      throw err;
    }
  };
  const layers = stored.map((l, i): LayerSource => {
    const key = blobKey(l.diffId)!;
    const walked = fresh.includes(l) ? walkCounted(l, i) : undefined;
    const src: LayerSource = {
      index: i,
      name: l.diffId,
      pullBytes: 'blob',
      diffId: l.diffId,
      blob: {
        walk: async () => walked ?? walkStoredLayer(l, i, opts),
        // A store walk hashes nothing: it is looked up by diff ID (what an export verified), never stored.
        cacheKeys: () => ({ lookup: walked ? [] : [key], store: () => [] }),
      },
    };
    // From Docker 25 the export is an OCI layout that names each (uncompressed) layer by its digest, the diff ID.
    if (version >= 25) src.digest = l.diffId;
    return src;
  });
  meter?.finish();
  return { where, tags: savedTags(name, image.RepoTags ?? []), configDigest: image.Id, config, listed: layers.length, layers, warnings: [] };
}
