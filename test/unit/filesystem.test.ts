import { describe, expect, it } from 'vitest';
import { MergedFs } from '../../src/fs/filesystem.js';
import type { LayerWalk, WalkedEntry } from '../../src/walk/types.js';

type E = [string, number] | [string, 'dir'] | [string, 'symlink', string] | [string, 'hardlink', string];

function layer(...items: E[]): LayerWalk {
  const entries: WalkedEntry[] = items.map((it) => {
    if (it[1] === 'dir') return { path: it[0], type: 'dir', size: 0 };
    if (it[1] === 'symlink') return { path: it[0], type: 'symlink', size: 0, link: it[2] };
    if (it[1] === 'hardlink') return { path: it[0], type: 'hardlink', size: 0, link: it[2] };
    return { path: it[0], type: 'file', size: it[1] };
  });
  return { entries, tarBytes: 0, files: entries.filter((e) => e.type === 'file').length, fileBytes: entries.reduce((a, e) => a + (e.type === 'file' ? e.size : 0), 0), endMarker: true, warnings: [] };
}

function merge(...layers: LayerWalk[]): MergedFs {
  const fs = new MergedFs();
  for (const l of layers) fs.applyLayer(l);
  fs.finish();
  // Every byte a layer adds is either still visible or waste, never both.
  layers.forEach((l, i) => expect(fs.layers[i]!.visibleBytes + fs.layers[i]!.wasteBytes).toBe(l.fileBytes));
  return fs;
}

function visible(fs: MergedFs): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of fs.visible()) if (f.node.type !== 'symlink') out[f.path] = f.bytes;
  return out;
}

