/**
 * A minimal ustar/GNU/PAX header decoder for the seeking walker (tar-stream's decoder is internal to
 * its streaming extractor and cannot be driven with random access). docs/formats.md "Layer tars".
 */
export class TarFormatError extends Error {}

export interface RawHeader {
  name: string;
  linkname: string;
  size: number;
  typeflag: number;
}

function cstr(buf: Buffer, start: number, len: number): string {
  let end = buf.indexOf(0, start);
  if (end < 0 || end > start + len) end = start + len;
  return buf.toString('utf8', start, end);
}

/** Octal (space/NUL padded) or GNU base-256 numeric field. */
export function decodeNumber(buf: Buffer, start: number, len: number): number {
  const first = buf[start]!;
  if (first & 0x80) {
    // base-256: big-endian two's complement with the top bit as marker
    let v = first & 0x3f;
    for (let i = 1; i < len; i++) v = v * 256 + buf[start + i]!;
    return first & 0x40 ? -v : v;
  }
  let i = start;
  const end = start + len;
  while (i < end && (buf[i] === 32 || buf[i] === 0)) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c < 48 || c > 55) break;
    v = v * 8 + (c - 48);
    digits++;
  }
  return digits === 0 ? 0 : v;
}

function isZeroBlock(buf: Buffer, off: number): boolean {
  for (let i = off; i < off + 512; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Sum of the 512 bytes at `off`. On a 4-byte aligned block it adds 32-bit words in two 16-bit lanes
 * each (bytes 0+2 and 1+3: at most 128 × 255 per lane, no carry between lanes), a quarter of the
 * iterations of a byte loop: this sum is a fifth of a cold walk's CPU otherwise.
 */
let wordsOf: ArrayBufferLike | undefined;
let words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

export function byteSum512(buf: Buffer, off: number): number {
  const abs = buf.byteOffset + off;
  if ((abs & 3) === 0 && off + 512 <= buf.length) {
    // One word view per backing store (a walk reads all its headers through one window buffer).
    if (buf.buffer !== wordsOf) {
      wordsOf = buf.buffer;
      words = new Uint32Array(buf.buffer, 0, buf.buffer.byteLength >>> 2);
    }
    const w = words;
    const base = abs >>> 2;
    let even = 0;
    let odd = 0;
    for (let i = base; i < base + 128; i++) {
      const x = w[i]!;
      even += x & 0x00ff00ff;
      odd += (x >>> 8) & 0x00ff00ff;
    }
    return (even & 0xffff) + Math.floor(even / 65536) + (odd & 0xffff) + Math.floor(odd / 65536);
  }
  let s = 0;
  for (let i = off; i < off + 512; i++) s += buf[i]!;
  return s;
}

/** Decodes the 512-byte header at `off`; null for a zero block (end of archive). */
export function decodeHeader(buf: Buffer, off: number): RawHeader | null {
  // The unsigned byte sum, with the checksum field counted as spaces.
  let field = 0;
  for (let i = off + 148; i < off + 156; i++) field += buf[i]!;
  let unsigned = byteSum512(buf, off) - field;
  if (unsigned === 0 && field === 0) return null; // a zero block
  unsigned += 8 * 32;
  const stored = decodeNumber(buf, off + 148, 8);
  if (stored !== unsigned) {
    // Some old writers summed signed bytes.
    let signed = 0;
    for (let i = 0; i < 512; i++) {
      const b = i >= 148 && i < 156 ? 32 : buf[off + i]!;
      signed += b > 127 ? b - 256 : b;
    }
    if (stored !== signed) throw new TarFormatError('invalid tar header checksum');
  }
  let name = cstr(buf, off, 100);
  // POSIX ustar magic "ustar\0" (GNU's "ustar  \0" has no prefix field)
  if (buf[off + 257] === 0x75 && buf[off + 258] === 0x73 && buf[off + 259] === 0x74 && buf[off + 260] === 0x61 && buf[off + 261] === 0x72 && buf[off + 262] === 0) {
    if (buf[off + 345] !== 0) name = `${cstr(buf, off + 345, 155)}/${name}`;
  }
  const typeflag = buf[off + 156]!;
  const linkname = buf[off + 157] === 0 ? '' : cstr(buf, off + 157, 100);
  return { name, linkname, size: decodeNumber(buf, off + 124, 12), typeflag };
}

/** Parses PAX extended header records ("%d key=value\n"). */
export function parsePax(body: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < body.length) {
    let sp = i;
    while (sp < body.length && body[sp] !== 32) sp++;
    const len = parseInt(body.toString('latin1', i, sp), 10);
    if (!Number.isFinite(len) || len <= 0 || i + len > body.length) break;
    const rec = body.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

export const FLAG_PAX = 120; // 'x'
export const FLAG_PAX_GLOBAL = 103; // 'g'
export const FLAG_GNU_LONGNAME = 76; // 'L'
export const FLAG_GNU_LONGLINK = 75; // 'K'
export const FLAG_GNU_VOLHDR = 86; // 'V'
