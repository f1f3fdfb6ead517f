import Docker from 'dockerode';
import { envError, ImgscopeError, inputError } from '../errors.js';
import { StreamedArchive } from './archive.js';
import { lookupCredentials, serverAddress } from './credentials.js';
import { parseRegistryRef } from './registry.js';
import { type InspectedImage, openDaemonStore, StoreUnavailable } from './daemon-store.js';
import { openDockerSave } from './docker-save.js';
import type { LayerCache } from './layer-cache.js';
import { andAfter, type LayerSource, type OpenedImage, walkOpts } from './layers.js';
import type { ImageConfigJson, LoadedImage, LoadOptions } from './types.js';
import { ByteMeter, bytesMessage, type OnProgress, PullTally } from '../util/progress.js';

export function dockerClient(): Docker {
  // docker-modem reads DOCKER_HOST (unix://, tcp://, npipe://), DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.
  return new Docker();
}

export function daemonAddress(): string {
  return process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

/** Maps a dockerode/HTTP failure to an imgscope error: 404 is bad input, no connection is environment. */
export function daemonError(what: string, err: unknown): ImgscopeError {
  if (err instanceof ImgscopeError) return err;
  const e = err as { statusCode?: number; code?: string; message?: string; json?: { message?: string } };
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'ETIMEDOUT' || e.code === 'EHOSTUNREACH') {
    return envError(`cannot reach the Docker daemon at ${daemonAddress()} (${e.code}) while ${what}`, err);
  }
  const msg = e.json?.message ?? e.message ?? String(err);
  if (e.statusCode === 404) return inputError(`${what}: ${msg.trim()}`, err);
  return envError(`Docker daemon error while ${what}: ${msg.trim()}`, err);
}

/**
 * The X-Registry-Auth the Docker CLI would send for pulling NAME (its credential helpers or
 * config.json, see credentials.ts): the daemon itself has no credentials.
 */
export function registryAuth(name: string): { username?: string; password?: string; identitytoken?: string; serveraddress: string } | undefined {
  let ref: { domain: string; repository: string };
  try {
    ref = parseRegistryRef(name);
  } catch {
    return undefined; // not a pullable reference: the daemon says why
  }
  const domain = ref.domain;
  const c = lookupCredentials(domain, ref.repository).credential;
  if (!c) return undefined;
  const serveraddress = serverAddress(domain);
  return c.identityToken ? { identitytoken: c.identityToken, serveraddress } : { username: c.username ?? '', password: c.password ?? '', serveraddress };
}

/** One message of `POST /images/create`'s JSON stream, with the time it arrived (ns, see nowNs). */
export interface PullEvent {
  t: bigint;
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Pulls NAME through the daemon (with the credentials the Docker CLI would send) and records every
 * progress message with its arrival time. `auth` names the reference whose credentials apply (the
 * registry's own name when NAME is a relay's address).
 */
export async function pullRecorded(
  docker: Docker,
  name: string,
  now: () => bigint,
  opts: {
    authFor?: string;
    onProgress?: OnProgress;
    onStream?: (s: import('node:stream').Readable) => void;
    /** The compressed sizes of the image's layers (its manifest's), the pull's total bytes. */
    layerSizes?: Array<{ digest: string; size: number }>;
  } = {},
): Promise<{ start: bigint; end: bigint; events: PullEvent[] }> {
  const events: PullEvent[] = [];
  const tally = opts.onProgress ? new PullTally(name, opts.layerSizes) : undefined;
  const start = now();
  let stream: NodeJS.ReadableStream;
  try {
    const authconfig = registryAuth(opts.authFor ?? name);
    stream = await docker.pull(name, authconfig ? { authconfig } : {});
  } catch (err) {
    throw daemonError(`pulling ${name}`, err);
  }
  opts.onStream?.(stream as unknown as import('node:stream').Readable); // dockerode's stream is an http.IncomingMessage
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    let failed: string | undefined;
    const take = (line: string): void => {
      if (!line.trim()) return;
      let ev: Omit<PullEvent, 't'>;
      try {
        ev = JSON.parse(line) as Omit<PullEvent, 't'>;
      } catch {
        return;
      }
      const e: PullEvent = { ...ev, t: now() };
      events.push(e);
      if (e.error) failed ??= e.errorDetail?.message ?? e.error;
      else if (e.id && e.status) {
        const bytes = tally?.apply(e);
        if (bytes) opts.onProgress?.(bytesMessage(bytes), bytes);
        else opts.onProgress?.(`pull ${name}: ${e.id} ${e.status}`);
      }
    };
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        take(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    stream.on('error', (err: Error) => reject(envError(`pulling ${name} failed: ${err.message}`, err)));
    stream.on('end', () => {
      take(buf);
      if (tally) {
        const done = tally.now(true);
        opts.onProgress?.(bytesMessage(done), done);
      }
      if (failed) reject(envError(`pulling ${name} failed: ${failed.trim()}`));
      else resolve();
    });
  });
  return { start, end: now(), events };
}

