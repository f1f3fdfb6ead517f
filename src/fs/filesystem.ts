import { looksLikePrivateKey, sensitiveCategory, sensitiveRoot } from '../catalog/sensitive.js';
import type { SensitiveCategory, SensitiveRecord } from '../report/types.js';
import { basename, dirname } from '../util/paths.js';
import type { ProbeResult } from '../inspect/probe.js';
import type { EntryType, LayerWalk } from '../walk/types.js';

interface Inode {
  layer: number;
  size: number;
  refs: number;
  /** The node that created the content (preferred holder of the bytes when several links stay). */
  primary: FsNode;
  charged: boolean;
}

export interface FsNode {
  name: string;
  type: EntryType;
  /** Index of the layer that last wrote this path. */
  layer: number;
  inode: Inode | undefined;
  link: string | undefined;
  body: Buffer | undefined;
  /** Partial-read results for this file (ELF dependencies, fatbin architectures). */
  probe: ProbeResult | undefined;
  children: Map<string, FsNode> | undefined;
  /** dive-style occurrence stats for this path: cumulative size, smallest size, occurrences. */
  cum: number;
  min: number;
  n: number;
}

export interface LayerFsStats {
  /** Bytes still visible in the final filesystem among those this layer added. */
  visibleBytes: number;
  /** Bytes this layer added that are hidden later (overwritten or whited out): reclaimable. */
  wasteBytes: number;
  /** Regular files (and hardlinks) in this layer that are still visible. */
  visibleFiles: number;
  whiteouts: number;
}

export interface WastedPath {
  path: string;
  bytes: number;
  /** Layer that added the bytes. */
  addedIn: number;
  /** Layer that hid them. */
  hiddenIn: number;
  how: 'overwritten' | 'deleted';
}

export interface VisibleFile {
  path: string;
  node: FsNode;
  /** Bytes charged to this path: the inode's size for the one path that holds it, 0 for other links. */
  bytes: number;
}

const TOP_WASTE = 25;
const MAX_LINK_HOPS = 40;

/**
 * A copy of `s` that does not share storage with a longer string. A name sliced from a tar entry's
 * path keeps the whole path alive (V8 slices strings of 13+ characters by reference); the tree keeps
 * names for the image's lifetime and the entry paths are garbage once the layer is merged.
 */
function ownString(s: string): string {
  if (s.length < 13) return s;
  const c = s.charAt(0) + s.slice(1);
  c.charCodeAt(0); // flattens the concatenation: one sequential string of its own
  return c;
}

/**
 * Every field is set here, in one order, so all nodes share one hidden class with in-object fields:
 * adding `inode`/`children` later would give each node an out-of-object property array
 * (about 40 bytes a path) and make every access site polymorphic.
 */
function newNode(name: string, type: EntryType, layer: number, children?: Map<string, FsNode>): FsNode {
  return {
    name,
    type,
    layer,
    inode: undefined,
    link: undefined,
    body: undefined,
    probe: undefined,
    children,
    cum: 0,
    min: -1,
    n: 0,
  };
}

/**
 * The final filesystem of an image, built by applying layers in order (docs/formats.md "Layer tars"): whiteouts and
 * opaque directories per the OCI rules, hardlinks sharing one inode (bytes counted once), and every
 * hidden byte charged once, as waste, to the layer that added it.
 *
 * It also keeps dive's efficiency score (dive filetree/efficiency.go), for familiarity:
 *   efficiency = Σ_paths min_i s(p,i) / Σ_paths Σ_i s(p,i)
 * over every non-directory path p and each of its occurrences i across layers, where a whiteout
 * occurrence has size 0 when it hides a file and the hidden subtree's bytes when it hides a directory;
 * dive's wasted bytes = Σ_i s(p,i) over paths that occur more than once (the kept copy included, dive
 * issue #684). dive keys its records by path alone, so a path deleted and re-created later adds to the
 * record it had: a record flushed by a removal waits in `diveGone` until its path is seen again or the
 * merge finishes (one entry per removed path, only while the merge runs).
 */
