/**
 * Runs one layer's bytes through both walkers (seeking, and streaming in chunks of odd sizes, and
 * through gzip) and insists on one answer: the same walk, or the same error message.
 */
import { closeSync, openSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { walkLayerStream } from '../../src/image/layer-reader.js';
import { walkTarFile } from '../../src/walk/seek-walker.js';
import { walkTarStream } from '../../src/walk/stream-walker.js';
import type { LayerWalk, WalkOptions } from '../../src/walk/types.js';
import { tmpDir } from './images.js';
import { gzip } from './tar.js';

type Outcome = { walk: LayerWalk } | { error: string };

async function outcome(f: () => LayerWalk | Promise<LayerWalk>): Promise<Outcome> {
  try {
    return { walk: await f() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Chunks of sizes 1, 7, 511, 513, … (seeded), so every state boundary of the stream walker is crossed. */
export function oddChunks(buf: Buffer, seed = 1): Buffer[] {
  const sizes = [1, 7, 511, 513, 1024, 3, 4096, 100];
  const out: Buffer[] = [];
  let i = 0;
  let k = seed;
  while (i < buf.length) {
    const n = sizes[k++ % sizes.length]!;
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** Both walkers' one answer for `buf` (an uncompressed layer tar). */
export async function walkBoth(buf: Buffer, opts: WalkOptions = {}): Promise<Outcome> {
  const p = path.join(tmpDir(), 'layer.tar');
  writeFileSync(p, buf);
  const seek = await outcome(() => {
    const fd = openSync(p, 'r');
    try {
      return walkTarFile(fd, 0, buf.length, opts);
    } finally {
      closeSync(fd);
    }
  });
  const whole = await outcome(() => walkTarStream(Readable.from([buf]), opts));
  const chunked = await outcome(() => walkTarStream(Readable.from(oddChunks(buf)), opts));
  const gz = await outcome(async () => (await walkLayerStream(Readable.from([gzip(buf)]), 'gzip', {}, opts)).walk);
  expect(whole, 'streamed whole vs seek').toEqual(seek);
  expect(chunked, 'streamed in odd chunks vs seek').toEqual(seek);
  expect(gz, 'gzip stream vs seek').toEqual(seek);
  return seek;
}

/** The walk both walkers agree on; fails the test when they agree on an error instead. */
export async function walkBothOk(buf: Buffer, opts: WalkOptions = {}): Promise<LayerWalk> {
  const o = await walkBoth(buf, opts);
  if ('error' in o) throw new Error(`expected a walk, both walkers said: ${o.error}`);
  return o.walk;
}

/** The error both walkers agree on. */
export async function walkBothError(buf: Buffer): Promise<string> {
  const o = await walkBoth(buf);
  if ('walk' in o) throw new Error('expected an error, both walkers accepted the tar');
  return o.error;
}
