import { Transform, type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inputError } from '../errors.js';
import { type ProbeSpec, StreamProbe } from '../inspect/probe.js';
import { WalkBuilder } from './entry.js';
import { isZeroBlock, MAX_META, padded, TarFormatError, type TarEntryHead, TarParser } from './tar-header.js';
import type { LayerWalk, WalkedEntry, WalkOptions } from './types.js';

/** Counts the bytes that flow through it. */
export class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

type Need = 'header' | 'meta' | 'ext' | 'sparse' | 'second';

/**
 * The streaming side of the one tar decoder (tar-header.ts): bytes arrive in chunks of any size and
 * the parser sees exactly what the seeking walker shows it, so both give one answer for one byte
 * stream. Bodies go to a probe or a capture buffer when asked for, otherwise they are counted past.
 */
export class TarSink extends Writable {
  private readonly parser = new TarParser();
  readonly b = new WalkBuilder();
  /** Bytes of the tar seen so far. */
  pos = 0;
  endMarker = false;
  private need: Need | undefined = 'header';
  /** The padding due is a metadata record's (PAX, GNU long name), not a file body's. */
  private metaPad = false;
  /** Bytes gathered for `need` (a header block, an extended header, a sparse map). */
  private acc = Buffer.alloc(512);
  private have = 0;
  private want = 512;
  /** Where the header being completed started (for messages). */
  private headerAt = 0;
  private entry: TarEntryHead | undefined;
  /** Body bytes still to come for the current entry, then padding. */
  private body = 0;
  private pad = 0;
  private done = false;
  private sink: ((b: Buffer) => void) | undefined;
  private finishBody: (() => void) | undefined;
  /** The entry whose body is due (what a reader that holds bodies elsewhere fills in, see skipBody). */
  private current: { e: WalkedEntry; h: TarEntryHead } | undefined;

  constructor(private readonly opts: WalkOptions) {
    super();
  }

