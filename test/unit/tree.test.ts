/**
 * The treemap's data (src/visual/tree.ts): on layers whose sizes are known by construction, the
 * visible records sum to the final size, the waste records to the hidden bytes, each layer's records
 * to what the layer keeps and loses, and folding merges small files without losing a byte.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assignOwners } from '../../src/attribute/owners.js';
import { MergedFs } from '../../src/fs/filesystem.js';
import { analyzeReference } from '../../src/pipeline.js';
import type { Analysis } from '../../src/report/types.js';
import { buildTree, MAX_NAMED, TREE_FORMAT, type TreeData } from '../../src/visual/tree.js';
import type { WalkedEntry } from '../../src/walk/types.js';
import { tmpDir, writeOciDir } from '../helpers/images.js';
import { type FEntry, file, whiteout } from '../helpers/tar.js';

const KiB = 1024;

/** Layer 0: big and small files; layer 1 overwrites and deletes some of them (30 hidden paths); layer 2 adds more. */
function fixture(): { layers: FEntry[][]; final: number; waste: number; perLayer: Array<{ visible: number; waste: number }> } {
  const l0: FEntry[] = [file('usr/lib/big.so', 900 * KiB), file('usr/lib/mid.so', 120 * KiB)];
  for (let i = 0; i < 40; i++) l0.push(file(`usr/share/doc/p${i}/README`, 100 + i));
  for (let i = 0; i < 30; i++) l0.push(file(`tmp/junk${i}`, 2 * KiB + i));
  const l1: FEntry[] = [file('usr/lib/mid.so', 50 * KiB), ...Array.from({ length: 30 }, (_, i) => whiteout(`tmp/junk${i}`))];
  const l2: FEntry[] = [file('app/model.bin', 400 * KiB), file('app/a.py', 10), file('app/b.py', 20)];
  const docs = Array.from({ length: 40 }, (_, i) => 100 + i).reduce((a, b) => a + b, 0);
  const junk = Array.from({ length: 30 }, (_, i) => 2 * KiB + i).reduce((a, b) => a + b, 0);
  const perLayer = [
    { visible: 900 * KiB + docs, waste: 120 * KiB + junk },
    { visible: 50 * KiB, waste: 0 },
    { visible: 400 * KiB + 30, waste: 0 },
  ];
  return { layers: [l0, l1, l2], final: perLayer.reduce((a, l) => a + l.visible, 0), waste: 120 * KiB + junk, perLayer };
}

async function analyzeWithTree(layers: FEntry[][]): Promise<{ a: Analysis; tree: TreeData; json: Analysis }> {
  const d = path.join(tmpDir(), 'oci');
  await writeOciDir(d, [{ img: { config: {}, layers: layers.map((entries, i) => ({ entries, createdBy: `RUN step ${i}` })) } }]);
  let tree: TreeData | undefined;
  const a = await analyzeReference(`oci:${d}`, { onTree: (t) => (tree = t) });
  const json = await analyzeReference(`oci:${d}`);
  return { a, tree: tree!, json };
}

const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);
const visibleRecords = (t: TreeData) => [...t.files.map(([, , b, , , l]) => [b, l] as const), ...t.folds.map(([, , b, , , l]) => [b, l] as const)];
const wasteRecords = (t: TreeData) => [...t.waste.map(([, b, l]) => [b, l] as const), ...t.wasteFolds.map(([l, b]) => [b, l] as const)];

function dirPath(t: TreeData, i: number): string {
  const parts: string[] = [];
  for (let d = i; d > 0; d = t.dirs[d]![0]) parts.unshift(t.dirs[d]![1]);
  return parts.join('/');
}