export class MergedFs {
  readonly root: FsNode = newNode('', 'dir', -1, new Map());
  readonly layers: LayerFsStats[] = [];
  readonly topWaste: WastedPath[] = [];
  /**
   * With `keepWaste` (the HTML treemap's waste view): the largest hidden paths, at most that many,
   * largest first after finish(). Collected unsorted up to twice the bound and cut back to it, so a
   * 100k-path waste costs O(n log n), not a sorted insert per path.
   */
  readonly wasteKept: WastedPath[] = [];
  private wasteFloor = 0;
  orphanHardlinks = 0;
  private readonly sensitiveMap = new Map<string, SensitiveRecord>();
  private diveMin = 0;
  private diveCum = 0;
  private diveWaste = 0;
  private readonly diveGone = new Map<string, { min: number; cum: number; n: number }>();
  private finished = false;

  constructor(private readonly opts: { keepWaste?: number } = {}) {}

  applyLayer(walk: LayerWalk): void {
    const L = this.layers.length;
    const stats: LayerFsStats = { visibleBytes: 0, wasteBytes: 0, visibleFiles: 0, whiteouts: 0 };
    this.layers.push(stats);
    const entries = walk.entries;
    // Opaque markers apply before the layer's other entries in that directory, wherever they stand.
    for (const e of entries) {
      if (!e.path.endsWith('.wh..wh..opq') || basename(e.path) !== '.wh..wh..opq') continue;
      stats.whiteouts++;
      const dir = this.lookup(dirname(e.path), true);
      if (!dir?.children) continue;
      const dpath = dirname(e.path);
      for (const child of [...dir.children.values()]) {
        if (child.layer < L) this.remove(dir, child, join(dpath, child.name), L, 'deleted');
      }
    }
    for (const e of entries) {
      if (e.path === '') continue; // the root directory entry
      const name = basename(e.path);
      if (name.startsWith('.wh.')) {
        if (name === '.wh..wh..opq') continue;
        stats.whiteouts++;
        const dpath = dirname(e.path);
        const parent = this.lookup(dpath, true);
        const targetName = name.slice(4);
        const target = parent?.children?.get(targetName);
        if (!parent || !target || target.layer >= L) continue;
        const hidden = target.type === 'dir' ? this.subtreeBytes(target) : 0;
        this.occur(target, hidden);
        this.remove(parent, target, join(dpath, targetName), L, 'deleted');
        continue;
      }
      const parent = this.ensureDir(dirname(e.path), L);
      const existing = parent.children!.get(name);
      if (existing && existing.type === 'dir' && e.type === 'dir') {
        existing.layer = L; // directory over directory: attributes only
        continue;
      }
      const key = ownString(name);
      const node = newNode(key, e.type, L, e.type === 'dir' ? new Map() : undefined);
      if (existing) {
        node.cum = existing.cum;
        node.min = existing.min;
        node.n = existing.n;
        existing.n = 0; // its occurrences move to the new node
        this.remove(parent, existing, join(dirname(e.path), name), L, 'overwritten');
      }
      if (e.type === 'file' || (e.type === 'hardlink' && e.size > 0)) {
        node.inode = { layer: L, size: e.size, refs: 1, primary: node, charged: false };
      } else if (e.type === 'hardlink') {
        const target = e.link !== undefined ? this.lookup(e.link, false) : undefined;
        if (target?.inode) {
          node.inode = target.inode;
          if (target.probe) node.probe = target.probe;
          target.inode.refs++;
        } else {
          this.orphanHardlinks++;
        }
      } else if (e.type === 'symlink') {
        node.link = e.link ?? '';
      }
      if (e.type === 'file') {
        const cat = sensitiveCategory(e.path, e.size);
        if (cat) this.noteSensitive(e.path, cat, L, e.size, e.body);
      }
      if (e.body) node.body = e.body;
      if (e.probe) node.probe = e.probe;
      if (e.type !== 'dir') this.occur(node, e.type === 'file' ? e.size : e.type === 'hardlink' ? e.size : 0);
      parent.children!.set(key, node);
    }
  }

  private noteSensitive(path: string, cat: SensitiveCategory, layer: number, size: number, body: Buffer | undefined): void {
    const root = sensitiveRoot(path, cat);
    const key = `${layer}\0${root}`;
    let r = this.sensitiveMap.get(key);
    if (!r) {
      r = { category: cat, path: root, layer, bytes: 0, files: 0, visible: false };
      this.sensitiveMap.set(key, r);
    }
    r.bytes += size;
    r.files++;
    if (cat === 'private-key' && looksLikePrivateKey(body)) r.privateKey = true;
  }

