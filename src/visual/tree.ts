/**
 * The data behind `analyze --format html`'s treemap (docs/html.md "The data"): one compact,
 * self-describing record set from which the page builds every grouping (by directory, by owner, by
 * layer, and the waste view) in the browser. Built only when HTML is asked for (pipeline.ts onTree);
 * the Analysis report is unchanged.
 *
 * Light for 100k-file images: a file of at least `foldBelow` bytes is its own record (by default the
 * 20,000 largest files are); smaller files are folded into "N more files" records keyed by (directory,
 * owner, kind, layer), and a directory whose whole subtree holds less than `foldBelow` is folded into
 * its nearest ancestor that holds more. Folding
 * only merges records, never drops one, so the visible records sum to the final size exactly and each
 * grouping's sums are exact too.
 */
import type { OwnerAssignment } from '../attribute/owners.js';
import { KINDS } from '../catalog/kinds.js';
import type { MergedFs, VisibleFile } from '../fs/filesystem.js';
import type { Analysis, Kind } from '../report/types.js';
import { shortenStep } from '../util/format.js';

export const TREE_FORMAT = 'imgscope-treemap/1';

/** What a column of each table holds; the page reads the tables by these names. */
export const TREE_COLUMNS = {
  dirs: ['parent', 'name'],
  files: ['dir', 'name', 'bytes', 'owner', 'kind', 'layer'],
  folds: ['dir', 'count', 'bytes', 'owner', 'kind', 'layer'],
  waste: ['path', 'bytes', 'addedIn', 'hiddenIn', 'how'],
  wasteFolds: ['addedIn', 'bytes'],
} as const;

export interface TreeLayer {
  /** The history step that made the layer (cut to 400 characters). */
  createdBy: string;
  /** The same step as the report's tables label it (util/format.ts shortenStep). */
  step: string;
  /** `file:line instruction` of the Dockerfile step (--dockerfile), when matched. */
  dockerfile?: string;
  visibleBytes: number;
  wasteBytes: number;
}

export interface TreeData {
  format: typeof TREE_FORMAT;
  image: string;
  finalBytes: number;
  wasteBytes: number;
  /** Files under this many bytes are folded; so are directories whose subtree holds less. */
  foldBelow: number;
  columns: typeof TREE_COLUMNS;
  owners: string[];
  kinds: readonly Kind[];
  layers: TreeLayer[];
  /** [parent index, name]; index 0 is the root (parent -1, name ''); a parent comes before its children. */
  dirs: Array<[number, string]>;
  /** [dir, name, bytes, owner index, kind index, layer]. */
  files: Array<[number, string, number, number, number, number]>;
  /** [dir, file count, bytes, owner index, kind index, layer]: files under foldBelow, summed. */
  folds: Array<[number, number, number, number, number, number]>;
  /** [path, bytes, layer that added it, layer that hid it, how]: the largest hidden paths. */
  waste: Array<[string, number, number, number, 'overwritten' | 'deleted']>;
  /** [layer that added them, bytes]: the rest of each layer's hidden bytes. */
  wasteFolds: Array<[number, number]>;
}

export interface TreeInput {
  fs: MergedFs;
  /** The files holding bytes, in the order the owners and kinds are listed. */
  files: readonly VisibleFile[];
  owners: OwnerAssignment['owners'];
  kinds: readonly Kind[];
  analysis: Analysis;
  /** Fold threshold in bytes; default: just above the size of the file after the MAX_NAMED largest (1 when fewer). */
  foldBelow?: number;
}

/** At most about this many files are named at the default threshold (ties with the last one fold too). */
export const MAX_NAMED = 20_000;

/** The smallest size that names at most MAX_NAMED files: one byte over the size of the next largest. */
function defaultFoldBelow(files: readonly VisibleFile[]): number {
  if (files.length <= MAX_NAMED) return 1;
  const sizes = Float64Array.from(files, (f) => f.bytes).sort();
  return sizes[sizes.length - 1 - MAX_NAMED]! + 1;
}

const parentOf = (dir: string): string => {
  const i = dir.lastIndexOf('/');
  return i < 0 ? '' : dir.slice(0, i);
};
const dirOf = parentOf;

/**
 * The directories that hold the files, each with its parent and subtree bytes, numbered parents first.
 * Built without recursion, each directory's path hashed once: depth is the image's to choose
 * (thousands of levels), so nothing here walks a path per file and level.
 */
class Dirs {
  readonly ids = new Map<string, number>([['', 0]]);
  readonly parent: number[] = [-1];
  readonly name: string[] = [''];
  readonly bytes: number[] = [0];

  /** The id of directory `d`, its missing ancestors numbered first. */
  id(d: string): number {
    const known = this.ids.get(d);
    if (known !== undefined) return known;
    const missing: string[] = [];
    let p = d;
    let top: number | undefined;
    for (; (top = this.ids.get(p)) === undefined; p = parentOf(p)) missing.push(p);
    for (let i = missing.length - 1; i >= 0; i--) {
      const m = missing[i]!;
      const id = this.parent.length;
      this.ids.set(m, id);
      this.parent.push(top);
      this.name.push(m.slice(m.lastIndexOf('/') + 1));
      this.bytes.push(0);
      top = id;
    }
    return top;
  }

