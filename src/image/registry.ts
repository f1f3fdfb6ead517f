import { Readable } from 'node:stream';
import { envError, ImgscopeError, inputError } from '../errors.js';
import { type CredentialLookup, lookupCredentials } from './credentials.js';
import { sniffCompression } from './compression.js';
import { isDigest, sha256, verifyBytes } from './digest.js';
import { checkShape } from './shapes.js';
import { peekStream, walkLayerStream, type WalkedBlob } from './layer-reader.js';
import { andAfter, type OpenedImage, walkOpts } from './layers.js';
import { descriptorList, type ManifestStore, openManifest, selectImageManifest } from './manifest.js';
import { type Descriptor, type ImageConfigJson, type LoadOptions, MT } from './types.js';
import { ByteMeter } from '../util/progress.js';

/** The manifests an index served by the registry lists, checked (docs/architecture.md "Resource bounds"). */
function topManifests(where: string, top: { body: Buffer; digest: string }): Descriptor[] {
  let index: unknown;
  try {
    index = JSON.parse(top.body.toString('utf8'));
  } catch (err) {
    throw inputError(`${where}: index ${top.digest}: invalid JSON: ${(err as Error).message}`, err);
  }
  checkShape('index', `${where}: index ${top.digest}`, index);
  return descriptorList((index as { manifests?: Descriptor[] | null }).manifests);
}

/** A parsed `docker://` reference (docker's reference grammar). */
export interface RegistryRef {
  /** host[:port] as written (docker.io for Docker Hub). */
  domain: string;
  /** The host requests go to (registry-1.docker.io for Docker Hub). */
  host: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export function parseRegistryRef(name: string): RegistryRef {
  let rest = name;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw inputError(`docker://${name}: invalid digest '${digest}'`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw inputError(`docker://${name}: invalid tag '${tag}'`);
  }
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  let domain = 'docker.io';
  let repository = rest;
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    domain = first;
    repository = rest.slice(slash + 1);
  }
  if (domain === 'docker.io' || domain === 'index.docker.io') {
    domain = 'docker.io';
    if (!repository.includes('/')) repository = `library/${repository}`;
  }
  if (!/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(repository)) {
    throw inputError(`docker://${name}: invalid repository name '${repository}'`);
  }
  if (!tag && !digest) tag = 'latest';
  return { domain, host: domain === 'docker.io' ? 'registry-1.docker.io' : domain, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** Loopback registries speak plain HTTP (as dockerd assumes); IMGSCOPE_INSECURE_REGISTRIES adds more. */
export function isPlainHttpRegistry(host: string): boolean {
  return scheme(host) === 'http';
}

function scheme(host: string): 'http' | 'https' {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || /^127\./.test(h)) return 'http';
  const extra = (process.env.IMGSCOPE_INSECURE_REGISTRIES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return extra.includes(host) ? 'http' : 'https';
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a WWW-Authenticate header (RFC 7235): one or more challenges, each a scheme and
 * comma-separated auth-params whose values may be quoted strings containing commas
 * (`scope="repository:a/b:pull,push"`).
 */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipWs = (): void => {
    while (i < n && (header[i] === ' ' || header[i] === '\t' || header[i] === ',')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  while (i < n) {
    skipWs();
    const sch = token();
    if (!sch) {
      i++;
      continue;
    }
    const ch: Challenge = { scheme: sch.toLowerCase(), params: {} };
    out.push(ch);
    for (;;) {
      skipWs();
      const save = i;
      const key = token();
      while (i < n && header[i] === ' ') i++;
      if (!key || header[i] !== '=') {
        i = save; // the next challenge's scheme
        break;
      }
      i++; // '='
      while (i < n && header[i] === ' ') i++;
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++; // closing quote
      } else {
        const start = i;
        while (i < n && header[i] !== ',' && header[i] !== ' ') i++;
        value = header.slice(start, i);
      }
      ch.params[key.toLowerCase()] = value;
    }
  }
  return out;
}

const ACCEPT = [MT.ociIndex, MT.ociManifest, MT.dockerList, MT.dockerManifest].join(', ');

async function registryErrorText(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const j = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    const e = j.errors?.[0];
    if (e) return `${e.code ?? 'UNKNOWN'}: ${e.message ?? ''}`.trim();
  } catch {
    /* not JSON */
  }
  return `HTTP ${res.status}${text ? ` ${text.slice(0, 120).replace(/\s+/g, ' ')}` : ''}`;
}

let proxyFor: string | undefined;
let proxyFetch: typeof fetch | undefined;

/**
 * fetch for registry requests: through HTTP_PROXY / HTTPS_PROXY (NO_PROXY honoured) when set, as
 * docker pull and skopeo do. Node's own fetch ignores them before Node 24, so undici's proxy agent is
 * loaded only then. Container probes (coldstart) never use this.
 */
async function registryFetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
  const e = process.env;
  const key = [e.HTTPS_PROXY, e.https_proxy, e.HTTP_PROXY, e.http_proxy, e.NO_PROXY, e.no_proxy].join('\0');
  if (!e.HTTPS_PROXY && !e.https_proxy && !e.HTTP_PROXY && !e.http_proxy) return fetch(input, init);
  if (proxyFor !== key) {
    const { fetch: undiciFetch, EnvHttpProxyAgent } = await import('undici');
    const dispatcher = new EnvHttpProxyAgent();
    proxyFetch = ((i: string | URL, o: RequestInit) => undiciFetch(i, { ...(o as object), dispatcher } as Parameters<typeof undiciFetch>[1])) as unknown as typeof fetch;
    proxyFor = key;
  }
  return proxyFetch!(input, init);
}

/** A minimal OCI distribution client: ping, token auth, manifests and blobs (docs/formats.md "Registry pulls"). */
export class RegistryClient {
  private authorization: string | undefined;
  private readonly base: string;
  /** How errors name the image: the reference as the user wrote it. */
  readonly describe: string;
  /** Looked up on the first 401 only: a helper may prompt (a keychain), and public images need none. */
  private creds: CredentialLookup | undefined;
  constructor(
    readonly ref: RegistryRef,
    describe?: string,
  ) {
    this.base = `${scheme(ref.host)}://${ref.host}`;
    this.describe = describe ?? `docker://${ref.domain}/${ref.repository}`;
  }

