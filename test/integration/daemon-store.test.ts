/**
 * The engine's layer store against the export, on a real daemon (issue 14's acceptance): for the
 * images the integration tests build, the report read from the store is the report read from the
 * export, field by field; the store path is the one taken when it can be; and when it cannot, one
 * progress line says why and the export gives the same report (or, with --daemon-read store, exit 3).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeReference } from '../../src/pipeline.js';
import type { Analysis } from '../../src/report/types.js';
import { buildFixture, dockerAvailable, ensureBase, requireDocker, ROOT } from '../helpers/docker.js';
import { withLayerCache } from '../helpers/cache.js';
import { tmpDir } from '../helpers/images.js';
import { checkReport } from '../helpers/report.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const IMAGES = ['imgscope-test/pyapp:1', 'imgscope-store-test/whiteouts:1'];
const available = await dockerAvailable();
if (requireDocker && !available) throw new Error('IMGSCOPE_REQUIRE_DOCKER=1 but no Docker daemon answers `docker info`');
// The layer store is read only where it is readable: root, on the daemon's host, overlay2 (the CI's daemon).
const info = available ? (await execa('docker', ['info', '--format', '{{.Driver}} {{.DockerRootDir}}'])).stdout.trim() : '';
const readable = info.startsWith('overlay2 ') && process.getuid?.() === 0 && !/^(tcp|ssh|http)/.test(process.env.DOCKER_HOST ?? '');

/** One analysis through the library, with its progress lines. */
async function read(ref: string, how: 'auto' | 'store' | 'export'): Promise<{ a: Analysis; progress: string[] }> {
  const progress: string[] = [];
  const a = checkReport(await analyzeReference(ref, { daemonRead: how, onProgress: (m) => progress.push(m) }));
  return { a, progress };
}

/** The report without what differs between two runs of one read (the time it was made). */
const comparable = (a: Analysis): Analysis => ({ ...a, generatedAt: '' });

describe.skipIf(!available || !readable)("the engine's layer store", () => {
  const reports = new Map<string, { store: Awaited<ReturnType<typeof read>>; exported: Awaited<ReturnType<typeof read>> }>();

  beforeAll(async () => {
    await ensureBase();
    await buildFixture(IMAGES[0]!, path.join(ROOT, 'test/fixtures/pyapp'));
    await buildFixture(IMAGES[1]!, path.join(ROOT, 'test/fixtures/whiteouts'));
    for (const ref of IMAGES) reports.set(ref, { store: await read(`docker-daemon:${ref}`, 'store'), exported: await read(`docker-daemon:${ref}`, 'export') });
  });

  it('gives the report the export gives, field by field, for every image the tests build', () => {
    for (const ref of IMAGES) {
      const { store, exported } = reports.get(ref)!;
      const s = comparable(store.a);
      const e = comparable(exported.a);
      for (const k of Object.keys(e) as Array<keyof Analysis>) expect([ref, k, s[k]]).toEqual([ref, k, e[k]]);
      expect(Object.keys(s)).toEqual(Object.keys(e));
    }
  });

  it('took the store path (a progress line says so), and the export path with --daemon-read export', () => {
    for (const ref of IMAGES) {
      const { store, exported } = reports.get(ref)!;
      expect(store.progress.filter((m) => m.includes("reading the engine's layer store"))).toHaveLength(1);
      expect(exported.progress.some((m) => m.includes("reading the engine's layer store"))).toBe(false);
    }
  });

  it('reads whiteouts and an opaque directory as the export does', () => {
    const { store } = reports.get(IMAGES[1]!)!;
    const a = store.a;
    expect(a.totals.wasteBytes).toBeGreaterThanOrEqual(200000);
    expect(a.layers.length).toBeGreaterThanOrEqual(4);
  });

  it('shares the layer cache with the export by diff ID: what an export verified serves the store read, a store read stores nothing', async () => {
    const ref = `docker-daemon:${IMAGES[0]}`;
    const dir = tmpDir('imgscope-cache-');
    await withLayerCache(dir, async () => {
      const store = await read(ref, 'store');
      expect(store.progress.some((m) => m.endsWith('from the layer cache'))).toBe(false);
      const layerEntries = (): string[] => (existsSync(path.join(dir, 'v1')) ? readdirSync(path.join(dir, 'v1')).filter((f) => f.endsWith('.layer')) : []);
      expect(layerEntries()).toEqual([]);
      await read(ref, 'export');
      expect(layerEntries()).toHaveLength(store.a.layers.length);
      const again = await read(ref, 'store');
      expect(again.progress.filter((m) => m.endsWith('from the layer cache'))).toHaveLength(again.a.layers.length);
      expect(comparable(again.a)).toEqual(comparable(store.a));
    });
  });

  it('says why it exports when the store is not readable, and gives the same report', async () => {
    const saved = process.env.IMGSCOPE_DOCKER_ROOT;
    process.env.IMGSCOPE_DOCKER_ROOT = path.join(tmpDir(), 'no-root');
    try {
      const { a, progress } = await read(`docker-daemon:${IMAGES[0]}`, 'auto');
      const why = progress.filter((m) => m.includes('exporting the image'));
      expect(why).toHaveLength(1);
      expect(why[0]).toMatch(/cannot read the engine's layer store at .*no-root \(ENOENT\)/);
      expect(comparable(a)).toEqual(comparable(reports.get(IMAGES[0]!)!.exported.a));
    } finally {
      if (saved === undefined) delete process.env.IMGSCOPE_DOCKER_ROOT;
      else process.env.IMGSCOPE_DOCKER_ROOT = saved;
    }
  });

  it('fails with exit 3 and the reason under --daemon-read store, and the CLI reads the store by default', async () => {
    const env = { ...process.env, IMGSCOPE_DOCKER_ROOT: path.join(tmpDir(), 'no-root') };
    const r = await execa('node', [CLI, 'analyze', `docker-daemon:${IMAGES[0]}`, '--daemon-read', 'store', '-f', 'json'], { env, reject: false });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/--daemon-read store: cannot read the engine's layer store at .*no-root \(ENOENT\)/);
    const ok = await execa('node', [CLI, 'analyze', IMAGES[0]!, '-f', 'json']);
    const a = checkReport(JSON.parse(ok.stdout));
    expect({ ...comparable(a), image: { ...a.image, reference: '' } }).toEqual({ ...comparable(reports.get(IMAGES[0]!)!.store.a), image: { ...reports.get(IMAGES[0]!)!.store.a.image, reference: '' } });
  });
});
