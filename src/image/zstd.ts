/**
 * zstd decoding with back-pressure and checksums (docs/formats.md "Compression"). fzstd (pure JS;
 * Node 20 has no zstd in zlib) decodes synchronously whatever it is given, so a 657 KiB layer that
 * inflates to 20 GiB would land in memory in one call, and it skips the content checksum. Here the
 * compressed stream is cut along its own frame and block headers (RFC 8878 §3.1): fzstd gets one
 * block at a time (at most 128 KiB of output each), the next block waits until the reader took the
 * last one, and each frame's output is hashed with XXH64 and checked against its checksum.
 */
import { Duplex } from 'node:stream';
import * as fzstd from 'fzstd';
import xxhash from 'xxhash-wasm';

/** The largest window the reference decoder accepts without being told otherwise (zstd's windowLog 27). */
export const MAX_WINDOW = 128 * 1024 * 1024;
const MAX_BLOCK = 128 * 1024;
/**
 * fzstd allocates a window per frame and shifts the whole window after every block, so a block
 * costs its window's size in copying however little it outputs: a frame with a 128 MiB window and
 * thousands of 1-byte blocks would copy for hours. The copying allowed is this much per byte of
 * output (a 128 MiB window over 128 KiB blocks is 1024) plus WORK_FREE, then the stream is refused.
 */
const WORK_PER_BYTE = 1024;
const WORK_FREE = 4 * 1024 ** 3;
const MAGIC = 0xfd2fb528;

export class ZstdError extends Error {}

let api: ReturnType<typeof xxhash> | undefined;

/** Bytes arriving in chunks, taken in pieces of known size. */
class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0;
  length = 0;
  push(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.length += b.length;
  }
  /** The next n bytes, removed from the queue (copied only when they span chunks). */
  take(n: number): Buffer {
    const out = this.peek(n);
    this.length -= n;
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      const k = Math.min(left, c.length - this.head);
      left -= k;
      this.head += k;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    return out;
  }
  /** The next n bytes, left in the queue (a view when they lie in one chunk). */
  peek(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    for (let i = 0, off = this.head; got < n; i++, off = 0) {
      const c = this.chunks[i]!;
      const k = Math.min(n - got, c.length - off);
      c.copy(out, got, off, off + k);
      got += k;
    }
    return out;
  }
}

/** The compressed stream as the decoder reads it: pulled from the source as needed, its position counted. */
class Input {
  private readonly q = new ByteQueue();
  private ended = false;
  /** Compressed bytes consumed. */
  at = 0;
  private work = 0;
  /** Decompressed bytes handed on (what the copying budget grows with). */
  emitted = 0;
  constructor(private readonly it: AsyncIterator<Buffer>) {}

  get length(): number {
    return this.q.length;
  }
  /** Whether n bytes are there, reading more of the source while they are not. */
  async fill(n: number): Promise<boolean> {
    while (this.q.length < n && !this.ended) {
      const r = await this.it.next();
      if (r.done) this.ended = true;
      else this.q.push(r.value as Buffer);
    }
    return this.q.length >= n;
  }
  take(n: number): Buffer {
    this.at += n;
    return this.q.take(n);
  }
  peek(n: number): Buffer {
    return this.q.peek(n);
  }
  truncated(what: string): never {
    throw new ZstdError(`truncated zstd data: ${what} at byte ${this.at + this.q.length}`);
  }
  /** Charges window copying to the budget (see WORK_PER_BYTE). */
  spend(bytes: number, frame: number): void {
    this.work += bytes;
    if (this.work > WORK_FREE + WORK_PER_BYTE * this.emitted) {
      throw new ZstdError(`zstd frame ${frame} makes the decoder copy ${this.work} bytes of window for ${this.emitted} bytes of output; refused as a decompression bomb`);
    }
  }
}

/** A frame header (RFC 8878 §3.1.1.1): its bytes (fzstd gets them with the first block) and what they say. */
interface FrameHeader {
  header: Buffer;
  window: number;
  /** The frame content size, when the header gives it. */
  fcs: number | undefined;
  checksum: number;
}

/** Skips a skippable frame: its size, then that many bytes of anything. */
async function skipFrame(inp: Input, size: number): Promise<void> {
  let skip = 8 + size;
  while (skip > 0) {
    if (!(await inp.fill(1))) inp.truncated('a skippable frame');
    const n = Math.min(skip, inp.length);
    inp.take(n);
    skip -= n;
  }
}

/** Little-endian unsigned integer of `n` bytes at `p`. */
function readLE(b: Buffer, p: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) v += b[p + k]! * 256 ** k;
  return v;
}