/** Pulls NAME through the daemon, following its progress stream to the end. */
export async function pullImage(docker: Docker, name: string, onProgress?: OnProgress): Promise<void> {
  await pullRecorded(docker, name, () => 0n, onProgress ? { onProgress } : {});
}

/** The image as the daemon inspects it, pulling it first with --pull when the daemon does not hold it. */
async function inspectOrPull(docker: Docker, name: string, opts: LoadOptions): Promise<InspectedImage | undefined> {
  const image = docker.getImage(name);
  try {
    return await image.inspect();
  } catch (err) {
    const e = daemonError(`inspecting ${name}`, err);
    if ((err as { statusCode?: number }).statusCode !== 404) throw e;
    if (!opts.pull) throw inputError(`image '${name}' is not in the Docker daemon at ${daemonAddress()} (use --pull to pull it)`);
    opts.onProgress?.(`pulling ${name}`);
    await pullImage(docker, name, opts.onProgress);
    return await image.inspect().catch(() => undefined);
  }
}

/**
 * The image from the engine's layer store (daemon-store.ts), unless --daemon-read export, or
 * undefined when the store cannot give it: then one progress line says why, and the export reads it.
 * With --daemon-read store that reason is the error.
 */
async function fromStore(docker: Docker, name: string, image: InspectedImage | undefined, opts: LoadOptions): Promise<OpenedImage | { why: string } | undefined> {
  const mode = opts.daemonRead ?? 'auto';
  if (mode === 'export') return undefined;
  try {
    if (!image) throw new StoreUnavailable('the daemon did not give the image\'s ID');
    // The store read hashes nothing: digests are checked only on the bytes of an export.
    if (opts.verifyLayers) throw new StoreUnavailable('--verify checks every layer against its digest, which only the export reads');
    return await openDaemonStore(docker, name, image, opts);
  } catch (err) {
    if (!(err instanceof StoreUnavailable)) throw err;
    if (mode === 'store') throw envError(`docker-daemon:${name}: --daemon-read store: ${err.message}`, err);
    opts.onProgress?.(`docker-daemon:${name}: exporting the image: ${err.message}`);
    return { why: err.message };
  }
}

/**
 * An export that auto mode fell back to says why in the report's warnings (a CI log shows no
 * progress line), and an export that then fails says it too.
 */
function fellBack(img: OpenedImage, why: string | undefined): OpenedImage {
  if (!why) return img;
  // after the image's own `after`: the record the layer cache keeps is the image's, not this read's
  return andAfter(img, (loaded) => loaded.warnings.push(`read by exporting the image: the engine's layer store could not be read (${why})`));
}

/**
 * The `docker-daemon:` transport: the engine's layer store when it can be read (fromStore), else
 * `GET /images/{name}/get`, a `docker save` stream walked in one pass, straight into the layer
 * walkers (never saved to a temp file). An image whose every layer the layer cache holds (by its
 * image ID) is not exported at all.
 */
