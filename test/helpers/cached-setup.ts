/**
 * Makes, and afterwards removes, the layer cache directory the "hostile, cache on" project uses
 * (vitest.config.ts names it). Made here rather than in the config, so that only runs of that project
 * create it.
 */
import { mkdirSync, rmSync } from 'node:fs';

export default function setup(): () => void {
  const d = process.env.IMGSCOPE_TEST_CACHE_DIR;
  if (d) {
    rmSync(d, { recursive: true, force: true }); // a directory left by a killed run with the same pid
    mkdirSync(d, { recursive: true, mode: 0o700 });
  }
  return () => {
    if (d) rmSync(d, { recursive: true, force: true });
  };
}
