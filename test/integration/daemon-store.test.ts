/**
 * The engine's layer store against the export, on a real daemon (issue 14's acceptance): for the
 * images the integration tests build, the report read from the store is the report read from the
 * export, field by field; the store path is the one taken when it can be; and when it cannot, one
 * progress line says why and the export gives the same report (or, with --daemon-read store, exit 3).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeReference } from '../../src/pipeline.js';
import type { Analysis } from '../../src/report/types.js';
import { buildFixture, dockerAvailable, ensureBase, requireDocker, ROOT } from '../helpers/docker.js';
import { withLayerCache } from '../helpers/cache.js';
import { buildElf } from '../helpers/elf.js';
import { tmpDir, writeDockerArchiveLegacy } from '../helpers/images.js';
import { header, pad } from '../helpers/tar.js';
import { checkReport } from '../helpers/report.js';
import { sparseDir } from '../helpers/engine-store.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const IMAGES = ['imgscope-test/pyapp:1', 'imgscope-store-test/whiteouts:1'];
const available = await dockerAvailable();
if (requireDocker && !available) throw new Error('IMGSCOPE_REQUIRE_DOCKER=1 but no Docker daemon answers `docker info`');
// The layer store is read only where it is readable: root, on the daemon's host, overlay2 (the CI's daemon).
const info = available ? (await execa('docker', ['info', '--format', '{{.Driver}} {{.DockerRootDir}}'])).stdout.trim() : '';
const readable = info.startsWith('overlay2 ') && process.getuid?.() === 0 && !/^(tcp|ssh|http)/.test(process.env.DOCKER_HOST ?? '');
const DOCKER_ROOT = info.slice(info.indexOf(' ') + 1);

// A user who reaches the socket (the docker group) but not the engine's root (0710 root:root): nobody,
// where setpriv exists and nobody can read this checkout (a clone under a private home cannot be).
const gid = readable ? (await execa('getent', ['group', 'docker'], { reject: false })).stdout.split(':')[2] : undefined;
const nobodyCanRun = !!gid && (await execa('setpriv', ['--reuid=65534', '--regid=65534', `--groups=${gid}`, process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(CLI)})`], { reject: false })).exitCode === 0;

/** One analysis through the library, with its progress lines. */
async function read(ref: string, how: 'auto' | 'store' | 'export'): Promise<{ a: Analysis; progress: string[] }> {
  const progress: string[] = [];
  const a = checkReport(await analyzeReference(ref, { daemonRead: how, onProgress: (m) => progress.push(m) }));
  return { a, progress };
}

/** The report without what differs between two runs of one read (the time it was made). */
const comparable = (a: Analysis): Analysis => ({ ...a, generatedAt: '' });

/** An auto read that fell back to the export: the report says why in its warnings, and is otherwise the export's. */
function fellBack(a: Analysis, why: string | RegExp): Analysis {
  const said = a.warnings.filter((w) => w.startsWith('read by exporting the image: '));
  expect(said).toHaveLength(1);
  expect(said[0]).toMatch(typeof why === 'string' ? `the engine's layer store could not be read (${why})` : why);
  return comparable({ ...a, warnings: a.warnings.filter((w) => w !== said[0]) });
}