describe('merged filesystem', () => {
  it('keeps the largest hidden paths up to keepWaste (the treemap waste view), largest first; none without it', () => {
    // 1000 files of 1..1000 bytes in shuffled order, all overwritten by layer 2: the 300 kept are 1000..701
    const sizes = Array.from({ length: 1000 }, (_, i) => ((i * 337) % 1000) + 1);
    const l1 = layer(...sizes.map((n): E => [`d${n % 7}/f${n}`, n]));
    const l2 = layer(...sizes.map((n): E => [`d${n % 7}/f${n}`, 0]));
    const fs = new MergedFs({ keepWaste: 300 });
    fs.applyLayer(l1);
    fs.applyLayer(l2);
    fs.finish();
    expect(fs.wasteKept.map((w) => w.bytes)).toEqual(Array.from({ length: 300 }, (_, i) => 1000 - i));
    expect(fs.wasteKept[0]).toEqual({ path: 'd6/f1000', bytes: 1000, addedIn: 0, hiddenIn: 1, how: 'overwritten' });
    expect(fs.topWaste).toHaveLength(25);
    expect(merge(l1, l2).wasteKept).toEqual([]);
  });

  it('charges overwritten bytes as waste to the layer that added them', () => {
    const fs = merge(layer(['a', 100], ['b', 50]), layer(['a', 30]));
    expect(visible(fs)).toEqual({ a: 30, b: 50 });
    expect(fs.finalBytes).toBe(80);
    expect(fs.layers.map((l) => [l.visibleBytes, l.wasteBytes])).toEqual([[50, 100], [30, 0]]);
    expect(fs.topWaste).toEqual([{ path: 'a', bytes: 100, addedIn: 0, hiddenIn: 1, how: 'overwritten' }]);
  });

  it('whites out files and whole directories from lower layers', () => {
    const fs = merge(layer(['a', 100], ['d/x', 10], ['d/y/z', 20], ['keep', 1]), layer(['.wh.a', 0], ['d/.wh.y', 0]), layer(['.wh.d', 0]));
    expect(visible(fs)).toEqual({ keep: 1 });
    expect(fs.wasteBytes).toBe(130);
    expect(fs.layers[1]!.whiteouts).toBe(2);
  });

  it('applies an opaque marker before the layer’s own entries, wherever it stands', () => {
    const fs = merge(layer(['d/x', 10], ['d/y', 20], ['e', 3]), layer(['d/new', 5], ['d/.wh..wh..opq', 0]));
    expect(visible(fs)).toEqual({ 'd/new': 5, e: 3 });
    expect(fs.layers[0]!.wasteBytes).toBe(30);
  });

  it('never hides entries of the same layer with a whiteout', () => {
    const fs = merge(layer(['a', 100]), layer(['a', 7], ['.wh.a', 0]));
    expect(visible(fs)).toEqual({ a: 7 });
    expect(fs.wasteBytes).toBe(100);
  });

  it('counts hardlinked content once, and keeps it while any link survives', () => {
    const fs1 = merge(layer(['f', 1000], ['h', 'hardlink', 'f']));
    expect(fs1.finalBytes).toBe(1000);
    expect(visible(fs1)).toEqual({ f: 1000, h: 0 });

    const fs2 = merge(layer(['f', 1000], ['h', 'hardlink', 'f']), layer(['.wh.f', 0]));
    expect(visible(fs2)).toEqual({ h: 1000 });
    expect(fs2.wasteBytes).toBe(0);

    const fs3 = merge(layer(['f', 1000], ['h', 'hardlink', 'f']), layer(['.wh.f', 0], ['h', 10]));
    expect(visible(fs3)).toEqual({ h: 10 });
    expect(fs3.layers[0]!.wasteBytes).toBe(1000);
    expect(fs3.topWaste[0]).toMatchObject({ bytes: 1000, addedIn: 0, hiddenIn: 1 });
  });

  it('tolerates duplicate paths in one layer: the last one wins, the first is waste', () => {
    const fs = merge(layer(['a', 100], ['a', 40]));
    expect(visible(fs)).toEqual({ a: 40 });
    expect(fs.layers[0]).toMatchObject({ visibleBytes: 40, wasteBytes: 100 });
  });

  it('replaces a file by a directory and the reverse', () => {
    const fs = merge(layer(['p', 60], ['q/r', 9]), layer(['p/inner', 4], ['q', 2]));
    expect(visible(fs)).toEqual({ 'p/inner': 4, q: 2 });
    expect(fs.layers[0]!.wasteBytes).toBe(69);
  });

  it('writes through symlinked directories inside the image root', () => {
    const fs = merge(layer(['usr/lib', 'dir'], ['lib', 'symlink', 'usr/lib']), layer(['lib/x.so', 10]));
    expect(visible(fs)).toEqual({ 'usr/lib/x.so': 10 });
    expect(fs.canonical('lib/x.so')).toBe('usr/lib/x.so');
    const abs = merge(layer(['usr/bin/cat', 5], ['bin', 'symlink', '/usr/bin'], ['x', 'symlink', '../../../../usr/bin']));
    expect(abs.canonical('bin/cat')).toBe('usr/bin/cat');
    expect(abs.canonical('x/cat')).toBe('usr/bin/cat');
  });

  it('computes dive’s efficiency score and wasted bytes', () => {
    // a: occurrences 100, 30 → min 30, sum 130; b: 50 then whiteout (0) → min 0, sum 50; c: 20 once.
    const fs = merge(layer(['a', 100], ['b', 50], ['c', 20]), layer(['a', 30]), layer(['.wh.b', 0]));
    expect(fs.efficiency).toBeCloseTo((30 + 0 + 20) / (130 + 50 + 20), 12);
    expect(fs.diveWastedBytes).toBe(130 + 50);
    expect(merge(layer(['a', 1])).efficiency).toBe(1);
  });

  it('keeps one dive record per path, also when a path is deleted and made again (dive keys records by path)', () => {
    // a: 1000, whiteout (0), 500 → one record: min 0, sum 1500, 3 occurrences; d/x (40) hidden with its
    // directory (whiteout of d: 40) and made again (10): d/x min 10, sum 50; d min 40, sum 40 (1 occurrence)
    const fs = merge(layer(['a', 1000], ['d', 'dir'], ['d/x', 40]), layer(['.wh.a', 0], ['.wh.d', 0]), layer(['a', 500], ['d', 'dir'], ['d/x', 10]));
    expect(fs.efficiency).toBeCloseTo((0 + 10 + 40) / (1500 + 50 + 40), 12);
    expect(fs.diveWastedBytes).toBe(1500 + 50);
    // deleted twice and never made again: still one record
    const twice = merge(layer(['b', 7]), layer(['.wh.b', 0]), layer(['b', 9]), layer(['.wh.b', 0]));
    expect([twice.efficiency, twice.diveWastedBytes]).toEqual([0, 16]);
  });
});
