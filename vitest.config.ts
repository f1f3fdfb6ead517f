import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 2_400_000,
    // Integration tests share one Docker daemon; keep files sequential to avoid build contention.
    fileParallelism: false,
    reporters: ['default'],
    // No test reads or fills the user's layer cache (the cache tests point it at a temp dir).
    env: { IMGSCOPE_CACHE: 'off' },
  },
});
