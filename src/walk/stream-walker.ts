import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { inputError } from '../errors.js';
import { type ProbeSpec, StreamProbe } from '../inspect/probe.js';
import { contentBytes, isCountedFile, makeEntry, typeFromTarStream } from './entry.js';
import type { LayerWalk, WalkedEntry, WalkOptions } from './types.js';

/** Counts the bytes that flow through it. */
export class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/**
 * Walks an uncompressed tar arriving as a stream (a decompressor's output, a nested layer inside a
 * `docker save` stream) with tar-stream, which applies PAX and GNU long names for us. Bodies are
 * drained without being kept, except those the capture predicate asks for.
 */
export async function walkTarStream(
  src: Readable,
  opts: WalkOptions = {},
  transforms: Transform[] = [],
): Promise<LayerWalk> {
  const counter = new ByteCounter();
  const extract = tar.extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0]);
  const entries: WalkedEntry[] = [];
  let fileBytes = 0;
  let files = 0;
  const capture = opts.capture;
  const probe = opts.probe;

  const consume = async (): Promise<void> => {
    for await (const entry of extract) {
      const h = entry.header;
      const e = makeEntry(h.name, typeFromTarStream(h.type), h.size ?? 0, h.linkname ?? undefined);
      entries.push(e);
      fileBytes += contentBytes(e);
      if (isCountedFile(e)) files++;
      let spec: ProbeSpec | undefined;
      if (capture && e.type === 'file' && capture(e.path, e.size)) {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        e.body = Buffer.concat(chunks);
      } else if (e.type === 'file' && probe && (spec = probe(e.path, e.size))) {
        const p = new StreamProbe(spec, e.size);
        for await (const c of entry) p.push(c as Buffer);
        e.probe = p.finish();
      } else {
        entry.resume();
      }
    }
  };
  try {
    await Promise.all([pipeline([src, ...transforms, counter, extract]), consume()]);
  } catch (err) {
    const msg = (err as Error).message ?? String(err);
    if (/Unexpected end of data/i.test(msg)) throw inputError('truncated tar: unexpected end of data', err);
    if (/Invalid tar header|Invalid header/i.test(msg)) throw inputError('invalid tar header checksum', err);
    throw err;
  }
  return { entries, tarBytes: counter.bytes, fileBytes, files, endMarker: null, warnings: [] };
}