  private expect(need: Need, n: number): void {
    this.need = need;
    this.want = n;
    this.have = 0;
    if (this.acc.length < n) this.acc = Buffer.alloc(Math.max(n, 512));
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    try {
      this.feed(chunk);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    try {
      this.end_();
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  /** Feeds bytes of the tar synchronously (the tar-split reader: its segments are the tar's own bytes). */
  feedSync(chunk: Buffer): void {
    this.feed(chunk);
  }

  /** Ends the tar synchronously: a truncated one throws as at the end of a stream. */
  endSync(): void {
    this.end_();
  }

  /**
   * Passes over the whole body of the entry that is due, `n` bytes that live elsewhere (a layer's
   * diff directory), counted as if fed; returns that entry and its header for the caller to fill in
   * (undefined for n = 0 when no entry is due).
   * Throws when no body of exactly `n` bytes is due: the headers and the reader disagree.
   */
  skipBody(n: number): { e: WalkedEntry; h: TarEntryHead } | undefined {
    // A body is due (its header was fed, nothing of it yet), or, for n = 0, the entry had none.
    const due = this.need === undefined && this.body > 0 && this.body === this.entry?.stored ? this.body : 0;
    // Go hands a global PAX header over as an entry before its records' padding (read with the next
    // header), and tar-split records it there: only that padding may still be due (docs/formats.md "Engine layer stores").
    const atHeader = this.need === 'header' && this.have === 0 && (this.pad === 0 || this.metaPad);
    if (n !== due || (n === 0 && !atHeader)) throw new TarFormatError(`a body of ${n} bytes where the headers give ${due}`);
    // Handed over once: a record without an entry of its own (a global PAX header) gets nothing.
    const cur = this.current;
    this.current = undefined;
    if (n === 0) return cur;
    this.body = 0;
    this.pos += n;
    this.bodyDone();
    return cur;
  }

  private feed(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.done) {
        this.pos += chunk.length - i;
        return;
      }
      if (this.body > 0) {
        const n = Math.min(this.body, chunk.length - i);
        this.sink?.(chunk.subarray(i, i + n));
        this.body -= n;
        i += n;
        this.pos += n;
        if (this.body === 0) this.bodyDone();
        continue;
      }
      if (this.pad > 0) {
        const n = Math.min(this.pad, chunk.length - i);
        this.pad -= n;
        i += n;
        this.pos += n;
        continue;
      }
      const n = Math.min(this.want - this.have, chunk.length - i);
      chunk.copy(this.acc, this.have, i, i + n);
      this.have += n;
      i += n;
      this.pos += n;
      if (this.have === this.want) this.complete();
    }
  }

  /** A gathered block or body is complete: hand it to the parser. */
  private complete(): void {
    const buf = this.acc;
    switch (this.need) {
      case 'header': {
        this.metaPad = false;
        this.headerAt = this.pos - 512;
        this.step(this.parser.header(buf, 0, this.headerAt));
        return;
      }
      case 'ext':
        this.step(this.parser.ext(buf, this.headerAt));
        return;
      case 'meta': {
        const size = this.want;
        this.parser.meta(Buffer.from(buf.subarray(0, size)));
        this.pad = padded(size) - size;
        this.metaPad = true;
        this.expect('header', 512);
        return;
      }
      case 'sparse': {
        const h = this.entry!;
        if (!this.parser.sparseMap(h, buf.subarray(0, this.have), this.headerAt)) {
          // geometric growth, as the seeking walker: each attempt parses the map from its start
          this.want = Math.min(this.have * 2, h.stored, MAX_META);
          if (this.acc.length < this.want) {
            const bigger = Buffer.alloc(this.want);
            buf.copy(bigger, 0, 0, this.have);
            this.acc = bigger;
          }
          return;
        }
        this.startBody(h, h.stored - this.have);
        return;
      }
      case 'second':
        if (!isZeroBlock(buf, 0)) throw new TarFormatError(`a header follows a single zero block at offset ${this.pos - 512}`);
        this.done = true;
        return;
    }
  }

  private step(s: ReturnType<TarParser['header']>): void {
    switch (s.kind) {
      case 'end':
        this.endMarker = true;
        this.expect('second', 512);
        return;
      case 'meta':
        this.expect('meta', s.size);
        if (s.size === 0) this.complete();
        return;
      case 'ext':
        this.expect('ext', 512);
        return;
      case 'entry': {
        const h = s.entry;
        this.need = undefined;
        if (h.sparse?.format === '1.0') {
          this.entry = h;
          this.expect('sparse', Math.min(512, h.stored));
          if (h.stored === 0) this.complete();
          return;
        }
        this.startBody(h, h.stored);
      }
    }
  }

  /** Routes the rest of an entry's body (`left` bytes) to a capture, a probe or nowhere. */
  private startBody(h: TarEntryHead, left: number): void {
    const e = this.b.add(h);
    this.entry = h;
    this.current = { e, h };
    this.sink = undefined;
    this.finishBody = undefined;
    const { capture, probe } = this.opts;
    let spec: ProbeSpec | undefined;
    if (e.type === 'file' && !h.sparse) {
      if (capture && capture(e.path, e.size)) {
        const chunks: Buffer[] = [];
        this.sink = (c) => chunks.push(Buffer.from(c));
        this.finishBody = () => {
          e.body = Buffer.concat(chunks);
        };
      } else if (probe && (spec = probe(e.path, e.size))) {
        const p = new StreamProbe(spec, e.size);
        this.sink = (c) => p.push(c);
        this.finishBody = () => {
          e.probe = p.finish();
        };
      }
    }
    this.body = left;
    if (left === 0) this.bodyDone();
  }

  private bodyDone(): void {
    this.finishBody?.();
    this.sink = undefined;
    this.finishBody = undefined;
    this.pad = padded(this.entry!.stored) - this.entry!.stored;
    this.expect('header', 512);
  }

  /** The stream ended: anything but a header boundary (or the end) is a truncated tar. */
  private end_(): void {
    if (this.done) return;
    if (this.body > 0 || (this.need === 'sparse' && this.entry)) {
      const h = this.entry!;
      const got = this.body > 0 ? h.stored - this.body : this.have;
      throw new TarFormatError(`truncated tar: entry '${h.name}' needs ${h.stored} bytes but only ${got} remain`);
    }
    if (this.need === 'meta') {
      throw new TarFormatError(`truncated tar: the extended header at offset ${this.headerAt} needs ${this.want} bytes but only ${this.have} remain`);
    }
    if (this.need === 'ext') {
      throw new TarFormatError(`truncated tar: the sparse map of the entry at offset ${this.headerAt} needs 512 bytes but only ${this.have} remain`);
    }
    // At a header boundary (the padding of the last body may be missing, as the seeker allows): the end.
    if (this.have === 0) return;
    throw new TarFormatError(`truncated tar: ${this.have} stray bytes at offset ${this.pos - this.have}`);
  }
}

/** Walks an uncompressed tar arriving as a stream (a decompressor's output, a layer inside a `docker save` stream). */
export async function walkTarStream(
  src: Readable,
  opts: WalkOptions = {},
  transforms: Array<NodeJS.ReadWriteStream> = [],
): Promise<LayerWalk> {
  const counter = new ByteCounter();
  const sink = new TarSink(opts);
  try {
    await pipeline([src, ...transforms, counter, sink]);
  } catch (err) {
    if (err instanceof TarFormatError) throw inputError(err.message, err);
    throw err;
  }
  return sink.b.finish(counter.bytes, sink.endMarker);
}

export type { WalkedEntry };
