/**
 * The one tar decoder both layer walkers drive (docs/formats.md "Layer tars"): the seeking walker
 * feeds it headers read by offset, the streaming walker feeds it headers as they arrive, so identical
 * bytes give one answer. It decides what Go's archive/tar decides (Docker unpacks layers with it):
 * which entries have a body, how PAX and GNU long names apply, how sparse files are laid out, and
 * what is an error.
 */
import { decodeName } from './names.js';

export class TarFormatError extends Error {}

/** Go's maxSpecialFileSize: the most a PAX header or a GNU long name/link body may hold. */
export const MAX_META = 1 << 20;

export interface RawHeader {
  name: string;
  linkname: string;
  size: number;
  typeflag: number;
}

function cstr(buf: Buffer, start: number, len: number): string {
  let end = buf.indexOf(0, start);
  if (end < 0 || end > start + len) end = start + len;
  return decodeName(buf, start, end);
}

/**
 * Octal (space/NUL padded) or GNU base-256 numeric field, as Go parses it: anything else in an octal
 * field is an error (`what` names the field), never a silently shorter number.
 */
export function decodeNumber(buf: Buffer, start: number, len: number, what = 'numeric'): number {
  const first = buf[start]!;
  if (first & 0x80) {
    // base-256: big-endian two's complement with the top bit as marker
    const neg = (first & 0x40) !== 0;
    let v = (neg ? ~first : first) & 0x3f;
    for (let i = 1; i < len; i++) v = v * 256 + ((neg ? ~buf[start + i]! : buf[start + i]!) & 0xff);
    if (!Number.isSafeInteger(v + 1)) throw new TarFormatError(`invalid ${what} field (out of range)`);
    return neg ? -(v + 1) : v;
  }
  // As Go's parseOctal: spaces and NULs trimmed at both ends, then the string ends at a NUL.
  let i = start;
  let end = start + len;
  while (i < end && (buf[i] === 32 || buf[i] === 0)) i++;
  while (end > i && (buf[end - 1] === 32 || buf[end - 1] === 0)) end--;
  const nul = buf.indexOf(0, i);
  if (nul >= 0 && nul < end) end = nul;
  let v = 0;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c < 48 || c > 55) throw new TarFormatError(`invalid ${what} field`);
    v = v * 8 + (c - 48);
  }
  return v;
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