  /** Sensitive files and directories from every layer (after finish()). */
  get sensitive(): SensitiveRecord[] {
    return [...this.sensitiveMap.values()];
  }

  private occur(node: FsNode, size: number): void {
    node.cum += size;
    node.min = node.min < 0 || size < node.min ? size : node.min;
    node.n++;
  }

  /**
   * Ends a node's occurrence record: a removed path's record waits in `diveGone` (a later node at the
   * path continues it, as in dive), a visible one is counted with whatever its path had before.
   */
  private flushDive(node: FsNode, path: string, removed: boolean): void {
    if (node.n === 0) return;
    const gone = this.diveGone.get(path);
    const rec = { min: node.min, cum: node.cum, n: node.n };
    node.n = 0;
    if (gone) {
      rec.min = Math.min(rec.min, gone.min);
      rec.cum += gone.cum;
      rec.n += gone.n;
      this.diveGone.delete(path);
    }
    if (removed) this.diveGone.set(path, rec);
    else this.countDive(rec);
  }

  private countDive(rec: { min: number; cum: number; n: number }): void {
    this.diveMin += rec.min;
    this.diveCum += rec.cum;
    if (rec.n >= 2) this.diveWaste += rec.cum;
  }

  private subtreeBytes(node: FsNode): number {
    let total = 0;
    const seen = new Set<Inode>();
    // an explicit stack, never recursion: a layer may nest directories thousands deep
    const stack: FsNode[] = [node];
    for (let n = stack.pop(); n; n = stack.pop()) {
      if (n.inode && !seen.has(n.inode)) {
        seen.add(n.inode);
        total += n.inode.size;
      }
      if (n.children) for (const c of n.children.values()) stack.push(c);
    }
    return total;
  }

  /** Detaches `node` (and its subtree); content whose last link goes is waste of the layer that added it. */
  private remove(parent: FsNode, node: FsNode, path: string, hiddenIn: number, how: WastedPath['how']): void {
    parent.children!.delete(node.name);
    this.dirCachePath = undefined;
    this.dirCacheNode = undefined;
    // pre-order, children in insertion order, with an explicit stack (no recursion over path depth)
    const nodes: FsNode[] = [node];
    const paths: string[] = [path];
    while (nodes.length > 0) {
      const n = nodes.pop()!;
      const p = paths.pop()!;
      this.flushDive(n, p, true);
      const ino = n.inode;
      if (ino) {
        ino.refs--;
        if (ino.refs === 0) {
          this.layers[ino.layer]!.wasteBytes += ino.size;
          if (ino.size > 0) this.noteWaste({ path: p, bytes: ino.size, addedIn: ino.layer, hiddenIn, how });
        }
      }
      n.body = undefined;
      n.probe = undefined;
      if (n.children) pushChildren(n, p, nodes, paths);
    }
  }

  private noteWaste(w: WastedPath): void {
    const keep = this.opts.keepWaste ?? 0;
    if (keep > 0 && w.bytes > this.wasteFloor) {
      this.wasteKept.push(w);
      if (this.wasteKept.length >= 2 * keep) this.cutWaste(keep);
    }
    const t = this.topWaste;
    if (t.length >= TOP_WASTE && w.bytes <= t[t.length - 1]!.bytes) return;
    let i = t.length;
    while (i > 0 && t[i - 1]!.bytes < w.bytes) i--;
    t.splice(i, 0, w);
    if (t.length > TOP_WASTE) t.pop();
  }

  /** Sorts the kept hidden paths, largest first, and keeps `keep` of them; smaller ones are not kept from now on. */
  private cutWaste(keep: number): void {
    const k = this.wasteKept;
    k.sort((a, b) => b.bytes - a.bytes);
    if (k.length > keep) {
      k.length = keep;
      this.wasteFloor = k[keep - 1]!.bytes;
    }
  }

  /** The last directory ensureDir returned (layer tars list a directory's files together). */
  private dirCachePath: string | undefined;
  private dirCacheNode: FsNode | undefined;

