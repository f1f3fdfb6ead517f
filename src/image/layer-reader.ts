import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { type Duplex, Readable, Transform } from 'node:stream';
import { inputError } from '../errors.js';
import { walkTarFile } from '../walk/seek-walker.js';
import { ByteCounter, walkTarStream } from '../walk/stream-walker.js';
import { contentBytes, isCountedFile } from '../walk/entry.js';
import type { LayerWalk, WalkOptions } from '../walk/types.js';
import { type Compression, decompressor, sniffCompression } from './compression.js';
import { DigestVerifier, Hasher } from './digest.js';
import { ZstdError } from './zstd.js';

export interface WalkedBlob {
  walk: LayerWalk;
  compression: Compression;
  /** Size of the blob as stored (compressed bytes for gzip/zstd). */
  blobSize: number;
  /**
   * Digests checked against exactly the bytes this walk read (the blob's, the uncompressed tar's).
   * Only these may key the layer cache (docs/architecture.md "Layer cache").
   */
  verified?: string[];
  /** SHA-256 of the blob and of the uncompressed tar, when the walk was asked to compute them. */
  computed?: { blob: string; diff: string };
}

export interface BlobCheck {
  /** Expected digest of the blob bytes, verified whenever the blob is read in full. */
  digest?: string;
  size?: number;
  /** Expected digest of the uncompressed tar (the config's diff_id), verified whenever read in full. */
  diffId?: string;
  /** Also read seekable uncompressed blobs in full to verify their digests. */
  verifyUncompressed?: boolean;
  /** Compute the blob's and the tar's SHA-256 (an archive read in one pass, checked later). */
  compute?: boolean;
}

function describeError(err: unknown, c: Compression): Error {
  const e = err as NodeJS.ErrnoException;
  if (c === 'gzip' && typeof e?.code === 'string' && e.code.startsWith('Z_')) {
    return inputError(`corrupt gzip data: ${e.message}`, err);
  }
  if (err instanceof ZstdError) return inputError(err.message, err);
  return err as Error;
}

/**
 * Walks one layer blob stored in a file range (a file of its own, or an entry of an outer tar).
 * An uncompressed tar is walked by seeking over bodies; gzip and zstd are streamed through a
 * decompressor, hashing the compressed bytes on the way.
 */
export async function walkLayerFile(
  file: string,
  offset: number,
  size: number,
  check: BlobCheck,
  opts: WalkOptions,
): Promise<WalkedBlob> {
  const head = Buffer.alloc(Math.min(512, size));
  const fd = openSync(file, 'r');
  try {
    if (head.length > 0) readSync(fd, head, 0, head.length, offset);
    const c = sniffCompression(head);
    if (c === 'unknown') throw inputError('not a tar, gzip or zstd layer (unrecognised magic bytes)');
    if (c === 'none' && !check.verifyUncompressed) {
      return { walk: walkTarFile(fd, offset, size, opts), compression: c, blobSize: size };
    }
  } finally {
    closeSync(fd);
  }
  const src = size > 0 ? createReadStream(file, { start: offset, end: offset + size - 1, highWaterMark: 256 * 1024 }) : Readable.from([]);
  const c = sniffCompression(head) as Compression;
  return walkLayerStream(src, c, check, opts);
}

