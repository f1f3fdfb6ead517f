/**
 * The third input of the one tar decoder (docs/formats.md "Engine layer stores"): a layer the engine
 * unpacked, read from its tar-split record and its diff directory instead of a tar. tar-split keeps
 * every byte of the layer's tar except the file bodies (headers, PAX and GNU records, padding, the end
 * blocks), so those bytes go through the same parser as a tar walk and give the same entries,
 * whiteouts and names; the bodies are counted past, and read from the diff directory only for the
 * files a capture or a probe asks for.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { inputError } from '../errors.js';
import { probeSeekable } from '../inspect/probe.js';
import { decodeName, encodeName } from './names.js';
import { TarSink } from './stream-walker.js';
import { TarFormatError, type TarEntryHead } from './tar-header.js';
import type { LayerWalk, WalkedEntry, WalkOptions } from './types.js';

/** A layer walked from the store, with what its size check needs. */
export interface StoreWalk {
  walk: LayerWalk;
  /** Bytes of the bodies the tar-split names (what the diff directory holds for them). */
  bodyBytes: number;
  /** Bytes of symlink targets: the engine's recorded layer size counts them beside file bodies. */
  symlinkBytes: number;
}

/** One line of a tar-split file: type 1 is a file body (name, size), type 2 a segment of raw tar bytes. */
interface SplitEntry {
  type?: number;
  name?: string;
  /** The name's bytes (base64) where they are not UTF-8: tar-split writes this instead of `name`. */
  name_raw?: string;
  size?: number;
  payload?: string | null;
  position?: number;
}

/**
 * The most a tar-split may inflate to (about 800k entries): the record is read whole, so this bounds
 * the memory a store read takes; a bigger one is refused and, in auto mode, the image is exported.
 */
export const MAX_TAR_SPLIT_TEXT = 256 * 1024 * 1024;

/** The entries of a gzipped tar-split file; a truncated, corrupt, out-of-order or oversized one throws. */
function* splitEntries(gz: Buffer, maxText: number): Generator<SplitEntry> {
  let text: Buffer;
  try {
    text = gunzipSync(gz, { maxOutputLength: maxText });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new TarFormatError(`tar-split inflates to more than ${maxText} bytes`);
    throw new TarFormatError(`corrupt tar-split: ${(err as Error).message}`);
  }
  let at = 0;
  let position = 0;
  while (at < text.length) {
    let nl = text.indexOf(10, at);
    if (nl < 0) nl = text.length;
    const line = text.toString('utf8', at, nl);
    at = nl + 1;
    if (!line.trim()) continue;
    let e: SplitEntry;
    try {
      e = JSON.parse(line) as SplitEntry;
    } catch {
      throw new TarFormatError(`corrupt tar-split: entry ${position} is not JSON`);
    }
    if (e.position !== undefined && e.position !== position) throw new TarFormatError(`corrupt tar-split: entry ${position} says position ${e.position}`);
    if (e.type !== 1 && e.type !== 2) throw new TarFormatError(`corrupt tar-split: entry ${position} has type ${String(e.type)}`);
    position++;
    yield e;
  }
}

/** CRC-64 with the ISO polynomial (Go's crc64.ISO, reversed 0xD800000000000000) as two 32-bit tables. */
const CRC_HI = new Uint32Array(256);
const CRC_LO = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let hi = 0;
  let lo = i;
  for (let k = 0; k < 8; k++) {
    const odd = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi >>>= 1;
    if (odd) hi = (hi ^ 0xd8000000) >>> 0;
  }
  CRC_HI[i] = hi;
  CRC_LO[i] = lo;
}

/** The CRC-64/ISO of `buf` as tar-split records it in a file line's payload: 8 bytes, big-endian, base64. */
function tarSplitCrc(buf: Buffer): string {
  let hi = 0xffffffff;
  let lo = 0xffffffff;
  for (let i = 0; i < buf.length; i++) {
    const t = (lo ^ buf[i]!) & 0xff;
    lo = (CRC_LO[t]! ^ ((lo >>> 8) | (hi << 24))) >>> 0;
    hi = (CRC_HI[t]! ^ (hi >>> 8)) >>> 0;
  }
  const out = Buffer.alloc(8);
  out.writeUInt32BE(~hi >>> 0, 0);
  out.writeUInt32BE(~lo >>> 0, 4);
  return out.toString('base64');
}

/** Reads `n` bytes at `offset` of an open file, fewer only at its end. */
function pread(fd: number, offset: number, n: number): Buffer {
  const buf = Buffer.allocUnsafe(n);
  let got = 0;
  while (got < n) {
    const r = readSync(fd, buf, got, n - got, offset + got);
    if (r === 0) break;
    got += r;
  }
  return got === n ? buf : buf.subarray(0, got);
}

/** Whether `inner` (bytes of a real path) is `root` or lies under it. */
function under(root: Buffer, inner: Buffer): boolean {
  return inner.equals(root) || (inner.length > root.length && inner[root.length] === 0x2f && inner.subarray(0, root.length).equals(root));
}

/**
 * Fills in what the walk options ask of a file's body, read from the diff directory: the same
 * predicates and the same conditions (a regular, non-sparse file) as the tar walkers. The file on
 * disk must have the size the headers give, and a captured body the CRC-64 the engine recorded for
 * it (`crc`, what `docker save` checks each body against). Paths are bytes
 * (docs/formats.md "Names are bytes"): a name that is not UTF-8 opens the file the engine unpacked
 * under those bytes. `root` is the diff directory's real path (no symlink in it).
 */
