import { readSync } from 'node:fs';
import { inputError } from '../errors.js';
import { probeSeekable } from '../inspect/probe.js';
import { WalkBuilder } from './entry.js';
import { isZeroBlock, MAX_META, padded, TarFormatError, type TarEntryHead, TarParser } from './tar-header.js';
import type { LayerWalk, WalkedEntry, WalkOptions } from './types.js';

export interface RawTarEntry extends TarEntryHead {
  /** Absolute file offset of the entry's body. */
  bodyOffset: number;
}

const WINDOW = 4 * 1024;
const SMALL_BODY = 1024;

/**
 * Positional reads through a window, so runs of tiny files cost one read per window, while headers
 * between large bodies are read alone (no copying of body bytes we are about to seek over).
 */
class WindowReader {
  private readonly buf = Buffer.allocUnsafe(WINDOW);
  private start = -1;
  private len = 0;
  /** Size of the body just skipped: small bodies predict more small entries nearby. */
  lastBody = 0;
  constructor(private readonly fd: number) {}

  /** Returns the offset in `buf` at which file bytes [pos, pos+n) start, n ≤ WINDOW. */
  at(pos: number, n: number): number {
    if (this.start < 0 || pos < this.start || pos + n > this.start + this.len) {
      const want = this.lastBody < SMALL_BODY ? WINDOW : Math.max(n, 512);
      this.len = readFully(this.fd, this.buf, 0, want, pos, false);
      this.start = pos;
      if (this.len < n) throw new TarFormatError(`unexpected end of file at offset ${pos}`);
    }
    return pos - this.start;
  }

  get buffer(): Buffer {
    return this.buf;
  }

  read(pos: number, n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    readFully(this.fd, out, 0, n, pos, true);
    return out;
  }
}

function readFully(fd: number, buf: Buffer, off: number, n: number, pos: number, exact: boolean): number {
  let got = 0;
  while (got < n) {
    const r = readSync(fd, buf, off + got, n - got, pos + got);
    if (r === 0) break;
    got += r;
  }
  if (exact && got < n) throw new TarFormatError(`unexpected end of file at offset ${pos + got}`);
  return got;
}

export interface IterateResult {
  endMarker: boolean;
}

/**
 * Iterates the tar stored in file bytes [start, start+length) by reading headers and seeking over
 * bodies, the parser (tar-header.ts) deciding what each header means. `onEntry` may return true to
 * have the body read and passed back through `onBody`.
 */
export function iterateTarFile(
  fd: number,
  start: number,
  length: number,
  onEntry: (e: RawTarEntry) => boolean,
  onBody?: (e: RawTarEntry, body: Buffer) => void,
): IterateResult {
  const r = new WindowReader(fd);
  const end = start + length;
  const parser = new TarParser();
  let pos = start;
  const need = (n: number, what: () => string): void => {
    if (pos + n > end) throw new TarFormatError(`truncated tar: ${what()} needs ${n} bytes but only ${Math.max(0, end - pos)} remain`);
  };
  while (pos + 512 <= end) {
    let step = parser.header(r.buffer, r.at(pos, 512), pos - start);
    const headerAt = pos - start;
    pos += 512;
    r.lastBody = 0;
    while (step.kind === 'ext') {
      need(512, () => `the sparse map of the entry at offset ${headerAt}`);
      step = parser.ext(r.read(pos, 512), headerAt);
      pos += 512;
    }
    if (step.kind === 'end') {
      // Go reads one more block: a second zero block (or nothing) ends the archive, anything else is an error.
      if (pos < end) {
        if (pos + 512 > end) throw new TarFormatError(`truncated tar: ${end - pos} stray bytes at offset ${pos - start}`);
        if (!isZeroBlock(r.buffer, r.at(pos, 512))) throw new TarFormatError(`a header follows a single zero block at offset ${pos - start}`);
      }
      return { endMarker: true };
    }
    if (step.kind === 'meta') {
      need(step.size, () => `the extended header at offset ${headerAt}`);
      parser.meta(r.read(pos, step.size));
      pos += padded(step.size);
      continue;
    }
    const h = step.entry;
    if (h.sparse?.format === '1.0') {
      // The map is read from what the tar holds, as the streaming walker reads it, growing
      // geometrically (each attempt parses from the start); only then is the body's length checked.
      // (The same prefix lengths as the streaming walker tries: 512, 1024, … up to the body or 1 MiB.)
      let n = Math.min(512, h.stored);
      for (;;) {
        if (n > end - pos) need(h.stored, () => `entry '${h.name}'`);
        if (parser.sparseMap(h, r.read(pos, n), headerAt)) break;
        n = Math.min(n * 2, h.stored, MAX_META);
      }
    }
    need(h.stored, () => `entry '${h.name}'`);
    const e: RawTarEntry = { ...h, bodyOffset: pos };
    r.lastBody = h.stored;
    if (onEntry(e) && onBody) onBody(e, h.stored > 0 ? r.read(pos, h.stored) : Buffer.alloc(0));
    pos += padded(h.stored);
  }
  if (pos < end) throw new TarFormatError(`truncated tar: ${end - pos} stray bytes at offset ${pos - start}`);
  return { endMarker: false };
}

/** Walks an uncompressed layer tar held in a file range, seeking over bodies. */
export function walkTarFile(fd: number, start: number, length: number, opts: WalkOptions = {}): LayerWalk {
  const b = new WalkBuilder();
  const capture = opts.capture;
  const probe = opts.probe;
  let pending: WalkedEntry | undefined;
  let res: IterateResult;
  try {
    res = iterateTarFile(
      fd,
      start,
      length,
      (raw) => {
        const e = b.add(raw);
        if (e.type !== 'file' || raw.sparse) return false;
        if (capture && capture(e.path, e.size)) {
          pending = e;
          return true;
        }
        const spec = probe?.(e.path, e.size);
        if (spec) {
          const base = raw.bodyOffset;
          e.probe = probeSeekable(spec, e.size, (o, n) => {
            const buf = Buffer.allocUnsafe(n);
            const got = readFully(fd, buf, 0, n, base + o, false);
            return got === n ? buf : buf.subarray(0, got);
          });
        }
        return false;
      },
      (_raw, body) => {
        if (pending) pending.body = body;
        pending = undefined;
      },
    );
  } catch (err) {
    if (err instanceof TarFormatError) throw inputError(err.message, err);
    throw err;
  }
  return b.finish(length, res.endMarker);
}
