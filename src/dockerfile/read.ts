/** Reads the Dockerfile given to --dockerfile, before any image is read: a bad one is exit 2 at once. */
import { lstatSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { inputError } from '../errors.js';
import { type Dockerfile, parseDockerfile } from './parse.js';

const MAX_BYTES = 4 * 1024 * 1024;

export function readDockerfile(file: string): Dockerfile {
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw inputError(`--dockerfile ${file}: not a regular file`);
    if (st.size > MAX_BYTES) throw inputError(`--dockerfile ${file}: ${st.size} bytes, more than a Dockerfile (limit ${MAX_BYTES})`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof Error && err.name === 'ImgscopeError') throw err;
    throw inputError(`--dockerfile ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`, err);
  }
  try {
    return parseDockerfile(text, file);
  } catch (err) {
    throw inputError(`--dockerfile ${file}: ${(err as Error).message}`, err);
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
