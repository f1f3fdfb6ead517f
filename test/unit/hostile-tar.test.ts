/**
 * Issue 12, the tar points: each input is built in code (or by GNU tar itself), walked by both
 * walkers (walkBoth insists they give one answer), and checked against what Go's archive/tar, which
 * Docker unpacks with, makes of it (docs/formats.md "Layer tars").
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, truncateSync, writeFileSync, mkdirSync, openSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/pipeline.js';
import { decodeWalkedBlob, encodeWalkedBlob } from '../../src/image/layer-cache.js';
import { loadImage } from '../../src/image/load.js';
import { decodeName, encodeName } from '../../src/walk/names.js';
import { tmpDir, writeDockerArchiveLegacy } from '../helpers/images.js';
import { filler, header, pad, paxRecords } from '../helpers/tar.js';
import { walkBoth, walkBothError, walkBothOk } from '../helpers/walk.js';

const END = Buffer.alloc(1024);
const tarOf = (...parts: Buffer[]): Buffer => Buffer.concat([...parts, END]);
const fileEntry = (name: string | Buffer, size: number, seed = 0): Buffer[] => [header({ name, size }), pad(filler(size, seed))];

describe('names are bytes (point 1)', () => {
  const ff = Buffer.from([0x61, 0x70, 0x70, 0x2f, 0xff, 0x2e, 0x62, 0x69, 0x6e]); // app/\xff.bin
  const fe = Buffer.from([0x61, 0x70, 0x70, 0x2f, 0xfe, 0x2e, 0x62, 0x69, 0x6e]); // app/\xfe.bin

  it('keeps two names that differ only in invalid UTF-8 bytes apart, in both walkers', async () => {
    const w = await walkBothOk(tarOf(...fileEntry(ff, 1000), ...fileEntry(fe, 2000)));
    expect(w.entries.map((e) => [e.path, e.size])).toEqual([
      ['app/\udcff.bin', 1000],
      ['app/\udcfe.bin', 2000],
    ]);
    expect(encodeName(w.entries[0]!.path)).toEqual(ff);
    expect(encodeName(w.entries[1]!.path)).toEqual(fe);
  });

  it('decodes valid UTF-8 as text and gives back the bytes of any name', () => {
    for (const bytes of [
      Buffer.from('café/日本/😀.txt'),
      Buffer.from([0xc3]), // a lead byte cut short
      Buffer.from([0xe0, 0x80, 0xaf]), // an overlong '/'
      Buffer.from([0xed, 0xa0, 0x80]), // an encoded surrogate
      Buffer.from([0xf4, 0x90, 0x80, 0x80]), // past U+10FFFF
      Buffer.from([0x41, 0x80, 0xc3, 0xa9, 0xff]),
    ]) {
      expect(encodeName(decodeName(bytes))).toEqual(bytes);
    }
    expect(decodeName(Buffer.from('café'))).toBe('café');
  });

  it('counts 3000 bytes visible and nothing wasted in the image, and the layer cache keeps the names', async () => {
    const file = path.join(tmpDir(), 'bytes.tar');
    const raw = tarOf(...fileEntry(ff, 1000), ...fileEntry(fe, 2000));
    await writeDockerArchiveLegacy(file, { layers: [{ raw }] });
    const a = await analyze(await loadImage(`docker-archive:${file}`));
    expect(a.totals.finalBytes).toBe(3000);
    expect(a.totals.wasteBytes).toBe(0);
    const w = await walkBothOk(raw);
    const back = decodeWalkedBlob(encodeWalkedBlob('k', { walk: w, compression: 'none', blobSize: raw.length }), 'k')!;
    expect(back.walk.entries.map((e) => e.path)).toEqual(w.entries.map((e) => e.path));
  });
});

describe('GNU sparse files (point 2)', () => {
  const dir = tmpDir();
  const src = path.join(dir, 'src');
  mkdirSync(path.join(src, 'data'), { recursive: true });
  const sparse = path.join(src, 'data', 'sparse.bin');
  writeFileSync(sparse, '');
  truncateSync(sparse, 1024 ** 3);
  const fd = openSync(sparse, 'r+');
  writeSync(fd, Buffer.alloc(4096, 0x41), 0, 4096, 0);
  writeSync(fd, filler(8192, 3), 0, 8192, 512 * 1024 ** 2);
  closeSync(fd);
  // What the filesystem allocated for it is the data GNU tar stores (both 4 KiB aligned).
  const allocated = Number(execFileSync('du', ['--block-size=1', sparse]).toString().split('\t')[0]);
  const apparent = statSync(sparse).size;

  for (const [label, args] of [
    ['old GNU (S)', ['--format=gnu']],
    ['PAX 0.0', ['--format=posix', '--sparse-version=0.0']],
    ['PAX 0.1', ['--format=posix', '--sparse-version=0.1']],
    ['PAX 1.0', ['--format=posix', '--sparse-version=1.0']],
  ] as const) {
    it(`${label}: the real name and the apparent size (du -b), the holes counted apart`, async () => {
      const t = path.join(dir, `${label.replace(/\W/g, '')}.tar`);
      execFileSync('tar', ['--sparse', ...args, '-C', src, '-cf', t, 'data/sparse.bin']);
      const w = await walkBothOk(readFileSync(t));
      const files = w.entries.filter((e) => e.type === 'file');
      expect(files.map((e) => [e.path, e.size])).toEqual([['data/sparse.bin', apparent]]);
      expect(w.fileBytes).toBe(apparent);
      expect(w.holeBytes).toBe(apparent - allocated);
    });
  }

  it('a later whiteout of the real name removes a PAX 1.0 sparse file', async () => {
    const t = path.join(dir, 'wh.tar');
    execFileSync('tar', ['--sparse', '--format=posix', '--sparse-version=1.0', '-C', src, '-cf', t, 'data/sparse.bin']);
    const file = path.join(tmpDir(), 'img.tar');
    await writeDockerArchiveLegacy(file, { layers: [{ raw: readFileSync(t) }, { raw: tarOf(header({ name: 'data/.wh.sparse.bin' })) }] });
    const a = await analyze(await loadImage(`docker-archive:${file}`));
    expect(a.totals.finalBytes).toBe(0);
    expect(a.totals.wasteBytes).toBe(apparent);
    expect(a.layers[0]!.sparseHoleBytes).toBe(apparent - allocated);
  });

  it('rejects a sparse map that claims more data than the archive stores', async () => {
    const t = tarOf(header({ name: 'x.bin', typeflag: 'S', size: 512, sparse: { map: [[0, 1024]], realSize: 4096 } }), Buffer.alloc(512));
    expect(await walkBothError(t)).toMatch(/invalid GNU sparse map of 'x.bin'.*maps 1024 bytes but the archive stores 512/);
  });
});

describe('header-only types (point 3)', () => {
  for (const [type, flag] of [
    ['hardlink', '1'],
    ['symlink', '2'],
    ['char device', '3'],
    ['block device', '4'],
    ['directory', '5'],
    ['fifo', '6'],
  ] as const) {
    it(`a ${type} with a size field has no body: the next 512 bytes are the next header`, async () => {
      const hidden = header({ name: '.env', size: 11 });
      const t = tarOf(header({ name: `odd-${flag}`, typeflag: flag, size: 512, linkname: 'target' }), hidden, pad(Buffer.from('SECRET=abc\n')));
      const w = await walkBothOk(t);
      expect(w.entries.map((e) => e.path)).toEqual([`odd-${flag}`, '.env']);
      expect(w.fileBytes).toBe(11);
    });
  }
});

describe('one answer per byte stream (point 4)', () => {
  it('a global PAX header names no entry', async () => {
    const g = paxRecords([['path', 'global/name']]);
    const w = await walkBothOk(tarOf(header({ name: 'pax_global_header', typeflag: 'g', size: g.length }), pad(g), ...fileEntry('a', 10), ...fileEntry('b', 20), ...fileEntry('c', 30)));
    expect(w.entries.map((e) => e.path)).toEqual(['a', 'b', 'c']);
  });

  it('typeflags V and D: one listing, with a warning that Docker does not unpack them', async () => {
    const w = await walkBothOk(tarOf(header({ name: 'label', typeflag: 'V' }), header({ name: 'dump/', typeflag: 'D', size: 4 }), pad(Buffer.from('Ya\0\0')), ...fileEntry('a', 10)));
    expect(w.entries.map((e) => [e.path, e.type])).toEqual([
      ['label', 'other'],
      ['dump', 'dir'],
      ['a', 'file'],
    ]);
    expect(w.files).toBe(1);
    expect(w.warnings.join('\n')).toMatch(/typeflag 'V', which Docker does not unpack/);
  });

  it('a PAX size that is not decimal is rejected', async () => {
    const x = paxRecords([['size', '0x10']]);
    expect(await walkBothError(tarOf(header({ name: 'PaxHeaders/a', typeflag: 'x', size: x.length }), pad(x), ...fileEntry('a', 16)))).toMatch(/invalid PAX size '0x10'/);
  });

  it('a missing end-of-archive marker is the same warning', async () => {
    const w = await walkBothOk(Buffer.concat(fileEntry('a', 10)));
    expect(w.endMarker).toBe(false);
    expect(w.warnings).toEqual(['tar has no end-of-archive marker']);
  });

  it('a header after a single zero block is an error, as in Go', async () => {
    expect(await walkBothError(Buffer.concat([...fileEntry('a', 10), Buffer.alloc(512), ...fileEntry('b', 10)]))).toMatch(/a header follows a single zero block at offset 1536/);
  });

  it('a malformed PAX record is an error', async () => {
    const x = Buffer.from('99 path=x\n');
    expect(await walkBothError(tarOf(header({ name: 'PaxHeaders/a', typeflag: 'x', size: x.length }), pad(x), ...fileEntry('a', 1)))).toMatch(/invalid PAX record/);
  });
});

describe('caps and sizes (points 13 and 19)', () => {
  it('a PAX header or GNU long name over 1 MiB is refused before its body is read', async () => {
    for (const flag of ['x', 'L', 'K'] as const) {
      const t = Buffer.concat([header({ name: 'big', typeflag: flag, size: 1024 ** 3 }), Buffer.alloc(4096)]);
      expect(await walkBothError(t)).toMatch(/header of 1073741824 bytes at offset 0 exceeds the 1048576-byte limit/);
    }
  });

  it('a negative size with a valid checksum is named as such', async () => {
    const neg = Buffer.alloc(12, 0xff); // base-256 -1
    expect(await walkBothError(tarOf(header({ name: 'neg', sizeField: neg })))).toMatch(/negative size -1 in the header of 'neg' at offset 0/);
  });

  it('a size field with a non-octal digit is an error, not a shorter number', async () => {
    expect(await walkBothError(tarOf(header({ name: 'bad', sizeField: Buffer.from('0000000009x\0') })))).toMatch(/invalid size field at offset 0/);
  });

  it('a truncated body is the same message in both walkers', async () => {
    const o = await walkBoth(Buffer.concat([header({ name: 'a', size: 5000 }), Buffer.alloc(2048)]));
    expect(o).toEqual({ error: "truncated tar: entry 'a' needs 5000 bytes but only 2048 remain" });
  });
});

describe('estargz (point 6)', () => {
  it("the table of contents and landmarks of an estargz layer are not files of the image", async () => {
    const { walkLayerStream } = await import('../../src/image/layer-reader.js');
    const { Readable } = await import('node:stream');
    const { gzipSync } = await import('node:zlib');
    const toc = Buffer.from(JSON.stringify({ version: 1, entries: [{ name: 'app/a', type: 'reg', size: 100 }] }));
    // As estargz writes it: one gzip member per entry, the TOC last, then an empty footer member.
    const body = Buffer.concat([header({ name: '.prefetch.landmark', size: 1 }), pad(Buffer.from('f')), ...fileEntry('app/a', 100), ...fileEntry('app/b', 200)]);
    const tocPart = Buffer.concat([header({ name: 'stargz.index.json', size: toc.length }), pad(toc), END]);
    const tocAt = gzipSync(body).length;
    // estargz's footer: an empty gzip member whose extra field (subfield 'SG') holds the TOC offset and STARGZ
    const footer = (legacy: boolean): Buffer => {
      const extra = Buffer.from(`${tocAt.toString(16).padStart(16, '0')}STARGZ`);
      const field = legacy ? extra : Buffer.concat([Buffer.from('SG'), Buffer.from([extra.length, 0]), extra]);
      const out = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, field.length, 0]), field, Buffer.from([1, 0, 0, 0xff, 0xff]), Buffer.alloc(8)]);
      expect(out.length).toBe(legacy ? 47 : 51);
      return out;
    };
    for (const legacy of [false, true]) {
      const blob = Buffer.concat([gzipSync(body), gzipSync(tocPart), footer(legacy)]);
      const w = (await walkLayerStream(Readable.from([blob]), 'gzip', {}, {})).walk;
      expect(w.entries.map((e) => e.path)).toEqual(['app/a', 'app/b']);
      expect(w.files).toBe(2);
      expect(w.fileBytes).toBe(300);
    }
    // A TOC name last but no footer: a file like any other (a 50 MiB stargz.index.json must not vanish from the totals)
    const noFooter = (await walkLayerStream(Readable.from([Buffer.concat([gzipSync(body), gzipSync(tocPart)])]), 'gzip', {}, {})).walk;
    expect([noFooter.files, noFooter.fileBytes]).toEqual([4, 1 + 300 + toc.length]);
    // The same names in a plain layer (no TOC at the end) are files like any other.
    const plain = (await walkLayerStream(Readable.from([gzipSync(Buffer.concat([body, END]))]), 'gzip', {}, {})).walk;
    expect(plain.files).toBe(3);
  });
});

describe('what a review of the decoder found (Go is the reference)', () => {
  it('a tar that ends right after an extended header, or before an old GNU sparse extension block, is truncated in both walkers', async () => {
    expect(await walkBothError(header({ name: 'PaxHeaders/a', typeflag: 'x', size: 20 }))).toMatch(/truncated tar: the extended header at offset 0 needs 20 bytes but only 0 remain/);
    const s = header({ name: 'sp', typeflag: 'S', size: 0, sparse: { map: [], realSize: 10, extended: true } });
    expect(await walkBothError(s)).toMatch(/truncated tar: the sparse map of the entry at offset 0 needs 512 bytes but only 0 remain/);
  });

  it('a global header forgets the PAX and long-name headers before it', async () => {
    const x = paxRecords([['path', 'evil']]);
    const g = paxRecords([['comment', 'g']]);
    const w = await walkBothOk(tarOf(header({ name: 'PaxHeaders/x', typeflag: 'x', size: x.length }), pad(x), header({ name: 'g', typeflag: 'g', size: g.length }), pad(g), ...fileEntry('own-name', 5)));
    expect(w.entries.map((e) => e.path)).toEqual(['own-name']);
  });

  it('a negative sparse real size is an error; a negative size on a symlink is not (it has no body)', async () => {
    const neg = header({ name: 'sp', typeflag: 'S', size: 0, sparse: { map: [], realSize: 0 } });
    Buffer.alloc(12, 0xff).copy(neg, 483);
    neg.fill(32, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += neg[i]!;
    neg.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    expect(await walkBothError(tarOf(neg))).toMatch(/invalid GNU sparse real size -1 of 'sp'/);
    const w = await walkBothOk(tarOf(header({ name: 'link', typeflag: '2', linkname: 't', sizeField: Buffer.alloc(12, 0xff) }), ...fileEntry('after', 3)));
    expect(w.entries.map((e) => [e.path, e.type])).toEqual([
      ['link', 'symlink'],
      ['after', 'file'],
    ]);
  });

  it('an octal field ends at a NUL, as in Go (12\\0 34 is 10)', async () => {
    const w = await walkBothOk(tarOf(header({ name: 'a', sizeField: Buffer.from('12\u000034\0\0\0\0\0\0', 'latin1') }), pad(filler(10))));
    expect(w.entries[0]!.size).toBe(10);
  });

  it('a leading byte-order mark is part of the name: no whiteout hides behind it', async () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('.wh.foo')]);
    const w = await walkBothOk(tarOf(header({ name: bom })));
    expect(w.entries[0]!.path).toBe('\ufeff.wh.foo');
    expect(encodeName(w.entries[0]!.path)).toEqual(bom);
  });

  it('a GNU sparse 1.0 map of 200,000 regions is read once in both walkers (no quadratic re-parsing)', async () => {
    const n = 200_000;
    const map = Buffer.from(`${n}\n${'0\n0\n'.repeat(n)}`);
    const body = pad(map);
    const x = paxRecords([
      ['GNU.sparse.major', '1'],
      ['GNU.sparse.minor', '0'],
      ['GNU.sparse.name', 'many-regions'],
      ['GNU.sparse.realsize', '4096'],
    ]);
    const w = await walkBothOk(tarOf(header({ name: 'PaxHeaders/s', typeflag: 'x', size: x.length }), pad(x), header({ name: 'GNUSparseFile.0/many-regions', size: body.length }), body));
    expect(w.entries.map((e) => [e.path, e.size])).toEqual([['many-regions', 4096]]);
    expect(w.holeBytes).toBe(4096);
  });
});