/** Walks a layer arriving as a byte stream whose compression is already known. */
export async function walkLayerStream(
  src: Readable,
  c: Compression,
  check: BlobCheck,
  opts: WalkOptions,
): Promise<WalkedBlob> {
  const counter = new ByteCounter();
  const tail = c === 'gzip' ? new Tail(FOOTER_WINDOW) : undefined;
  const chain: Array<Transform | Duplex> = tail ? [counter, tail] : [counter];
  const checked: string[] = [];
  const expect = (what: string, digest: string, size?: number): void => {
    chain.push(new DigestVerifier(what, digest, size));
    checked.push(digest);
  };
  if (check.digest) expect('blob', check.digest, check.size);
  const blobHash = check.compute ? new Hasher() : undefined;
  if (blobHash) chain.push(blobHash);
  const d = decompressor(c);
  if (d) chain.push(d);
  // The uncompressed tar: the same bytes as the blob when there is no compression.
  if (check.diffId && (d || check.diffId !== check.digest)) expect('uncompressed layer (diff_id)', check.diffId);
  const diffHash = check.compute && d ? new Hasher() : undefined;
  if (diffHash) chain.push(diffHash);
  try {
    const walk = await walkTarStream(src, opts, chain);
    if (tail && hasEstargzFooter(tail.bytes())) dropEstargzEntries(walk);
    const out: WalkedBlob = { walk, compression: c, blobSize: counter.bytes };
    if (checked.length) out.verified = checked;
    if (blobHash) out.computed = { blob: blobHash.digest!, diff: (diffHash ?? blobHash).digest! };
    return out;
  } catch (err) {
    throw describeError(err, c);
  }
}

/** Keeps the last `n` bytes that went through. */
class Tail extends Transform {
  private kept = Buffer.alloc(0);
  constructor(private readonly n: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.kept = chunk.length >= this.n ? Buffer.from(chunk.subarray(chunk.length - this.n)) : Buffer.concat([this.kept, chunk]).subarray(-this.n);
    cb(null, chunk);
  }
  bytes(): Buffer {
    return this.kept;
  }
}

/** The estargz footer is 51 bytes (the older stargz one 47): both end a gzip blob with `STARGZ` 19 bytes before its end. */
const FOOTER_WINDOW = 51;

/**
 * Whether a gzip blob ends with an (e)stargz footer (docs/formats.md "estargz"): an empty gzip member
 * whose extra field holds the table of contents' offset as 16 hex digits and `STARGZ`. In the last
 * 51 bytes that is a gzip magic at 0 (estargz) or 4 (stargz) and `STARGZ` at 32 in both.
 */
export function hasEstargzFooter(t: Buffer): boolean {
  if (t.length !== FOOTER_WINDOW || t.toString('latin1', 32, 38) !== 'STARGZ') return false;
  const at = t[0] === 0x1f && t[1] === 0x8b ? 0 : t[4] === 0x1f && t[5] === 0x8b ? 4 : -1;
  return at >= 0 && /^[0-9a-f]{16}$/.test(t.toString('latin1', 16, 32));
}

/** What an estargz layer adds to the tar for lazy pulling (docs/formats.md "estargz"). */
const ESTARGZ_ENTRIES = new Set(['stargz.index.json', '.prefetch.landmark', '.no.prefetch.landmark']);

/**
 * An estargz layer is a gzip tar whose last entry is its table of contents, `stargz.index.json`,
 * with landmark files marking where prefetching ends, and whose blob ends with the footer that points
 * at it. Those are the format's index, not files of the image: they are taken out of the walk (and
 * the layer says so).
 */
export function dropEstargzEntries(walk: LayerWalk): void {
  const last = walk.entries[walk.entries.length - 1];
  if (last?.path !== 'stargz.index.json' || last.type !== 'file') return;
  const kept = walk.entries.filter((e) => !ESTARGZ_ENTRIES.has(e.path));
  for (const e of walk.entries) {
    if (!ESTARGZ_ENTRIES.has(e.path)) continue;
    walk.fileBytes -= contentBytes(e);
    if (isCountedFile(e)) walk.files--;
  }
  walk.entries = kept;
  walk.warnings.push('estargz layer: its table of contents and landmark files are not counted as files of the image');
}

/**
 * Reads the first `n` bytes of a stream and returns them with a stream that replays them followed by
 * the rest, so a consumer can be chosen by sniffing.
 */
export async function peekStream(src: Readable, n: number): Promise<{ head: Buffer; rest: Readable }> {
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first: Buffer[] = [];
  let have = 0;
  let done = false;
  while (have < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    first.push(r.value);
    have += r.value.length;
  }
  const head = Buffer.concat(first).subarray(0, n);
  async function* replay(): AsyncGenerator<Buffer> {
    yield* first;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { head, rest: Readable.from(replay(), { objectMode: false }) };
}
