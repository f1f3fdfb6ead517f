/**
 * What a layer holds, kept small for checking a classic builder's `COPY file:<hash> in DEST` record
 * against a COPY instruction (docs/dockerfile.md "What the builders record"): the classic builder
 * records a hash for the sources, so the layer's own paths and sizes, compared with the build context,
 * are the only way to tell which COPY made it.
 */
import type { WalkedEntry } from '../walk/types.js';

/** A layer's non-directory paths (root-relative) and sizes: all of them when few, else only their common directory. */
export interface LayerPaths {
  /** How many non-directory entries (files, links, whiteouts) the layer holds. */
  count: number;
  /** Their paths, when `count` is at most LIST_MAX. */
  paths?: string[];
  /** Beside `paths`: each regular file's size in bytes, null for a link, a whiteout or another kind (no size to compare). */
  sizes?: Array<number | null>;
  /** The deepest directory holding all of them ('' for the root; undefined when there are none). */
  under?: string;
}

const LIST_MAX = 256;

const dirOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');

function common(a: string, b: string): string {
  if (a === b || b.startsWith(`${a}/`) || a === '') return a;
  if (a.startsWith(`${b}/`) || b === '') return b;
  const x = a.split('/');
  const y = b.split('/');
  let k = 0;
  while (k < x.length && k < y.length && x[k] === y[k]) k++;
  return x.slice(0, k).join('/');
}

/** Summarises one walked layer's entries (called while its entries are still alive). */
export function layerPaths(entries: readonly WalkedEntry[]): LayerPaths {
  const out: LayerPaths = { count: 0 };
  const paths: string[] = [];
  const sizes: Array<number | null> = [];
  for (const e of entries) {
    if (e.type === 'dir' || e.path === '') continue;
    out.count++;
    if (paths.length <= LIST_MAX) {
      paths.push(e.path);
      sizes.push(e.type === 'file' ? e.size : null);
    }
    const d = dirOf(e.path);
    out.under = out.under === undefined ? d : common(out.under, d);
  }
  if (out.count <= LIST_MAX) {
    out.paths = paths;
    out.sizes = sizes;
  }
  return out;
}
