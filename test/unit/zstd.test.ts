/**
 * Issue 12 points 9 and 11: zstd frames are checked (content checksum, declared size, limits) and
 * decoded with back-pressure. Frames come from the reference encoder (`zstd`), whose `-t` is the
 * independent judge of what is corrupt.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { walkLayerStream } from '../../src/image/layer-reader.js';
import { zstdDecompressor } from '../../src/image/zstd.js';
import { tmpDir } from '../helpers/images.js';
import { file, packTar } from '../helpers/tar.js';

function zstdCli(data: Buffer, ...args: string[]): Buffer {
  const d = tmpDir();
  const p = path.join(d, 'in');
  writeFileSync(p, data);
  execFileSync('zstd', ['-q', '-f', ...args, p, '-o', `${p}.zst`]);
  return readFileSync(`${p}.zst`);
}

/** What the reference decoder says of `blob`: true when `zstd -t` accepts it. */
function referenceAccepts(blob: Buffer): boolean {
  const d = tmpDir();
  const p = path.join(d, 'x.zst');
  writeFileSync(p, blob);
  return spawnSync('zstd', ['-q', '-t', p]).status === 0;
}

async function walkZstd(blob: Buffer): Promise<string> {
  try {
    const w = await walkLayerStream(Readable.from([blob]), 'zstd', {}, {});
    return `ok ${w.walk.files} files ${w.walk.fileBytes} bytes`;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('zstd layers', () => {
  it('reads checksummed, multi-frame and skippable-frame layers like the reference decoder', async () => {
    const t = await packTar([file('a.bin', 300000), file('b.bin', 5)]);
    const one = zstdCli(t, '--check');
    expect(referenceAccepts(one)).toBe(true);
    expect(await walkZstd(one)).toBe('ok 2 files 300005 bytes');
    // two frames (the tar cut in two), with a skippable frame between them
    const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0]), Buffer.from('abc')]);
    const two = Buffer.concat([zstdCli(t.subarray(0, 100000), '--check'), skippable, zstdCli(t.subarray(100000), '--no-check')]);
    expect(referenceAccepts(two)).toBe(true);
    expect(await walkZstd(two)).toBe('ok 2 files 300005 bytes');
  });

  it('rejects a wrong content checksum and flipped bytes mid-frame, as zstd -t does', async () => {
    const t = await packTar([file('a.bin', 300000)]);
    const good = zstdCli(t, '--check', '-1');
    const badSum = Buffer.from(good);
    badSum[badSum.length - 1] = badSum[badSum.length - 1]! ^ 0x01;
    expect(referenceAccepts(badSum)).toBe(false);
    expect(await walkZstd(badSum)).toMatch(/corrupt zstd data: frame 1 content checksum mismatch/);
    let rejected = 0;
    for (const at of [0.3, 0.5, 0.7]) {
      const flipped = Buffer.from(good);
      const i = Math.floor(flipped.length * at);
      flipped[i] = flipped[i]! ^ 0x10;
      if (referenceAccepts(flipped)) continue;
      rejected++;
      expect(await walkZstd(flipped)).toMatch(/zstd|truncated|tar/);
    }
    expect(rejected).toBeGreaterThan(0);
  });

  it('refuses a frame whose window is larger than the reference decoder allows by default', async () => {
    // frame header: magic, FHD 0 (no checksum, not single segment), window descriptor 2^31
    const frame = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (31 - 10) << 3, 0x01, 0x00, 0x00]);
    expect(await walkZstd(frame)).toMatch(/asks for a 2147483648-byte window/);
  });

  it('decodes with back-pressure: a bomb of RLE blocks is read only as far as its output is taken', async () => {
    // 262,144 RLE blocks of 128 KiB each: 1 MiB that inflates to 32 GiB.
    const blocks = 1 << 18;
    const bomb = Buffer.alloc(6 + blocks * 4);
    Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (17 - 10) << 3]).copy(bomb, 0);
    for (let i = 0; i < blocks; i++) {
      const v = (i === blocks - 1 ? 1 : 0) | (1 << 1) | (131072 << 3);
      bomb.writeUIntLE(v, 6 + i * 4, 3);
      bomb[6 + i * 4 + 3] = 0;
    }
    let read = 0;
    const src = Readable.from(
      (function* () {
        for (let i = 0; i < bomb.length; i += 4096) {
          read += Math.min(4096, bomb.length - i);
          yield bomb.subarray(i, i + 4096);
        }
      })(),
    );
    let out = 0;
    let biggest = 0;
    const d = zstdDecompressor();
    await pipeline(src, d, async (source: AsyncIterable<Buffer>) => {
      for await (const c of source) {
        out += c.length;
        biggest = Math.max(biggest, c.length);
        if (out >= 64 * 1024 * 1024) break; // the reader stops after 64 MiB
      }
    }).catch(() => undefined);
    expect(out).toBeGreaterThanOrEqual(64 * 1024 * 1024);
    expect(biggest).toBeLessThanOrEqual(128 * 1024);
    // 64 MiB of output is 512 blocks, 2 KiB of input: the source was not read to its end.
    expect(read).toBeLessThan(bomb.length / 4);
  });
});

describe('zstd work bound', () => {
  it('a frame with a 128 MiB window and thousands of 1-byte blocks is refused, not copied for hours', async () => {
    const blocks = 100_000;
    const bomb = Buffer.alloc(6 + blocks * 4);
    Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (27 - 10) << 3]).copy(bomb, 0);
    for (let i = 0; i < blocks; i++) {
      bomb.writeUIntLE((i === blocks - 1 ? 1 : 0) | (1 << 1) | (1 << 3), 6 + i * 4, 3); // RLE, 1 byte
      bomb[6 + i * 4 + 3] = 0;
    }
    const { walkLayerStream } = await import('../../src/image/layer-reader.js');
    await expect(walkLayerStream(Readable.from([bomb]), 'zstd', {}, {})).rejects.toThrow(/refused as a decompression bomb/);
  });
});