export async function openDaemon(name: string, opts: LoadOptions): Promise<OpenedImage> {
  const docker = dockerClient();
  const where = `docker-daemon:${name}`;
  const inspected = await inspectOrPull(docker, name, opts);
  const stored = await fromStore(docker, name, inspected, opts);
  if (stored && !('why' in stored)) return stored;
  const why = stored?.why;
  const imageId = inspected?.Id;
  const cache = opts.verifyLayers ? undefined : opts.cache;
  const recordKey = imageId ? `daemon:${imageId}:${name}` : undefined;
  if (cache && recordKey && !opts.platform) {
    const cached = fromCache(cache, recordKey, where);
    if (cached) return fellBack(cached, why);
  }
  const either = (e: ImgscopeError): ImgscopeError => {
    if (why) e.message += ` (the engine's layer store could not be read either: ${why})`;
    return e;
  };
  let archive: StreamedArchive;
  // The export's bytes against the image's size: the layers' unpacked bytes, a few per cent short of
  // the tar the export streams (its headers and padding), so an estimate.
  const size = inspected?.Size;
  const meter = opts.onProgress ? new ByteMeter(opts.onProgress, `export ${name}`, typeof size === 'number' && size > 0 ? size : undefined, true) : undefined;
  // the daemon may take a while before the first byte (16 s for a 2 GB image here): the line says so
  opts.onProgress?.('waiting for the daemon');
  try {
    const stream = await docker.getImage(name).get().catch((err: unknown) => Promise.reject(daemonError(`exporting ${name}`, err)));
    archive = await StreamedArchive.consume(where, stream as unknown as import('node:stream').Readable, walkOpts(opts), meter, opts.onProgress);
  } catch (err) {
    throw err instanceof ImgscopeError ? either(err) : err;
  } finally {
    meter?.finish();
  }
  const img = await openDockerSave(archive, undefined, opts);
  const after = (loaded: LoadedImage): void => {
    loaded.warnings.push(...archive.warnings);
    if (cache && recordKey) putRecord(cache, recordKey, loaded);
  };
  return fellBack({ ...img, after }, why);
}

/** What a daemon image was made of, so that a later analysis of the same image ID needs no export. */
interface DaemonRecord {
  configDigest: string;
  config: ImageConfigJson;
  tags: string[];
  warnings: string[];
  layers: Array<{ key: string; digest?: string; diffId?: string; mediaType?: string }>;
}

/** Records the image when each of its layers entered the cache under its digest (stored uncompressed). */
function putRecord(cache: LayerCache, recordKey: string, img: LoadedImage): void {
  if (!img.layers.every((l) => l.compression === 'none' && (l.digest ?? l.diffId))) return;
  const rec: DaemonRecord = {
    configDigest: img.configDigest,
    config: img.config,
    tags: img.tags,
    warnings: img.warnings,
    layers: img.layers.map((l) => ({
      key: `blob:${l.digest ?? l.diffId}`,
      ...(l.digest ? { digest: l.digest } : {}),
      ...(l.diffId ? { diffId: l.diffId } : {}),
      ...(l.mediaType ? { mediaType: l.mediaType } : {}),
    })),
  };
  cache.putRecord(recordKey, rec);
}

/**
 * The image from the layer cache when every layer of it is there (docker save cannot export a subset
 * of layers, so a partial hit saves nothing and the export runs).
 */
function fromCache(cache: LayerCache, recordKey: string, where: string): OpenedImage | undefined {
  const rec = cache.getRecord<DaemonRecord>(recordKey);
  if (!rec || typeof rec.configDigest !== 'string' || typeof rec.config !== 'object' || !Array.isArray(rec.tags) || !Array.isArray(rec.warnings)) return undefined;
  if (!Array.isArray(rec.layers) || !rec.layers.every((l) => typeof l?.key === 'string' && cache.hasLayer(l.key))) return undefined;
  // Every entry read and checked before the first layer is handed over: from here nothing can fail.
  // (The encoded entries are compact: about 80 bytes a file; the layer loop decodes one at a time.)
  const layers: LayerSource[] = [];
  for (const [i, l] of rec.layers.entries()) {
    const bytes = cache.getLayerBytes(l.key);
    if (!bytes) return undefined;
    const src: LayerSource = { index: i, name: l.key, pullBytes: 'blob', blob: { key: l.key, bytes } };
    if (l.digest) src.digest = l.digest;
    if (l.diffId) src.diffId = l.diffId;
    if (l.mediaType) src.mediaType = l.mediaType;
    layers.push(src);
  }
  return { where, tags: rec.tags, configDigest: rec.configDigest, config: rec.config, listed: layers.length, layers, warnings: [...rec.warnings] };
}