export function isZeroBlock(buf: Buffer, off: number): boolean {
  for (let i = off; i < off + 512; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Decodes the 512-byte header at `off`; null for a zero block (end of archive). */
export function decodeHeader(buf: Buffer, off: number): RawHeader | null {
  // The unsigned byte sum, with the checksum field counted as spaces.
  let field = 0;
  for (let i = off + 148; i < off + 156; i++) field += buf[i]!;
  let unsigned = byteSum512(buf, off) - field;
  if (unsigned === 0 && field === 0) return null; // a zero block
  unsigned += 8 * 32;
  let stored: number;
  try {
    stored = decodeNumber(buf, off + 148, 8, 'checksum');
  } catch {
    throw new TarFormatError('invalid tar header checksum');
  }
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
  const size = decodeNumber(buf, off + 124, 12, 'size');
  return { name, linkname, size, typeflag };
}

export const FLAG_PAX = 120; // 'x'
export const FLAG_PAX_GLOBAL = 103; // 'g'
export const FLAG_GNU_LONGNAME = 76; // 'L'
export const FLAG_GNU_LONGLINK = 75; // 'K'
export const FLAG_GNU_SPARSE = 83; // 'S'

/** Go's isHeaderOnlyType: these entries never have a body, whatever their size field says. */
export function isHeaderOnly(flag: number): boolean {
  return flag === 49 || flag === 50 || flag === 51 || flag === 52 || flag === 53 || flag === 54;
}

/** A PAX record's value: path-like values are bytes (decoded losslessly), the rest text. */
type PaxRecords = Map<string, string>;

const PATH_KEYS = new Set(['path', 'linkpath', 'GNU.sparse.name']);

/**
 * Parses PAX extended header records ("%d key=value\n") as Go does: a malformed record is an error.
 * GNU sparse 0.0's repeated `GNU.sparse.offset`/`GNU.sparse.numbytes` are joined into `GNU.sparse.map`.
 */
export function parsePax(body: Buffer): PaxRecords {
  const out: PaxRecords = new Map();
  const sparse: string[] = [];
  let i = 0;
  const bad = (why: string): never => {
    throw new TarFormatError(`invalid PAX record at byte ${i} of the header: ${why}`);
  };
  while (i < body.length) {
    const sp = body.indexOf(32, i);
    if (sp < 0 || sp - i > 20) bad('no length');
    const lenText = body.toString('latin1', i, sp);
    if (!/^[0-9]+$/.test(lenText)) bad('the length is not a decimal number');
    const len = Number(lenText);
    if (len < 5 || i + len > body.length) bad(`length ${len} does not fit`);
    const recEnd = i + len - 1;
    if (recEnd <= sp || body[recEnd] !== 10) bad('no newline at the end');
    const eq = body.indexOf(61, sp + 1);
    if (eq < 0 || eq >= recEnd || eq === sp + 1) bad('no key');
    const key = body.toString('utf8', sp + 1, eq);
    const hasNul = (a: number, b: number): boolean => {
      const z = body.indexOf(0, a);
      return z >= 0 && z < b;
    };
    if (PATH_KEYS.has(key) || key === 'uname' || key === 'gname' ? hasNul(eq + 1, recEnd) : hasNul(sp + 1, eq)) bad(`NUL in ${key}`);
    const value = PATH_KEYS.has(key) ? decodeName(body, eq + 1, recEnd) : body.toString('utf8', eq + 1, recEnd);
    if (key === 'GNU.sparse.offset' || key === 'GNU.sparse.numbytes') {
      if ((sparse.length % 2 === 0) !== (key === 'GNU.sparse.offset') || value.includes(',')) bad('GNU sparse 0.0 records out of order');
      sparse.push(value);
    } else {
      out.set(key, value);
    }
    i += len;
  }
  if (sparse.length) out.set('GNU.sparse.map', sparse.join(','));
  return out;
}

const DECIMAL = /^[0-9]{1,16}$/;

function paxNumber(v: string, what: string): number {
  if (!DECIMAL.test(v) || !Number.isSafeInteger(Number(v))) throw new TarFormatError(`invalid PAX ${what} '${v.slice(0, 40)}'`);
  return Number(v);
}

/** How a sparse file is stored: `data` bytes of content in the archive, the rest of `size` holes. */
export interface SparseLayout {
  format: 'gnu' | '0.0' | '0.1' | '1.0';
  /** Bytes of the body that hold the map (format 1.0 only; known once the map was read). */
  mapBytes: number;
  /** Bytes of file content the archive holds. */
  data: number;
}

export interface TarEntryHead {
  name: string;
  linkname: string;
  /** Typeflag after Go's normalisation (NUL is '0', or '5' for a name ending in '/'). */
  typeflag: number;
  /** The size the file has once unpacked (a sparse file's real size). */
  size: number;
  /** Bytes of body that follow the header in the archive (0 for header-only types). */
  stored: number;
  sparse?: SparseLayout;
}

export type TarStep =
  /** A zero block: the end of the archive. */
  | { kind: 'end' }
  /** The body (`size` bytes, ≤ MAX_META, padded to 512) of a PAX or GNU long-name header: pass it to `meta`. */
  | { kind: 'meta'; size: number }
  /** An old GNU sparse extension block follows: pass the next 512 bytes to `ext`. */
  | { kind: 'ext' }
  /** An entry; its body (`stored` bytes, padded to 512) follows. Format 1.0 sparse: see `sparseMap`. */
  | { kind: 'entry'; entry: TarEntryHead };

export function padded(n: number): number {
  return Math.ceil(n / 512) * 512;
}

const FLAG_NAMES: Record<number, string> = { 120: 'PAX', 103: 'global PAX', 76: 'GNU long name', 75: 'GNU long link' };

/** The parser state between headers: pending PAX records and GNU long names. */
export class TarParser {
  private pax: PaxRecords | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;
  private metaFlag = 0;
  /** An old GNU sparse entry waiting for its extension blocks. */
  private pending: { entry: TarEntryHead; map: Array<[number, number]> } | undefined;

  /** The header at `buf[off..off+512)`, `pos` bytes into the tar (for messages). */
  header(buf: Buffer, off: number, pos: number): TarStep {
    let h: RawHeader | null;
    try {
      h = decodeHeader(buf, off);
    } catch (err) {
      throw new TarFormatError(`${(err as Error).message} at offset ${pos}`);
    }
    if (h === null) return { kind: 'end' };
    const negative = (size: number): never => {
      throw new TarFormatError(`negative size ${size} in the header of '${h.name}' at offset ${pos}`);
    };
    const flag = h.typeflag;
    if (flag === FLAG_PAX || flag === FLAG_PAX_GLOBAL || flag === FLAG_GNU_LONGNAME || flag === FLAG_GNU_LONGLINK) {
      if (h.size < 0) negative(h.size);
      if (h.size > MAX_META) {
        throw new TarFormatError(`${FLAG_NAMES[flag]} header of ${h.size} bytes at offset ${pos} exceeds the ${MAX_META}-byte limit`);
      }
      this.metaFlag = flag;
      return { kind: 'meta', size: h.size };
    }
    const pax = this.pax;
    let name = h.name;
    let linkname = h.linkname;
    let size = h.size;
    if (pax) {
      const p = pax.get('path');
      if (p) name = p;
      const l = pax.get('linkpath');
      if (l) linkname = l;
      const s = pax.get('size');
      if (s) size = paxNumber(s, 'size'); // an empty value keeps the header's (Go's mergePAX)
    }
    if (this.longName) name = this.longName;
    if (this.longLink) linkname = this.longLink;
    this.pax = undefined;
    this.longName = undefined;
    this.longLink = undefined;
    let typeflag = flag;
    if (typeflag === 0) typeflag = name.endsWith('/') ? 53 : 48;
    // Go's handleRegularFile: a header-only type has no body whatever its size says, even a negative one.
    if (size < 0 && !isHeaderOnly(typeflag)) negative(size);
    const entry: TarEntryHead = { name, linkname, typeflag, size: Math.max(0, size), stored: isHeaderOnly(typeflag) ? 0 : size };
    if (typeflag === FLAG_GNU_SPARSE) {
      const map: Array<[number, number]> = [];
      this.sparseEntries(buf, off + 386, 4, map);
      entry.size = decodeNumber(buf, off + 483, 12, 'sparse real size');
      entry.sparse = { format: 'gnu', mapBytes: 0, data: 0 };
      if (buf[off + 482]) {
        this.pending = { entry, map };
        return { kind: 'ext' };
      }
      this.finishSparse(entry, map, pos);
    } else if (pax) {
      this.paxSparse(entry, pax, pos);
    }
    return { kind: 'entry', entry };
  }

  /** The body of the PAX or GNU long-name header `header` asked for. */
  meta(body: Buffer): void {
    switch (this.metaFlag) {
      case FLAG_PAX:
        this.pax = parsePax(body);
        break;
      case FLAG_PAX_GLOBAL:
        // Checked, then ignored: Go hands it to the caller as an entry of its own (which Docker
        // skips), and so forgets any PAX or long-name header that came before it.
        parsePax(body);
        this.pax = undefined;
        this.longName = undefined;
        this.longLink = undefined;
        break;
      case FLAG_GNU_LONGNAME:
        this.longName = cstr(body, 0, body.length);
        break;
      case FLAG_GNU_LONGLINK:
        this.longLink = cstr(body, 0, body.length);
        break;
    }
    this.metaFlag = 0;
  }

  /** An old GNU sparse extension block (21 entries, then the "more follow" flag at 504). */
  ext(block: Buffer, pos: number): TarStep {
    const p = this.pending!;
    this.sparseEntries(block, 0, 21, p.map);
    if (block[504]) return { kind: 'ext' };
    this.pending = undefined;
    this.finishSparse(p.entry, p.map, pos);
    return { kind: 'entry', entry: p.entry };
  }

  private sparseEntries(buf: Buffer, off: number, n: number, map: Array<[number, number]>): void {
    for (let k = 0; k < n; k++) {
      const at = off + k * 24;
      if (buf[at] === 0) break; // GNU and BSD tar stop at the first empty entry
      map.push([decodeNumber(buf, at, 12, 'sparse offset'), decodeNumber(buf, at + 12, 12, 'sparse length')]);
    }
  }

  private paxSparse(entry: TarEntryHead, pax: PaxRecords, pos: number): void {
    const major = pax.get('GNU.sparse.major') || undefined; // empty values count as absent, as in Go
    const minor = pax.get('GNU.sparse.minor') || undefined;
    let format: SparseLayout['format'];
    if (major === '0' && (minor === '0' || minor === '1')) format = minor === '0' ? '0.0' : '0.1';
    else if (major === '1' && minor === '0') format = '1.0';
    else if (major !== undefined || minor !== undefined) return; // an unknown version: Go reads it as a plain file
    else if (pax.get('GNU.sparse.map')) format = '0.1';
    else return;
    const realName = pax.get('GNU.sparse.name');
    if (realName) entry.name = realName;
    const size = pax.get('GNU.sparse.size') || pax.get('GNU.sparse.realsize') || undefined;
    if (size !== undefined) entry.size = paxNumber(size, 'GNU.sparse.size');
    entry.sparse = { format, mapBytes: 0, data: 0 };
    if (format === '1.0') return; // the map is at the start of the body: see sparseMap
    const mapText = pax.get('GNU.sparse.map') ?? '';
    const fields = mapText === '' ? [] : mapText.split(',');
    if (fields.length % 2) throw new TarFormatError(`invalid GNU sparse map of '${entry.name}' at offset ${pos}`);
    const map: Array<[number, number]> = [];
    for (let k = 0; k < fields.length; k += 2) map.push([paxNumber(fields[k]!, 'sparse offset'), paxNumber(fields[k + 1]!, 'sparse length')]);
    this.finishSparse(entry, map, pos);
  }

  /**
   * Format 1.0 keeps its map in decimal lines at the start of the body, padded to 512. Given the
   * first bytes of the body, fills in the layout and returns true, or returns false when it needs more
   * of the body (a multiple of 512 more; never more than MAX_META).
   */
  sparseMap(entry: TarEntryHead, head: Buffer, pos: number): boolean {
    const bad = (): never => {
      throw new TarFormatError(`invalid GNU sparse 1.0 map of '${entry.name}' at offset ${pos}`);
    };
    const nums: number[] = [];
    let i = 0;
    let want = -1;
    while (want < 0 || nums.length < 1 + 2 * want) {
      const nl = head.indexOf(10, i);
      if (nl < 0) {
        if (head.length >= Math.min(entry.stored, MAX_META)) bad();
        return false;
      }
      const t = head.toString('latin1', i, nl);
      if (!DECIMAL.test(t)) bad();
      nums.push(Number(t));
      i = nl + 1;
      if (want < 0) want = nums[0]!;
    }
    const map: Array<[number, number]> = [];
    for (let k = 1; k < nums.length; k += 2) map.push([nums[k]!, nums[k + 1]!]);
    entry.sparse!.mapBytes = padded(i);
    if (entry.sparse!.mapBytes > entry.stored) bad();
    this.finishSparse(entry, map, pos);
    return true;
  }

  /** Checks a sparse map as Go does (sorted, inside the file, exactly the data stored) and records its size. */
  private finishSparse(entry: TarEntryHead, map: Array<[number, number]>, pos: number): void {
    if (entry.size < 0) throw new TarFormatError(`invalid GNU sparse real size ${entry.size} of '${entry.name}' at offset ${pos}`);
    let data = 0;
    let last = 0;
    for (const [o, n] of map) {
      if (o < last || o < 0 || n < 0 || o + n > entry.size) {
        throw new TarFormatError(`invalid GNU sparse map of '${entry.name}' at offset ${pos}: a region lies outside the file or out of order`);
      }
      last = o + n;
      data += n;
    }
    const sp = entry.sparse!;
    if (data !== entry.stored - sp.mapBytes) {
      throw new TarFormatError(
        `invalid GNU sparse map of '${entry.name}' at offset ${pos}: it maps ${data} bytes but the archive stores ${entry.stored - sp.mapBytes}`,
      );
    }
    sp.data = data;
  }
}

/** A typeflag for a message: `'V'`, or its number when it is not printable. */
export function describeFlag(flag: number): string {
  return flag >= 32 && flag < 127 ? `'${String.fromCharCode(flag)}'` : `${flag}`;
}
