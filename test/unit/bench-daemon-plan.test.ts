/**
 * The bench's daemon image plan (src/bench/daemon-plan.ts): the expected figures the bench checks the
 * report against are recomputed here from the plan's files and metadata texts, by other means.
 */
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { type DaemonPlan, daemonPlan, layerTarSize, type PlanLayer } from '../../src/bench/daemon-plan.js';

const SITE = 'usr/local/lib/python3.11/site-packages';

/** The merged view: the last layer's file at each path. */
function merged(plan: DaemonPlan): Map<string, { size: number; text?: string }> {
  const m = new Map<string, { size: number; text?: string }>();
  for (const l of plan.layers) for (const f of l.files) m.set(f.path, f);
  return m;
}

/** The size a tar-stream pack of the layer's entries comes to. */
async function packedSize(l: PlanLayer): Promise<number> {
  const p = tar.pack();
  let n = 0;
  const read = (async () => {
    for await (const c of p as AsyncIterable<Buffer>) n += c.length;
  })();
  const add = (h: Parameters<tar.Pack['entry']>[0], b?: Buffer): Promise<void> =>
    new Promise((res, rej) => (b ? p.entry(h, b, (e) => (e ? rej(e) : res())) : p.entry(h, (e) => (e ? rej(e) : res()))));
  for (const d of l.dirs) await add({ name: d, type: 'directory' });
  for (const f of l.files) await add({ name: f.path }, f.text !== undefined ? Buffer.from(f.text) : Buffer.alloc(f.size));
  p.finalize();
  await read;
  return n;
}

describe('bench daemon plan', () => {
  const plan = daemonPlan(5.5e9, 36_000);
  const final = merged(plan);

  it('is at least 5 GB in at least 30,000 files, in four layers, paths in the ustar name field', () => {
    expect(plan.layers).toHaveLength(4);
    expect(final.size).toBe(plan.files);
    expect(plan.files).toBeGreaterThanOrEqual(30_000);
    let bytes = 0;
    for (const f of final.values()) bytes += f.size;
    expect(bytes).toBe(plan.finalBytes);
    expect(bytes).toBeGreaterThanOrEqual(5e9);
    for (const l of plan.layers) for (const f of [...l.dirs, ...l.files.map((x) => x.path)]) expect(Buffer.byteLength(f)).toBeLessThan(100);
    // big files and many small ones
    const sizes = [...final.values()].map((f) => f.size);
    expect(sizes.filter((s) => s > 100e6).length).toBeGreaterThanOrEqual(10);
    expect(sizes.filter((s) => s < 100e3).length).toBeGreaterThanOrEqual(30_000);
  });

  it('is the same plan every time', () => {
    expect(daemonPlan(5.5e9, 36_000)).toEqual(plan);
  });

  it('apt-owned bytes: what the final dpkg status lists through info/<pkg>.list', () => {
    const status = final.get('var/lib/dpkg/status')!.text!;
    const pkgs = [...status.matchAll(/^Package: (.+)$/gm)].map((m) => m[1]!);
    expect(pkgs.length).toBeGreaterThan(20);
    const owned = new Set<string>();
    for (const p of pkgs) {
      const list = final.get(`var/lib/dpkg/info/${p}.list`)!.text!;
      for (const line of list.split('\n')) {
        const rel = line.slice(1);
        if (final.has(rel)) owned.add(rel);
        else if (line && line !== '/.') expect(plan.layers.some((l) => l.dirs.includes(rel)), line).toBe(true);
      }
    }
    let bytes = 0;
    for (const p of owned) bytes += final.get(p)!.size;
    expect(bytes).toBe(plan.ownedBytes.apt);
  });

  it('pip-owned bytes: every file of the pip layer is in exactly one RECORD', () => {
    const pip = plan.layers[2]!.files;
    const seen = new Map<string, number>();
    for (const f of pip.filter((x) => x.path.endsWith('.dist-info/RECORD'))) {
      for (const row of f.text!.trim().split('\n')) {
        const p = `${SITE}/${row.split(',')[0]}`;
        expect(final.has(p), p).toBe(true);
        seen.set(p, (seen.get(p) ?? 0) + 1);
      }
    }
    expect(seen.size).toBe(pip.length);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(pip.reduce((n, f) => n + f.size, 0)).toBe(plan.ownedBytes.pip);
  });

  it("each layer's tar size is what tar-stream writes", async () => {
    const small = daemonPlan(3e6, 300);
    for (const l of small.layers) expect(layerTarSize(l)).toBe(await packedSize(l));
  });
});
