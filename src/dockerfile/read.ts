/** Reads the Dockerfile given to --dockerfile, before any image is read: a bad one is exit 2 at once. */
import { readFileSync, statSync } from 'node:fs';
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