  /** Sends a request, following redirects by hand and dropping Authorization on a foreign host. */
  private async send(url: string, headers: Record<string, string>): Promise<Response> {
    let target = new URL(url);
    const origin = target.host;
    for (let hops = 0; hops < 10; hops++) {
      const h = { ...headers };
      if (this.authorization && target.host === origin) h.Authorization = this.authorization;
      let res: Response;
      try {
        res = await registryFetch(target, { headers: h, redirect: 'manual' });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw envError(`${this.describe}: registry ${target.host} unreachable (${cause?.code ?? cause?.message ?? (err as Error).message})`, err);
      }
      if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
        await res.body?.cancel();
        target = new URL(res.headers.get('location')!, target);
        continue;
      }
      return res;
    }
    throw envError(`${this.describe}: too many redirects for ${url}`);
  }

  private async authenticate(header: string | null): Promise<void> {
    this.creds ??= lookupCredentials(this.ref.domain, this.ref.repository);
    const cred = this.creds.credential;
    const hint = this.creds.problem ? `; ${this.creds.problem}` : '';
    const basic = cred?.username !== undefined ? `Basic ${Buffer.from(`${cred.username}:${cred.password ?? ''}`).toString('base64')}` : undefined;
    const challenges = parseWwwAuthenticate(header ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer?.params.realm) {
      const u = new URL(bearer.params.realm);
      const scope = `repository:${this.ref.repository}:pull`;
      let res: Response;
      try {
        if (cred?.identityToken) {
          // OAuth2 (distribution's spec/auth/oauth.md): the identity token is a refresh token.
          const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: cred.identityToken, client_id: 'imgscope', scope });
          if (bearer.params.service) form.set('service', bearer.params.service);
          res = await registryFetch(u, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form });
        } else {
          if (bearer.params.service) u.searchParams.set('service', bearer.params.service);
          u.searchParams.append('scope', scope);
          res = await registryFetch(u, { headers: basic ? { Authorization: basic } : {} });
        }
      } catch (err) {
        throw envError(`${this.describe}: token service ${u.host} unreachable (${(err as Error).message})`, err);
      }
      if (!res.ok) {
        const from = cred ? ` with the credentials from ${cred.source}` : ` (no credentials for ${this.ref.domain}: docker login ${this.ref.domain}${hint})`;
        throw envError(`${this.describe}: token service refused${from} (${await registryErrorText(res)})`);
      }
      const j = (await res.json()) as { token?: string; access_token?: string };
      const token = j.token ?? j.access_token;
      if (!token) throw envError(`${this.describe}: token service answered without a token`);
      this.authorization = `Bearer ${token}`;
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (!basic) {
        const why = cred?.identityToken ? `only an identity token is stored for it (${cred.source}), and it asks for a password` : `docker login ${this.ref.domain}${hint}`;
        throw envError(`${this.describe}: the registry asks for credentials (${why})`);
      }
      this.authorization = basic;
      return;
    }
    throw envError(`${this.describe}: unauthorized, and no usable WWW-Authenticate challenge`);
  }

  /** GET /v2/<repo>/<kind>/<ref>, authenticating on a 401 (also one that comes later, on expiry). */
  async get(kind: 'manifests' | 'blobs', reference: string, accept?: string): Promise<Response> {
    const url = `${this.base}/v2/${this.ref.repository}/${kind}/${reference}`;
    const headers: Record<string, string> = accept ? { Accept: accept } : {};
    let res = await this.send(url, headers);
    if (res.status === 401) {
      await res.body?.cancel();
      await this.authenticate(res.headers.get('www-authenticate'));
      res = await this.send(url, headers);
      if (res.status === 401) {
        const c = this.creds?.credential;
        const who = c ? `with the credentials from ${c.source}` : `anonymously (docker login ${this.ref.domain}${this.creds?.problem ? `; ${this.creds.problem}` : ''})`;
        throw envError(`${this.describe}: not authorized to pull ${who} (${await registryErrorText(res)})`);
      }
    }
    return res;
  }

  async manifest(reference: string): Promise<{ body: Buffer; mediaType?: string; digest: string }> {
    const res = await this.get('manifests', reference, ACCEPT);
    if (res.status === 404) throw inputError(`${this.describe}: manifest ${reference} not found (${await registryErrorText(res)})`);
    if (!res.ok) throw envError(`${this.describe}: manifest ${reference}: ${await registryErrorText(res)}`);
    const body = Buffer.from(await res.arrayBuffer());
    const digest = sha256(body);
    if (isDigest(reference)) verifyBytes(`${this.describe}: manifest ${reference}`, body, reference);
    else {
      const claimed = res.headers.get('docker-content-digest');
      if (claimed && claimed.startsWith('sha256:') && claimed !== digest) {
        throw inputError(`${this.describe}: manifest ${reference}: digest mismatch: registry says ${claimed}, content is ${digest}`);
      }
    }
    const ct = res.headers.get('content-type')?.split(';')[0]?.trim();
    let mediaType = ct && ct !== 'application/json' ? ct : undefined;
    try {
      mediaType = (JSON.parse(body.toString('utf8')) as { mediaType?: string }).mediaType ?? mediaType;
    } catch {
      throw inputError(`${this.describe}: manifest ${reference} is not JSON`);
    }
    return { body, digest, ...(mediaType ? { mediaType } : {}) };
  }

  async blobResponse(d: Descriptor): Promise<Response> {
    const res = await this.get('blobs', d.digest);
    if (res.ok) return res;
    if (res.status === 404 && d.urls?.length) {
      await res.body?.cancel();
      for (const u of d.urls) {
        const r = await registryFetch(u).catch(() => undefined);
        if (r?.ok) return r;
      }
    }
    const text = await registryErrorText(res);
    if (res.status === 404) throw inputError(`${this.describe}: missing blob ${d.digest} (${text})`);
    throw envError(`${this.describe}: blob ${d.digest}: ${text}`);
  }
}