  /** Adds each directory's bytes to its ancestors' (children have larger ids than their parents). */
  sumUp(): void {
    for (let i = this.parent.length - 1; i > 0; i--) this.bytes[this.parent[i]!]! += this.bytes[i]!;
  }
}

/** Interns strings (or directory paths) into a table, giving each its index. */
class Table<K> {
  readonly index = new Map<K, number>();
  readonly rows: K[] = [];
  id(k: K): number {
    let i = this.index.get(k);
    if (i === undefined) {
      i = this.rows.length;
      this.index.set(k, i);
      this.rows.push(k);
    }
    return i;
  }
}

/** The treemap data of an analysed image (see the module comment). */
export function buildTree(input: TreeInput): TreeData {
  const { files, owners, kinds, analysis } = input;
  if (owners.length !== files.length || kinds.length !== files.length) throw new Error('buildTree: owners and kinds must list every file');
  const foldBelow = Math.max(1, Math.floor(input.foldBelow ?? defaultFoldBelow(files)));
  const dirs = new Dirs();
  const fileDir = files.map((f) => {
    const d = dirs.id(dirOf(f.path));
    dirs.bytes[d]! += f.bytes;
    return d;
  });
  dirs.sumUp();
  // the directory each directory's files are shown in (itself, or its nearest ancestor holding foldBelow),
  // and the kept directories' rows, renumbered in the same parents-first order
  const shownIn: number[] = [];
  const row: number[] = [];
  const dirRows: TreeData['dirs'] = [];
  for (let i = 0; i < dirs.parent.length; i++) {
    const keep = i === 0 || dirs.bytes[i]! >= foldBelow;
    shownIn[i] = keep ? i : shownIn[dirs.parent[i]!]!;
    if (!keep) continue;
    row[i] = dirRows.length;
    dirRows.push([i === 0 ? -1 : row[dirs.parent[i]!]!, dirs.name[i]!]);
  }
  const ownerTable = new Table<string>();
  const kindIndex = new Map<Kind, number>(KINDS.map((k, i) => [k, i]));
  const out: TreeData['files'] = [];
  const folds = new Map<string, TreeData['folds'][number]>();
  files.forEach((f, i) => {
    const layer = f.node.inode?.layer ?? f.node.layer;
    const owner = ownerTable.id(owners[i]!);
    const kind = kindIndex.get(kinds[i]!) ?? KINDS.length - 1;
    const dir = row[shownIn[fileDir[i]!]!]!;
    if (f.bytes >= foldBelow) {
      out.push([dir, f.path.slice(f.path.lastIndexOf('/') + 1), f.bytes, owner, kind, layer]);
      return;
    }
    const key = `${dir}/${owner}/${kind}/${layer}`;
    const r = folds.get(key);
    if (r) {
      r[1]++;
      r[2] += f.bytes;
    } else folds.set(key, [dir, 1, f.bytes, owner, kind, layer]);
  });
  return {
    format: TREE_FORMAT,
    image: analysis.image.reference,
    finalBytes: analysis.totals.finalBytes,
    wasteBytes: analysis.totals.wasteBytes,
    foldBelow,
    columns: TREE_COLUMNS,
    owners: ownerTable.rows,
    kinds: KINDS,
    layers: treeLayers(analysis),
    dirs: dirRows,
    files: out,
    folds: [...folds.values()],
    ...wasteRecords(input.fs),
  };
}

function treeLayers(a: Analysis): TreeLayer[] {
  return a.layers.map((l) => {
    const d = l.dockerfile;
    return {
      createdBy: l.createdBy.length > 400 ? `${l.createdBy.slice(0, 400)}…` : l.createdBy,
      step: shortenStep(l.createdBy),
      ...(d ? { dockerfile: `${d.file}:${d.line} ${d.instruction}` } : {}),
      visibleBytes: l.visibleBytes,
      wasteBytes: l.wasteBytes,
    };
  });
}

/**
 * What later layers hid, by the layer that added it: the largest hidden paths the merge kept
 * (fs/filesystem.ts wasteKept, else its topWaste) and, per layer, the rest of its hidden bytes as one record, so the
 * records sum to each layer's waste and to the image's.
 */
function wasteRecords(fs: MergedFs): Pick<TreeData, 'waste' | 'wasteFolds'> {
  const rest = fs.layers.map((l) => l.wasteBytes);
  const waste: TreeData['waste'] = (fs.wasteKept.length ? fs.wasteKept : fs.topWaste).map((w) => {
    rest[w.addedIn] = (rest[w.addedIn] ?? 0) - w.bytes;
    return [w.path, w.bytes, w.addedIn, w.hiddenIn, w.how];
  });
  const wasteFolds: TreeData['wasteFolds'] = [];
  rest.forEach((b, i) => {
    if (b > 0) wasteFolds.push([i, b]);
  });
  return { waste, wasteFolds };
}
