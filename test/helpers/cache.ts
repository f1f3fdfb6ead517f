/** Runs `fn` with the layer cache on and kept in `dir` (the suite otherwise runs with it off). */
export async function withLayerCache<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const saved = { IMGSCOPE_CACHE_DIR: process.env.IMGSCOPE_CACHE_DIR, IMGSCOPE_CACHE: process.env.IMGSCOPE_CACHE };
  Object.assign(process.env, { IMGSCOPE_CACHE: 'on', IMGSCOPE_CACHE_DIR: dir });
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
