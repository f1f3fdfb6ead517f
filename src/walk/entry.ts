import { normalizeEntryPath } from '../util/paths.js';
import type { EntryType, WalkedEntry } from './types.js';

/**
 * Maps a ustar/GNU/PAX typeflag (as a char code, NUL = 0) to an entry type. Unknown flags are regular
 * files, as POSIX says; GNU `D` (dumpdir) is a directory whose body is a listing, not content.
 */
export function typeFromFlag(flag: number): EntryType {
  switch (flag) {
    case 0:
    case 48: // '0'
    case 55: // '7' contiguous
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
      return 'other';
    default:
      return 'file';
  }
}

/** tar-stream's type names to ours (null = a flag tar-stream does not know: a regular file). */
export function typeFromTarStream(type: string | null | undefined): EntryType {
  switch (type) {
    case 'file':
    case 'contiguous-file':
    case null:
    case undefined:
      return 'file';
    case 'link':
      return 'hardlink';
    case 'symlink':
      return 'symlink';
    case 'directory':
      return 'dir';
    default:
      return 'other';
  }
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