/** Reads the next frame's header; undefined when it was a skippable frame (skipped). */
async function readFrameHeader(inp: Input, frame: number): Promise<FrameHeader | undefined> {
  if (!(await inp.fill(8))) inp.truncated('a frame header');
  const head = inp.peek(8);
  const magic = head.readUInt32LE(0);
  if ((magic & 0xfffffff0) === 0x184d2a50) return void (await skipFrame(inp, head.readUInt32LE(4)));
  if (magic !== MAGIC) throw new ZstdError(`not a zstd frame at byte ${inp.at} (frame ${frame})`);
  const fhd = head[4]!;
  const single = (fhd >> 5) & 1;
  if (fhd & 8) throw new ZstdError(`corrupt zstd data: reserved bit set in frame ${frame} at byte ${inp.at}`);
  const didBytes = [0, 1, 2, 4][fhd & 3]!;
  const fcsBytes = [single, 2, 4, 8][fhd >> 6]!;
  const headerLen = 5 + (single ? 0 : 1) + didBytes + fcsBytes;
  if (!(await inp.fill(headerLen))) inp.truncated('a frame header');
  const header = inp.take(headerLen);
  let p = 5;
  let window = 0;
  if (!single) {
    const wd = header[p++]!;
    const base = 2 ** (10 + (wd >> 3));
    window = base + (base / 8) * (wd & 7);
  }
  const dict = readLE(header, p, didBytes);
  p += didBytes;
  const fcs = fcsBytes ? readLE(header, p, fcsBytes) + (fcsBytes === 2 ? 256 : 0) : undefined;
  if (single) window = fcs!;
  if (dict !== 0) throw new ZstdError(`zstd frame ${frame} needs dictionary ${dict}, which a layer cannot carry`);
  if (window > MAX_WINDOW) {
    throw new ZstdError(`zstd frame ${frame} asks for a ${window}-byte window, more than the ${MAX_WINDOW} bytes zstd decodes without --memory`);
  }
  return { header, window, fcs, checksum: (fhd >> 2) & 1 };
}

/** Takes the next block (RFC 8878 §3.1.1.2), with the frame's checksum after the last one. */
async function readBlock(inp: Input, frame: number, checksum: number): Promise<{ blk: Buffer; last: boolean }> {
  if (!(await inp.fill(3))) inp.truncated(`a block header of frame ${frame}`);
  const bh = inp.peek(3);
  const v = bh[0]! | (bh[1]! << 8) | (bh[2]! << 16);
  const last = (v & 1) === 1;
  const type = (v >> 1) & 3;
  const size = v >>> 3;
  if (type === 3) throw new ZstdError(`corrupt zstd data: reserved block type in frame ${frame} at byte ${inp.at}`);
  if (size > MAX_BLOCK) throw new ZstdError(`corrupt zstd data: a ${size}-byte block in frame ${frame} at byte ${inp.at}`);
  const n = 3 + (type === 1 ? 1 : size) + (last ? checksum * 4 : 0);
  if (!(await inp.fill(n))) inp.truncated(`a block of frame ${frame}`);
  return { blk: inp.take(n), last };
}

/** One frame's output, a block at a time, its size and checksum checked. */
async function* decodeFrame(inp: Input, fh: FrameHeader, frame: number, h: Awaited<ReturnType<typeof xxhash>>): AsyncGenerator<Buffer> {
  const { window, fcs, checksum } = fh;
  const out: Buffer[] = [];
  inp.spend(window, frame); // the window fzstd allocates for the frame
  const d = new fzstd.Decompress((chunk) => {
    if (chunk.length) out.push(Buffer.from(chunk));
  });
  const hasher = checksum ? h.create64() : undefined;
  let produced = 0;
  let pending: Buffer | undefined = fh.header;
  for (let last = false; !last; ) {
    let blk: Buffer;
    ({ blk, last } = await readBlock(inp, frame, checksum));
    if (pending) {
      blk = Buffer.concat([pending, blk]);
      pending = undefined;
    }
    inp.spend(window, frame);
    try {
      d.push(blk, last);
      releaseSpent(d);
    } catch (err) {
      throw new ZstdError(`corrupt zstd data in frame ${frame} near byte ${inp.at}: ${(err as Error).message}`);
    }
    for (const o of out.splice(0)) {
      hasher?.update(o);
      produced += o.length;
      inp.emitted += o.length;
      if (fcs !== undefined && produced > fcs) throw new ZstdError(`corrupt zstd data: frame ${frame} holds more than its declared ${fcs} bytes`);
      yield o;
    }
    if (last && hasher) {
      const want = blk.readUInt32LE(blk.length - 4);
      const got = Number(hasher.digest() & 0xffffffffn);
      if (got !== want) throw new ZstdError(`corrupt zstd data: frame ${frame} content checksum mismatch (expected ${hex(want)}, got ${hex(got)})`);
    }
  }
  if (fcs !== undefined && produced !== fcs) throw new ZstdError(`corrupt zstd data: frame ${frame} holds ${produced} bytes, not its declared ${fcs}`);
}

async function* decode(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const h = await (api ??= xxhash());
  const inp = new Input(source[Symbol.asyncIterator]());
  for (let frame = 1; await inp.fill(1); frame++) {
    const fh = await readFrameHeader(inp, frame);
    if (fh) yield* decodeFrame(inp, fh, frame, h);
  }
}

/**
 * fzstd keeps what is left of a push after its last whole block for the next push. When a push ends
 * exactly on a block boundary (every push here does), that is an empty view which still holds the
 * whole pushed buffer, and the list of them is only cleared when a later push has leftovers: the
 * compressed layer would stay in memory block by block. An empty list is dropped here (fzstd 0.1's
 * fields `c` and `l`; if they change, memory grows but output does not change).
 */
function releaseSpent(d: fzstd.Decompress): void {
  const st = d as unknown as { c?: unknown[]; l?: number };
  if (Array.isArray(st.c) && st.l === 0) st.c.length = 0;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** A zstd decoder stream: bounded output per step, checksums verified, limits enforced. */
export function zstdDecompressor(): Duplex {
  return Duplex.from(decode);
}
