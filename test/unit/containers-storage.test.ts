/**
 * Reading a containers/storage store (docs/formats.md "Containers storage"): the layers walk to what
 * a tar walk of each layer gives, a layer that arrived compressed keeps the size the store recorded,
 * names are looked up as Podman looks them up, storage.conf is found and read as containers/storage
 * reads it, and a store that cannot give a layer whole is an error naming that layer.
 */
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { wantsBody } from '../../src/catalog/metadata.js';
import { bigDataFile, openContainersStorage } from '../../src/image/containers-storage.js';
import { loadLayers } from '../../src/image/layers.js';
import { defaultStorage, parseStorageRef, storageConfFile, storageTable } from '../../src/image/storage-conf.js';
import { findImage, type StoredImage } from '../../src/image/storage-lookup.js';
import { parseReference } from '../../src/image/transports.js';
import type { LoadOptions } from '../../src/image/types.js';
import { wantsProbe } from '../../src/inspect/probe.js';
import { analyzeReference } from '../../src/pipeline.js';
import { withLayerCache } from '../helpers/cache.js';
import { storageRoot } from '../helpers/containers-storage.js';
import { tarSplitGz } from '../helpers/engine-store.js';
import { tmpDir, writeOciDir } from '../helpers/images.js';
import { dir, file, hardlink, opaque, packTar, symlink, text, whiteout } from '../helpers/tar.js';
import { walkBothOk } from '../helpers/walk.js';

const opts = { capture: wantsBody, probe: wantsProbe };
const long = `usr/share/${'a-long-directory-name/'.repeat(6)}file.txt`;

async function tars(): Promise<Buffer[]> {
  return [
    await packTar([dir('etc'), text('etc/os-release', 'ID=debian\nVERSION_ID="12"\n'), dir('usr'), file('usr/big.bin', 5000), symlink('usr/link', 'big.bin'), hardlink('usr/hard', 'usr/big.bin'), dir('opt'), file('opt/a', 10)]),
    await packTar([whiteout('usr/big.bin'), opaque('opt'), file('opt/b', 3), text(long, 'x'.repeat(700)), text('var/lib/dpkg/status', ''), whiteout('var/lib/dpkg/info/gone.list'), opaque('usr/lib/x86_64-linux-gnu'), whiteout('usr/lib/x86_64-linux-gnu/libgone.so.1')]),
    await packTar([file('srv/data.bin', 4096)]),
  ];
}

/** A store of one image `localhost/app:1` whose second layer arrived gzip-compressed. */
async function store(): Promise<{ root: string; built: ReturnType<typeof storageRoot>[number]; tars: Buffer[] }> {
  const t = await tars();
  const root = tmpDir();
  const [built] = storageRoot(root, [{ layers: [{ tar: t[0]! }, { tar: t[1]!, gzip: true }, { tar: t[2]! }], names: ['localhost/app:1'] }]);
  return { root, built: built!, tars: t };
}

const load = async (root: string, name: string, o: LoadOptions = opts) => loadLayers(`containers-storage:[${root}]${name}`, 'containers-storage', await openContainersStorage(`[${root}]${name}`, o), o);

/** The error a promise rejects with. */
async function failure(p: Promise<unknown>): Promise<Error & { exitCode?: number }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error & { exitCode?: number };
}

