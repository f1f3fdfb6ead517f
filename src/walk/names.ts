/**
 * Tar names are bytes (docs/formats.md "Names are bytes"): Go's archive/tar, which Docker unpacks
 * with, and GNU tar keep `app/\xff.bin` and `app/\xfe.bin` as two files. A JavaScript string holds
 * UTF-16, so a name is decoded as UTF-8 where it is valid and every byte that is not part of a valid
 * sequence becomes the lone surrogate U+DC00+byte (Python's "surrogateescape"). Valid UTF-8 never
 * decodes to a lone surrogate, so two different byte strings never give the same string, and
 * `encodeName` gives the bytes back. Human-readable output shows such a byte as `\xNN`.
 */

// ignoreBOM: a leading U+FEFF is part of the name (the default would drop it: `\uFEFF.wh.x` is no whiteout).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function allAscii(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i]! >= 0x80) return false;
  return true;
}

/** The name in bytes [start, end) of `buf`, decoded losslessly. */
export function decodeName(buf: Buffer, start = 0, end = buf.length): string {
  if (allAscii(buf, start, end)) return buf.toString('latin1', start, end);
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    return decodeEscaped(buf, start, end);
  }
}

/** Byte-by-byte UTF-8 decoding (RFC 3629: no overlongs, no surrogates, at most U+10FFFF). */
function decodeEscaped(buf: Buffer, start: number, end: number): string {
  let out = '';
  let i = start;
  while (i < end) {
    const b = buf[i]!;
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    let need = 0;
    let min = 0;
    let cp = 0;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      cp = b & 0x1f;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      cp = b & 0x0f;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      cp = b & 0x07;
      min = 0x10000;
    }
    let ok = need > 0 && i + need < end;
    if (ok) {
      for (let k = 1; k <= need; k++) {
        const c = buf[i + k]!;
        if ((c & 0xc0) !== 0x80) {
          ok = false;
          break;
        }
        cp = (cp << 6) | (c & 0x3f);
      }
    }
    if (ok && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) {
      out += String.fromCodePoint(cp);
      i += need + 1;
    } else {
      out += String.fromCharCode(0xdc00 + b);
      i++;
    }
  }
  return out;
}

/** Whether a string holds an escaped byte (or any other lone surrogate). */
export function hasEscapedBytes(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

/** A surrogate that is not half of a pair (String.prototype.isWellFormed is ES2024, past this build's target). */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The bytes a decoded name came from. */
export function encodeName(s: string): Buffer {
  if (!LONE_SURROGATE.test(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let run = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        run += s[i]! + s[i + 1]!;
        i++;
        continue;
      }
    }
    if (c >= 0xdc80 && c <= 0xdcff) {
      if (run) parts.push(Buffer.from(run, 'utf8'));
      run = '';
      parts.push(Buffer.of(c - 0xdc00));
    } else {
      run += s[i]!; // another lone surrogate cannot come from decodeName; UTF-8 writes U+FFFD
    }
  }
  if (run) parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts);
}
