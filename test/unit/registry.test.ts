import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRegistryRef, parseWwwAuthenticate } from '../../src/image/registry.js';
import { loadImage } from '../../src/image/load.js';
import { parsePlatform } from '../../src/image/platform.js';
import { type BuiltImage, buildImage, tmpDir } from '../helpers/images.js';
import { analyzeChecked } from '../helpers/report.js';
import Docker from 'dockerode';
import { analyzeReference } from '../../src/pipeline.js';
import { pullImage } from '../../src/image/daemon.js';
import { withLayerCache } from '../helpers/cache.js';
import { file, sha256hex } from '../helpers/tar.js';

interface Served {
  cdnHost: string;
  amd: BuiltImage;
  arm: BuiltImage;
  index: Buffer;
  indexDigest: string;
}

/**
 * A fake registry: token auth (Bearer challenge with a comma in the scope), a multi-platform index,
 * and blobs redirected to a second host that rejects any Authorization header (as S3 does).
 */
let registry: http.Server;
let cdn: http.Server;
let host = '';
let served: Served;
const seen = { tokenAuth: '' as string | undefined, cdnAuth: [] as Array<string | undefined>, cdnGets: [] as string[], tokenPosts: [] as Array<Record<string, string>>, tamper: false };

function listen(s: http.Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
}

