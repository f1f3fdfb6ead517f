/** Removes the layer cache directory the "hostile, cache on" project used (vitest.config.ts). */
import { rmSync } from 'node:fs';

export default function setup(): () => void {
  return () => {
    const d = process.env.IMGSCOPE_TEST_CACHE_DIR;
    if (d) rmSync(d, { recursive: true, force: true });
  };
}