describe('treemap data', () => {
  it('sums to the final size and the hidden bytes, in total and per layer, by construction', async () => {
    const fx = fixture();
    const { a, tree, json } = await analyzeWithTree(fx.layers);
    expect(tree.format).toBe(TREE_FORMAT);
    expect(a.totals.finalBytes).toBe(fx.final);
    expect(a.totals.wasteBytes).toBe(fx.waste);
    expect(sum(visibleRecords(tree).map(([b]) => b))).toBe(fx.final);
    expect(sum(wasteRecords(tree).map(([b]) => b))).toBe(fx.waste);
    fx.perLayer.forEach((l, i) => {
      expect(sum(visibleRecords(tree).filter(([, li]) => li === i).map(([b]) => b)), `layer ${i} visible`).toBe(l.visible);
      expect(sum(wasteRecords(tree).filter(([, li]) => li === i).map(([b]) => b)), `layer ${i} waste`).toBe(l.waste);
    });
    // 31 hidden paths (mid.so and 30 junk files), under the 5,000 the merge keeps for the treemap: all named
    expect(tree.waste.map(([p]) => p).sort()).toEqual(['usr/lib/mid.so', ...Array.from({ length: 30 }, (_, i) => `tmp/junk${i}`)].sort());
    expect(tree.wasteFolds).toEqual([]);
    expect(tree.layers.map((l) => l.createdBy)).toEqual(['RUN step 0', 'RUN step 1', 'RUN step 2']);
    // the report itself is the same with or without the treemap
    expect({ ...a, generatedAt: '' }).toEqual({ ...json, generatedAt: '' });
  });

  it('names every file of a small image', async () => {
    const fx = fixture();
    const { tree } = await analyzeWithTree(fx.layers);
    // under MAX_NAMED files: every file is named, nothing folded
    expect(tree.foldBelow).toBe(1);
    const named = new Set(tree.files.map(([d, n]) => `${dirPath(tree, d)}/${n}`));
    expect(named).toEqual(new Set(['usr/lib/big.so', 'usr/lib/mid.so', 'app/model.bin', 'app/a.py', 'app/b.py', ...Array.from({ length: 40 }, (_, i) => `usr/share/doc/p${i}/README`)]));
    expect(tree.folds).toEqual([]);
  });

  it('with a 64 KiB threshold: the docs subtree becomes one record at usr/share, big files stay named', async () => {
    const fx = fixture();
    const d = path.join(tmpDir(), 'oci');
    await writeOciDir(d, [{ img: { config: {}, layers: fx.layers.map((entries) => ({ entries })) } }]);
    const { analyze } = await import('../../src/pipeline.js');
    const { loadImage } = await import('../../src/image/load.js');
    // the same data, built directly with a chosen threshold
    const img = await loadImage(`oci:${d}`);
    const fs = new MergedFs({ keepWaste: 10 });
    for (const l of img.layers) fs.applyLayer(l.walk);
    const kinds: string[] = [];
    const a = analyze(img, fs, { onFile: (_p, _o, k) => kinds.push(k) });
    const visible = fs.visible().filter((f) => f.node.inode !== undefined);
    const files = { fs, files: visible, owners: assignOwners(fs, visible).owners, kinds: kinds as never, analysis: a, foldBelow: 64 * KiB };
    const t = buildTree(files);
    expect(t.foldBelow).toBe(64 * KiB);
    // 10 hidden paths kept: mid.so (120 KiB) and junk29..junk21; the other 21 junk files are one record of layer 0
    const junk = (i: number) => 2 * KiB + i;
    expect(t.waste.map(([p, b]) => [p, b])).toEqual([['usr/lib/mid.so', 120 * KiB], ...Array.from({ length: 9 }, (_, i) => [`tmp/junk${29 - i}`, junk(29 - i)])]);
    expect(t.wasteFolds).toEqual([[0, sum(Array.from({ length: 21 }, (_, i) => junk(i)))]]);
    expect(t.files.map(([dd, n, b]) => [dirPath(t, dd), n, b]).sort()).toEqual([
      ['app', 'model.bin', 400 * KiB],
      ['usr/lib', 'big.so', 900 * KiB],
    ]);
    const docs = Array.from({ length: 40 }, (_, i) => 100 + i);
    // usr/share (5 KiB in all) is under the threshold: its 40 files fold into usr, whose subtree is over it
    const usrFolds = t.folds.filter(([dd]) => dirPath(t, dd) === 'usr');
    expect(sum(usrFolds.map(([, n]) => n))).toBe(40);
    expect(sum(usrFolds.map(([, , b]) => b))).toBe(sum(docs));
    expect(t.dirs.map((_, i) => dirPath(t, i)).sort()).toEqual(['', 'app', 'usr', 'usr/lib'].sort());
    const lib = t.folds.filter(([dd]) => dirPath(t, dd) === 'usr/lib');
    expect(lib.map(([, n, b, , , l]) => [n, b, l])).toEqual([[1, 50 * KiB, 1]]);
    expect(sum(visibleRecords(t).map(([b]) => b))).toBe(fx.final);
    // every parent is listed before its children
    t.dirs.forEach(([p], i) => expect(p).toBeLessThan(i === 0 ? 0 : i));
  });

  it('stays light for a 100k-file image: at most MAX_NAMED files named, the rest folded, the sums exact', () => {
    // 100,000 files in 2,000 directories, sizes 1..100,000 bytes, owners from no database (unowned)
    const entries: WalkedEntry[] = [];
    for (let i = 0; i < 100_000; i++) entries.push({ path: `srv/d${i % 2000}/sub${i % 7}/f${i}`, type: 'file', size: i + 1 });
    const fs = new MergedFs();
    fs.applyLayer({ entries, tarBytes: 0, files: entries.length, fileBytes: 0, endMarker: true, warnings: [] });
    fs.finish();
    const files = fs.visible().filter((f) => f.node.inode !== undefined);
    const final = (100_000 * 100_001) / 2;
    const analysis = { image: { reference: 'synthetic' }, totals: { finalBytes: fs.finalBytes, wasteBytes: 0 }, layers: [] } as unknown as Analysis;
    const t = buildTree({ fs, files, owners: assignOwners(fs, files).owners, kinds: files.map(() => 'app' as const), analysis });
    expect(t.foldBelow).toBe(100_000 - MAX_NAMED + 1); // sizes 80,001..100,000 are the 20,000 largest
    expect(t.files).toHaveLength(MAX_NAMED);
    expect(sum(visibleRecords(t).map(([b]) => b))).toBe(final);
    expect(sum(t.folds.map(([, n]) => n)) + t.files.length).toBe(100_000);
    const json = JSON.stringify(t).length;
    console.log(`100k files: ${t.files.length} named, ${t.folds.length} folded records, ${t.dirs.length} directories, ${json} bytes of JSON`);
    expect(json).toBeLessThan(2_000_000);
  });
});

