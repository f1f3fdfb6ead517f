import { normalizeEntryPath } from '../util/paths.js';
import { describeFlag, type TarEntryHead } from './tar-header.js';
import type { EntryType, LayerWalk, WalkedEntry } from './types.js';

/**
 * Maps a typeflag (as a char code, after the parser's normalisation of NUL) to an entry type.
 * Unknown flags are regular files, as POSIX says; GNU `S` (sparse) is a regular file, `D` (dumpdir)
 * a directory whose body is a listing, `V` (volume label) and `M` (continuation) are not files.
 */
export function typeFromFlag(flag: number): EntryType {
  switch (flag) {
    case 0:
    case 48: // '0'
    case 55: // '7' contiguous
    case 83: // 'S' GNU sparse
      return 'file';
    case 49: // '1'
      return 'hardlink';
    case 50: // '2'
      return 'symlink';
    case 53: // '5'
    case 68: // 'D'
      return 'dir';
    case 51: // '3'
    case 52: // '4'
    case 54: // '6'
    case 77: // 'M'
    case 86: // 'V'
      return 'other';
    default:
      return 'file';
  }
}

/** Whether Docker's unpacker (moby pkg/archive) handles this typeflag; it fails the layer on any other. */
export function dockerUnpacks(flag: number): boolean {
  return flag === 0 || (flag >= 48 && flag <= 54);
}

/** Builds the entry record both walkers emit, so seek and stream modes agree on every field. */
export function makeEntry(name: string, type: EntryType, headerSize: number, linkname: string | undefined): WalkedEntry {
  const path = normalizeEntryPath(name);
  const size = type === 'file' || type === 'hardlink' ? headerSize : 0;
  const e: WalkedEntry = { path, type, size };
  if (type === 'hardlink' && linkname !== undefined) e.link = normalizeEntryPath(linkname);
  else if (type === 'symlink' && linkname !== undefined) e.link = linkname;
  return e;
}

/** Whether an entry's bytes count as file content (regular files; hardlinks only if they carry data). */
export function contentBytes(e: WalkedEntry): number {
  return e.type === 'file' || e.type === 'hardlink' ? e.size : 0;
}

/** Whether an entry counts as a file of the layer (regular files and hardlinks, not whiteout markers). */
export function isCountedFile(e: WalkedEntry): boolean {
  if (e.type !== 'file' && e.type !== 'hardlink') return false;
  const slash = e.path.lastIndexOf('/');
  return !e.path.startsWith('.wh.', slash + 1);
}

/** At most this many warnings about odd typeflags per layer, then a count. */
const MAX_FLAG_WARNINGS = 10;

/** What both walkers build from the parser's entries, so they count alike. */
export class WalkBuilder {
  readonly entries: WalkedEntry[] = [];
  fileBytes = 0;
  files = 0;
  holeBytes = 0;
  private odd = 0;
  private readonly warnings: string[] = [];

  add(h: TarEntryHead): WalkedEntry {
    const type = typeFromFlag(h.typeflag);
    const e = makeEntry(h.name, type, type === 'file' ? h.size : 0, h.linkname);
    this.entries.push(e);
    this.fileBytes += contentBytes(e);
    if (isCountedFile(e)) this.files++;
    if (h.sparse) this.holeBytes += h.size - h.sparse.data;
    if (!dockerUnpacks(h.typeflag)) {
      if (this.odd++ < MAX_FLAG_WARNINGS) {
        this.warnings.push(`entry '${e.path}' has typeflag ${describeFlag(h.typeflag)}, which Docker does not unpack (counted here as ${type === 'other' ? 'not a file' : `a ${type}`})`);
      }
    }
    return e;
  }

  finish(tarBytes: number, endMarker: boolean): LayerWalk {
    const warnings = [...this.warnings];
    if (this.odd > MAX_FLAG_WARNINGS) warnings.push(`${this.odd - MAX_FLAG_WARNINGS} more entries with typeflags Docker does not unpack`);
    if (!endMarker) warnings.push('tar has no end-of-archive marker');
    const w: LayerWalk = { entries: this.entries, tarBytes, fileBytes: this.fileBytes, files: this.files, endMarker, warnings };
    if (this.holeBytes > 0) w.holeBytes = this.holeBytes;
    return w;
  }
}
