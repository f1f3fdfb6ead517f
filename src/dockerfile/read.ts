/**
 * Reads the Dockerfile given to --dockerfile, before any image is read: a bad one is exit 2 at once.
 * `label` starts each error's message (default `--dockerfile FILE`; the Action names its own input).
 */
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import path from 'node:path';
import { inputError } from '../errors.js';
import { escapeText } from '../util/escape.js';
import { readSmallFile } from '../util/files.js';
import type { BuildContext, ContextView } from './expect.js';
import { type Dockerfile, parseDockerfile } from './parse.js';

const MAX_BYTES = 4 * 1024 * 1024;

export function readDockerfile(file: string, label = `--dockerfile ${file}`): Dockerfile {
  // a regular file of at most 4 MiB, opened so that a FIFO never blocks (the one reader of small files)
  const text = readSmallFile(file, label, MAX_BYTES);
  try {
    return parseDockerfile(text, file);
  } catch (err) {
    throw inputError(`${label}: ${brief((err as Error).message)}`, err);
  }
}

/** A parse error's text as one short line: the file's own bytes (a binary file's) escaped, cut at 200 characters. */
function brief(message: string): string {
  const line = escapeText(message);
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/** At most this many files are listed under one COPY source: beyond, the context tells nothing. */
const LIST_MAX = 4096;

/**
 * Lists `rel` in the build context, taken to be the Dockerfile's directory (what `docker build DIR`
 * with DIR/Dockerfile uses), for checking a classic COPY on the files it copied (docs/dockerfile.md
 * "Matching"): a directory's files (recursively, relative to it) with regular files' sizes. A source
 * outside the context, a symlink, more than LIST_MAX files or an unreadable directory: `unknown`.
 * The Dockerfile itself is listed without a size: it may have been edited since the build (the reason
 * lines are matched at all), so its size tells nothing. Each source is listed once per Dockerfile.
 */
export function contextProbe(dockerfile: string): BuildContext {
  const dir = path.resolve(path.dirname(dockerfile));
  const self = path.resolve(dockerfile);
  const seen = new Map<string, ContextView>();
  return {
    read(rel) {
      let v = seen.get(rel);
      if (!v) {
        v = view(dir, rel, self);
        seen.set(rel, v);
      }
      return v;
    },
  };
}

function view(dir: string, rel: string, self: string): ContextView {
  const root = path.resolve(dir, rel);
  if (root !== dir && !root.startsWith(dir + path.sep)) return { kind: 'unknown' };
  let st: Stats;
  try {
    st = lstatSync(root);
  } catch {
    return { kind: 'missing' };
  }
  if (st.isFile()) return { kind: 'file', size: root === self ? null : st.size };
  if (!st.isDirectory()) return { kind: 'unknown' };
  const files = new Map<string, number | null>();
  const todo = [''];
  try {
    while (todo.length) {
      const d = todo.pop()!;
      for (const e of readdirSync(path.join(root, d), { withFileTypes: true })) {
        const r = d ? `${d}/${e.name}` : e.name;
        if (e.isDirectory()) todo.push(r);
        else files.set(r, e.isFile() && path.join(root, r) !== self ? lstatSync(path.join(root, r)).size : null);
        if (files.size > LIST_MAX) return { kind: 'unknown' };
      }
    }
  } catch {
    return { kind: 'unknown' };
  }
  return { kind: 'dir', files };
}