/** The registry as a manifest store: every read checked against its descriptor. */
function registryStore(client: RegistryClient, progress: { meter?: ByteMeter } = {}): ManifestStore {
  const where = client.describe;
  return {
    where,
    chooseHint: 'name a platform with --platform',
    readManifest: async (d, what) => {
      const m = await client.manifest(d.digest);
      verifyBytes(`${where}: ${what} ${d.digest}`, m.body, d.digest, d.size);
      return m.body;
    },
    readBlob: async (d, what) => {
      const res = await client.blobResponse(d);
      const buf = Buffer.from(await res.arrayBuffer());
      verifyBytes(`${where}: ${what} ${d.digest}`, buf, d.digest, d.size);
      return buf;
    },
    walkLayer: async (d, _i, o, diffId): Promise<WalkedBlob> => {
      const res = await client.blobResponse(d);
      if (!res.body) throw inputError(`blob ${d.digest}: empty response`);
      const meter = progress.meter;
      const counted = meter ? res.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ transform: (ch, c) => (meter.add(ch.byteLength), c.enqueue(ch)) })) : res.body;
      const { head, rest } = await peekStream(Readable.fromWeb(counted as import('node:stream/web').ReadableStream), 512);
      const c = sniffCompression(head);
      if (c === 'unknown') throw inputError('not a tar, gzip or zstd layer (unrecognised magic bytes)');
      return walkLayerStream(rest, c, { digest: d.digest, size: d.size, ...(o.verifyLayers && diffId ? { diffId } : {}) }, walkOpts(o));
    },
  };
}

