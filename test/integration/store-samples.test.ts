/**
 * The engine's layer store against the export on the sample images and every other image the
 * integration tests build (issue 14: "for every image the integration tests build, the store read
 * and the export read give identical JSON reports", compared field by field). pyapp and the
 * whiteouts fixture are compared in daemon-store.test.ts. Each read's time is printed: the export of
 * gpu-devel (6 GiB) took 45 s on an idle machine here and 189 s with other work on its 2 cores, so
 * each image gets ten minutes.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeReference } from '../../src/pipeline.js';
import type { Analysis } from '../../src/report/types.js';
import { BASE_IMAGE, dockerAvailable, ensureBase, requireDocker, ROOT } from '../helpers/docker.js';
import { tmpDir } from '../helpers/images.js';
import { checkReport } from '../helpers/report.js';

const available = await dockerAvailable();
if (requireDocker && !available) throw new Error('IMGSCOPE_REQUIRE_DOCKER=1 but no Docker daemon answers `docker info`');
const info = available ? (await execa('docker', ['info', '--format', '{{.Driver}}'])).stdout.trim() : '';
const readable = info === 'overlay2' && process.getuid?.() === 0 && !/^(tcp|ssh|http)/.test(process.env.DOCKER_HOST ?? '');

const SAMPLES = ['cpu-naive', 'cpu-multistage', 'cpu-pruned', 'gpu-devel', 'gpu-runtime'];
const tag = (s: string): string => `imgscope-sample/${s}:latest`;
// What samples.test.ts builds besides the samples, from the same Dockerfiles, under tags of this
// test's own (removed afterwards; the builder's cache gives never-ready the image ID it has there).
const NEVER_READY = 'imgscope-store-test/never-ready:1';
const NO_BLAS = 'imgscope-store-test/no-blas:1';
const IMAGES = [...SAMPLES.map(tag), BASE_IMAGE, NEVER_READY, NO_BLAS];

async function build(ref: string, dockerfile: string): Promise<void> {
  const ctx = tmpDir();
  writeFileSync(path.join(ctx, 'Dockerfile'), dockerfile);
  await execa('docker', ['build', '-q', '-t', ref, ctx], { env: { DOCKER_BUILDKIT: '0' } });
}

/** One read through the library: the report, its progress lines and how long it took. */
async function read(ref: string, how: 'store' | 'export'): Promise<{ a: Analysis; progress: string[]; seconds: number }> {
  const progress: string[] = [];
  const t0 = performance.now();
  const a = checkReport(await analyzeReference(`docker-daemon:${ref}`, { daemonRead: how, onProgress: (m) => progress.push(m) }));
  return { a, progress, seconds: (performance.now() - t0) / 1000 };
}

describe.skipIf(!available || !readable)("the engine's layer store on the sample images", () => {
  beforeAll(async () => {
    await ensureBase();
    await execa('bash', [path.join(ROOT, 'sample-images/build.sh'), ...SAMPLES], { stdio: 'inherit' });
    await build(NEVER_READY, `FROM ${BASE_IMAGE}\nHEALTHCHECK --interval=1s CMD false\nCMD ["sh", "-c", "echo booting \${GREETING:-nobody}; echo still-not-ready-$((6*7)); exec sleep 600"]\n`);
    await build(NO_BLAS, `FROM ${tag('cpu-multistage')}\nUSER root\nRUN rm /usr/local/lib/libblas.so.3*\nUSER app\n`);
  });

  afterAll(async () => {
    await execa('docker', ['rmi', NEVER_READY, NO_BLAS], { reject: false });
  });

  for (const ref of IMAGES) {
    it(`${ref}: the store read gives the export's report, field by field`, async () => {
      const store = await read(ref, 'store');
      const exported = await read(ref, 'export');
      console.log(`${ref}: store read ${store.seconds.toFixed(1)} s, export read ${exported.seconds.toFixed(1)} s`);
      expect(store.progress.filter((m) => m.includes("reading the engine's layer store"))).toHaveLength(1);
      expect(exported.progress.some((m) => m.includes("reading the engine's layer store"))).toBe(false);
      const s: Analysis = { ...store.a, generatedAt: '' };
      const e: Analysis = { ...exported.a, generatedAt: '' };
      expect(Object.keys(s)).toEqual(Object.keys(e));
      for (const k of Object.keys(e) as Array<keyof Analysis>) expect([ref, k, s[k]]).toEqual([ref, k, e[k]]);
      // a report of substance: every layer and its files were walked
      expect(s.layers.length).toBeGreaterThan(0);
      expect(s.totals.imageBytes).toBeGreaterThan(0);
    }, 600_000);
  }
});
