/// <reference lib="dom" />
/**
 * The treemap of `analyze --format html` (docs/html.md "The treemap"), run in the browser. html.ts
 * reads the compiled copy of this file (dist/render/page/treemap.js) and inlines it as the page's
 * one module script; it imports nothing and fetches nothing. Its data is the page's
 * `<script type="application/json" class="tm-data">` (src/visual/tree.ts builds it).
 *
 * The layout is the squarified treemap of Bruls, Huizing and van Wijk (2000), written here in a few
 * dozen lines rather than bundled from d3-hierarchy: the page stays one file with no dependency.
 * Only the current zoom level is drawn, a few levels deep, and rectangles under a pixel are skipped,
 * so a 100k-file image draws as fast as a small one. Every name from the image reaches the page
 * through textContent, never as markup.
 */
export {};

interface TreeData {
  format: string;
  image: string;
  finalBytes: number;
  wasteBytes: number;
  foldBelow: number;
  owners: string[];
  kinds: string[];
  layers: Array<{ createdBy: string; step: string; dockerfile?: string; visibleBytes: number; wasteBytes: number }>;
  dirs: Array<[number, string]>;
  files: Array<[number, string, number, number, number, number]>;
  folds: Array<[number, number, number, number, number, number]>;
  waste: Array<[string, number, number, number, string]>;
  wasteFolds: Array<[number, number]>;
}