beforeAll(async () => {
  const amd = await buildImage({ layers: [{ entries: [file('usr/bin/amd', 5000)], compression: 'gzip' }, { entries: [file('app/x.py', 70)], compression: 'zstd' }] });
  const arm = await buildImage({ platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, layers: [{ entries: [file('usr/bin/arm', 6000)], compression: 'gzip' }] });
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: amd.manifestDigest, size: amd.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: arm.manifestDigest, size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'1'.repeat(64)}`, size: 10, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
      ],
    }),
  );
  served = { cdnHost: '', amd, arm, index, indexDigest: `sha256:${sha256hex(index)}` };
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, Buffer>([[served.indexDigest, index], ['v1', index]]);
  for (const b of [amd, arm]) {
    manifests.set(b.manifestDigest, b.manifest);
    blobs.set(b.configDigest, b.config);
    for (const l of b.layers) blobs.set(l.digest, l.blob);
  }
  cdn = http.createServer((req, res) => {
    seen.cdnAuth.push(req.headers.authorization);
    if (req.headers.authorization) {
      res.writeHead(400).end('Only one auth mechanism allowed');
      return;
    }
    seen.cdnGets.push(decodeURIComponent(req.url!.slice('/blob/'.length)));
    const b = blobs.get(decodeURIComponent(req.url!.slice('/blob/'.length)));
    if (!b) res.writeHead(404).end();
    else res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(b);
  });
  const cdnPort = await listen(cdn);
  served.cdnHost = `127.0.0.1:${cdnPort}`;
  registry = http.createServer((req, res) => {
    const url = new URL(req.url!, `http://${req.headers.host}`);
    const challenge = `Bearer realm="http://${req.headers.host}/token",service="fake registry",scope="repository:team/app:pull,push"`;
    if (url.pathname === '/token') {
      // Tokens only for alice's password (GET + Basic) or her refresh token (OAuth2 POST).
      const answer = (ok: boolean): void => {
        if (ok) res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ access_token: 'tok123', expires_in: 60 }));
        else res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
      };
      if (req.method === 'POST') {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          const form = new URLSearchParams(body);
          seen.tokenPosts.push(Object.fromEntries(form));
          answer(form.get('grant_type') === 'refresh_token' && form.get('refresh_token') === 'refresh123' && form.get('service') === 'fake registry' && form.get('scope') === 'repository:team/app:pull');
        });
        return;
      }
      seen.tokenAuth = req.headers.authorization;
      expect(url.searchParams.get('service')).toBe('fake registry');
      expect(url.searchParams.get('scope')).toBe('repository:team/app:pull');
      answer(req.headers.authorization === `Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
      return;
    }
    if (req.headers.authorization !== 'Bearer tok123') {
      res.writeHead(401, { 'WWW-Authenticate': challenge, 'Content-Type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    const m = /^\/v2\/team\/app\/(manifests|blobs)\/(.+)$/.exec(url.pathname);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    const ref = decodeURIComponent(m[2]!);
    if (m[1] === 'manifests') {
      let body = manifests.get(ref);
      if (!body) {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
        return;
      }
      if (seen.tamper && ref === amd.manifestDigest) body = Buffer.concat([body, Buffer.from(' ')]);
      const mt = (JSON.parse(body.toString()) as { mediaType: string }).mediaType;
      res.writeHead(200, { 'Content-Type': mt, 'Docker-Content-Digest': `sha256:${sha256hex(body)}` }).end(body);
      return;
    }
    if (!blobs.has(ref)) {
      res.writeHead(404).end(JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown' }] }));
      return;
    }
    res.writeHead(307, { Location: `http://127.0.0.1:${cdnPort}/blob/${encodeURIComponent(ref)}` }).end();
  });
  host = `127.0.0.1:${await listen(registry)}`;
  const cfgDir = tmpDir('imgscope-dockercfg-');
  mkdirSync(cfgDir, { recursive: true });
  writeFileSync(path.join(cfgDir, 'config.json'), JSON.stringify({ auths: { [host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));
  process.env.DOCKER_CONFIG = cfgDir;
  // Hermetic: no podman/skopeo auth file of this machine takes part (each test that wants one sets it).
  process.env.REGISTRY_AUTH_FILE = path.join(cfgDir, 'no-containers-auth.json');
  process.env.XDG_CONFIG_HOME = cfgDir;
});

afterAll(async () => {
  delete process.env.DOCKER_CONFIG;
  delete process.env.REGISTRY_AUTH_FILE;
  delete process.env.XDG_CONFIG_HOME;
  await new Promise((r) => registry.close(r));
  await new Promise((r) => cdn.close(r));
});

describe('docker:// straight from a registry', () => {
  it('authenticates with a token, picks the platform, follows blob redirects without leaking the token', async () => {
    const a = await analyzeChecked(`docker://${host}/team/app:v1`, { platform: parsePlatform('linux/amd64') });
    expect(a.totals).toMatchObject({ imageBytes: 5070, finalBytes: 5070, layers: 2 });
    expect(a.totals.compressedBytes).toBe(served.amd.layers.reduce((s, l) => s + l.blob.length, 0));
    expect(a.layers.map((l) => l.compression)).toEqual(['gzip', 'zstd']);
    expect(a.image.manifestDigest).toBe(served.amd.manifestDigest);
    expect(a.image.transport).toBe('docker');
    expect(seen.tokenAuth).toBe(`Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
    expect(seen.cdnAuth.length).toBeGreaterThan(0);
    expect(seen.cdnAuth.every((h) => h === undefined)).toBe(true);
    const arm = await analyzeChecked(`docker://${host}/team/app@${served.indexDigest}`, { platform: parsePlatform('linux/arm64') });
    expect(arm.totals.finalBytes).toBe(6000);
  });

  it('downloads no layer blob twice when the layer cache has it', async () => {
    await withLayerCache(tmpDir('imgscope-cache-'), async () => {
      const ref = `docker://${host}/team/app:v1`;
      const opts = { platform: parsePlatform('linux/amd64') };
      const layerGets = (): number => seen.cdnGets.filter((d) => served.amd.layers.some((l) => l.digest === d)).length;
      const g0 = layerGets();
      const cold = await analyzeReference(ref, opts);
      expect(layerGets() - g0).toBe(2);
      const warm = await analyzeReference(ref, opts);
      expect(layerGets() - g0).toBe(2); // the config is fetched again, the layers are not
      expect({ ...warm, generatedAt: '' }).toEqual({ ...cold, generatedAt: '' });
      expect(warm.totals.compressedBytes).toBe(served.amd.layers.reduce((t, l) => t + l.blob.length, 0));
    });
  });

  it('takes credentials from credential helpers (credsStore, credHelpers, identity tokens) and says why when none work', async () => {
    const bin = tmpDir('imgscope-helpers-');
    const asked = path.join(bin, 'asked');
    const helper = (name: string, answer: string): void => {
      const f = path.join(bin, `docker-credential-${name}`);
      // The protocol: `get`, the server address on stdin, JSON on stdout; "credentials not found" + exit 1 otherwise.
      writeFileSync(f, `#!/bin/sh\n[ "$1" = get ] || exit 2\nread -r server || true\necho "$server" >> '${asked}'\nif [ "$server" = '${host}' ]; then echo '${answer}'; else echo 'credentials not found in native keychain'; exit 1; fi\n`);
      chmodSync(f, 0o755);
    };
    helper('fakestore', JSON.stringify({ ServerURL: host, Username: 'alice', Secret: 's3cret' }));
    helper('tokens', JSON.stringify({ ServerURL: host, Username: '<token>', Secret: 'refresh123' }));
    const saved = { cfg: process.env.DOCKER_CONFIG, path: process.env.PATH };
    const useConfig = (cfg: object): void => {
      const d = tmpDir('imgscope-dockercfg-');
      writeFileSync(path.join(d, 'config.json'), JSON.stringify(cfg));
      process.env.DOCKER_CONFIG = d;
    };
    process.env.PATH = `${bin}:${saved.path}`;
    const ref = `docker://${host}/team/app:v1`;
    const opts = { platform: parsePlatform('linux/amd64') };
    try {
      // Docker Desktop's shape: a store for everything, `auths` holding only placeholders.
      useConfig({ credsStore: 'fakestore', auths: { [host]: {} } });
      seen.tokenAuth = undefined;
      expect((await loadImage(ref, opts)).layers).toHaveLength(2);
      expect(seen.tokenAuth).toBe(`Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
      expect(readFileSync(asked, 'utf8')).toBe(`${host}\n`);

      // A per-registry helper wins over the store; its identity token is an OAuth2 refresh token.
      useConfig({ credsStore: 'fakestore', credHelpers: { [host]: 'tokens' } });
      seen.tokenPosts.length = 0;
      expect((await loadImage(ref, opts)).layers).toHaveLength(2);
      expect(seen.tokenPosts).toEqual([{ grant_type: 'refresh_token', refresh_token: 'refresh123', client_id: 'imgscope', scope: 'repository:team/app:pull', service: 'fake registry' }]);

      // The same refresh token written in config.json by `docker login`.
      useConfig({ auths: { [host]: { identitytoken: 'refresh123' } } });
      expect((await loadImage(ref, opts)).layers).toHaveLength(2);

      // A helper that is not installed: the error says so.
      useConfig({ credsStore: 'missing' });
      await expect(loadImage(ref, opts)).rejects.toThrow(
        new RegExp(`token service refused \\(no credentials for ${host.replace(/\./g, '\\.')}: docker login .*; docker-credential-missing \\(credsStore/credHelpers in .*config\\.json\\) is not on PATH\\) \\(UNAUTHORIZED: bad credentials\\)`),
      );
      // Wrong credentials: which ones were used.
      helper('wrong', JSON.stringify({ ServerURL: host, Username: 'alice', Secret: 'nope' }));
      useConfig({ credHelpers: { [host]: 'wrong' } });
      await expect(loadImage(ref, opts)).rejects.toThrow(/token service refused with the credentials from docker-credential-wrong \(UNAUTHORIZED: bad credentials\)/);
    } finally {
      process.env.DOCKER_CONFIG = saved.cfg;
      process.env.PATH = saved.path;
    }
  });

  it("reads podman/skopeo's auth files first (REGISTRY_AUTH_FILE, namespace entries), then Docker's", async () => {
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    const saved = { cfg: process.env.DOCKER_CONFIG, file: process.env.REGISTRY_AUTH_FILE };
    const dockerDir = tmpDir('imgscope-dockercfg-');
    writeFileSync(path.join(dockerDir, 'config.json'), JSON.stringify({ auths: { [host]: { auth: b64('alice:wrong') } } }));
    const authFile = path.join(tmpDir('imgscope-containers-'), 'auth.json');
    const ref = `docker://${host}/team/app:v1`;
    const opts = { platform: parsePlatform('linux/amd64') };
    Object.assign(process.env, { DOCKER_CONFIG: dockerDir, REGISTRY_AUTH_FILE: authFile });
    try {
      // The most specific namespace entry wins over the host's; the auth file over Docker's config.
      writeFileSync(authFile, JSON.stringify({ auths: { [host]: { auth: b64('bob:nope') }, [`${host}/team`]: { auth: b64('alice:s3cret') } } }));
      expect((await loadImage(ref, opts)).layers).toHaveLength(2);
      // An entry for another repository does not apply; Docker's config is read next (wrong here).
      writeFileSync(authFile, JSON.stringify({ auths: { [`${host}/other`]: { auth: b64('alice:s3cret') } } }));
      await expect(loadImage(ref, opts)).rejects.toThrow(/token service refused with the credentials from config\.json/);
      // Nothing in the auth file: Docker's config.
      writeFileSync(path.join(dockerDir, 'config.json'), JSON.stringify({ auths: { [`https://${host}`]: { username: 'alice', password: 's3cret' } } }));
      expect((await loadImage(ref, opts)).layers).toHaveLength(2);
    } finally {
      process.env.DOCKER_CONFIG = saved.cfg;
      process.env.REGISTRY_AUTH_FILE = saved.file;
    }
  });

  it('hands the same credentials to the daemon for --pull (X-Registry-Auth), as the Docker CLI does', async () => {
    const bin = tmpDir('imgscope-helpers-');
    const f = path.join(bin, 'docker-credential-pullstore');
    writeFileSync(f, `#!/bin/sh\nread -r server || true\nif [ "$server" = '${host}' ]; then echo '{"Username":"alice","Secret":"s3cret"}'; elif [ "$server" = 'https://index.docker.io/v1/' ]; then echo '{"Username":"<token>","Secret":"hubrefresh"}'; else echo 'credentials not found in native keychain'; exit 1; fi\n`);
    chmodSync(f, 0o755);
    const cfg = tmpDir('imgscope-dockercfg-');
    writeFileSync(path.join(cfg, 'config.json'), JSON.stringify({ credsStore: 'pullstore' }));
    const saved = { cfg: process.env.DOCKER_CONFIG, path: process.env.PATH };
    Object.assign(process.env, { DOCKER_CONFIG: cfg, PATH: `${bin}:${saved.path}` });
    // A fake Engine API: records the pull request and answers with a progress stream.
    const pulls: Array<{ url: string; auth: unknown }> = [];
    const engine = http.createServer((req, res) => {
      const raw = req.headers['x-registry-auth'];
      pulls.push({ url: req.url!, auth: typeof raw === 'string' ? JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) : undefined });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"Pulling"}\n{"status":"Status: Downloaded newer image"}\n');
    });
    const port = await listen(engine);
    try {
      const docker = new Docker({ host: '127.0.0.1', port, protocol: 'http' });
      await pullImage(docker, `${host}/team/app:v1`);
      await pullImage(docker, 'python:3.11-slim');
      await pullImage(docker, 'quay.io/other/img:1');
      expect(pulls.map((p) => p.url)).toEqual([
        `/images/create?fromImage=${encodeURIComponent(`${host}/team/app`)}&tag=v1`,
        '/images/create?fromImage=python&tag=3.11-slim',
        '/images/create?fromImage=quay.io%2Fother%2Fimg&tag=1',
      ]);
      expect(pulls.map((p) => p.auth)).toEqual([
        { username: 'alice', password: 's3cret', serveraddress: host },
        { identitytoken: 'hubrefresh', serveraddress: 'https://index.docker.io/v1/' },
        undefined,
      ]);
    } finally {
      await new Promise((r) => engine.close(r));
      process.env.DOCKER_CONFIG = saved.cfg;
      process.env.PATH = saved.path;
    }
  });

  it('goes through HTTP_PROXY when it is set (NO_PROXY honoured), as docker pull does', async () => {
    // A forward proxy: CONNECT tunnels and absolute-form requests, each target recorded.
    const through: string[] = [];
    const proxy = http.createServer((req, res) => {
      through.push(new URL(req.url!).host);
      const u = new URL(req.url!);
      const up = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode!, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    const tunnels = new Set<net.Socket>();
    proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      through.push(req.url!);
      tunnels.add(client);
      const [h, p] = req.url!.split(':');
      const up = net.connect(Number(p), h, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        up.write(head);
        up.pipe(client);
        client.pipe(up);
      });
      up.on('error', () => client.destroy());
      client.on('error', () => up.destroy());
    });
    const pport = await listen(proxy);
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY };
    const ref = `docker://${host}/team/app:v1`;
    const opts = { platform: parsePlatform('linux/amd64') };
    try {
      Object.assign(process.env, { HTTP_PROXY: `http://127.0.0.1:${pport}`, NO_PROXY: '' });
      const a = await loadImage(ref, opts);
      expect(a.layers).toHaveLength(2);
      // The registry, its token service (same host) and the blob host all went through the proxy.
      expect(new Set(through)).toEqual(new Set([host, served.cdnHost]));
      through.length = 0;
      process.env.NO_PROXY = '127.0.0.1';
      expect((await loadImage(ref, opts)).layers).toHaveLength(2);
      expect(through).toEqual([]);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      for (const t of tunnels) t.destroy(); // upgraded sockets: the server no longer tracks them
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    }
  });

  it('rejects a manifest whose bytes do not match the digest that names it', async () => {
    seen.tamper = true;
    try {
      await expect(loadImage(`docker://${host}/team/app:v1`, { platform: parsePlatform('linux/amd64') })).rejects.toThrow(
        new RegExp(`manifest ${served.amd.manifestDigest}: (size|digest) mismatch`),
      );
    } finally {
      seen.tamper = false;
    }
  });

  it('says which manifest is unknown, and when the registry is unreachable', async () => {
    await expect(loadImage(`docker://${host}/team/app:nope`)).rejects.toThrow(/manifest nope not found \(MANIFEST_UNKNOWN: manifest unknown\)/);
    const closed = http.createServer();
    const port = await listen(closed);
    await new Promise((r) => closed.close(r));
    const err = await loadImage(`docker://127.0.0.1:${port}/x/y:1`).then(
      () => ({ exitCode: 0, message: 'loaded' }),
      (e: unknown) => e as { exitCode: number; message: string },
    );
    expect(err).toMatchObject({ exitCode: 3 });
    expect(err.message).toBe(`docker://127.0.0.1:${port}/x/y:1: registry 127.0.0.1:${port} unreachable (ECONNREFUSED)`);
  });

  it('parses references and challenges', () => {
    expect(parseRegistryRef('python:3.11-slim')).toEqual({ domain: 'docker.io', host: 'registry-1.docker.io', repository: 'library/python', tag: '3.11-slim' });
    expect(parseRegistryRef('ghcr.io/org/img@sha256:' + 'a'.repeat(64))).toEqual({ domain: 'ghcr.io', host: 'ghcr.io', repository: 'org/img', digest: 'sha256:' + 'a'.repeat(64) });
    expect(parseRegistryRef('localhost:5000/x')).toMatchObject({ domain: 'localhost:5000', repository: 'x', tag: 'latest' });
    expect(() => parseRegistryRef('Bad/Name')).toThrow(/invalid repository name/);
    expect(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' } },
    ]);
    expect(parseWwwAuthenticate('Basic realm="x", Bearer realm="y",service=z')).toEqual([
      { scheme: 'basic', params: { realm: 'x' } },
      { scheme: 'bearer', params: { realm: 'y', service: 'z' } },
    ]);
  });
});
