/**
 * `--verify` for a layer read from a store (docs/formats.md "Containers storage"): the layer's tar is
 * rebuilt as `podman save` rebuilds it, the tar-split's segments and each body read from the diff
 * directory, in order, and its digest checked against the diff ID. A full read of every byte, as
 * `--verify` is everywhere else.
 */
import { closeSync, constants, openSync, readSync, realpathSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { inputError } from '../errors.js';
import { MAX_TAR_SPLIT_TEXT } from '../walk/tar-split-walker.js';

/** One line of a tar-split record: a segment of raw tar bytes (2) or a file body (1). */
interface SplitLine {
  type?: number;
  name?: string;
  name_raw?: string;
  size?: number;
  payload?: string | null;
}

const SLASH = 0x2f;

/** The body's path under `root` (real, no symlink in it): the tar name without `./` or `/`, no `..`; undefined for a name that leaves it. */
function bodyPath(root: Buffer, name: Buffer): Buffer | undefined {
  const parts = name.toString('latin1').split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return undefined;
  const file = Buffer.concat([root, ...parts.map((p) => Buffer.concat([Buffer.from('/'), Buffer.from(p, 'latin1')]))]);
  const dir = realpathSync(file.subarray(0, file.lastIndexOf(SLASH)), { encoding: 'buffer' });
  return dir.equals(root) || (dir.length > root.length && dir[root.length] === SLASH && dir.subarray(0, root.length).equals(root)) ? file : undefined;
}

/** Hashes `size` bytes of a body from the diff directory; the file must hold exactly that many. */
function hashBody(hash: ReturnType<typeof createHash>, root: Buffer, line: SplitLine, size: number): void {
  const name = line.name_raw ? Buffer.from(line.name_raw, 'base64') : Buffer.from(line.name ?? '', 'utf8');
  const file = bodyPath(root, name);
  if (!file) throw inputError(`'${name.toString()}' lies outside the layer's diff directory`);
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const buf = Buffer.allocUnsafe(Math.min(size, 1 << 20));
    let got = 0;
    for (let r = 1; got < size && r > 0; got += r) {
      r = readSync(fd, buf, 0, Math.min(buf.length, size - got), got);
      hash.update(buf.subarray(0, r));
    }
    if (got !== size || readSync(fd, Buffer.alloc(1), 0, 1, size) !== 0) throw inputError(`'${name.toString()}' in the diff directory is not the ${size} bytes the tar-split gives`);
  } finally {
    closeSync(fd);
  }
}

/** Rebuilds a layer's tar from its tar-split and diff directory and checks it against its diff ID. */
export function verifyStoredLayer(tarSplitGz: Buffer, diffDir: string, diffId: string): void {
  const alg = diffId.split(':')[0]!;
  if (alg !== 'sha256' && alg !== 'sha512') throw inputError(`unsupported digest algorithm in ${diffId}`);
  let text: Buffer;
  try {
    text = gunzipSync(tarSplitGz, { maxOutputLength: MAX_TAR_SPLIT_TEXT });
  } catch (err) {
    throw inputError(`corrupt tar-split: ${(err as Error).message}`, err);
  }
  const root = realpathSync(diffDir, { encoding: 'buffer' });
  const hash = createHash(alg);
  for (const raw of text.toString('utf8').split('\n')) {
    if (!raw.trim()) continue;
    let line: SplitLine;
    try {
      line = JSON.parse(raw) as SplitLine;
    } catch {
      throw inputError('corrupt tar-split: a line is not JSON');
    }
    if (line.type === 2 && line.payload) hash.update(Buffer.from(line.payload, 'base64'));
    else if (line.type === 1 && (line.size ?? 0) > 0) hashBody(hash, root, line, line.size!);
  }
  const got = `${alg}:${hash.digest('hex')}`;
  if (got !== diffId) throw inputError(`the tar rebuilt from the store has digest ${got}, not its diff ID ${diffId}`);
}
