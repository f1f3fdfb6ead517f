/**
 * Reading the engine's layer store (docs/formats.md "Engine layer stores"): a tar-split record and a
 * diff directory walk to exactly what a tar walk of the layer gives, and every reason the store
 * cannot give an image is said, never read as a smaller image.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type Docker from 'dockerode';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { wantsBody } from '../../src/catalog/metadata.js';
import { chainIds, openDaemonStore, StoreUnavailable } from '../../src/image/daemon-store.js';
import { loadLayers } from '../../src/image/layers.js';
import type { LoadOptions } from '../../src/image/types.js';
import { wantsProbe } from '../../src/inspect/probe.js';
import { walkTarSplit } from '../../src/walk/tar-split-walker.js';
import { engineRoot, fakeDocker, sparseDir, splitTar, tarSplitGz, writeBodies } from '../helpers/engine-store.js';
import { tmpDir } from '../helpers/images.js';
import { dir, file, hardlink, header, opaque, packTar, pad, symlink, text, whiteout } from '../helpers/tar.js';
import { walkBothOk } from '../helpers/walk.js';
import { buildElf } from '../helpers/elf.js';

const opts = { capture: wantsBody, probe: wantsProbe };
const SO = 'usr/lib/python3/dist-packages/_x.cpython-311-x86_64-linux-gnu.so';
const long = `usr/lib/${'very-long-directory-name/'.repeat(6)}file.txt`;

async function layers(): Promise<Buffer[]> {
  return [
    await packTar([dir('etc'), text('etc/os-release', 'ID=debian\nVERSION_ID="12"\n'), dir('usr'), file('usr/big.bin', 5000), symlink('usr/link', 'big.bin'), hardlink('usr/hard', 'usr/big.bin'), dir('opt'), file('opt/a', 10)]),
    await packTar([whiteout('usr/big.bin'), opaque('opt'), file('opt/b', 3), text(long, 'x'.repeat(700)), { path: SO, content: buildElf({ needed: ['libc.so.6'] }) }, text('var/lib/dpkg/status', '')]),
  ];
}

/** Walks a tar's split form from a fresh diff directory. */
function splitWalk(tar: Buffer, edit: (lines: ReturnType<typeof splitTar>['lines']) => void = () => undefined): ReturnType<typeof walkTarSplit> {
  const root = tmpDir();
  const { lines, bodies } = splitTar(tar);
  edit(lines);
  writeBodies(root, bodies);
  return walkTarSplit(tarSplitGz(lines), root, opts);
}