describe.skipIf(!available || !readable)("the engine's layer store", () => {
  const reports = new Map<string, { store: Awaited<ReturnType<typeof read>>; exported: Awaited<ReturnType<typeof read>> }>();

  beforeAll(async () => {
    await ensureBase();
    await buildFixture(IMAGES[0]!, path.join(ROOT, 'test/fixtures/pyapp'));
    await buildFixture(IMAGES[1]!, path.join(ROOT, 'test/fixtures/whiteouts'));
    for (const ref of IMAGES) reports.set(ref, { store: await read(`docker-daemon:${ref}`, 'store'), exported: await read(`docker-daemon:${ref}`, 'export') });
  });

  it('gives the report the export gives, field by field, for every image the tests build', () => {
    for (const ref of IMAGES) {
      const { store, exported } = reports.get(ref)!;
      const s = comparable(store.a);
      const e = comparable(exported.a);
      for (const k of Object.keys(e) as Array<keyof Analysis>) expect([ref, k, s[k]]).toEqual([ref, k, e[k]]);
      expect(Object.keys(s)).toEqual(Object.keys(e));
    }
  });

  it('took the store path (a progress line says so), and the export path with --daemon-read export', () => {
    for (const ref of IMAGES) {
      const { store, exported } = reports.get(ref)!;
      expect(store.progress.filter((m) => m.includes("reading the engine's layer store"))).toHaveLength(1);
      expect(exported.progress.some((m) => m.includes("reading the engine's layer store"))).toBe(false);
    }
  });

  it('reads whiteouts and an opaque directory as the export does', () => {
    const { store } = reports.get(IMAGES[1]!)!;
    const a = store.a;
    expect(a.totals.wasteBytes).toBeGreaterThanOrEqual(200000);
    expect(a.layers.length).toBeGreaterThanOrEqual(4);
  });

  it('shares the layer cache with the export by diff ID: what an export verified serves the store read, a store read stores nothing', async () => {
    const ref = `docker-daemon:${IMAGES[0]}`;
    const dir = tmpDir('imgscope-cache-');
    await withLayerCache(dir, async () => {
      const store = await read(ref, 'store');
      expect(store.progress.some((m) => m.endsWith('from the layer cache'))).toBe(false);
      const layerEntries = (): string[] => (existsSync(path.join(dir, 'v1')) ? readdirSync(path.join(dir, 'v1')).filter((f) => f.endsWith('.layer')) : []);
      expect(layerEntries()).toEqual([]);
      await read(ref, 'export');
      expect(layerEntries()).toHaveLength(store.a.layers.length);
      const again = await read(ref, 'store');
      expect(again.progress.filter((m) => m.endsWith('from the layer cache'))).toHaveLength(again.a.layers.length);
      expect(comparable(again.a)).toEqual(comparable(store.a));
    });
  });

  it('says why it exports when the store is not readable, and gives the same report', async () => {
    const saved = process.env.IMGSCOPE_DOCKER_ROOT;
    process.env.IMGSCOPE_DOCKER_ROOT = path.join(tmpDir(), 'no-root');
    try {
      const { a, progress } = await read(`docker-daemon:${IMAGES[0]}`, 'auto');
      const why = progress.filter((m) => m.includes('exporting the image'));
      expect(why).toHaveLength(1);
      expect(why[0]).toMatch(/cannot read the engine's layer store at .*no-root \(ENOENT\)/);
      expect(fellBack(a, /cannot read the engine's layer store at .*no-root \(ENOENT\)/)).toEqual(comparable(reports.get(IMAGES[0]!)!.exported.a));
    } finally {
      if (saved === undefined) delete process.env.IMGSCOPE_DOCKER_ROOT;
      else process.env.IMGSCOPE_DOCKER_ROOT = saved;
    }
  });

  it('fails with exit 3 and the reason under --daemon-read store, and the CLI reads the store by default', async () => {
    const env = { ...process.env, IMGSCOPE_DOCKER_ROOT: path.join(tmpDir(), 'no-root') };
    const r = await execa('node', [CLI, 'analyze', `docker-daemon:${IMAGES[0]}`, '--daemon-read', 'store', '-f', 'json'], { env, reject: false });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/--daemon-read store: cannot read the engine's layer store at .*no-root \(ENOENT\)/);
    const ok = await execa('node', [CLI, 'analyze', IMAGES[0]!, '-f', 'json']);
    const a = checkReport(JSON.parse(ok.stdout));
    expect({ ...comparable(a), image: { ...a.image, reference: '' } }).toEqual({ ...comparable(reports.get(IMAGES[0]!)!.store.a), image: { ...reports.get(IMAGES[0]!)!.store.a.image, reference: '' } });
  });
});

/** A tar of raw headers (names as bytes) and bodies, ended by two zero blocks. */
function rawTar(entries: Array<{ name: Buffer | string; typeflag?: string; linkname?: string; size?: number; body?: Buffer }>): Buffer {
  const parts = entries.map((e) => Buffer.concat([header({ name: e.name, typeflag: e.typeflag ?? '0', size: e.size ?? e.body?.length ?? 0, ...(e.linkname ? { linkname: e.linkname } : {}) }), pad(e.body ?? Buffer.alloc(0))]));
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}
const bytes = (...p: Array<string | number[]>): Buffer => Buffer.concat(p.map((x) => Buffer.from(x)));
const DIST = 'usr/lib/python3/dist-packages/';

/** The library's read, or the error it ends in. */
async function attempt(ref: string, how: 'auto' | 'store' | 'export'): Promise<{ a?: Analysis; err?: Error; progress: string[] }> {
  const progress: string[] = [];
  try {
    return { a: checkReport(await analyzeReference(ref, { daemonRead: how, onProgress: (m) => progress.push(m) })), progress };
  } catch (err) {
    return { err: err as Error, progress };
  }
}

/**
 * Layers whose store read could differ from the export, loaded with `docker load` (each image made
 * unique by a nonce file, so that its layer is this test's alone) and removed afterwards.
 */
describe.skipIf(!available || !readable)("the engine's layer store: entries a store read could get wrong", () => {
  const loaded: string[] = [];
  const nonce = randomBytes(8).toString('hex');
  const unique = (): { name: string; body: Buffer } => ({ name: `nonce-${nonce}-${loaded.length}`, body: Buffer.from(nonce) });

  /** Loads a one-layer image and returns its tag and its layer's layerdb folder and diff directory. */
  async function load(kind: string, tar: Buffer): Promise<{ ref: string; folder: string; diff: string; diffId: string }> {
    const ref = `imgscope-store-test/edge-${kind}:${nonce}`;
    const file = path.join(tmpDir(), 'image.tar');
    await writeDockerArchiveLegacy(file, { layers: [{ raw: tar }] }, [ref]);
    loaded.push(ref);
    await execa('docker', ['load', '-q', '-i', file]);
    const diffId = (await execa('docker', ['image', 'inspect', '-f', '{{index .RootFS.Layers 0}}', ref])).stdout.trim();
    const folder = path.join(DOCKER_ROOT, 'image/overlay2/layerdb/sha256', diffId.slice(7));
    return { ref: `docker-daemon:${ref}`, folder, diff: path.join(DOCKER_ROOT, 'overlay2', readFileSync(path.join(folder, 'cache-id'), 'utf8').trim(), 'diff'), diffId };
  }

  /** The tar-split's file lines, as the engine wrote them. */
  const fileLines = (folder: string): Array<{ name?: string; name_raw?: string; size?: number }> =>
    gunzipSync(readFileSync(path.join(folder, 'tar-split.json.gz')))
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: number; name?: string; name_raw?: string; size?: number })
      .filter((l) => l.type === 1);

  afterAll(async () => {
    for (const ref of loaded) await execa('docker', ['rmi', '-f', ref], { reject: false });
  });

  it('names that are not UTF-8, a hardlink to a captured file and a captured path that is a hardlink: the report the export gives, field by field', async () => {
    const elf = buildElf({ needed: ['libc.so.6'] });
    const status = 'Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\n';
    const tar = rawTar([
      { name: 'etc/', typeflag: '5' },
      { name: 'etc/hl', body: Buffer.from('ID=debian\n') },
      { name: 'etc/os-release', typeflag: '1', linkname: 'etc/hl' },
      { name: 'var/lib/dpkg/', typeflag: '5' },
      { name: 'var/lib/dpkg/status', body: Buffer.from(status) },
      { name: 'var/lib/dpkg/st2', typeflag: '1', linkname: 'var/lib/dpkg/status' },
      { name: DIST, typeflag: '5' },
      { name: bytes(DIST, '_', [0xff], 'x.cpython-311-x86_64-linux-gnu.so'), body: elf },
      { name: bytes(DIST, [0xfe, 0xfd], '/'), typeflag: '5' },
      { name: bytes(DIST, [0xfe, 0xfd], '/_y.cpython-311-x86_64-linux-gnu.so'), body: elf },
      { name: bytes(DIST, 'p', [0xff], '-1.0.dist-info/'), typeflag: '5' },
      { name: bytes(DIST, 'p', [0xff], '-1.0.dist-info/RECORD'), body: Buffer.from('p/__init__.py,,10\n') },
      unique(),
    ]);
    const { ref, folder } = await load('names', tar);
    // the engine keeps such names as bytes (name_raw) in the tar-split
    expect(fileLines(folder).filter((l) => l.name_raw !== undefined)).toHaveLength(5);
    const store = await read(ref, 'store');
    const exported = await read(ref, 'export');
    expect(store.progress.filter((m) => m.includes("reading the engine's layer store"))).toHaveLength(1);
    const s = comparable(store.a);
    const e = comparable(exported.a);
    for (const k of Object.keys(e) as Array<keyof Analysis>) expect([k, s[k]]).toEqual([k, e[k]]);
    // both ELF files were probed (two built here), through their byte names
    expect(s.evidence.sharedLibraries?.checked).toBe(2);
  });

  describe('GNU sparse files', () => {
    let src = '';
    let apparent = 0;
    beforeAll(() => {
      ({ src, apparent } = sparseDir());
    });
    const sparseTar = (args: string[]): Buffer => {
      writeFileSync(path.join(src, 'd', 'nonce'), `${nonce} ${args.join(' ')}`);
      return execFileSync('tar', ['--sparse', ...args, '-C', src, '-cf', '-', 'd'], { maxBuffer: 64 * 1024 ** 2 });
    };

    it('old GNU (S): docker load refuses the layer, so no store holds one', async () => {
      const file = path.join(tmpDir(), 'image.tar');
      await writeDockerArchiveLegacy(file, { layers: [{ raw: sparseTar(['--format=gnu']) }] }, [`imgscope-store-test/edge-gnu-sparse:${nonce}`]);
      const r = await execa('docker', ['load', '-q', '-i', file], { reject: false });
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/unhandled tar header type 83/);
    });

    for (const version of ['0.0', '0.1', '1.0']) {
      it(`PAX ${version}: the engine keeps the file expanded (tar-split and diff directory); the store read says so, naming the layer and the file, and docker save cannot export it either`, async () => {
        const { ref, folder, diff, diffId } = await load(`sparse-${version.replace('.', '')}`, sparseTar(['--format=posix', `--sparse-version=${version}`]));
        expect(fileLines(folder).find((l) => l.name === 'd/sp.bin')?.size).toBe(apparent);
        expect(statSync(path.join(diff, 'd/sp.bin')).size).toBe(apparent);
        const why = `layer 1 (${diffId}): 'd/sp.bin': a body of ${apparent} bytes where the headers give`;
        const store = await attempt(ref, 'store');
        expect(store.err?.message).toContain(`--daemon-read store: ${why}`);
        expect(store.err?.message).toMatch(/\(a GNU sparse file: the engine keeps it expanded, so its tar cannot be rebuilt\)$/);
        const auto = await attempt(ref, 'auto');
        expect(auto.progress.filter((m) => m.includes('exporting the image: '))).toEqual([expect.stringContaining(why)]);
        expect(auto.err?.message).toMatch(/could not verify layer data/);
        // the failed export's error also says why the store was not read (a CI log shows no progress line)
        expect(auto.err?.message).toContain(`(the engine's layer store could not be read either: ${why}`);
      });
    }
  });

  it('a header-only entry with a size field: the store read says which, and docker save cannot export it either', async () => {
    const tar = rawTar([{ name: 'opt/', typeflag: '5' }, { name: 'opt/f', body: Buffer.from('abc\n') }, { name: 'opt/d/', typeflag: '5', size: 1000 }, { name: 'opt/ln', typeflag: '2', linkname: 'd', size: 77 }, unique()]);
    const { ref, folder, diffId } = await load('sizes', tar);
    expect(fileLines(folder).find((l) => l.name === 'opt/d/')?.size).toBe(1000);
    const store = await attempt(ref, 'store');
    expect(store.err?.message).toContain(`--daemon-read store: layer 1 (${diffId}): 'opt/d/': a body of 1000 bytes where the headers give 0 (a header-only entry with a size field: tar-split records a body the tar did not have)`);
    const exported = await attempt(ref, 'export');
    expect(exported.err?.message).toMatch(/opt\/d: is a directory/);
  });

  it('a captured file whose diff-directory copy changed (same size, or another): the store read names it, never a smaller image', async () => {
    const { ref, diff, diffId } = await load('changed', rawTar([{ name: 'etc/', typeflag: '5' }, { name: 'etc/os-release', body: Buffer.from('ID=debian\n') }, unique()]));
    const before = await read(ref, 'store');
    expect(before.a.evidence.os.id).toBe('debian');
    // the same size: the CRC-64 the tar-split records for the body tells
    writeFileSync(path.join(diff, 'etc/os-release'), 'ID=debiam\n');
    const crc = await attempt(ref, 'store');
    expect(crc.err?.message).toContain(`--daemon-read store: layer 1 (${diffId}): 'etc/os-release' in the diff directory is not the file the layer holds (its CRC-64 is not the one the tar-split records)`);
    expect((await attempt(ref, 'export')).err?.message).toMatch(/file integrity checksum failed for "etc\/os-release"/);
    writeFileSync(path.join(diff, 'etc/os-release'), 'ID=debian\n');
    appendFileSync(path.join(diff, 'etc/os-release'), 'VERSION_ID="12"\n');
    const store = await attempt(ref, 'store');
    expect(store.err?.message).toContain(`--daemon-read store: layer 1 (${diffId}): 'etc/os-release' has 26 bytes in the diff directory where the headers give 10`);
    const auto = await attempt(ref, 'auto');
    expect(auto.progress.filter((m) => m.includes('exporting the image: '))).toEqual([expect.stringContaining("'etc/os-release' has 26 bytes")]);
    // the engine checks each body's CRC when it exports
    expect(auto.err?.message).toMatch(/file integrity checksum failed for "etc\/os-release"/);
  });

  it('a layer without its tar-split, or with one truncated or corrupt: one line names the layer and what is wrong', async () => {
    const { ref, folder, diffId } = await load('no-split', rawTar([{ name: 'etc/', typeflag: '5' }, { name: 'etc/os-release', body: Buffer.from('ID=debian\n') }, unique()]));
    const ts = path.join(folder, 'tar-split.json.gz');
    const gz = readFileSync(ts);
    const why = async (): Promise<string[]> => (await attempt(ref, 'auto')).progress.filter((m) => m.includes('exporting the image: '));
    renameSync(ts, `${ts}.moved`);
    try {
      const auto = await attempt(ref, 'auto');
      expect(auto.progress.filter((m) => m.includes('exporting the image: '))).toEqual([`${ref}: exporting the image: layer 1 (${diffId}): no tar-split.json.gz in ${folder}`]);
      // docker save needs it too
      expect(auto.err?.message).toMatch(/tar-split\.json\.gz: no such file/);
      // cut short: the gzip stream ends early
      writeFileSync(ts, gz.subarray(0, gz.length - 12));
      expect(await why()).toEqual([expect.stringMatching(new RegExp(`^${ref}: exporting the image: layer 1 \\(${diffId}\\): corrupt tar-split: `))]);
      // whole gzip, but the record stops after the last body, before the segments with the end blocks
      const lines = gunzipSync(gz).toString().split('\n').filter(Boolean);
      const last = lines.length - 1 - [...lines].reverse().findIndex((l) => (JSON.parse(l) as { type: number }).type === 1);
      writeFileSync(ts, gzipSync(Buffer.from(`${lines.slice(0, last + 1).join('\n')}\n`)));
      expect(await why()).toEqual([`${ref}: exporting the image: layer 1 (${diffId}): truncated tar-split: no end-of-archive block`]);
    } finally {
      writeFileSync(ts, gz);
      rmSync(`${ts}.moved`, { force: true });
    }
    expect((await read(ref, 'store')).a.evidence.os.id).toBe('debian');
  });
});