describe('containers-storage: reading', () => {
  it('loads each layer as a tar walk gives it, with the compression and size the store recorded for one that arrived compressed', async () => {
    const { root, built, tars: t } = await store();
    const progress: string[] = [];
    const img = await load(root, 'app:1', { ...opts, onProgress: (m) => progress.push(m) });
    expect(img.configDigest).toBe(`sha256:${built.id}`);
    expect(img.tags).toEqual(['localhost/app:1']);
    expect(img.layers.map((l) => l.diffId)).toEqual(built.diffIds);
    for (const [i, l] of img.layers.entries()) expect(l.walk).toEqual(await walkBothOk(t[i]!, opts));
    // markers the capture and probe predicates ask for are not opened in the diff directory (overlay has none), and walk as a tar walk gives them
    expect(img.layers[1]!.walk.entries.find((e) => e.path === 'var/lib/dpkg/info/.wh.gone.list')?.body).toEqual(Buffer.alloc(0));
    expect(img.layers.map((l) => [l.compression, l.compressedBytes, l.digest ?? null])).toEqual([
      ['none', null, null],
      ['gzip', built.compressed[1]!.size, built.compressed[1]!.digest],
      ['none', null, null],
    ]);
    expect(img.layers[1]!.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(progress.filter((m) => m.includes('reading the containers storage at'))).toHaveLength(1);
  });

  it('names big-data files as containers/storage does', () => {
    expect(bigDataFile('manifest')).toBe('manifest');
    const key = `sha256:${'a'.repeat(64)}`;
    expect(bigDataFile(key)).toBe(`=${Buffer.from(key).toString('base64')}`);
    expect(Buffer.from(bigDataFile(key).slice(1), 'base64').toString()).toBe(key);
  });

  it('takes layers from the layer cache by diff ID, a compressed one still with its recorded size, and gives the same report', async () => {
    const { root, built, tars: t } = await store();
    const layout = path.join(tmpDir(), 'layout');
    await writeOciDir(layout, [{ img: { layers: t.map((raw) => ({ raw, compression: 'none' as const })) }, tag: 'x' }]);
    const cacheDir = tmpDir('imgscope-cache-');
    await withLayerCache(cacheDir, async () => {
      const first = await analyzeReference(`containers-storage:[${root}]app:1`, {});
      await analyzeReference(`oci:${layout}:x`, { verifyLayers: true }); // verified: caches every layer under its diff ID
      // the store's records are gone: only the cache can give the layers now
      for (const id of built.layerIds) renameSync(path.join(root, 'overlay-layers', `${id}.tar-split.gz`), path.join(root, `${id}.gone`));
      for (const id of built.layerIds) writeFileSync(path.join(root, 'overlay-layers', `${id}.tar-split.gz`), '');
      const progress: string[] = [];
      const again = await analyzeReference(`containers-storage:[${root}]app:1`, { onProgress: (m) => progress.push(m) });
      expect({ ...again, generatedAt: '' }).toEqual({ ...first, generatedAt: '' });
      expect(again.layers[1]!.compressedBytes).toBe(built.compressed[1]!.size);
      expect(progress.filter((m) => m.endsWith('from the layer cache'))).toHaveLength(2); // the compressed one is looked up by the transport
    });
  });
});

describe('containers-storage: --verify', () => {
  it('rebuilds each layer from the store and checks its diff ID: a changed body is an error naming the layer', async () => {
    const { root, built } = await store();
    const img = await load(root, 'app:1', { ...opts, verifyLayers: true });
    expect(img.layers.map((l) => l.diffId)).toEqual(built.diffIds);
    // same size, other bytes: only a full read can tell
    const f = path.join(root, 'overlay', built.layerIds[2]!, 'diff', 'srv/data.bin');
    const body = readFileSync(f);
    body[100] = body[100]! ^ 0xff;
    writeFileSync(f, body);
    await load(root, 'app:1');
    const e = await failure(load(root, 'app:1', { ...opts, verifyLayers: true }));
    expect(e.message).toMatch(new RegExp(`layer 3 \\(${built.layerIds[2]}\\): .*the tar rebuilt from the store has digest sha256:[0-9a-f]{64}, not its diff ID ${built.diffIds[2]}`));
    writeFileSync(f, body.subarray(1));
    expect((await failure(load(root, 'app:1', { ...opts, verifyLayers: true }))).message).toMatch(/'srv\/data\.bin' in the diff directory is not the 4096 bytes the tar-split gives/);
  });
});

describe('containers-storage: errors name the layer', () => {
  const where = (root: string): string => `containers-storage:\\[${root.replace(/[/.]/g, '\\$&')}\\]app:1`;

  it('a truncated, corrupt or missing tar-split, or one of another size than layers.json records', async () => {
    const { root, built } = await store();
    const ts = (i: number): string => path.join(root, 'overlay-layers', `${built.layerIds[i]}.tar-split.gz`);
    const gz = readFileSync(ts(1));
    writeFileSync(ts(1), gz.subarray(0, gz.length - 20));
    let e = await failure(load(root, 'app:1'));
    expect(e.message).toMatch(new RegExp(`^${where(root)}: layer 2 \\(${built.layerIds[1]}\\): .*corrupt tar-split`));
    expect(e.exitCode).toBe(2);
    const lines = gunzipSync(gz).toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Parameters<typeof tarSplitGz>[0][number]);
    writeFileSync(ts(1), tarSplitGz(lines.slice(0, -1)));
    e = await failure(load(root, 'app:1'));
    expect(e.message).toMatch(new RegExp(`layer 2 \\(${built.layerIds[1]}\\): .*truncated`));
    writeFileSync(ts(1), gz);
    const records = JSON.parse(readFileSync(path.join(root, 'overlay-layers/layers.json'), 'utf8')) as Array<Record<string, number>>;
    records[2]!['diff-size']! += 512;
    writeFileSync(path.join(root, 'overlay-layers/layers.json'), JSON.stringify(records));
    e = await failure(load(root, 'app:1'));
    expect(e.message).toMatch(new RegExp(`layer 3 \\(${built.layerIds[2]}\\): .* rebuilds a \\d+-byte tar where layers.json records \\d+ bytes`));
    rmSync(ts(0));
    e = await failure(load(root, 'app:1'));
    expect(e.message).toMatch(new RegExp(`layer 1 \\(${built.layerIds[0]}\\): no tar-split record `));
  });

  it('a tar-split of another layer, a chain that disagrees with the config, a config that does not match its digest', async () => {
    const { root, built } = await store();
    const ts = (i: number): string => path.join(root, 'overlay-layers', `${built.layerIds[i]}.tar-split.gz`);
    const saved = readFileSync(ts(2));
    writeFileSync(ts(2), readFileSync(ts(1)));
    expect((await failure(load(root, 'app:1'))).message).toMatch(new RegExp(`layer 3 \\(${built.layerIds[2]}\\)`));
    writeFileSync(ts(2), saved);
    const lj = path.join(root, 'overlay-layers/layers.json');
    const records = JSON.parse(readFileSync(lj, 'utf8')) as Array<Record<string, string>>;
    writeFileSync(lj, JSON.stringify([records[0], { ...records[1], 'diff-digest': `sha256:${'0'.repeat(64)}` }, records[2]]));
    expect((await failure(load(root, 'app:1'))).message).toMatch(new RegExp(`layer 2 \\(${built.layerIds[1]}\\) records diff digest sha256:0+, the config ${built.diffIds[1]}`));
    writeFileSync(lj, JSON.stringify([records[0], records[2]]));
    expect((await failure(load(root, 'app:1'))).message).toMatch(new RegExp(`layer ${built.layerIds[1]} .* is not in overlay-layers/layers.json`));
    writeFileSync(lj, JSON.stringify(records));
    const cfg = path.join(root, 'overlay-images', built.id, bigDataFile(`sha256:${built.id}`));
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('amd64', 'arm64'));
    expect((await failure(load(root, 'app:1'))).message).toMatch(/config .*digest mismatch/);
  });

  it('a store it cannot read is exit 3; another driver is refused', async () => {
    const root = tmpDir();
    let e = await failure(load(path.join(root, 'none'), 'app:1'));
    expect(e.message).toMatch(/cannot read the containers storage at .*none \(ENOENT\)/);
    expect(e.exitCode).toBe(3);
    e = await failure(openContainersStorage(`[vfs@${root}]app:1`, opts));
    expect(e.message).toMatch(/uses the vfs driver: only overlay stores are read/);
  });
});

