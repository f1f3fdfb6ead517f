import { readSync } from 'node:fs';
import { inputError } from '../errors.js';
import { probeSeekable } from '../inspect/probe.js';
import { contentBytes, isCountedFile, makeEntry, typeFromFlag } from './entry.js';
import {
  decodeHeader,
  FLAG_GNU_LONGLINK,
  FLAG_GNU_LONGNAME,
  FLAG_GNU_VOLHDR,
  FLAG_PAX,
  FLAG_PAX_GLOBAL,
  parsePax,
  TarFormatError,
} from './tar-header.js';
import type { LayerWalk, WalkedEntry, WalkOptions } from './types.js';

export interface RawTarEntry {
  name: string;
  linkname: string;
  typeflag: number;
  size: number;
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
 * bodies. PAX (`x`, `g`) and GNU long names/links are applied to the entry they describe.
 * `onEntry` may return true to have the body read and passed back through `onBody`.
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
  let pos = start;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Map<string, string> | undefined;
  let globalPax: Map<string, string> | undefined;
  while (pos + 512 <= end) {
    const off = r.at(pos, 512);
    let h;
    try {
      h = decodeHeader(r.buffer, off);
    } catch (err) {
      throw new TarFormatError(`${(err as Error).message} at offset ${pos - start}`);
    }
    if (h === null) return { endMarker: true };
    const bodyOffset = pos + 512;
    let size = h.size;
    const paxSize = pax?.get('size') ?? globalPax?.get('size');
    if (paxSize !== undefined && h.typeflag !== FLAG_PAX && h.typeflag !== FLAG_PAX_GLOBAL) size = Number(paxSize);
    if (size < 0 || !Number.isFinite(size)) throw new TarFormatError(`invalid entry size at offset ${pos - start}`);
    if (bodyOffset + size > end) {
      const name = longName ?? pax?.get('path') ?? h.name;
      throw new TarFormatError(
        `truncated tar: entry '${name}' needs ${size} bytes but only ${Math.max(0, end - bodyOffset)} remain`,
      );
    }
    const next = bodyOffset + Math.ceil(size / 512) * 512;
    r.lastBody = size;
    switch (h.typeflag) {
      case FLAG_PAX:
        pax = parsePax(r.read(bodyOffset, size));
        break;
      case FLAG_PAX_GLOBAL:
        globalPax = new Map([...(globalPax ?? []), ...parsePax(r.read(bodyOffset, size))]);
        break;
      case FLAG_GNU_LONGNAME:
        longName = r.read(bodyOffset, size).toString('utf8').replace(/\0+$/, '');
        break;
      case FLAG_GNU_LONGLINK:
        longLink = r.read(bodyOffset, size).toString('utf8').replace(/\0+$/, '');
        break;
      case FLAG_GNU_VOLHDR:
        break;
      default: {
        const e: RawTarEntry = {
          name: pax?.get('path') ?? longName ?? globalPax?.get('path') ?? h.name,
          linkname: pax?.get('linkpath') ?? longLink ?? h.linkname,
          typeflag: h.typeflag,
          size,
          bodyOffset,
        };
        pax = undefined;
        longName = undefined;
        longLink = undefined;
        if (onEntry(e) && onBody) onBody(e, size > 0 ? r.read(bodyOffset, size) : Buffer.alloc(0));
      }
    }
    pos = next;
  }
  if (pos < end) throw new TarFormatError(`truncated tar: ${end - pos} stray bytes at offset ${pos - start}`);
  return { endMarker: false };
}

/** Walks an uncompressed layer tar held in a file range, seeking over bodies. */
export function walkTarFile(fd: number, start: number, length: number, opts: WalkOptions = {}): LayerWalk {
  const entries: WalkedEntry[] = [];
  let fileBytes = 0;
  let files = 0;
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
        const e = makeEntry(raw.name, typeFromFlag(raw.typeflag), raw.size, raw.linkname);
        entries.push(e);
        fileBytes += contentBytes(e);
        if (isCountedFile(e)) files++;
        if (e.type !== 'file') return false;
        if (capture && capture(e.path, e.size)) {
          pending = e;
          return true;
        }
        const spec = probe?.(e.path, e.size);
        if (spec) {
          const base = raw.bodyOffset;
          e.probe = probeSeekable(spec, e.size, (o, n) => {
            const b = Buffer.allocUnsafe(n);
            const got = readFully(fd, b, 0, n, base + o, false);
            return got === n ? b : b.subarray(0, got);
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
  const warnings = res.endMarker ? [] : ['tar has no end-of-archive marker'];
  return { entries, tarBytes: length, fileBytes, files, endMarker: res.endMarker, warnings };
}