describe.skipIf(!available || !readable)("the engine's layer store: where it is not readable from here", () => {
  const ref = `docker-daemon:${IMAGES[0]}`;
  let exported: Analysis;
  beforeAll(async () => {
    await ensureBase();
    await buildFixture(IMAGES[0]!, path.join(ROOT, 'test/fixtures/pyapp'));
    exported = (await read(ref, 'export')).a;
  });

  it('a daemon reached over TCP (DOCKER_HOST=tcp://): one line says why, and the export gives the same report', async () => {
    // a TCP front for the local socket: the daemon is the same, but not known to be on this host
    const server = net.createServer((c) => {
      const up = net.connect('/var/run/docker.sock');
      c.pipe(up).pipe(c);
      up.on('error', () => c.destroy());
      c.on('error', () => up.destroy());
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const host = `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = host;
    try {
      const { a, progress } = await read(ref, 'auto');
      expect(progress.filter((m) => m.includes('exporting the image: '))).toEqual([`${ref}: exporting the image: the daemon is not on this host (DOCKER_HOST=${host})`]);
      expect(fellBack(a, `the daemon is not on this host (DOCKER_HOST=${host})`)).toEqual(comparable(exported));
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
      await new Promise<void>((res) => server.close(() => res()));
    }
  });

  // not root: nobody, in the docker group so that the socket answers, but the engine's root is 0710 root:root
  const asNobody = (args: string[], env: NodeJS.ProcessEnv) => execa('setpriv', ['--reuid=65534', '--regid=65534', `--groups=${gid}`, '--inh-caps=-all', process.execPath, ...args], { env, reject: false });

  it.skipIf(!nobodyCanRun)('as a user who reaches the socket but not the engine root: one line says why, the export gives the same report, --daemon-read store exits 3', async () => {
    const home = tmpDir();
    chmodSync(home, 0o777);
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CACHE_HOME: home, IMGSCOPE_CACHE: 'off' };
    delete env.IMGSCOPE_DOCKER_ROOT;
    const why = `cannot read the engine's layer store at ${DOCKER_ROOT} (EACCES): it is readable by root, or by a rootless daemon's user`;
    const strict = await asNobody([CLI, 'analyze', ref, '--daemon-read', 'store', '-f', 'json'], env);
    expect(strict.exitCode).toBe(3);
    expect(strict.stderr.trim()).toBe(`imgscope: ${ref}: --daemon-read store: ${why}`);
    const pipeline = JSON.stringify(new URL('../../dist/pipeline.js', import.meta.url).href);
    const script = `const { analyzeReference } = await import(${pipeline}); const progress = []; const a = await analyzeReference(${JSON.stringify(ref)}, { onProgress: (m) => progress.push(m) }); process.stdout.write(JSON.stringify({ a, progress }));`;
    const auto = await asNobody(['--input-type=module', '-e', script], env);
    expect(auto.exitCode, auto.stderr).toBe(0);
    const out = JSON.parse(auto.stdout) as { a: Analysis; progress: string[] };
    expect(out.progress.filter((m) => m.includes('exporting the image: '))).toEqual([`${ref}: exporting the image: ${why}`]);
    expect(fellBack(checkReport(out.a), why)).toEqual(comparable(exported));
  });
});