interface TNode {
  name: string;
  path: string;
  bytes: number;
  parent: TNode | undefined;
  kids: TNode[] | undefined;
  /** Leaves: indexes into the data's tables; count > 1 for a folded record. */
  kind?: number;
  owner?: number;
  layer?: number;
  count?: number;
  hiddenIn?: number;
  how?: string;
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

type Grouping = 'dir' | 'owner' | 'layer' | 'waste';

/** The kinds' colours in the order of the data's kinds, from src/render/palette.ts (html.ts writes them on the section). */
const COLOURS: string[] = JSON.parse(document.querySelector('section.tm')?.getAttribute('data-kind-colours') ?? '["#bab0ac"]') as string[];
/** The waste view's colours: overwritten, deleted, and the rest of a layer's hidden bytes. */
const WASTE_COLOURS: Record<string, string> = { overwritten: '#c2255c', deleted: '#862e9c', other: '#e599b3' };
const MAX_DEPTH = 3;
const HEADER = 16;
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

function fmt(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? String(v) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${UNITS[u]}`;
}

/** Control, bidi and lone-surrogate characters as visible escapes (the rules of src/util/escape.ts). */
function vis(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (ch) => {
    const c = ch.charCodeAt(0);
    if (c >= 0xdc80 && c <= 0xdcff) return `\\x${(c - 0xdc00).toString(16).padStart(2, '0')}`;
    return c < 0x80 ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
  });
}

function node(name: string, path: string, parent: TNode | undefined): TNode {
  const n: TNode = { name, path, bytes: 0, parent, kids: [] };
  parent?.kids!.push(n);
  return n;
}

function leaf(parent: TNode, name: string, path: string, bytes: number, extra: Partial<TNode>): void {
  const n: TNode = { name, path, bytes, parent, kids: undefined, ...extra };
  parent.kids!.push(n);
  for (let p: TNode | undefined = parent; p; p = p.parent) p.bytes += bytes;
}

function layerNode(t: TreeData, i: number, root: TNode): TNode {
  const step = t.layers[i]?.step ?? '';
  const n = node(step ? `layer ${i + 1} · ${step}` : `layer ${i + 1}`, '', root);
  n.layer = i;
  return n;
}

const join = (dir: string, name: string): string => (dir === '' ? name : `${dir}/${name}`);
const foldName = (count: number): string => `${count} more file${count === 1 ? '' : 's'}`;

/** Directory paths of the data's directory table (parents come first). */
function dirPaths(t: TreeData): string[] {
  const out: string[] = [];
  t.dirs.forEach(([p, name], i) => (out[i] = p < 0 ? '' : join(out[p]!, name)));
  return out;
}

/** Calls `f` for every visible record: files, then folded records. */
function eachRecord(t: TreeData, f: (dir: number, name: string, path: string, bytes: number, extra: Partial<TNode>) => void): void {
  const paths = dirPaths(t);
  for (const [d, name, bytes, owner, kind, layer] of t.files) f(d, name, join(paths[d]!, name), bytes, { owner, kind, layer, count: 1 });
  for (const [d, count, bytes, owner, kind, layer] of t.folds) {
    f(d, foldName(count), join(paths[d]!, `(${foldName(count)})`), bytes, { owner, kind, layer, count });
  }
}

/** Directories → files, or (byLayer) layers → directories → files. */
function byDirectory(t: TreeData, byLayer: boolean): TNode {
  const root = node('/', '', undefined);
  const paths = dirPaths(t);
  const tops = t.layers.map((_, i) => (byLayer ? layerNode(t, i, root) : root));
  // one node per (top, directory), made on first use with its missing ancestors, without recursion (depth is the image's)
  const made = new Map<TNode, Array<TNode | undefined>>();
  const dirNode = (top: TNode, d: number): TNode => {
    let nodes = made.get(top);
    if (!nodes) made.set(top, (nodes = [top]));
    const chain: number[] = [];
    for (let c = d; nodes[c] === undefined; c = t.dirs[c]![0]) chain.push(c);
    for (let i = chain.length - 1; i >= 0; i--) {
      const c = chain[i]!;
      nodes[c] = node(t.dirs[c]![1], paths[c]!, nodes[t.dirs[c]![0]]);
    }
    return nodes[d]!;
  };
  eachRecord(t, (d, name, path, bytes, extra) => leaf(dirNode(tops[extra.layer!] ?? root, d), name, path, bytes, extra));
  return root;
}

function byOwner(t: TreeData): TNode {
  const root = node('/', '', undefined);
  const owners = t.owners.map((o) => node(o, '', root));
  eachRecord(t, (_d, name, path, bytes, extra) => leaf(owners[extra.owner!]!, name, path, bytes, extra));
  return root;
}

/** Layers (the one that added the bytes) → directories → the hidden paths; the rest of a layer's hidden bytes as one record. */
function byWaste(t: TreeData): TNode {
  const root = node('/', '', undefined);
  const layers = t.layers.map((_, i) => layerNode(t, i, root));
  const dirs = layers.map((l) => new Map<string, TNode>([['', l]]));
  // a path's directory node, made on first use with its missing ancestors (no recursion over depth)
  const dirNode = (added: number, dir: string): TNode => {
    const made = dirs[added]!;
    const missing: string[] = [];
    let d = dir;
    while (!made.has(d)) {
      missing.push(d);
      d = d.includes('/') ? d.slice(0, d.lastIndexOf('/')) : '';
    }
    for (let i = missing.length - 1; i >= 0; i--) {
      const p = missing[i]!;
      const up = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
      made.set(p, node(p.slice(up.length ? up.length + 1 : 0), p, made.get(up)!));
    }
    return made.get(dir)!;
  };
  for (const [path, bytes, added, hiddenIn, how] of t.waste) {
    const cut = path.lastIndexOf('/');
    leaf(dirNode(added, cut < 0 ? '' : path.slice(0, cut)), path.slice(cut + 1), path, bytes, { layer: added, hiddenIn, how, count: 1 });
  }
  for (const [added, bytes] of t.wasteFolds) leaf(layers[added]!, 'other hidden files', '', bytes, { layer: added });
  return root;
}

/** The kind holding most of a node's bytes (computed once per group). */
function mainKind(n: TNode): number {
  if (n.kind !== undefined || !n.kids) return n.kind ?? COLOURS.length - 1;
  const by = new Map<number, number>();
  const stack: TNode[] = [...n.kids];
  for (let c = stack.pop(); c; c = stack.pop()) {
    if (c.kids) for (const k of c.kids) stack.push(k);
    else if (c.kind !== undefined) by.set(c.kind, (by.get(c.kind) ?? 0) + c.bytes);
  }
  n.kind = [...by].sort((a, b) => b[1] - a[1])[0]?.[0] ?? COLOURS.length - 1;
  return n.kind;
}

function worst(sum: number, min: number, max: number, side: number): number {
  const s2 = sum * sum;
  const w2 = side * side;
  return Math.max((w2 * max) / s2, s2 / (w2 * min));
}

/** The squarified layout (Bruls et al. 2000): rows along the shorter side, each row kept as square as it gets. */
function squarify(nodes: TNode[], box: Box): Array<[TNode, Box]> {
  const items = nodes.filter((n) => n.bytes > 0).sort((a, b) => b.bytes - a.bytes);
  const total = items.reduce((a, n) => a + n.bytes, 0);
  const out: Array<[TNode, Box]> = [];
  if (total <= 0 || box.w <= 0 || box.h <= 0) return out;
  const scale = (box.w * box.h) / total;
  let { x, y, w, h } = box;
  for (let i = 0; i < items.length; ) {
    const side = Math.min(w, h);
    let sum = items[i]!.bytes * scale;
    let min = sum;
    let max = sum;
    let j = i + 1;
    for (; j < items.length; j++) {
      const a = items[j]!.bytes * scale;
      if (worst(sum + a, Math.min(min, a), Math.max(max, a), side) > worst(sum, min, max, side)) break;
      sum += a;
      min = Math.min(min, a);
      max = Math.max(max, a);
    }
    const thick = j === items.length ? (w >= h ? w : h) : sum / side;
    let at = w >= h ? y : x;
    for (let k = i; k < j; k++) {
      const len = (items[k]!.bytes * scale) / thick;
      out.push([items[k]!, w >= h ? { x, y: at, w: thick, h: len } : { x: at, y, w: len, h: thick }]);
      at += len;
    }
    if (w >= h) {
      x += thick;
      w -= thick;
    } else {
      y += thick;
      h -= thick;
    }
    i = j;
  }
  return out;
}

class Treemap {
  private readonly data: TreeData;
  private readonly views = new Map<Grouping, TNode>();
  private grouping: Grouping = 'dir';
  private current: TNode;
  private drawn: TNode[] = [];
  private readonly map: HTMLElement;
  private readonly crumbs: HTMLElement;
  private readonly tip: HTMLElement;
  private readonly legend: HTMLElement;

  constructor(private readonly root: HTMLElement, data: TreeData) {
    this.data = data;
    this.map = root.querySelector('.tm-map')!;
    this.crumbs = root.querySelector('.tm-crumbs')!;
    this.tip = root.querySelector('.tm-tip')!;
    this.legend = root.querySelector('.tm-legend')!;
    this.current = this.view('dir');
    this.wire();
    this.drawLegend();
    this.draw();
  }

  private view(g: Grouping): TNode {
    let v = this.views.get(g);
    if (!v) {
      const t = this.data;
      v = g === 'dir' ? byDirectory(t, false) : g === 'layer' ? byDirectory(t, true) : g === 'owner' ? byOwner(t) : byWaste(t);
      this.views.set(g, v);
    }
    return v;
  }

  group(g: Grouping): void {
    this.grouping = g;
    this.current = this.view(g);
    for (const b of this.root.querySelectorAll<HTMLButtonElement>('.tm-group button')) b.setAttribute('aria-pressed', String(b.dataset.group === g));
    this.map.classList.toggle('waste', g === 'waste');
    this.drawLegend();
    this.draw();
  }

  zoom(n: TNode, focus = true): void {
    this.current = n;
    this.hideTip();
    this.draw();
    if (focus) this.map.querySelector<HTMLElement>('.r[tabindex="0"]')?.focus();
  }

  /** Top-level children too small to draw (under 1 px²) in the last draw. */
  private skipped = { bytes: 0, count: 0 };

  draw(): void {
    const m = this.map;
    m.replaceChildren();
    this.drawn = [];
    const box = { x: 0, y: 0, w: m.clientWidth, h: m.clientHeight };
    m.dataset.bytes = String(this.current.bytes);
    this.skipped = { bytes: 0, count: 0 };
    this.layout(this.current, box, 1);
    // what the top level left out for being under a pixel: drawn + skipped = the level's bytes
    m.dataset.skippedBytes = String(this.skipped.bytes);
    m.dataset.skippedCount = String(this.skipped.count);
    this.drawCrumbs();
  }

  /** Draws `parent`'s children in `box`, and theirs inside them down to MAX_DEPTH levels (a directory with one child costs no level). */
  private layout(parent: TNode, box: Box, depth: number, level = depth): void {
    for (const [n, b] of squarify(parent.kids ?? [], box)) {
      if (b.w * b.h < 1) {
        if (depth === 1) {
          this.skipped.bytes += n.bytes;
          this.skipped.count++;
        }
        continue;
      }
      const inner = !!n.kids && level < MAX_DEPTH && b.w > 24 && b.h > HEADER + 8;
      this.map.append(this.rect(n, b, depth, inner));
      if (inner) this.layout(n, { x: b.x + 2, y: b.y + HEADER, w: b.w - 4, h: b.h - HEADER - 2 }, depth + 1, n.kids!.length === 1 ? level : level + 1);
    }
  }

  /** A rectangle; a group drawn without its children (too deep, too small) takes its main kind's colour. */
  private rect(n: TNode, b: Box, depth: number, inner: boolean): HTMLElement {
    const el = document.createElement('div');
    el.className = n.kids ? 'r g' : 'r';
    el.style.left = `${b.x}px`;
    el.style.top = `${b.y}px`;
    el.style.width = `${b.w}px`;
    el.style.height = `${b.h}px`;
    if (!inner) el.style.background = this.grouping === 'waste' ? WASTE_COLOURS[n.how ?? 'other']! : COLOURS[mainKind(n)] ?? COLOURS[COLOURS.length - 1]!;
    el.dataset.n = String(this.drawn.length);
    el.dataset.bytes = String(n.bytes);
    el.dataset.depth = String(depth);
    el.dataset.path = n.path;
    if (depth === 1) {
      el.tabIndex = 0;
      el.setAttribute('role', 'button');
      el.setAttribute('aria-label', `${vis(n.name)}, ${fmt(n.bytes)}`);
    }
    if (b.w > 36 && b.h > 13) {
      const label = document.createElement('span');
      label.textContent = `${vis(n.name)} ${fmt(n.bytes)}`;
      el.append(label);
    }
    this.drawn.push(n);
    return el;
  }

  private drawCrumbs(): void {
    const chain: TNode[] = [];
    for (let n: TNode | undefined = this.current; n; n = n.parent) chain.unshift(n);
    this.crumbs.replaceChildren(
      ...chain.map((n, i) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = i === 0 ? `${{ dir: '/', owner: 'all owners', layer: 'all layers', waste: 'all hidden bytes' }[this.grouping]} (${fmt(n.bytes)})` : vis(n.name);
        if (n === this.current) b.setAttribute('aria-current', 'true');
        b.addEventListener('click', () => this.zoom(n));
        return b;
      }),
    );
  }

  /** The kinds the image has (their colours), or in the waste view how the bytes were hidden. */
  private drawLegend(): void {
    const present = new Set<number>();
    for (const f of this.data.files) present.add(f[4]);
    for (const f of this.data.folds) present.add(f[4]);
    const entries: Array<[string, string]> =
      this.grouping === 'waste'
        ? [
            ['overwritten by a later layer', WASTE_COLOURS.overwritten!],
            ['deleted by a later layer', WASTE_COLOURS.deleted!],
            ["the rest of the layer's hidden files", WASTE_COLOURS.other!],
          ]
        : this.data.kinds.flatMap((k, i) => (present.has(i) ? [[k, COLOURS[i] ?? COLOURS[COLOURS.length - 1]!] as [string, string]] : []));
    this.legend.replaceChildren(
      ...entries.map(([label, colour]) => {
        const item = document.createElement('span');
        const sw = document.createElement('i');
        sw.style.background = colour;
        item.append(sw, label);
        return item;
      }),
    );
  }

  nodeOf(el: EventTarget | null): TNode | undefined {
    const r = el instanceof Element ? el.closest<HTMLElement>('.r') : null;
    return r ? this.drawn[Number(r.dataset.n)] : undefined;
  }

  /** Clicking a rectangle zooms into it when it is a group, else into the group that holds it. */
  open(n: TNode): void {
    const target = n.kids ? n : n.parent;
    if (target && target !== this.current) this.zoom(target);
  }

  up(): void {
    if (this.current.parent) this.zoom(this.current.parent);
  }

  private wire(): void {
    for (const b of this.root.querySelectorAll<HTMLButtonElement>('.tm-group button')) b.addEventListener('click', () => this.group(b.dataset.group as Grouping));
    this.map.addEventListener('click', (e) => {
      const n = this.nodeOf(e.target);
      if (n) this.open(n);
    });
    this.map.addEventListener('mousemove', (e) => {
      const n = this.nodeOf(e.target);
      if (n) this.showTip(n, e.clientX, e.clientY);
      else this.hideTip();
    });
    this.map.addEventListener('mouseleave', () => this.hideTip());
    this.map.addEventListener('focusin', (e) => {
      const n = this.nodeOf(e.target);
      const r = (e.target as HTMLElement).getBoundingClientRect();
      if (n) this.showTip(n, r.left + r.width / 2, r.top + r.height / 2);
    });
    this.map.addEventListener('keydown', (e) => this.key(e));
    new ResizeObserver(() => this.draw()).observe(this.map);
  }

  private key(e: KeyboardEvent): void {
    const n = this.nodeOf(e.target);
    const tops = [...this.map.querySelectorAll<HTMLElement>('.r[tabindex="0"]')];
    const at = tops.indexOf(e.target as HTMLElement);
    if (e.key === 'Enter' && n) this.open(n);
    else if (e.key === 'Backspace' || e.key === 'Escape') this.up();
    else if ((e.key === 'ArrowRight' || e.key === 'ArrowDown') && at >= 0) tops[(at + 1) % tops.length]?.focus();
    else if ((e.key === 'ArrowLeft' || e.key === 'ArrowUp') && at >= 0) tops[(at - 1 + tops.length) % tops.length]?.focus();
    else return;
    e.preventDefault();
  }

  private tipLines(n: TNode): string[] {
    const d = this.data;
    // a group that is no directory (an owner, a layer) and the root have no path: their name instead
    const lines = [vis(n.path !== '' ? `/${n.path}` : n.parent ? n.name : '/'), `${fmt(n.bytes)} (${n.bytes.toLocaleString('en-US')} bytes)`];
    if (n.kids) lines.push(`${n.kids.length} entries`);
    else if ((n.count ?? 1) > 1) lines.push(`${n.count!.toLocaleString('en-US')} files of under ${fmt(d.foldBelow)} each, folded into one`);
    if (n.owner !== undefined) lines.push(`owner: ${vis(d.owners[n.owner] ?? '')}`);
    if (n.kind !== undefined && !n.kids) lines.push(`kind: ${d.kinds[n.kind] ?? ''}`);
    if (n.how) lines.push(`${n.how} in layer ${(n.hiddenIn ?? 0) + 1}`);
    const l = n.layer !== undefined ? d.layers[n.layer] : undefined;
    if (l) {
      lines.push(`layer ${n.layer! + 1}: ${vis(l.createdBy || '(no history step)')}`);
      if (l.dockerfile) lines.push(`Dockerfile: ${vis(l.dockerfile)}`);
    }
    return lines;
  }

  private showTip(n: TNode, x: number, y: number): void {
    const t = this.tip;
    t.replaceChildren(
      ...this.tipLines(n).map((s, i) => {
        const div = document.createElement('div');
        if (i === 0) div.className = 'p';
        div.textContent = s;
        return div;
      }),
    );
    t.hidden = false;
    const w = t.offsetWidth;
    const h = t.offsetHeight;
    t.style.left = `${Math.max(4, Math.min(x + 14, window.innerWidth - w - 4))}px`;
    t.style.top = `${Math.max(4, y + 18 + h > window.innerHeight ? y - h - 10 : y + 18)}px`;
  }

  private hideTip(): void {
    this.tip.hidden = true;
  }
}

for (const section of document.querySelectorAll<HTMLElement>('section.tm')) {
  const src = section.querySelector('script.tm-data');
  if (!src?.textContent) continue;
  const tm = new Treemap(section, JSON.parse(src.textContent) as TreeData);
  section.dataset.ready = 'true';
  void tm;
}