/** The `docker://` transport, `docker://REGISTRY/NAME[:TAG|@DIGEST]`: manifests, config and layers straight from the registry. */
export async function openRegistry(reference: string, name: string, opts: LoadOptions): Promise<OpenedImage> {
  const ref = parseRegistryRef(name);
  const client = new RegistryClient(ref, reference);
  const where = client.describe;
  const progress: { meter?: ByteMeter } = {};
  const store = registryStore(client, progress);
  const top = await client.manifest(ref.digest ?? ref.tag!);
  const desc: Descriptor = { digest: top.digest, size: top.body.length, ...(top.mediaType ? { mediaType: top.mediaType } : {}) };
  const tags = ref.tag ? [`${ref.domain}/${ref.repository}:${ref.tag}`] : [];
  try {
    const chosen = top.mediaType === MT.ociIndex || top.mediaType === MT.dockerList ? await selectImageManifest(store, topManifests(where, top), opts) : undefined;
    const img = chosen ? await openManifest(store, chosen, tags, opts) : await openManifest(store, desc, tags, opts, top.body);
    return downloading(img, progress, opts);
  } catch (err) {
    if (err instanceof ImgscopeError) throw err;
    throw envError(`${where}: ${(err as Error).message}`, err);
  }
}

/**
 * The image, its layer downloads counted against the manifest's compressed sizes (the layers the
 * layer cache holds are not downloaded: the bar then ends short of full), finished once every layer
 * was handed over.
 */
function downloading(img: OpenedImage, progress: { meter?: ByteMeter }, opts: LoadOptions): OpenedImage {
  if (!opts.onProgress) return img;
  const sizes = img.layers.map((l) => l.pullBytes);
  const total = sizes.every((s) => typeof s === 'number') ? (sizes as number[]).reduce((a, b) => a + b, 0) : undefined;
  const meter = (progress.meter = new ByteMeter(opts.onProgress, `download ${img.where}`, total));
  return andAfter(img, () => meter.finish());
}

/** What a registry serves under a name, for one platform: enough to tell which image a pull brings. */
export interface ResolvedImage {
  /** Digest of what the name points at (an index or a manifest). */
  topDigest: string;
  /** Digest of the chosen image manifest. */
  manifestDigest: string;
  configDigest: string;
  layers: Array<{ digest: string; size: number; mediaType?: string }>;
  /** The config's rootfs.diff_ids (uncompressed layer digests), in stacking order. */
  diffIds: string[];
  /** The config's `config` (Healthcheck, Env, …). */
  runConfig: ImageConfigJson['config'];
}

/** Resolves NAME (docker's reference syntax) on its registry down to one platform's manifest. */
export async function resolveRegistryImage(name: string, opts: Pick<LoadOptions, 'platform'> = {}): Promise<ResolvedImage> {
  const ref = parseRegistryRef(name);
  const client = new RegistryClient(ref, name);
  const store = registryStore(client);
  const top = await client.manifest(ref.digest ?? ref.tag!);
  let body = top.body;
  let manifestDigest = top.digest;
  if (top.mediaType === MT.ociIndex || top.mediaType === MT.dockerList) {
    const chosen = await selectImageManifest(store, topManifests(`${ref.domain}/${ref.repository}`, top), opts);
    body = await store.readManifest(chosen, 'manifest');
    manifestDigest = chosen.digest;
  }
  let m: { config?: Descriptor; layers?: Descriptor[] };
  try {
    m = JSON.parse(body.toString('utf8')) as typeof m;
  } catch {
    throw inputError(`${client.describe}: manifest ${manifestDigest} is not JSON`);
  }
  if (!m.config?.digest || !Array.isArray(m.layers)) throw inputError(`${client.describe}: manifest ${manifestDigest} has no config or layers`);
  const res = await client.blobResponse(m.config);
  const cfgBuf = Buffer.from(await res.arrayBuffer());
  verifyBytes(`${client.describe}: config ${m.config.digest}`, cfgBuf, m.config.digest, m.config.size);
  let diffIds: string[];
  let runConfig: ImageConfigJson['config'];
  try {
    const cfg = JSON.parse(cfgBuf.toString('utf8')) as ImageConfigJson;
    diffIds = cfg.rootfs?.diff_ids ?? [];
    runConfig = cfg.config;
  } catch {
    throw inputError(`${client.describe}: config ${m.config.digest} is not JSON`);
  }
  return {
    diffIds,
    runConfig,
    topDigest: top.digest,
    manifestDigest,
    configDigest: m.config.digest,
    layers: m.layers.map((l) => ({ digest: l.digest, size: l.size, ...(l.mediaType ? { mediaType: l.mediaType } : {}) })),
  };
}
