/**
 * Reads the Dockerfile given to --dockerfile, before any image is read: a bad one is exit 2 at once.
 * `label` starts each error's message (default `--dockerfile FILE`; the Action names its own input).
 */
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { inputError } from '../errors.js';
import { readSmallFile } from '../util/files.js';
import { type Dockerfile, parseDockerfile } from './parse.js';

const MAX_BYTES = 4 * 1024 * 1024;

export function readDockerfile(file: string, label = `--dockerfile ${file}`): Dockerfile {
  // a regular file of at most 4 MiB, opened so that a FIFO never blocks (the one reader of small files)
  const text = readSmallFile(file, label, MAX_BYTES);
  try {
    return parseDockerfile(text, file);
  } catch (err) {
    throw inputError(`${label}: ${(err as Error).message}`, err);
  }
}

/**
 * Whether a path exists in the build context, taken to be the Dockerfile's directory (what `docker
 * build DIR` with DIR/Dockerfile uses). It only ever confirms a classic `dir:` COPY (docs/dockerfile.md
 * "What the builders record"): a context elsewhere leaves that COPY as weakly checked as before.
 */
export function contextProbe(dockerfile: string): (rel: string) => boolean {
  const dir = path.resolve(path.dirname(dockerfile));
  return (rel) => {
    const p = path.resolve(dir, rel);
    if (p !== dir && !p.startsWith(dir + path.sep)) return false;
    try {
      lstatSync(p);
      return true;
    } catch {
      return false;
    }
  };
}