describe('containers-storage: names', () => {
  const img = (id: string, ...names: string[]): StoredImage => ({ id: id.repeat(64).slice(0, 64), names });
  const images = [img('a', 'localhost/app:1', 'localhost/app:latest'), img('b', 'docker.io/library/debian:bookworm'), img('ab', 'quay.io/org/tool:2', 'docker.io/org/tool:3'), img('c', 'docker.io/org/tool:2')];
  const find = (n: string): string => findImage(images, n, 'store').image.id[1]!;
  const first = (n: string): string => findImage(images, n, 'store').image.id[0]!;

  it('finds an image by ID, full name, ID prefix, then short name with its tag (latest by default)', () => {
    expect(first('a'.repeat(64))).toBe('a');
    expect(first(`sha256:${'b'.repeat(64)}`)).toBe('b');
    expect(first('localhost/app:1')).toBe('a');
    expect(first('app')).toBe('a');
    expect(first('app:1')).toBe('a');
    expect(first('debian:bookworm')).toBe('b');
    expect(first('library/debian:bookworm')).toBe('b');
    expect(first('cc')).toBe('c');
    expect(find('ababab')).toBe('b');
    expect(first('tool:3')).toBe('a');
    expect(findImage(images, 'app:1', 'store').name).toBe('localhost/app:1');
    expect(findImage(images, 'a'.repeat(64), 'store').name).toBeUndefined();
  });

  it('finds a name with a digest by the manifest digests the store recorded', () => {
    const d1 = `sha256:${'1'.repeat(64)}`;
    const d2 = `sha256:${'2'.repeat(64)}`;
    const withDigests = [{ ...img('d', 'docker.io/library/alpine:3'), digest: d1, digests: [d1, d2] }, img('e', 'docker.io/library/alpine:latest')];
    expect(findImage(withDigests, `alpine@${d2}`, 'store')).toEqual({ image: withDigests[0], name: `docker.io/library/alpine@${d2}` });
    expect(findImage(withDigests, `docker.io/library/alpine@${d1}`, 'store').image.id[0]).toBe('d');
    expect(() => findImage(withDigests, `alpine@sha256:${'3'.repeat(64)}`, 'store')).toThrow(/no image named/);
    expect(() => findImage([], 'alpine', 'store')).toThrow(/no image named 'alpine'/);
  });

  it('refuses a name that gives two images, an ambiguous prefix, and a name it does not hold', () => {
    expect(() => findImage(images, 'tool:2', 'store')).toThrow(/^store: 'tool:2' names 2 images \(quay\.io\/org\/tool:2, docker\.io\/org\/tool:2\): give the full name$/);
    expect(first('quay.io/org/tool:2')).toBe('a');
    expect(() => findImage(images, 'a', 'store')).toThrow(/ID prefix a is ambiguous/);
    expect(() => findImage(images, 'debian', 'store')).toThrow(/^store: no image named 'debian' in the store$/);
    expect(() => findImage(images, 'docker.io/app:1', 'store')).toThrow(/no image named/);
  });
});