  /** Creates (or finds) the directory at `path`, following symlinked parents inside the image root. */
  private ensureDir(path: string, layer: number): FsNode {
    if (path === this.dirCachePath && this.dirCacheNode) return this.dirCacheNode;
    const node = this.ensureDirUncached(path, layer);
    this.dirCachePath = path;
    this.dirCacheNode = node;
    return node;
  }

  private ensureDirUncached(path: string, layer: number): FsNode {
    let cur = this.root;
    if (path === '') return cur;
    let curPath = '';
    for (const part of path.split('/')) {
      let child = cur.children!.get(part);
      const childPath = join(curPath, part);
      if (child && child.type === 'symlink') {
        const resolved = this.lookup(childPath, true);
        if (resolved?.children) {
          cur = resolved;
          curPath = this.pathOf(resolved) ?? childPath;
          continue;
        }
      }
      if (!child || !child.children) {
        if (child) this.remove(cur, child, childPath, layer, 'overwritten');
        child = newNode(part, 'dir', layer, new Map());
        cur.children!.set(part, child);
      }
      cur = child;
      curPath = childPath;
    }
    return cur;
  }

  private readonly parents = new WeakMap<FsNode, string>();

  private pathOf(node: FsNode): string | undefined {
    return this.parents.get(node);
  }

  /**
   * Finds the node at `path`, following symlinks in intermediate components (and in the last one when
   * `followLast`), always inside the image root: `..` and absolute targets never leave it.
   */
  lookup(path: string, followLast: boolean): FsNode | undefined {
    let hops = 0;
    const resolveFrom = (parts: string[]): FsNode | undefined => {
      const stack: FsNode[] = [this.root];
      const names: string[] = [];
      const queue = [...parts];
      while (queue.length) {
        const part = queue.shift()!;
        if (part === '' || part === '.') continue;
        if (part === '..') {
          if (stack.length > 1) {
            stack.pop();
            names.pop();
          }
          continue;
        }
        const cur = stack[stack.length - 1]!;
        const child = cur.children?.get(part);
        if (!child) return undefined;
        const isLast = queue.length === 0;
        if (child.type === 'symlink' && (!isLast || followLast)) {
          if (++hops > MAX_LINK_HOPS) return undefined;
          const target = child.link ?? '';
          if (target.startsWith('/')) {
            stack.length = 1;
            names.length = 0;
          }
          queue.unshift(...target.split('/'));
          continue;
        }
        stack.push(child);
        names.push(part);
        if (isLast) this.parents.set(child, names.join('/'));
      }
      const last = stack[stack.length - 1]!;
      if (last !== this.root) this.parents.set(last, names.join('/'));
      return last;
    };
    return resolveFrom(path.split('/'));
  }

  /** The canonical path of `path` (symlinks in directory components resolved), or undefined if absent. */
  canonical(path: string): string | undefined {
    const dir = dirname(path);
    if (dir === '') return this.root.children?.has(path) ? path : undefined;
    const d = this.lookup(dir, true);
    if (!d?.children?.has(basename(path))) return undefined;
    const dp = d === this.root ? '' : this.parents.get(d);
    return dp === undefined ? undefined : join(dp, basename(path));
  }

  private visibleList: VisibleFile[] = [];

