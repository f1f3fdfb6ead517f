import { closeSync, openSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { walkTarFile } from '../../src/walk/seek-walker.js';
import { walkTarStream } from '../../src/walk/stream-walker.js';
import { byteSum512, decodeNumber } from '../../src/walk/tar-header.js';
import { isKeyCandidate } from '../../src/catalog/sensitive.js';
import type { LayerWalk, WalkOptions } from '../../src/walk/types.js';
import { tmpDir } from '../helpers/images.js';
import { dir, file, gnuTar, hardlink, packTar, rawHeader, symlink, text } from '../helpers/tar.js';

async function both(buf: Buffer, opts: WalkOptions = {}): Promise<[LayerWalk, LayerWalk]> {
  const p = path.join(tmpDir(), 'layer.tar');
  writeFileSync(p, buf);
  const fd = openSync(p, 'r');
  let seek: LayerWalk;
  try {
    seek = walkTarFile(fd, 0, buf.length, opts);
  } finally {
    closeSync(fd);
  }
  const stream = await walkTarStream(Readable.from([buf]), opts);
  return [seek, stream];
}

const LONG = `usr/lib/python3/dist-packages/${'very_long_directory_name/'.repeat(6)}module_with_a_long_name.py`;

describe('tar walkers (seeking and streaming agree)', () => {
  it('reports every entry type with content bytes only for regular files', async () => {
    const buf = await packTar([
      dir('./usr/'),
      file('./usr/bin/tool', 12345),
      file('/etc/config', 700),
      symlink('usr/bin/alias', 'tool'),
      hardlink('usr/bin/tool2', 'usr/bin/tool'),
      { path: 'dev/null', type: 'char' },
      file(LONG, 4096),
    ]);
    const [seek, stream] = await both(buf);
    for (const w of [seek, stream]) {
      expect(w.fileBytes).toBe(12345 + 700 + 4096);
      expect(w.files).toBe(4);
      expect(w.entries.map((e) => [e.path, e.type, e.size])).toEqual([
        ['usr', 'dir', 0],
        ['usr/bin/tool', 'file', 12345],
        ['etc/config', 'file', 700],
        ['usr/bin/alias', 'symlink', 0],
        ['usr/bin/tool2', 'hardlink', 0],
        ['dev/null', 'other', 0],
        [LONG, 'file', 4096],
      ]);
      expect(w.entries[4]!.link).toBe('usr/bin/tool');
      expect(w.entries[3]!.link).toBe('tool');
      expect(w.tarBytes).toBe(buf.length);
    }
    expect(seek.endMarker).toBe(true);
  });

  it('applies GNU long names and long link names, and treats unknown flags as regular files', async () => {
    const longLink = `opt/${'x'.repeat(120)}/target`;
    const buf = gnuTar([
      { path: LONG, size: 1000 },
      { path: longLink, size: 10 },
      { path: 'short-link', type: '1', linkname: longLink },
      { path: 'weird-flag', type: 'Z', size: 77 },
    ]);
    const [seek, stream] = await both(buf);
    for (const w of [seek, stream]) {
      expect(w.entries.map((e) => [e.path, e.type, e.size])).toEqual([
        [LONG, 'file', 1000],
        [longLink, 'file', 10],
        ['short-link', 'hardlink', 0],
        ['weird-flag', 'file', 77],
      ]);
      expect(w.entries[2]!.link).toBe(longLink);
      expect(w.fileBytes).toBe(1087);
    }
  });

  it('applies PAX records (path, linkpath, size) and skips PAX global headers', async () => {
    const rec = (k: string, v: string): string => {
      const body = ` ${k}=${v}\n`;
      let n = body.length + 1;
      while (`${n}${body}`.length !== n) n = `${n}${body}`.length;
      return `${n}${body}`;
    };
    const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
    const longPath = `opt/${'p'.repeat(150)}/weights.safetensors`;
    const g = Buffer.from(rec('comment', 'made by a test'));
    const x1 = Buffer.from(rec('path', longPath) + rec('mtime', '1.5'));
    const x2 = Buffer.from(rec('linkpath', longPath));
    const buf = Buffer.concat([
      rawHeader('pax_global_header', g.length, 'g'), pad(g),
      rawHeader('PaxHeaders/x', x1.length, 'x'), pad(x1),
      rawHeader('short-name', 700, '0'), pad(Buffer.alloc(700, 1)),
      rawHeader('PaxHeaders/y', x2.length, 'x'), pad(x2),
      rawHeader('link', 0, '2', 'ignored'),
      Buffer.alloc(1024),
    ]);
    const [seek, stream] = await both(buf);
    for (const w of [seek, stream]) {
      expect(w.entries.map((e) => [e.path, e.type, e.size, e.link])).toEqual([
        [longPath, 'file', 700, undefined],
        ['link', 'symlink', 0, longPath],
      ]);
    }
  });

  it('reads only the bodies the capture predicate asks for', async () => {
    const buf = await packTar([text('var/lib/dpkg/status', 'Package: a\n'), file('big.bin', 100000), text('x/RECORD', 'a,b,1\n')]);
    const [seek, stream] = await both(buf, { capture: (p) => p === 'var/lib/dpkg/status' });
    for (const w of [seek, stream]) {
      expect(w.entries[0]!.body?.toString()).toBe('Package: a\n');
      expect(w.entries[1]!.body).toBeUndefined();
      expect(w.entries[2]!.body).toBeUndefined();
    }
  });

  it('rejects a truncated tar in both modes', async () => {
    const buf = await packTar([file('a', 5000), file('b', 5000)]);
    const cut = buf.subarray(0, 512 + 2048);
    const p = path.join(tmpDir(), 'cut.tar');
    writeFileSync(p, cut);
    const fd = openSync(p, 'r');
    try {
      expect(() => walkTarFile(fd, 0, cut.length)).toThrow(/truncated tar: entry 'a' needs 5000 bytes but only 2048 remain/);
    } finally {
      closeSync(fd);
    }
    await expect(walkTarStream(Readable.from([cut]))).rejects.toThrow(/truncated tar/);
  });

  it('sums header bytes the same on aligned and unaligned blocks (the word-wise fast path)', () => {
    const naive = (b: Buffer): number => b.reduce((a, x) => a + x, 0);
    let x = 12345;
    const big = Buffer.alloc(4096 + 8);
    for (let i = 0; i < big.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      big[i] = x >>> 24;
    }
    for (const off of [0, 1, 2, 3, 512, 1027]) {
      expect(byteSum512(big, off)).toBe(naive(big.subarray(off, off + 512)));
      const view = big.subarray(off); // a Buffer whose own byteOffset is (un)aligned
      expect(byteSum512(view, 0)).toBe(naive(view.subarray(0, 512)));
    }
    const ff = Buffer.alloc(512, 0xff); // every lane at its maximum: no carry into the next lane
    expect(byteSum512(ff, 0)).toBe(512 * 255);
  });

  it('reads a private-key candidate body only for key-like names', () => {
    for (const p of ['root/.ssh/id_rsa', 'home/u/.ssh/id_dsa', 'app/id_ecdsa', 'app/id_ed25519', 'app/tls.key', 'app/cert.pem', 'x.p12', 'x.pfx']) {
      expect(isKeyCandidate(p, 100), p).toBe(true);
    }
    for (const p of ['app/main.py', 'app/lib/psa', 'app/tls.key.bak', 'usr/share/doc/x.pem', 'app/keys.py', 'app/a_rsa']) {
      expect(isKeyCandidate(p, 100), p).toBe(false);
    }
    expect(isKeyCandidate('app/tls.key', 65 * 1024)).toBe(false);
  });

  it('accepts a header whose checksum an old writer summed as signed bytes', async () => {
    const h = rawHeader('caf\u00e9.txt', 0, '0'); // é is two bytes over 127
    let signed = 0;
    for (let i = 0; i < 512; i++) {
      const b = i >= 148 && i < 156 ? 32 : h[i]!;
      signed += b > 127 ? b - 256 : b;
    }
    h.write(signed.toString(8).padStart(6, '0') + '\0 ', 148);
    const buf = Buffer.concat([h, Buffer.alloc(1024)]);
    const [seek, stream] = await both(buf);
    // One decoder behind both walkers: the streamed (compressed) layer accepts it too.
    for (const w of [seek, stream]) expect(w.entries.map((e) => e.path)).toEqual(['caf\u00e9.txt']);
  });

  it('rejects a header with a bad checksum', async () => {
    const buf = Buffer.from(await packTar([file('a', 10), file('b', 10)]));
    buf[1024 + 10] = buf[1024 + 10]! ^ 0xff; // inside the second header's name
    const p = path.join(tmpDir(), 'bad.tar');
    writeFileSync(p, buf);
    const fd = openSync(p, 'r');
    try {
      expect(() => walkTarFile(fd, 0, buf.length)).toThrow(/invalid tar header checksum at offset 1024/);
    } finally {
      closeSync(fd);
    }
    await expect(walkTarStream(Readable.from([buf]))).rejects.toThrow(/checksum/);
  });

  it('rejects names that climb out of the image root', async () => {
    const buf = gnuTar([{ path: '../../etc/passwd', size: 3 }]);
    const p = path.join(tmpDir(), 'evil.tar');
    writeFileSync(p, buf);
    const fd = openSync(p, 'r');
    try {
      expect(() => walkTarFile(fd, 0, buf.length)).toThrow(/'..\/..\/etc\/passwd' escapes the image root/);
    } finally {
      closeSync(fd);
    }
  });

  it('decodes octal and GNU base-256 numbers', () => {
    const b = Buffer.alloc(12);
    b.write('00000001750\0');
    expect(decodeNumber(b, 0, 12)).toBe(0o1750);
    const big = Buffer.alloc(12);
    big[0] = 0x80;
    big.writeUIntBE(10 * 1024 ** 3, 6, 6); // 10 GiB does not fit 11 octal digits
    expect(decodeNumber(big, 0, 12)).toBe(10 * 1024 ** 3);
  });
});