function fillBody(root: Buffer, e: WalkedEntry, h: TarEntryHead, opts: WalkOptions, crc: string | null | undefined): void {
  if (e.type !== 'file' || h.sparse) return;
  const capture = opts.capture?.(e.path, e.size);
  const spec = capture ? undefined : opts.probe?.(e.path, e.size);
  if (!capture && !spec) return;
  // An empty body is known without the disk, and a whiteout marker (an empty `.wh.` entry) has no file
  // under its name there: overlay made it a 0/0 device under the name it hides (docs/formats.md "Engine layer stores").
  if (e.size === 0) {
    if (capture) e.body = Buffer.alloc(0);
    else e.probe = probeSeekable(spec!, 0, () => Buffer.alloc(0));
    return;
  }
  // The file as the engine unpacked it, never through a symlink (a layer cannot send a read outside its directory).
  const rel = encodeName(e.path);
  const slash = rel.lastIndexOf(0x2f);
  let fd: number;
  try {
    const dir = realpathSync.native(slash < 0 ? root : Buffer.concat([root, Buffer.from('/'), rel.subarray(0, slash)]), { encoding: 'buffer' });
    if (!under(root, dir)) throw new TarFormatError(`'${e.path}' lies outside the layer's diff directory`);
    fd = openSync(Buffer.concat([dir, Buffer.from('/'), rel.subarray(slash + 1)]), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if (err instanceof TarFormatError) throw err;
    throw new TarFormatError(`'${e.path}' cannot be opened in the diff directory (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const size = fstatSync(fd).size;
    if (size !== e.size) throw new TarFormatError(`'${e.path}' has ${size} bytes in the diff directory where the headers give ${e.size}`);
    if (capture) {
      e.body = pread(fd, 0, e.size);
      if (crc && tarSplitCrc(e.body) !== crc) throw new TarFormatError(`'${e.path}' in the diff directory is not the file the layer holds (its CRC-64 is not the one the tar-split records)`);
    } else e.probe = probeSeekable(spec!, e.size, (o, n) => pread(fd, o, n));
  } finally {
    closeSync(fd);
  }
}

/** The name a tar-split line gives its entry (for messages). */
function splitName(s: SplitEntry): string {
  return s.name_raw !== undefined ? decodeName(Buffer.from(s.name_raw, 'base64')) : (s.name ?? '');
}

/**
 * Counts an entry's body past; a tar-split whose body disagrees with the headers says which entry.
 * Two kinds of layer Docker unpacks give one (and `docker save` cannot rebuild their tar either):
 * a GNU sparse file, which tar-split records at its expanded size, and a header-only entry (a
 * directory, a link, a device) whose header carries a size, which tar-split records as a body.
 */
function skipBody(sink: TarSink, s: SplitEntry, size: number, segment: Buffer | undefined): ReturnType<TarSink['skipBody']> {
  try {
    return sink.skipBody(size);
  } catch (err) {
    if (!(err instanceof TarFormatError)) throw err;
    const sparse = segment?.includes('GNU.sparse.') ? ' (a GNU sparse file: the engine keeps it expanded, so its tar cannot be rebuilt)' : '';
    const headerOnly = !sparse && /where the headers give 0$/.test(err.message) && s.payload === 'AAAAAAAAAAA=' ? ' (a header-only entry with a size field: tar-split records a body the tar did not have)' : '';
    throw new TarFormatError(`'${splitName(s)}': ${err.message}${sparse}${headerOnly}`);
  }
}

/**
 * Walks a layer from its gzipped tar-split record and its diff directory. The walk is the one a tar
 * walk of the layer the engine exports gives (`tarBytes` included); a tar-split that disagrees with
 * its own headers, or ends early, is an input error.
 */
export function walkTarSplit(tarSplitGz: Buffer, diffDir: string, opts: WalkOptions = {}, maxText = MAX_TAR_SPLIT_TEXT): StoreWalk {
  const root = realpathSync.native(diffDir, { encoding: 'buffer' });
  const sink = new TarSink({});
  let symlinkBytes = 0;
  let bodyBytes = 0;
  let segment: Buffer | undefined;
  try {
    for (const s of splitEntries(tarSplitGz, maxText)) {
      if (s.type === 2) {
        segment = s.payload ? Buffer.from(s.payload, 'base64') : undefined;
        if (segment) sink.feedSync(segment);
        continue;
      }
      const size = s.size ?? 0;
      if (!Number.isSafeInteger(size) || size < 0) throw new TarFormatError(`corrupt tar-split: size ${String(s.size)}`);
      const cur = skipBody(sink, s, size, segment);
      segment = undefined;
      bodyBytes += size;
      if (!cur) continue;
      if (cur.e.type === 'symlink') symlinkBytes += Buffer.byteLength(cur.h.linkname);
      fillBody(root, cur.e, cur.h, opts, s.payload);
    }
    sink.endSync();
  } catch (err) {
    if (err instanceof TarFormatError) throw inputError(err.message, err);
    throw err;
  }
  if (!sink.endMarker) throw inputError('truncated tar-split: no end-of-archive block');
  return { walk: sink.b.finish(sink.pos, sink.endMarker), bodyBytes, symlinkBytes };
}
