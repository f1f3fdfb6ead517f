import { type Stats, statSync } from 'node:fs';
import { inputError } from '../errors.js';

/** What a path is, for a message: "a directory", "a FIFO", … */
export function describeStat(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * The stat of a regular file (symlinks followed), or an input error naming `shown` and what it is
 * instead: a FIFO would block forever and /dev/zero never ends (docs/architecture.md "Resource bounds").
 */
export function regularFile(p: string, shown = p): Stats {
  let st: Stats;
  try {
    st = statSync(p);
  } catch (err) {
    throw inputError(`${shown}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  }
  if (!st.isFile()) throw inputError(`${shown}: is ${describeStat(st)}, not a regular file`);
  return st;
}

/** The stat of a path when it exists (symlinks followed), else undefined. */
export function statOrUndefined(p: string): Stats | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}
