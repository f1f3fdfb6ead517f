import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { inputError } from '../errors.js';
import { onCleanup } from './cleanup.js';

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
    const msg = err instanceof Error ? err.message : String(err);
    throw inputError(`cannot write ${file}: ${msg}`, err);
  } finally {
    unregister();
  }
}
