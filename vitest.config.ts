import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

/** The hostile-input set, run a second time with the layer cache on (issue 12: "the whole set also passes with the layer cache on"). */
const HOSTILE = ['test/unit/hostile-*.test.ts', 'test/unit/fuzz.test.ts', 'test/unit/zstd.test.ts', 'test/unit/escape.test.ts', 'test/unit/errors.test.ts', 'test/unit/deep.test.ts', 'test/unit/attribution.test.ts'];

// One cache directory for the cached project's whole run: later files read what earlier ones stored.
// Only named here: the project's global setup (test/helpers/cached-setup.ts) makes it and removes it,
// so a run that leaves the project out (--project suite) leaves no directory behind.
const cacheDir = process.env.IMGSCOPE_TEST_CACHE_DIR ?? path.join(os.tmpdir(), `imgscope-test-cache-${process.pid}`);
process.env.IMGSCOPE_TEST_CACHE_DIR = cacheDir;

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 2_400_000,
    // Integration tests share one Docker daemon; keep files sequential to avoid build contention.
    fileParallelism: false,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          // No test reads or fills the user's layer cache (the cache tests point it at a temp dir).
          env: { IMGSCOPE_CACHE: 'off' },
        },
      },
      {
        extends: true,
        test: {
          name: 'hostile, cache on',
          include: HOSTILE,
          env: { IMGSCOPE_CACHE: 'on', IMGSCOPE_CACHE_DIR: cacheDir },
          globalSetup: ['test/helpers/cached-setup.ts'],
        },
      },
    ],
  },
});
