import { closeSync, constants as fsConstants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import { ImgscopeError, inputError } from '../errors.js';

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

/**
 * A small text file read whole, only when it is a regular file of at most `maxBytes`: a FIFO is
 * refused before it is opened (it would block forever), a directory or device by name, and a file
 * over the cap before it is read (docs/architecture.md "Resource bounds"). `shown` names the file in
 * the one-line error (exit 2).
 */
export function readSmallFile(p: string, shown: string, maxBytes: number): string {
  const st = regularFile(p, shown);
  if (st.size > maxBytes) throw inputError(`${shown}: ${st.size} bytes, over the ${maxBytes}-byte limit for this file`);
  let fd: number | undefined;
  try {
    // O_NONBLOCK: should the path have become a FIFO since the stat, opening it does not wait for a writer
    fd = openSync(p, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) throw inputError(`${shown}: not a regular file`);
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r;
    if (n > maxBytes) throw inputError(`${shown}: over the ${maxBytes}-byte limit for this file`);
    return buf.subarray(0, n).toString('utf8');
  } catch (err) {
    if (err instanceof ImgscopeError) throw err;
    throw inputError(`${shown}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
