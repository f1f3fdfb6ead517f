import { accessSync, constants, promises as fsp, statSync } from 'node:fs';
import path from 'node:path';
import { inputError } from '../errors.js';
import { onCleanup } from './cleanup.js';

/** Why `file` cannot be written, in words, from an errno code. */
function why(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'ENOENT') return 'its directory does not exist';
  if (code === 'ENOTDIR') return 'a part of its path is not a directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'read-only file system';
  if (code === 'ENOSPC') return 'no space left on the device';
  return err instanceof Error ? err.message : String(err);
}

/**
 * Checks before any work that a report can be written to `file`: not a directory, in a directory
 * that exists and can be written. The write itself stays atomic (writeFileAtomic).
 */
export function checkOutputPath(file: string): void {
  const target = path.resolve(file);
  try {
    if (statSync(target).isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw inputError(`cannot write ${file}: ${why(err)}`, err);
  }
  try {
    accessSync(path.dirname(target), constants.W_OK);
  } catch (err) {
    throw inputError(`cannot write ${file}: ${why(err)}`, err);
  }
}

/**
 * Writes `data` to `file` atomically: a temp file in the same directory, fsync, then rename, so a
 * reader never sees half a report and a failed run leaves the previous file (or none) in place.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  let handle: fsp.FileHandle | undefined;
  const unregister = onCleanup(() => fsp.rm(tmp, { force: true }));
  try {
    handle = await fsp.open(tmp, 'wx');
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, file);
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw inputError(`cannot write ${file}: ${why(err)}`, err);
  } finally {
    unregister();
  }
}