describe('containers-storage: references and storage.conf', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of ['CONTAINERS_STORAGE_CONF', 'STORAGE_DRIVER']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it("parses skopeo's store part: [driver@graphroot+runroot:options]", () => {
    expect(parseStorageRef('app:1', 'r')).toEqual({ image: 'app:1' });
    expect(parseStorageRef('[/s]app:1', 'r')).toEqual({ graphroot: '/s', image: 'app:1' });
    expect(parseStorageRef('[overlay@/var/s+/run/s:overlay.mountopt=nodev]localhost/app:1', 'r')).toEqual({ driver: 'overlay', graphroot: '/var/s', image: 'localhost/app:1' });
    expect(() => parseStorageRef('[rel/s]app', 'r')).toThrow(/^r: the store's graph root 'rel\/s' is not an absolute path$/);
    expect(() => parseStorageRef('[/s', 'r')).toThrow(/no closing/);
    expect(() => parseReference('containers-storage:')).toThrow(/^containers-storage:: missing image name$/);
    expect(() => parseReference('containers-storage:[/s]')).toThrow(/missing image name/);
    expect(parseReference('containers-storage:[/s]app:1')).toEqual({ reference: 'containers-storage:[/s]app:1', transport: 'containers-storage', location: '[/s]app:1' });
  });

  it('reads the [storage] keys it needs and nothing else of the TOML file', () => {
    const conf = [
      '# a comment',
      'driver = "vfs"  # not in a table',
      '[storage]',
      'driver = "overlay"  # the driver',
      "runroot = '/run/c s'",
      'graphroot = "/var/lib/x\\u0041\\"y"',
      '',
      '[storage.options]',
      'additionalimagestores = [',
      '  "/a",',
      ']',
      'graphroot = "/not/this"',
      '[storage.options.overlay]',
      'mountopt = "nodev"',
    ].join('\n');
    expect(storageTable(conf, 'f')).toEqual({ driver: 'overlay', runroot: '/run/c s', graphroot: '/var/lib/xA"y' });
    expect(() => storageTable('[storage]\ngraphroot = 3\n', 'f.conf')).toThrow(/^f\.conf:2: \[storage\] graphroot is not a one-line TOML string$/);
    expect(storageTable('[ storage ]\n  graphroot="/g"\n', 'f')).toEqual({ graphroot: '/g' });
  });

  it('finds storage.conf through $CONTAINERS_STORAGE_CONF and takes its graph root and driver (root)', () => {
    if (process.getuid?.() !== 0) return; // rootless picks rootless_storage_path: checked below
    const d = tmpDir();
    const f = path.join(d, 'storage.conf');
    writeFileSync(f, '[storage]\ndriver = "overlay"\ngraphroot = "/srv/containers"\n');
    process.env.CONTAINERS_STORAGE_CONF = f;
    expect(storageConfFile()).toBe(f);
    expect(defaultStorage()).toEqual({ driver: 'overlay', graphroot: '/srv/containers', from: f });
    writeFileSync(f, '[storage]\nrunroot = "/run/x"\n');
    expect(defaultStorage()).toEqual({ graphroot: '/var/lib/containers/storage', from: f });
    process.env.STORAGE_DRIVER = 'vfs';
    expect(defaultStorage().driver).toBe('vfs');
    process.env.CONTAINERS_STORAGE_CONF = path.join(d, 'none.conf');
    expect(() => storageConfFile()).toThrow(/CONTAINERS_STORAGE_CONF=.*none\.conf: no such file/);
  });

  it('reads the store storage.conf names when the reference names none', async () => {
    const { root } = await store();
    const f = path.join(tmpDir(), 'storage.conf');
    writeFileSync(f, `[storage]\ndriver = "overlay"\ngraphroot = "${root}"\nrootless_storage_path = "${root}"\n`);
    process.env.CONTAINERS_STORAGE_CONF = f;
    const opened = await openContainersStorage('app:1', opts);
    expect(opened.tags).toEqual(['localhost/app:1']);
    expect(existsSync(root)).toBe(true);
  });

  it('is exit 3 when the store is not readable', async () => {
    if (process.getuid?.() === 0) return; // root reads any mode
    const { root } = await store();
    chmodSync(path.join(root, 'overlay-images'), 0o000);
    try {
      expect((await failure(load(root, 'app:1'))).exitCode).toBe(3);
    } finally {
      chmodSync(path.join(root, 'overlay-images'), 0o700);
    }
  });
});