  /**
   * Settles byte charges (one path per inode) and dive's score, and lists the visible paths. Call once,
   * after the last layer.
   */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.opts.keepWaste) this.cutWaste(this.opts.keepWaste);
    const out: VisibleFile[] = [];
    // Paths are built with join: a flat string, where a template literal makes a cons string that a
    // regex later flattens into a second copy.
    // Tree order (pre-order, children in insertion order) with an explicit stack: a layer may nest
    // directories thousands deep, more than the call stack holds.
    const nodes: FsNode[] = [];
    const paths: string[] = [];
    pushChildren(this.root, '', nodes, paths);
    while (nodes.length > 0) {
      const n = nodes.pop()!;
      const p = paths.pop()!;
      if (n.children) {
        pushChildren(n, p, nodes, paths);
        continue;
      }
      this.flushDive(n, p, false);
      out.push({ path: p, node: n, bytes: 0 });
    }
    for (const rec of this.diveGone.values()) this.countDive(rec);
    this.diveGone.clear();
    // Primary links first, then any surviving link of an inode whose primary was removed.
    for (const pass of [true, false]) {
      for (const f of out) {
        const ino = f.node.inode;
        if (!ino || ino.charged || (pass && ino.primary !== f.node)) continue;
        ino.charged = true;
        f.bytes = ino.size;
        this.layers[ino.layer]!.visibleBytes += ino.size;
      }
    }
    for (const f of out) if (f.node.inode) this.layers[f.node.layer]!.visibleFiles++;
    this.visibleList = out;
    for (const r of this.sensitiveMap.values()) r.visible = this.lookup(r.path, false) !== undefined;
  }

  /** Every visible non-directory path in tree order, with the bytes charged to it (after finish()). */
  visible(): readonly VisibleFile[] {
    return this.visibleList;
  }

  get finalBytes(): number {
    return this.layers.reduce((a, l) => a + l.visibleBytes, 0);
  }

  get wasteBytes(): number {
    return this.layers.reduce((a, l) => a + l.wasteBytes, 0);
  }

  /** dive's efficiency score (1 when nothing is duplicated or removed). */
  get efficiency(): number {
    return this.diveCum === 0 ? 1 : this.diveMin / this.diveCum;
  }

  get diveWastedBytes(): number {
    return this.diveWaste;
  }

  /**
   * Python sources and their bytecode, per directory of the final tree (no per-file keys): in every
   * directory `dirFilter` accepts, each `m.py` is paired with `__pycache__/m.<tag>.pyc` or a legacy
   * `m.pyc` beside it.
   */
  pythonBytecode(dirFilter: (dirPath: string) => boolean): { sources: number; missing: number; missingBytes: number; examples: string[]; dirs: Set<string> } {
    const out = { sources: 0, missing: 0, missingBytes: 0, examples: [] as string[], dirs: new Set<string>() };
    // pre-order over directories with an explicit stack (no recursion over path depth)
    const dirs: FsNode[] = [this.root];
    const dirPaths: string[] = [''];
    while (dirs.length > 0) {
      const dir = dirs.pop()!;
      const p = dirPaths.pop()!;
      const kids = dir.children!;
      let stems: Set<string> | undefined;
      if (p !== '' && dirFilter(p)) {
        for (const [name, n] of kids) {
          if (!name.endsWith('.py') || !n.inode) continue;
          if (!stems) {
            stems = new Set();
            const cache = kids.get('__pycache__');
            if (cache?.children) for (const c of cache.children.keys()) if (c.endsWith('.pyc')) stems.add(c.slice(0, c.indexOf('.')));
            for (const c of kids.keys()) if (c.endsWith('.pyc')) stems.add(c.slice(0, -4));
          }
          out.sources++;
          if (!stems.has(name.slice(0, -3))) {
            out.missing++;
            out.missingBytes += n.inode.size;
            out.dirs.add(p);
            if (out.examples.length < 5) out.examples.push(p ? `${p}/${name}` : name);
          }
        }
      }
      const sub = [...kids].filter(([, n]) => n.children && n.type === 'dir');
      for (let i = sub.length - 1; i >= 0; i--) {
        dirs.push(sub[i]![1]);
        dirPaths.push(p ? `${p}/${sub[i]![0]}` : sub[i]![0]);
      }
    }
    return out;
  }

  /** Body of a captured metadata file visible at `path`. */
  body(path: string): Buffer | undefined {
    return this.lookup(path, true)?.body;
  }
}

/**
 * Pushes a directory's children so that popping visits them in insertion order, each with its path
 * (`dir/name`, or `name` at the root) built by Array.join: one flat string, where a template literal
 * makes a cons string that a regex later flattens into a second copy.
 */
const PAIR: string[] = ['', ''];
function pushChildren(dir: FsNode, dirPath: string, nodes: FsNode[], paths: string[]): void {
  const kids = [...dir.children!.values()];
  for (let i = kids.length - 1; i >= 0; i--) {
    const c = kids[i]!;
    nodes.push(c);
    if (dirPath === '') paths.push(c.name);
    else {
      PAIR[0] = dirPath;
      PAIR[1] = c.name;
      paths.push(PAIR.join('/'));
    }
  }
}

function join(a: string, b: string): string {
  return a === '' ? b : `${a}/${b}`;
}