describe('tar-split walker', () => {
  it('gives the walk a tar walk gives: entries, whiteouts, long names, captured bodies, probes, tarBytes', async () => {
    for (const tar of await layers()) {
      const want = await walkBothOk(tar, opts);
      const got = splitWalk(tar);
      expect(got.walk).toEqual(want);
      expect(got.bodyBytes).toBe(want.entries.filter((e) => e.type === 'file').reduce((s, e) => s + e.size, 0));
    }
    const second = splitWalk((await layers())[1]!).walk;
    expect(second.entries.map((e) => e.path)).toContain(long);
    expect(second.entries.find((e) => e.path === SO)?.probe?.elf?.status).toBe('ok');
    expect(second.entries.find((e) => e.path === 'var/lib/dpkg/status')?.body).toEqual(Buffer.alloc(0));
    expect(splitWalk((await layers())[0]!).walk.entries.find((e) => e.path === 'etc/os-release')?.body?.toString()).toBe('ID=debian\nVERSION_ID="12"\n');
  });

  it('counts symlink targets beside the bodies (what overlay2 records as the layer size)', async () => {
    const tar = (await layers())[0]!;
    expect(splitWalk(tar).symlinkBytes).toBe(Buffer.byteLength('big.bin'));
  });

  it('is an error when the record is truncated, corrupt, or disagrees with its headers', async () => {
    const tar = (await layers())[0]!;
    const gz = tarSplitGz(splitTar(tar).lines);
    expect(() => walkTarSplit(gz.subarray(0, gz.length - 30), tmpDir(), opts)).toThrow(/corrupt tar-split/);
    expect(() => splitWalk(tar, (l) => l.splice(l.length - 1))).toThrow(/truncated tar-split|truncated tar/);
    expect(() => splitWalk(tar, (l) => l.splice(3, 1))).toThrow(/position|where the headers give/);
    expect(() =>
      splitWalk(tar, (l) => {
        const f = l.find((x) => x.type === 1 && x.size > 0)!;
        (f as { size: number }).size += 1;
      }),
    ).toThrow(/a body of \d+ bytes where the headers give \d+/);
    expect(() => walkTarSplit(Buffer.from('not gzip'), tmpDir(), opts)).toThrow(/corrupt tar-split/);
    // memory is bounded: a record that inflates past the limit is refused, not read
    const text = gunzipSync(gz).length;
    expect(() => walkTarSplit(gz, tmpDir(), opts, text - 1)).toThrow(new RegExp(`^tar-split inflates to more than ${text - 1} bytes$`));
  });

  it('never reads a body through a symlink out of the diff directory', async () => {
    const tar = await packTar([dir('etc'), text('etc/os-release', 'ID=debian\n')]);
    const root = tmpDir();
    const outside = tmpDir();
    writeFileSync(path.join(outside, 'os-release'), 'ID=debian\n');
    symlinkSync(outside, path.join(root, 'etc'));
    expect(() => walkTarSplit(tarSplitGz(splitTar(tar).lines), root, opts)).toThrow(/outside the layer's diff directory/);
  });
});

/** A tar of raw headers (names as bytes) and bodies, ended by two zero blocks. */
function rawTar(entries: Array<{ name: Buffer | string; typeflag?: string; linkname?: string; size?: number; body?: Buffer }>): Buffer {
  const parts = entries.map((e) => Buffer.concat([header({ name: e.name, typeflag: e.typeflag ?? '0', size: e.size ?? e.body?.length ?? 0, ...(e.linkname ? { linkname: e.linkname } : {}) }), pad(e.body ?? Buffer.alloc(0))]));
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}

const bytes = (...p: Array<string | number[]>): Buffer => Buffer.concat(p.map((x) => (typeof x === 'string' ? Buffer.from(x) : Buffer.from(x))));
const DIST = 'usr/lib/python3/dist-packages/';

describe('tar-split walker: entries whose store read could differ from the export', () => {
  it('names that are not UTF-8: a capture and a probe open the file the engine unpacked under those bytes', async () => {
    const elf = buildElf({ needed: ['libc.so.6'] });
    const record = Buffer.from('p/__init__.py,,10\n');
    const tar = rawTar([
      { name: bytes(DIST, [0xfe, 0xfd], '/'), typeflag: '5' },
      { name: bytes(DIST, [0xfe, 0xfd], '/_y.cpython-311-x86_64-linux-gnu.so'), body: elf },
      { name: bytes(DIST, '_', [0xff], 'x.cpython-311-x86_64-linux-gnu.so'), body: elf },
      { name: bytes(DIST, 'p', [0xff], '-1.0.dist-info/'), typeflag: '5' },
      { name: bytes(DIST, 'p', [0xff], '-1.0.dist-info/RECORD'), body: record },
    ]);
    const { lines } = splitTar(tar);
    // as tar-split writes them: name_raw (base64 bytes) where the name is not UTF-8
    expect(lines.filter((l) => l.type === 1 && 'name_raw' in l)).toHaveLength(5);
    const want = await walkBothOk(tar, opts);
    const got = splitWalk(tar).walk;
    expect(got).toEqual(want);
    const files = got.entries.filter((e) => e.type === 'file');
    expect(files.map((e) => e.probe?.elf?.status ?? e.body?.toString())).toEqual(['ok', 'ok', record.toString()]);
  });

  it('a global PAX header: the entry Go hands over before its padding, as tar-split records it', async () => {
    const records = Buffer.from('29 path=evil/not-a-file-name\n');
    const tar = Buffer.concat([header({ name: 'global', typeflag: 'g', size: records.length }), pad(records), await packTar([file('a', 5), file('b', 700)])]);
    const { lines } = splitTar(tar);
    // the padding of the global header's records opens the segment after its entry
    const at = lines.findIndex((l) => l.type === 1);
    expect(lines[at]).toMatchObject({ name: 'global', size: 0 });
    expect(Buffer.from((lines[at + 1] as { payload: string }).payload, 'base64').subarray(0, 512 - records.length).every((b) => b === 0)).toBe(true);
    const want = await walkBothOk(tar, opts);
    expect(want.entries.map((e) => e.path)).toEqual(['a', 'b']);
    expect(splitWalk(tar).walk).toEqual(want);
  });

  it('whiteout and opaque markers a capture asks for are never opened: overlay keeps no file under their names', async () => {
    // `dpkg --purge` in a later layer whites out var/lib/dpkg/info/<pkg>.list, a file the capture wants
    const tar = await packTar([dir('var'), dir('var/lib'), dir('var/lib/dpkg'), dir('var/lib/dpkg/info'), whiteout('var/lib/dpkg/info/a.list'), opaque('var/lib/dpkg/info'), file('var/lib/dpkg/info/b.list', 0)]);
    const root = tmpDir();
    const { lines, bodies } = splitTar(tar);
    writeBodies(root, bodies);
    // as overlay2 unpacks them: a whiteout is a 0/0 device under the name it hides, an opaque marker an xattr
    for (const name of ['.wh.a.list', '.wh..wh..opq']) rmSync(path.join(root, 'var/lib/dpkg/info', name));
    const want = await walkBothOk(tar, opts);
    expect(want.entries.filter((e) => e.body !== undefined).map((e) => e.path)).toContain('var/lib/dpkg/info/.wh.a.list');
    expect(walkTarSplit(tarSplitGz(lines), root, opts).walk).toEqual(want);
  });

  it('hardlinks: a hardlink to a captured file, and a captured path that is a hardlink, as the tar walk gives them', async () => {
    const status = 'Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\n';
    const tar = await packTar([dir('etc'), text('etc/hl', 'ID=debian\n'), hardlink('etc/os-release', 'etc/hl'), dir('var'), dir('var/lib'), dir('var/lib/dpkg'), text('var/lib/dpkg/status', status), hardlink('var/lib/dpkg/st2', 'var/lib/dpkg/status')]);
    const got = splitWalk(tar);
    expect(got.walk).toEqual(await walkBothOk(tar, opts));
    expect(got.walk.entries.find((e) => e.path === 'var/lib/dpkg/status')?.body?.toString()).toBe(status);
    expect(got.walk.entries.find((e) => e.path === 'etc/os-release')).toMatchObject({ type: 'hardlink', link: 'etc/hl' });
    // a hardlink has no body in the tar: the bodies add up to each file once (what the engine records)
    expect(got.bodyBytes).toBe(Buffer.byteLength('ID=debian\n') + Buffer.byteLength(status));
  });

  it('a header-only entry with a size field (the engine records a body the tar did not have) is an error naming it', async () => {
    for (const [typeflag, linkname] of [['5', ''], ['2', 'target'], ['1', 'opt/f'], ['6', '']] as const) {
      const tar = rawTar([{ name: 'opt/f', body: Buffer.from('abc\n') }, { name: typeflag === '5' ? 'opt/d/' : 'opt/x', typeflag, linkname, size: 1000 }]);
      // the tar itself walks (Go's reader gives such an entry no body)
      expect((await walkBothOk(tar, opts)).entries).toHaveLength(2);
      const name = typeflag === '5' ? 'opt/d/' : 'opt/x';
      expect(() => splitWalk(tar)).toThrow(`'${name}': a body of 1000 bytes where the headers give 0 (a header-only entry with a size field: tar-split records a body the tar did not have)`);
    }
  });

  describe('GNU sparse files: the engine records them at their expanded size', () => {
    let src = '';
    let apparent = 0;
    beforeAll(() => {
      ({ src, apparent } = sparseDir());
    });
    for (const [label, args, hint] of [
      ['old GNU (S)', ['--format=gnu'], ''],
      ['PAX 0.0', ['--format=posix', '--sparse-version=0.0'], ' (a GNU sparse file: the engine keeps it expanded, so its tar cannot be rebuilt)'],
      ['PAX 0.1', ['--format=posix', '--sparse-version=0.1'], ' (a GNU sparse file: the engine keeps it expanded, so its tar cannot be rebuilt)'],
      ['PAX 1.0', ['--format=posix', '--sparse-version=1.0'], ' (a GNU sparse file: the engine keeps it expanded, so its tar cannot be rebuilt)'],
    ] as const) {
      it(`${label}: an error naming the file, never a smaller layer`, async () => {
        const tar = execFileSync('tar', ['--sparse', ...args, '-C', src, '-cf', '-', 'd'], { maxBuffer: 64 * 1024 ** 2 });
        expect((await walkBothOk(tar, opts)).holeBytes).toBeGreaterThan(0);
        const edit = (lines: ReturnType<typeof splitTar>['lines']): void => {
          const l = lines.find((x) => x.type === 1 && (x.name ?? '').endsWith('sp.bin'))!;
          // as the engine records it: Go's name (GNU.sparse.name) and size (the expanded size)
          Object.assign(l, { name: 'd/sp.bin', size: apparent });
        };
        expect(() => splitWalk(tar, edit)).toThrow(new RegExp(`^'(\\./)?d/sp\\.bin': a body of ${apparent} bytes where the headers give \\d+${hint.replace(/[()]/g, '\\$&')}$`));
      });
    }
  });

  it("a captured body is checked against the CRC-64 the engine recorded (what docker save checks): a same-size change is an error naming it", async () => {
    const bodies = [
      // content and the payload Docker 20.10 wrote for it in a tar-split (docker load of these files)
      ['ID=debian\n', 'PEP6GZbC0xg='],
      ['x'.repeat(33), 'nO3O3MzMzMw='],
      ['Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\n', 'T5cLlC05NOc='],
    ] as const;
    for (const [content, crc] of bodies) {
      const tar = await packTar([dir('etc'), text('etc/os-release', content)]);
      const { lines, bodies: files } = splitTar(tar);
      const line = lines.find((l) => l.type === 1 && l.name === 'etc/os-release') as { payload?: string };
      line.payload = crc;
      const root = tmpDir();
      writeBodies(root, files);
      expect(walkTarSplit(tarSplitGz(lines), root, opts).walk).toEqual(await walkBothOk(tar, opts));
      const changed = Buffer.from(content);
      changed[0]! ^= 1;
      writeFileSync(path.join(root, 'etc/os-release'), changed);
      expect(() => walkTarSplit(tarSplitGz(lines), root, opts)).toThrow("'etc/os-release' in the diff directory is not the file the layer holds (its CRC-64 is not the one the tar-split records)");
    }
  });

  it('a captured or probed file whose diff-directory copy is another size, or missing, is an error naming it', async () => {
    const tar = await packTar([dir('etc'), text('etc/os-release', 'ID=debian\n'), { path: SO, content: buildElf({ needed: ['libc.so.6'] }) }]);
    const { lines, bodies } = splitTar(tar);
    for (const [target, change, why] of [
      ['etc/os-release', 'longer', /^'etc\/os-release' has 11 bytes in the diff directory where the headers give 10$/],
      [SO, 'shorter', new RegExp(`^'${SO.replace(/\./g, '\\.')}' has \\d+ bytes in the diff directory where the headers give \\d+$`)],
      ['etc/os-release', 'missing', /^'etc\/os-release' cannot be opened in the diff directory \(ENOENT\)$/],
    ] as const) {
      const root = tmpDir();
      writeBodies(root, bodies);
      const f = path.join(root, target);
      if (change === 'longer') writeFileSync(f, 'ID=debian\n\n');
      else if (change === 'shorter') truncateSync(f, statSync(f).size - 1);
      else rmSync(f);
      expect(() => walkTarSplit(tarSplitGz(lines), root, opts)).toThrow(why);
    }
  });
});

describe('engine layer store', () => {
  const saved = { DOCKER_HOST: process.env.DOCKER_HOST, IMGSCOPE_DOCKER_ROOT: process.env.IMGSCOPE_DOCKER_ROOT };
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const open = (root: string, id: string, info: Record<string, unknown> = {}, o: LoadOptions = opts) =>
    openDaemonStore(fakeDocker(root, info) as unknown as Docker, 'x:1', { Id: id, RepoTags: ['x:1', 'x:2'] }, o);

  const reason = async (p: Promise<unknown>): Promise<string> => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreUnavailable);
    return (err as Error).message;
  };

  it('chains layer IDs as the engine does', () => {
    const d = ['sha256:' + 'a'.repeat(64), 'sha256:' + 'b'.repeat(64), 'sha256:' + 'c'.repeat(64)];
    const h = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;
    const two = h(`${d[0]} ${d[1]}`);
    expect(chainIds(d)).toEqual([d[0], two, h(`${two} ${d[2]}`)]);
  });

  it('loads the image the layers make, each layer as a tar walk gives it', async () => {
    const tars = await layers();
    const root = tmpDir();
    const { id, diffIds } = engineRoot(root, tars);
    const progress: string[] = [];
    const opened = await open(root, id, {}, { ...opts, onProgress: (m) => progress.push(m) });
    expect(opened.tags).toEqual(['x:1']);
    expect(opened.configDigest).toBe(id);
    const img = await loadLayers('docker-daemon:x:1', 'docker-daemon', opened, opts);
    expect(img.layers.map((l) => l.diffId)).toEqual(diffIds);
    for (const [i, l] of img.layers.entries()) {
      expect(l.walk).toEqual(await walkBothOk(tars[i]!, opts));
      expect(l.compression).toBe('none');
      expect(l.compressedBytes).toBeNull();
    }
    expect(progress[0]).toMatch(/reading the engine's layer store at /);
  });

  it('says why it cannot read the store: a remote daemon, containerd, another driver, an unreadable root', async () => {
    const root = tmpDir();
    const { id } = engineRoot(root, await layers());
    process.env.DOCKER_HOST = 'tcp://10.0.0.1:2375';
    expect(await reason(open(root, id))).toMatch(/not on this host \(DOCKER_HOST=tcp:\/\/10\.0\.0\.1:2375\)/);
    process.env.DOCKER_HOST = 'ssh://me@host';
    expect(await reason(open(root, id))).toMatch(/not on this host/);
    process.env.DOCKER_HOST = 'unix:///var/run/docker.sock';
    expect(await reason(open(root, id, { Driver: 'overlayfs', DriverStatus: [['driver-type', 'io.containerd.snapshotter.v1']] }))).toMatch(/containerd image store/);
    expect(await reason(open(root, id, { Driver: 'btrfs' }))).toMatch(/storage driver btrfs/);
    process.env.IMGSCOPE_DOCKER_ROOT = path.join(root, 'missing');
    expect(await reason(open(root, id))).toMatch(/cannot read the engine's layer store at .*missing \(ENOENT\)/);
  });

  it('says which layer has no tar-split, or a tar-split that disagrees with the size the engine recorded', async () => {
    const root = tmpDir();
    const { id, folders, diffIds } = engineRoot(root, await layers());
    writeFileSync(path.join(folders[1]!, 'size'), String(Number(readFileSync(path.join(folders[1]!, 'size'), 'utf8')) + 1));
    expect(await reason(open(root, id))).toMatch(new RegExp(`layer 2 \\(${diffIds[1]}\\): the tar-split holds \\d+ bytes of files where the engine recorded \\d+`));
    const gz = readFileSync(path.join(folders[0]!, 'tar-split.json.gz'));
    writeFileSync(path.join(folders[0]!, 'tar-split.json.gz'), gz.subarray(0, gz.length - 20));
    expect(await reason(open(root, id))).toMatch(new RegExp(`layer 1 \\(${diffIds[0]}\\): corrupt tar-split`));
    const text = gunzipSync(gz).toString().split('\n');
    writeFileSync(path.join(folders[0]!, 'tar-split.json.gz'), tarSplitGz(text.filter(Boolean).slice(0, -1).map((l) => JSON.parse(l))));
    expect(await reason(open(root, id))).toMatch(/layer 1 .*truncated/);
    renameSync(path.join(folders[0]!, 'tar-split.json.gz'), path.join(folders[0]!, 'gone'));
    expect(await reason(open(root, id))).toMatch(new RegExp(`layer 1 \\(${diffIds[0]}\\): no tar-split.json.gz in `));
    rmSync(path.join(folders[0]!, 'diff'));
    expect(await reason(open(root, id))).toMatch(/layer 1 .*has no diff in/);
  });
});
